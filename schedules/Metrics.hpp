#pragma once
// The service's counters and gauges, rendered in the Prometheus text exposition format (0.0.4).
// Thread-safe. Counters count since the process started (Prometheus handles the resets).

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "collector/AccountPoller.hpp"

namespace mc::schedules {

// Why a poll failed, for the metric label: the report's failure kind (proto::failureKindName:
// network, tls, authentication, protocol, limit, timeout, target-transient, target-permanent,
// ledger, interrupted, config, unsupported).
std::string pollErrorKind(const collector::PollReport& report);

class Metrics {
public:
    Metrics();

    // Keeps the series of these accounts (new ones start at zero) and drops the others'.
    void setAccounts(const std::vector<std::string>& names);
    // One finished poll; `pending` is the account's pending count from the ledger, if read.
    void recordPoll(const collector::PollReport& report, std::optional<std::uint64_t> pending,
                    std::int64_t finishedAtUnix);
    void setPending(const std::string& account, std::uint64_t pending);
    void setNextPoll(const std::string& account, std::int64_t atUnix);
    void setConsecutiveFailures(const std::string& account, int failures);
    void setPollsInFlight(int polls);
    // A SIGHUP reload: applied, or refused (the running configuration kept).
    void recordReload(bool applied, std::int64_t atUnix);

    std::string render() const;

    // Bucket upper bounds of mailcollector_poll_duration_seconds (+Inf is implied).
    static const std::vector<double>& durationBuckets();

private:
    struct AccountSeries {
        std::map<std::string, std::uint64_t> messages;  // outcome -> count
        std::uint64_t bytes = 0;
        std::map<std::string, std::uint64_t> polls;   // result -> count
        std::map<std::string, std::uint64_t> errors;  // kind -> count
        std::uint64_t pending = 0;
        int consecutiveFailures = 0;
        std::int64_t lastPoll = 0;
        std::int64_t lastSuccess = 0;
        std::int64_t nextPoll = 0;
    };
    AccountSeries& series(const std::string& account);  // mutex_ held

    mutable std::mutex mutex_;
    std::map<std::string, AccountSeries> accounts_;
    std::vector<std::uint64_t> durationCounts_;  // per bucket, not cumulative
    std::uint64_t durationCount_ = 0;
    double durationSum_ = 0;
    int pollsInFlight_ = 0;
    std::uint64_t reloadsApplied_ = 0, reloadsFailed_ = 0;
    bool lastReloadApplied_ = true;
    std::int64_t lastReloadAt_ = 0;
};

}  // namespace mc::schedules
