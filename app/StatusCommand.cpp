// `mailcollector status`: per account, what the ledger says of its polls.

#include <ctime>
#include <iostream>

#include "app/CommandSupport.hpp"
#include "app/CommandTable.hpp"
#include "collector/AccountPoller.hpp"

namespace mc::app {
namespace {

// "next poll" as the service recorded it; a time in the past means no service is polling.
std::string describeNextPoll(std::int64_t nextPollAt) {
    if (nextPollAt == 0) return "not scheduled";
    const std::int64_t now = std::time(nullptr);
    if (nextPollAt + 60 < now) return formatTime(nextPollAt) + " (overdue: is the service running?)";
    return formatTime(nextPollAt);
}

int statusCommand(const Invocation& invocation, const config::Config& config) {
    const bool json = invocation.has("--json");
    auto ledger = openLedgerOrSay(config);
    if (!ledger) return kExitLedger;
    auto accounts = selectAccounts(config, invocation.accounts());
    // Everything is read before anything is printed: a ledger failing half-way prints nothing.
    std::vector<ledger::AccountRecord> records;
    for (const auto* account : accounts) {
        ledger::AccountRecord record;
        record.name = account->name;
        if (auto stored = ledger->account(account->name)) record = *stored;
        records.push_back(std::move(record));
    }
    if (json) std::cout << "[";
    bool first = true;
    for (std::size_t i = 0; i < accounts.size(); ++i) {
        const auto* account = accounts[i];
        const ledger::AccountRecord& record = records[i];
        const auto result = collector::parsePollResult(record.lastResult);
        std::string kind = result.failure ? std::string(proto::failureKindName(*result.failure)) : "";
        std::string retry =
            result.failure ? std::string(proto::retryClassName(proto::retryClassOf(*result.failure))) : "";
        if (json) {
            std::cout << (first ? "" : ",") << "\n  {\"account\":" << jsonString(account->name)
                      << ",\"last_poll\":" << record.lastPollAt << ",\"next_poll\":" << record.nextPollAt
                      << ",\"result\":" << jsonString(result.result)
                      << ",\"failure_kind\":" << (kind.empty() ? "null" : jsonString(kind))
                      << ",\"retry\":" << (retry.empty() ? "null" : jsonString(retry))
                      << ",\"last_error\":" << jsonString(record.lastError)
                      << ",\"held_by\":" << jsonString(record.leaseHolder) << ",\"seen\":" << record.seen
                      << ",\"delivered\":" << record.delivered << ",\"deleted\":" << record.deleted
                      << ",\"quarantined\":" << record.quarantined << ",\"skipped\":" << record.skipped
                      << ",\"pending\":" << record.pending << "}";
        } else {
            std::cout << shown(account->name) << ": last poll " << formatTime(record.lastPollAt) << ", "
                      << (result.result.empty() ? "never polled" : shown(result.result))
                      << (kind.empty() ? "" : " (" + kind + ", retry " + retry + ")") << "; delivered "
                      << record.delivered << ", deleted " << record.deleted << ", quarantined " << record.quarantined
                      << ", skipped " << record.skipped << ", pending " << record.pending << "; next poll "
                      << describeNextPoll(record.nextPollAt) << "\n";
            if (!record.leaseHolder.empty()) std::cout << "  held by " << shown(record.leaseHolder) << "\n";
            if (!record.lastError.empty()) std::cout << "  last error: " << shown(record.lastError) << "\n";
        }
        first = false;
    }
    if (json) std::cout << "\n]\n";
    return kExitOk;
}

}  // namespace

CommandSpec statusCommandSpec() {
    CommandSpec spec;
    spec.name = "status";
    spec.synopsis = "status -c FILE [--account NAME]... [--json]";
    spec.summary = "per account: last poll, result, message counts and last error, from the ledger";
    spec.help =
        "Per account, from the ledger: the last poll and its result (with the failure kind and when\n"
        "it is retried), message counts (delivered, deleted, quarantined, skipped, pending), the next\n"
        "poll the service scheduled, which process holds the account, and the last error.\n"
        "\n"
        "options:\n"
        "  --account NAME   only this account (repeatable)\n"
        "  --json           one JSON array, an object per account\n";
    spec.options = {{"--account", true}, {"--json", false}};
    spec.needsConfig = true;
    spec.run = [](const Invocation& invocation, const config::Config* config) {
        return statusCommand(invocation, *config);
    };
    return spec;
}

}  // namespace mc::app
