// `mailcollector status`: per account, what the ledger says of its polls.

#include <ctime>
#include <iostream>

#include "app/CommandSupport.hpp"
#include "app/CommandTable.hpp"
#include "collector/AccountPoller.hpp"
#include "schedules/StatusPage.hpp"

namespace mc::app {
namespace {

// "next poll" as the service recorded it; a time in the past means no service is polling.
std::string describeNextPoll(std::int64_t nextPollAt) {
    if (nextPollAt == 0) return "not scheduled";
    const std::int64_t now = std::time(nullptr);
    if (nextPollAt + 60 < now) return formatTime(nextPollAt) + " (overdue: is the service running?)";
    return formatTime(nextPollAt);
}

// An account's kept polls (newest first) and the per-day summaries of older ones.
struct History {
    std::vector<ledger::PollRecord> polls;
    std::vector<ledger::PollDaySummary> days;
};

std::string historyJson(const History& history) {
    std::string out = ",\"history\":[";
    for (std::size_t i = 0; i < history.polls.size(); ++i) {
        const auto& poll = history.polls[i];
        out += std::string(i ? "," : "") + "{\"started\":" + std::to_string(poll.startedAt) +
               ",\"duration_ms\":" + std::to_string(poll.durationMs) + ",\"result\":" + jsonString(poll.result) +
               ",\"error\":" + jsonString(poll.error) + ",\"fetched\":" + std::to_string(poll.fetched) +
               ",\"delivered\":" + std::to_string(poll.delivered) +
               ",\"quarantined\":" + std::to_string(poll.quarantined) +
               ",\"deferred\":" + std::to_string(poll.deferred) + ",\"skipped\":" + std::to_string(poll.skipped) +
               ",\"deleted\":" + std::to_string(poll.deleted) + "}";
    }
    out += "],\"days\":[";
    for (std::size_t i = 0; i < history.days.size(); ++i) {
        const auto& day = history.days[i];
        out += std::string(i ? "," : "") + "{\"day\":" + std::to_string(day.day) +
               ",\"polls\":" + std::to_string(day.polls) + ",\"failed\":" + std::to_string(day.failed) +
               ",\"fetched\":" + std::to_string(day.fetched) + ",\"delivered\":" + std::to_string(day.delivered) + "}";
    }
    return out + "]";
}

void printHistory(const History& history) {
    for (const auto& poll : history.polls) {
        std::cout << "  " << formatTime(poll.startedAt) << "  " << poll.durationMs / 1000 << "."
                  << poll.durationMs % 1000 / 100 << "s  " << shown(poll.result) << "  fetched " << poll.fetched
                  << ", delivered " << poll.delivered << ", quarantined " << poll.quarantined << ", deferred "
                  << poll.deferred << (poll.error.empty() ? "" : "  " + shown(poll.error)) << "\n";
    }
    for (auto it = history.days.rbegin(); it != history.days.rend(); ++it)
        std::cout << "  " << schedules::formatUtc(it->day, "%Y-%m-%d") << " (UTC)  " << it->polls << " polls, "
                  << it->failed << " failed, fetched " << it->fetched << ", delivered " << it->delivered << "\n";
    if (history.polls.empty()) std::cout << "  no poll recorded\n";
}

std::uint64_t countOf(const std::map<std::string, std::uint64_t>& counts, const std::string& account) {
    auto found = counts.find(account);
    return found == counts.end() ? 0 : found->second;
}

int statusCommand(const Invocation& invocation, const config::Config& config) {
    const bool json = invocation.has("--json");
    const bool withHistory = invocation.has("--history");
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
    // [collector] dedupe: messages not sent because another account delivered them.
    const auto duplicates =
        config.collector.dedupeByMessageId ? ledger->duplicateCounts() : std::map<std::string, std::uint64_t>{};
    std::vector<History> histories(accounts.size());
    if (withHistory)
        for (std::size_t i = 0; i < accounts.size(); ++i)
            histories[i] = History{ledger->pollHistory(accounts[i]->name, ledger::kPollHistoryKept),
                                   ledger->pollDays(accounts[i]->name, 0)};
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
                      << ",\"pending\":" << record.pending << ",\"duplicates\":" << countOf(duplicates, account->name)
                      << (withHistory ? historyJson(histories[i]) : "") << "}";
        } else {
            std::cout << shown(account->name) << ": last poll " << formatTime(record.lastPollAt) << ", "
                      << (result.result.empty() ? "never polled" : shown(result.result))
                      << (kind.empty() ? "" : " (" + kind + ", retry " + retry + ")") << "; delivered "
                      << record.delivered << ", deleted " << record.deleted << ", quarantined " << record.quarantined
                      << ", skipped " << record.skipped << ", pending " << record.pending
                      << (countOf(duplicates, account->name)
                              ? ", duplicates " + std::to_string(countOf(duplicates, account->name))
                              : "")
                      << "; next poll " << describeNextPoll(record.nextPollAt) << "\n";
            if (!record.leaseHolder.empty()) std::cout << "  held by " << shown(record.leaseHolder) << "\n";
            // An ok or partial poll's text is a note (a download limit's progress), not an error.
            if (!record.lastError.empty())
                std::cout << (result.result == "failed" ? "  last error: " : "  note: ") << shown(record.lastError)
                          << "\n";
            if (withHistory) printHistory(histories[i]);
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
    spec.synopsis = "status -c FILE [--account NAME]... [--history] [--json]";
    spec.summary = "per account: last poll, result, message counts and last error, from the ledger";
    spec.help =
        "Per account, from the ledger: the last poll and its result (with the failure kind and when\n"
        "it is retried), message counts (delivered, deleted, quarantined, skipped, pending), the next\n"
        "poll the service scheduled, which process holds the account, and the last error.\n"
        "\n"
        "options:\n"
        "  --account NAME   only this account (repeatable)\n"
        "  --history        also each account's last polls (newest first: start, duration, result,\n"
        "                   counts, error; the last 100 are kept) and older ones summed per UTC day\n"
        "  --json           one JSON array, an object per account (with --history: \"history\", \"days\")\n";
    spec.options = {{"--account", true}, {"--history", false}, {"--json", false}};
    spec.needsConfig = true;
    spec.run = [](const Invocation& invocation, const config::Config* config) {
        return statusCommand(invocation, *config);
    };
    return spec;
}

}  // namespace mc::app
