// `mailcollector import fetchmailrc|getmailrc`: prints a configuration translated from another
// tool's; warnings and errors go to stderr and never hold a secret.

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

#include "app/CommandTable.hpp"
#include "config/Importers.hpp"

namespace mc::app {
namespace {

std::string localLogin() {
    if (const char* user = std::getenv("USER"); user && *user) return user;
    if (const passwd* entry = ::getpwuid(::getuid())) return entry->pw_name;
    return "me";
}

int importCommand(const Invocation& invocation) {
    const auto& inputs = invocation.operands;
    std::vector<std::pair<std::string, std::string>> files;
    for (std::size_t i = 1; i < inputs.size(); ++i) {
        const std::string& path = inputs[i];
        struct stat status {};
        bool directory = ::stat(path.c_str(), &status) == 0 && S_ISDIR(status.st_mode);
        std::ifstream in(path, std::ios::binary);
        if (directory || !in) {
            std::cerr << "mailcollector: " << path
                      << ": cannot read: " << (directory ? "is a directory" : std::strerror(errno)) << "\n";
            return kExitUsage;
        }
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (in.bad()) {
            std::cerr << "mailcollector: " << path << ": cannot read\n";
            return kExitUsage;
        }
        files.emplace_back(path, std::move(text));
    }
    config::importer::ImportOptions options;
    options.localUser = localLogin();
    auto result = inputs[0] == "fetchmailrc"
                      ? config::importer::importFetchmailrc(files[0].second, files[0].first, options)
                      : config::importer::importGetmailrc(files, options);
    if (!result.ok()) {
        std::cerr << "mailcollector: " << result.errorText() << "\n";
        return kExitUsage;
    }
    for (const auto& warning : result.config.warnings)
        std::cerr << "mailcollector: " << warning.file << ":" << warning.line << ": warning: " << warning.text << "\n";
    bool secrets = !result.config.target.password.empty();
    for (const auto& account : result.config.accounts) secrets = secrets || !account.password.empty();
    struct stat status {};
    if (secrets && ::fstat(1, &status) == 0 && S_ISREG(status.st_mode) && (status.st_mode & 077) != 0)
        std::cerr << "mailcollector: warning: the output holds passwords and others can read the file it "
                     "goes to; run chmod 600 on it (mailcollector refuses it otherwise)\n";
    std::cout << config::importer::renderToml(result.config);
    std::cout.flush();
    return std::cout ? kExitOk : kExitUsage;
}

}  // namespace

CommandSpec importCommandSpec() {
    CommandSpec spec;
    spec.name = "import";
    spec.synopsis =
        "import fetchmailrc FILE > mailcollector.toml\n"
        "import getmailrc FILE... > mailcollector.toml";
    spec.summary =
        "prints a configuration translated from a fetchmailrc, or from getmailrc files (one\n"
        "account each); what cannot be translated is a comment in it and a warning here";
    spec.help =
        "Prints a configuration translated from a fetchmailrc, or from getmailrc files (one account\n"
        "each). What cannot be translated becomes a comment in it and a warning on stderr. Passwords\n"
        "written inline in the old file are carried over: keep the output private (chmod 600), or\n"
        "move them to password_file.\n";
    spec.takesOperands = true;
    spec.checkUsage = [](const Invocation& invocation) {
        const auto& inputs = invocation.operands;
        if (inputs.empty() || (inputs[0] != "fetchmailrc" && inputs[0] != "getmailrc"))
            throw UsageError("import needs fetchmailrc FILE or getmailrc FILE...");
        if (inputs.size() < 2) throw UsageError("import " + inputs[0] + " needs a FILE");
        if (inputs[0] == "fetchmailrc" && inputs.size() != 2) throw UsageError("import fetchmailrc takes one FILE");
    };
    spec.run = [](const Invocation& invocation, const config::Config*) { return importCommand(invocation); };
    return spec;
}

}  // namespace mc::app
