// `mailcollector validate`: the configuration only; nothing is contacted.

#include <iostream>

#include "app/CommandSupport.hpp"
#include "app/CommandTable.hpp"
#include "config/SetupChecks.hpp"

namespace mc::app {

CommandSpec validateCommandSpec() {
    CommandSpec spec;
    spec.name = "validate";
    spec.synopsis = "validate -c FILE";
    spec.summary = "checks the configuration, and the files it names, without contacting anything";
    spec.help =
        "Checks the configuration: syntax, keys and values (every error of every table in one pass,\n"
        "each naming file:line and the key, accounts by name), that the files it names exist (password\n"
        "and OAuth2 secret files, CA files) and that secrets are private (chmod 600), and warns when\n"
        "two accounts collect the same mailbox. Nothing is contacted. Exit 0 valid, 2 not.\n";
    spec.needsConfig = true;
    spec.run = [](const Invocation&, const config::Config* config) {
        warnAboutPlaintext(*config);
        std::size_t errors = 0;
        for (const auto& finding : config::checkSetup(*config)) {
            std::cerr << "mailcollector: " << (finding.error ? "" : "warning: ") << finding.text << "\n";
            errors += finding.error ? 1 : 0;
        }
        if (errors > 0) return kExitUsage;
        std::cout << config->path << ": ok (" << config->accounts.size() << " accounts)\n";
        return kExitOk;
    };
    return spec;
}

}  // namespace mc::app
