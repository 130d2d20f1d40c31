// `mailcollector check`: logs in everywhere and tries the target, delivering nothing; a dry run
// that names the folders a run would read and how many messages it would collect.

#include <filesystem>
#include <iostream>

#include "app/CommandSupport.hpp"
#include "app/CommandTable.hpp"
#include "collector/AccountPoller.hpp"

namespace mc::app {
namespace {

int checkCommand(const Invocation& invocation, const config::Config& config) {
    // What is new is what the ledger has no row for: read it, but create no ledger file.
    std::unique_ptr<ledger::LedgerStore> ledger;
    const std::string& location = config.collector.ledger;
    if (ledger::isPostgresLocation(location) || std::filesystem::exists(location)) {
        ledger = openLedgerOrSay(config);
        if (!ledger) return kExitLedger;
    } else {
        std::cout << "no ledger yet (" << shown(location) << "): every message counts as new\n";
    }
    int exitCode = kExitOk;
    auto print = [&](const collector::CheckReport& report) {
        // The detail quotes servers (errors, certificate fields): escaped for the terminal again.
        std::cout << report.account << ": " << (report.ok ? "OK" : "FAILED") << " - " << shown(report.detail) << "\n";
        for (const auto& mailbox : report.mailboxes)
            if (!mailbox.folder.empty())
                std::cout << "  " << shown(mailbox.folder) << ": " << mailbox.messages << " messages, " << mailbox.fresh
                          << " new\n";
        if (!report.ok) exitCode = kExitAccountFailed;
    };
    for (const auto* account : selectAccounts(config, invocation.accounts()))
        print(collector::checkAccount(config, *account, ledger.get()));
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
        "authenticates, names each folder a run would read with its messages and how many\n"
        "are new per the ledger; tries the target with MAIL FROM + RCPT TO the recipient\n"
        "(then RSET) or IMAP STATUS of the folder; delivers nothing; a verdict per account";
    spec.help =
        "Connects to every account (or each one named by --account) and to the target, negotiates\n"
        "TLS and authenticates. A dry run: for each account it lists every folder a run would read\n"
        "(IMAP: each one `folders` names, \"*\" expanded; read-only) with its messages and how many a\n"
        "run would collect (new to the ledger, or left pending in it); POP3: the mailbox's messages\n"
        "and the new ones. Tries the target with MAIL FROM and RCPT TO the recipient (then RSET), or\n"
        "IMAP STATUS of the folder. Fetches, flags, deletes, delivers and records nothing. Prints a\n"
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
