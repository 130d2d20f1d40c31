// `mailcollector check`: logs in everywhere and tries the target, delivering nothing.

#include <iostream>

#include "app/CommandSupport.hpp"
#include "app/CommandTable.hpp"
#include "collector/AccountPoller.hpp"

namespace mc::app {
namespace {

int checkCommand(const Invocation& invocation, const config::Config& config) {
    int exitCode = kExitOk;
    auto print = [&](const collector::CheckReport& report) {
        std::cout << report.account << ": " << (report.ok ? "OK" : "FAILED") << " - " << report.detail << "\n";
        if (!report.ok) exitCode = kExitAccountFailed;
    };
    for (const auto* account : selectAccounts(config, invocation.accounts()))
        print(collector::checkAccount(config, *account));
    print(collector::checkTarget(config));
    return exitCode;
}

}  // namespace

CommandSpec checkCommandSpec() {
    CommandSpec spec;
    spec.name = "check";
    spec.synopsis = "check -c FILE [--account NAME]...";
    spec.summary =
        "connects to every (or each named) account and the target, negotiates TLS,\n"
        "authenticates and lists; tries the target with MAIL FROM + RCPT TO the recipient\n"
        "(then RSET) or IMAP STATUS of the folder; delivers nothing; a verdict per account";
    spec.help =
        "Connects to every account (or each one named by --account) and to the target, negotiates\n"
        "TLS, authenticates and lists the messages; tries the target with MAIL FROM and RCPT TO the\n"
        "recipient (then RSET), or IMAP STATUS of the folder. Delivers and deletes nothing. Prints a\n"
        "verdict per account and for the target; exit 1 when any failed.\n"
        "\n"
        "options:\n"
        "  --account NAME   only this account (repeatable)\n";
    spec.options = {{"--account", true}};
    spec.needsConfig = true;
    spec.run = [](const Invocation& invocation, const config::Config* config) {
        return checkCommand(invocation, *config);
    };
    return spec;
}

}  // namespace mc::app
