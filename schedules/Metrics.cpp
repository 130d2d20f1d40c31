#include "schedules/Metrics.hpp"

#include "proto/SafeText.hpp"

#include <cmath>
#include <cstdio>

namespace mc::schedules {
namespace {

constexpr const char* kOutcomes[] = {"delivered", "deferred", "quarantined", "skipped", "deleted"};
constexpr const char* kResults[] = {"ok", "partial", "failed"};

// Label values: backslash, double quote and newline escaped, bytes that are not UTF-8 replaced
// by U+FFFD (the format requires UTF-8). Account names are restricted by the config and error
// kinds are ours: this is defence in depth.
std::string label(const std::string& value) {
    std::string out;
    for (std::size_t i = 0; i < value.size();) {
        const std::size_t length = proto::utf8SequenceLength(value, i);
        const char c = value[i];
        if (length == 0)
            out += "\xef\xbf\xbd";
        else if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out.append(value, i, length);
        i += length == 0 ? 1 : length;
    }
    return out;
}

std::string number(double value) {
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.15g", value);
    return buffer;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void sample(std::string& out, const char* name, const std::string& labels, const std::string& value) {
    out += name;
    if (!labels.empty()) out += "{" + labels + "}";
    out += ' ';
    out += value;
    out += '\n';
}

std::string accountLabel(const std::string& account) { return "account=\"" + label(account) + "\""; }

}  // namespace

std::string pollErrorKind(const collector::PollReport& report) {
    if (report.ledgerFailed) return "ledger";
    if (report.interrupted) return "interrupted";
    return std::string(proto::failureKindName(report.failure));
}

Metrics::Metrics() : durationCounts_(durationBuckets().size() + 1, 0) {}

const std::vector<double>& Metrics::durationBuckets() {
    static const std::vector<double> buckets{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800};
    return buckets;
}

Metrics::AccountSeries& Metrics::series(const std::string& account) {
    auto [it, inserted] = accounts_.try_emplace(account);
    if (inserted) {
        for (const char* outcome : kOutcomes) it->second.messages[outcome] = 0;
        for (const char* result : kResults) it->second.polls[result] = 0;
    }
    return it->second;
}

void Metrics::setAccounts(const std::vector<std::string>& names) {
    std::lock_guard lock(mutex_);
    std::map<std::string, AccountSeries> kept;
    for (const auto& name : names) {
        auto it = accounts_.find(name);
        if (it != accounts_.end()) kept.emplace(name, std::move(it->second));
    }
    accounts_ = std::move(kept);
    for (const auto& name : names) series(name);
}

void Metrics::recordPoll(const collector::PollReport& report, std::optional<std::uint64_t> pending,
                         std::int64_t finishedAtUnix) {
    std::lock_guard lock(mutex_);
    AccountSeries& s = series(report.account);
    s.messages["delivered"] += report.delivered;
    s.messages["deferred"] += report.deferred;
    s.messages["quarantined"] += report.quarantined;
    s.messages["skipped"] += report.skipped;
    s.messages["deleted"] += report.deleted;
    if (report.dedupedAcrossAccounts) s.messages["duplicate"] += report.dedupedAcrossAccounts;
    s.bytes += report.bytes;
    const char* result = !report.ok ? "failed" : collector::pollIsPartial(report) ? "partial" : "ok";
    ++s.polls[result];
    if (!report.ok) ++s.errors[pollErrorKind(report)];
    if (pending) s.pending = *pending;
    s.lastPoll = finishedAtUnix;
    if (report.ok) s.lastSuccess = finishedAtUnix;

    const auto& buckets = durationBuckets();
    std::size_t bucket = 0;
    while (bucket < buckets.size() && report.seconds > buckets[bucket]) ++bucket;
    ++durationCounts_[bucket];
    ++durationCount_;
    durationSum_ += report.seconds;
}

void Metrics::setPending(const std::string& account, std::uint64_t pending) {
    std::lock_guard lock(mutex_);
    series(account).pending = pending;
}

void Metrics::setNextPoll(const std::string& account, std::int64_t atUnix) {
    std::lock_guard lock(mutex_);
    if (auto it = accounts_.find(account); it != accounts_.end()) it->second.nextPoll = atUnix;
}

void Metrics::setConsecutiveFailures(const std::string& account, int failures) {
    std::lock_guard lock(mutex_);
    if (auto it = accounts_.find(account); it != accounts_.end()) it->second.consecutiveFailures = failures;
}

void Metrics::setPollsInFlight(int polls) {
    std::lock_guard lock(mutex_);
    pollsInFlight_ = polls;
}

void Metrics::recordReload(bool applied, std::int64_t atUnix) {
    std::lock_guard lock(mutex_);
    ++(applied ? reloadsApplied_ : reloadsFailed_);
    lastReloadApplied_ = applied;
    lastReloadAt_ = atUnix;
}

std::string Metrics::render() const {
    std::lock_guard lock(mutex_);
    std::string out;
    out.reserve(512 + accounts_.size() * 1400);

    header(out, "mailcollector_messages_total", "counter",
           "Messages handled, by account and outcome (delivered, deferred, quarantined, skipped, deleted, duplicate).");
    for (const auto& [account, s] : accounts_)
        for (const auto& [outcome, count] : s.messages)
            sample(out, "mailcollector_messages_total", accountLabel(account) + ",outcome=\"" + outcome + "\"",
                   std::to_string(count));

    header(out, "mailcollector_bytes_total", "counter", "Bytes of messages delivered, by account.");
    for (const auto& [account, s] : accounts_)
        sample(out, "mailcollector_bytes_total", accountLabel(account), std::to_string(s.bytes));

    header(out, "mailcollector_polls_total", "counter", "Polls finished, by account and result (ok, partial, failed).");
    for (const auto& [account, s] : accounts_)
        for (const auto& [result, count] : s.polls)
            sample(out, "mailcollector_polls_total", accountLabel(account) + ",result=\"" + result + "\"",
                   std::to_string(count));

    header(out, "mailcollector_poll_errors_total", "counter", "Failed polls, by account and kind of failure.");
    for (const auto& [account, s] : accounts_)
        for (const auto& [kind, count] : s.errors)
            sample(out, "mailcollector_poll_errors_total", accountLabel(account) + ",kind=\"" + label(kind) + "\"",
                   std::to_string(count));

    header(out, "mailcollector_pending_messages", "gauge",
           "Messages seen but not yet delivered (left pending by a target 4xx or an interruption).");
    for (const auto& [account, s] : accounts_)
        sample(out, "mailcollector_pending_messages", accountLabel(account), std::to_string(s.pending));

    header(out, "mailcollector_consecutive_failures", "gauge", "Failed polls in a row, by account.");
    for (const auto& [account, s] : accounts_)
        sample(out, "mailcollector_consecutive_failures", accountLabel(account), std::to_string(s.consecutiveFailures));

    header(out, "mailcollector_last_poll_timestamp_seconds", "gauge",
           "When the last poll ended (unix time; 0: never).");
    for (const auto& [account, s] : accounts_)
        sample(out, "mailcollector_last_poll_timestamp_seconds", accountLabel(account), std::to_string(s.lastPoll));

    header(out, "mailcollector_last_success_timestamp_seconds", "gauge",
           "When the last successful poll ended (unix time; 0: never).");
    for (const auto& [account, s] : accounts_)
        sample(out, "mailcollector_last_success_timestamp_seconds", accountLabel(account),
               std::to_string(s.lastSuccess));

    header(out, "mailcollector_next_poll_timestamp_seconds", "gauge",
           "When the next poll is planned (unix time; 0: running or unknown).");
    for (const auto& [account, s] : accounts_)
        sample(out, "mailcollector_next_poll_timestamp_seconds", accountLabel(account), std::to_string(s.nextPoll));

    header(out, "mailcollector_poll_duration_seconds", "histogram", "How long polls took.");
    const auto& buckets = durationBuckets();
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= buckets.size(); ++i) {
        cumulative += durationCounts_[i];
        std::string le = i < buckets.size() ? number(buckets[i]) : "+Inf";
        sample(out, "mailcollector_poll_duration_seconds_bucket", "le=\"" + le + "\"", std::to_string(cumulative));
    }
    sample(out, "mailcollector_poll_duration_seconds_sum", "", number(durationSum_));
    sample(out, "mailcollector_poll_duration_seconds_count", "", std::to_string(durationCount_));

    header(out, "mailcollector_accounts", "gauge", "Accounts being collected.");
    sample(out, "mailcollector_accounts", "", std::to_string(accounts_.size()));
    header(out, "mailcollector_polls_in_flight", "gauge", "Polls running right now.");
    sample(out, "mailcollector_polls_in_flight", "", std::to_string(pollsInFlight_));
    header(out, "mailcollector_config_reloads_total", "counter",
           "SIGHUP reloads: applied, or failed (the running configuration kept).");
    sample(out, "mailcollector_config_reloads_total", "result=\"applied\"", std::to_string(reloadsApplied_));
    sample(out, "mailcollector_config_reloads_total", "result=\"failed\"", std::to_string(reloadsFailed_));
    header(out, "mailcollector_config_last_reload_successful", "gauge",
           "1 when the last reload was applied (or none was tried), 0 when it failed.");
    sample(out, "mailcollector_config_last_reload_successful", "", lastReloadApplied_ ? "1" : "0");
    header(out, "mailcollector_config_last_reload_timestamp_seconds", "gauge",
           "When the last reload was tried (unix time; 0: never).");
    sample(out, "mailcollector_config_last_reload_timestamp_seconds", "", std::to_string(lastReloadAt_));
    return out;
}

}  // namespace mc::schedules
