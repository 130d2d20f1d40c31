// `mailcollector validate`: the configuration only; nothing is contacted.

#include <iostream>

#include "app/CommandSupport.hpp"
#include "app/CommandTable.hpp"

namespace mc::app {

CommandSpec validateCommandSpec() {
    CommandSpec spec;
    spec.name = "validate";
    spec.synopsis = "validate -c FILE";
    spec.summary = "checks the configuration only";
    spec.help =
        "Checks the configuration file only: syntax, keys and values.\n"
        "Errors name file:line and the key; nothing is contacted. Exit 0 valid, 2 not.\n";
    spec.needsConfig = true;
    spec.run = [](const Invocation&, const config::Config* config) {
        warnAboutPlaintext(*config);
        std::cout << config->path << ": ok (" << config->accounts.size() << " accounts)\n";
        return kExitOk;
    };
    return spec;
}

}  // namespace mc::app
