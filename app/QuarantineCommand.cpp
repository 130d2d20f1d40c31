// `mailcollector quarantine list|retry|drop`: what the target refused; the logic is
// mc::collector::Quarantine's.

#include <iostream>

#include "app/CommandSupport.hpp"
#include "app/CommandTable.hpp"
#include "collector/Quarantine.hpp"
#include "net/LineChannel.hpp"
#include "schedules/Logging.hpp"

namespace mc::app {
namespace {

void printQuarantined(const collector::QuarantinedMessage& message) {
    std::cout << message.id << "  " << message.key.account << "  "
              << (message.key.folder.empty() ? std::string("-") : net::printable(message.key.folder)) << "  uid "
              << net::printable(message.key.uid) << "  " << formatTime(message.quarantinedAt) << "  " << message.size
              << " bytes\n";
    if (!message.from.empty() || !message.subject.empty())
        std::cout << "    From: " << net::printable(message.from) << "  Subject: " << net::printable(message.subject)
                  << "\n";
    std::cout << "    refused: " << message.reason << "\n";
}

void printJson(const std::vector<collector::QuarantinedMessage>& messages) {
    std::cout << "[";
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const auto& m = messages[i];
        std::cout << (i ? "," : "") << "\n  {\"id\":" << jsonString(m.id)
                  << ",\"account\":" << jsonString(m.key.account) << ",\"folder\":\""
                  << schedules::jsonEscape(m.key.folder) << "\",\"uid_validity\":" << m.key.uidValidity << ",\"uid\":\""
                  << schedules::jsonEscape(m.key.uid) << "\",\"date\":" << m.quarantinedAt << ",\"size\":" << m.size
                  << ",\"from\":\"" << schedules::jsonEscape(m.from) << "\",\"subject\":\""
                  << schedules::jsonEscape(m.subject) << "\",\"reason\":\"" << schedules::jsonEscape(m.reason)
                  << "\",\"copy\":\"" << schedules::jsonEscape(m.copyPath) << "\"}";
    }
    std::cout << (messages.empty() ? "]\n" : "\n]\n");
}

int quarantineCommand(const Invocation& invocation, const config::Config& config) {
    std::string account = invocation.accounts().empty() ? "" : invocation.accounts().front();
    if (!account.empty() && !config.findAccount(account))
        throw UsageError("no account named '" + account + "' in " + config.path);
    auto ledger = openLedgerOrSay(config);
    if (!ledger) return kExitLedger;
    collector::Quarantine quarantine(*ledger, config.collector.quarantineDir);
    const std::string& action = invocation.operands[0];
    std::vector<std::string> ids(invocation.operands.begin() + 1, invocation.operands.end());
    try {
        if (action == "list") {
            auto messages = quarantine.list(account);
            if (invocation.has("--json")) {
                printJson(messages);
            } else if (messages.empty()) {
                std::cout << "nothing is quarantined" << (account.empty() ? "" : " for " + account) << "\n";
            } else {
                for (const auto& message : messages) printQuarantined(message);
                std::cout << messages.size()
                          << " quarantined; after fixing the cause, 'mailcollector quarantine "
                             "retry' makes them pending again\n";
            }
            return kExitOk;
        }
        auto done = action == "retry" ? quarantine.retry(account, ids) : quarantine.drop(account, ids);
        for (const auto& message : done)
            std::cout << (action == "retry" ? "pending again: " : "dropped: ") << message.id << "  "
                      << message.key.account << "  uid " << net::printable(message.key.uid) << "\n";
        if (action == "retry")
            std::cout << done.size()
                      << " message(s) pending again; the next poll fetches them from the source and "
                         "delivers them\n";
        else
            std::cout << done.size() << " message(s) dropped: left on the source, never fetched again\n";
        return kExitOk;
    } catch (const collector::UnknownQuarantineIds& e) {
        std::cerr << "mailcollector: quarantine " << action << ": " << e.what()
                  << (account.empty() ? "" : " for " + account) << "; nothing changed ('quarantine list' shows the "
                  << "IDs)\n";
        return kExitUsage;
    } catch (const ledger::LedgerError& e) {
        std::cerr << "mailcollector: quarantine " << action << ": " << e.what() << "\n";
        return kExitLedger;
    }
}

}  // namespace

CommandSpec quarantineCommandSpec() {
    CommandSpec spec;
    spec.name = "quarantine";
    spec.synopsis =
        "quarantine list -c FILE [--account NAME] [--json]\n"
        "quarantine retry|drop -c FILE [--account NAME] [ID...]";
    spec.summary =
        "what the target refused (5xx): list shows each message's ID, account, folder, UID,\n"
        "date, size, From, Subject and the target's reply; retry makes them (all, the\n"
        "account's, or those named by ID) pending again, so the next poll fetches them from\n"
        "the source and delivers them; drop gives them up (kept on the source, never fetched\n"
        "again) and removes their copies from quarantine_dir";
    spec.help =
        "What the target refused (5xx; IMAP: NO or BAD). Such messages stay on the source and have a\n"
        "copy in quarantine_dir/ACCOUNT/.\n"
        "\n"
        "  list    each message's ID, account, folder, UID, date, size, From, Subject and the\n"
        "          target's reply\n"
        "  retry   makes them (all, the account's, or those named by ID) pending again: the next poll\n"
        "          fetches them from the source and delivers them\n"
        "  drop    gives them up (kept on the source, never fetched again) and removes their copies\n"
        "\n"
        "options:\n"
        "  --account NAME   only this account's messages\n"
        "  --json           list: one JSON array\n";
    spec.options = {{"--account", true}, {"--json", false}};
    spec.takesOperands = true;
    spec.needsConfig = true;
    spec.checkUsage = [](const Invocation& invocation) {
        const auto& words = invocation.operands;
        if (words.empty() || (words[0] != "list" && words[0] != "retry" && words[0] != "drop"))
            throw UsageError("quarantine needs list, retry or drop");
        if (words[0] == "list" && words.size() > 1) throw UsageError("quarantine list takes no IDs");
        if (invocation.accounts().size() > 1) throw UsageError("quarantine takes at most one --account NAME");
    };
    spec.run = [](const Invocation& invocation, const config::Config* config) {
        return quarantineCommand(invocation, *config);
    };
    return spec;
}

}  // namespace mc::app
