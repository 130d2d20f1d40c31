#pragma once
// When each account is polled: a single-threaded state machine, driven by the caller with times
// from a Clock, that never blocks and starts nothing itself (Service runs the polls).
//
// Per account:  Waiting(dueAt) --takeDue--> Running --complete--> Waiting(next) | Done (once)
//                                              \--(removed by a reload)--> gone on completion
// next = interval after a clean poll; a short, growing retry after a poll that left messages
// pending (4xx); exponential backoff up to a cap after failures; plus jitter on all of them.
// At most maxParallel accounts are Running at any time. Accounts whose last poll failed (a server
// that hangs, trickles or refuses) hold at most half of the slots (at least one), and due healthy
// accounts are started before them, so bad accounts cannot starve the good ones.

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "base/Clock.hpp"
#include "proto/Failure.hpp"

namespace mc::schedules {

struct SchedulePolicy {
    // Up to this share of each delay (and at most maxJitter) is added at random, so accounts
    // started together drift apart and never poll more often than their interval.
    double jitterFraction = 0.1;
    Duration maxJitter = std::chrono::minutes(1);
    // After failures: min(interval, backoffBase) doubled per consecutive failure, capped at
    // max(backoffCap, interval).
    Duration backoffBase = std::chrono::minutes(1);
    Duration backoffCap = std::chrono::hours(1);
    // After a poll that left messages pending (target 4xx): this, doubled per consecutive such
    // poll, capped at the interval.
    Duration deferredRetry = std::chrono::seconds(30);
};

// What the scheduler needs to know of an account from the configuration.
struct AccountPlan {
    std::string name;
    Duration interval = std::chrono::minutes(5);
    std::string fingerprint;  // changes when any setting changes (see accountFingerprint)
    Duration firstDelay{0};   // when first added: how long to wait before the first poll
};

struct PollOutcome {
    bool ok = false;        // the poll ran to its end
    bool deferred = false;  // messages were left pending by a transient target failure
    // When it failed: Never (credentials, certificate, config) waits the longest backoff at once,
    // Now (interrupted) retries after the shortest; Later doubles the backoff per failure.
    proto::RetryClass retry = proto::RetryClass::Later;
};

enum class AccountState { Waiting, Running, Done };

const char* toString(AccountState state);

struct AccountView {
    std::string name;
    AccountState state = AccountState::Waiting;
    TimePoint dueAt{};                                   // Waiting: when it is due; otherwise meaningless
    int failures = 0;                                    // consecutive failed polls
    proto::RetryClass retry = proto::RetryClass::Later;  // of the last failure
    int deferredStreak = 0;                              // consecutive polls that left messages pending
    bool pollAgain = false;                              // Running: poll again as soon as this poll ends
    bool removed = false;                                // Running: removed by a reload, dropped when this poll ends
    Duration interval{};
};

struct ReloadSummary {
    std::vector<std::string> added, removed, changed;
};

class Scheduler {
public:
    Scheduler(SchedulePolicy policy, int maxParallel, std::uint64_t seed, bool once = false);

    // Replaces the set of accounts (config order is the tie-break for equal due times). New
    // accounts are due after their firstDelay; removed ones go now, or when their poll ends;
    // accounts whose settings changed are polled again promptly with their backoff cleared;
    // accounts whose interval alone changed are rescheduled from their last poll; the others
    // keep their schedule untouched.
    ReloadSummary setAccounts(const std::vector<AccountPlan>& plans, TimePoint now);
    void setMaxParallel(int maxParallel);
    int maxParallel() const { return maxParallel_; }

    // The accounts to start now, never more than the free slots: healthy ones first, then those
    // whose last poll failed while they hold fewer than failingSlots(); each group earliest due
    // first. They are Running when this returns. Nothing once stopDispatching() was called.
    std::vector<std::string> takeDue(TimePoint now);
    // Records the end of a poll started by takeDue; returns when the account is due next, or
    // nullopt when it has no next poll (removed meanwhile, or `once`).
    std::optional<TimePoint> complete(const std::string& name, const PollOutcome& outcome, TimePoint now);

    // Poll now: a Waiting account becomes due; a Running one is polled again right after.
    // False for an unknown account (or in `once` mode).
    bool pollNow(const std::string& name, TimePoint now);
    // Holds an account's first poll until `until` at the latest, for its push watcher to connect
    // and say so with pollNow: a poll started first would miss what arrives before the watch
    // begins, and one polled again for it would repeat the first. No effect once it was polled.
    void holdFirstPoll(const std::string& name, TimePoint until);
    void pollAllNow(TimePoint now);

    // When takeDue next has something to start; nullopt when nothing will be due without an
    // event (all slots busy, nothing waiting, or dispatching stopped).
    std::optional<TimePoint> nextWakeup() const;

    void stopDispatching() { dispatching_ = false; }
    bool dispatching() const { return dispatching_; }
    int running() const { return running_; }
    // How many slots accounts whose last poll failed may hold at once: half, at least one.
    int failingSlots() const { return std::max(1, maxParallel_ / 2); }
    // `once`: every account polled and none running.
    bool finished() const;

    std::optional<AccountView> account(const std::string& name) const;
    std::vector<AccountView> accounts() const;  // in config order

    // The delay before an account's next poll given its failure and deferral streaks, jitter
    // excluded (exposed for tests).
    Duration baseDelay(const AccountView& account) const;

private:
    struct Entry {
        AccountPlan plan;
        std::size_t order = 0;
        AccountState state = AccountState::Waiting;
        TimePoint dueAt{};
        TimePoint lastEnd{};  // end of the last poll; the first add time before any poll
        int failures = 0;
        proto::RetryClass retry = proto::RetryClass::Later;
        int deferredStreak = 0;
        bool pollAgain = false;
        bool removed = false;
        bool polled = false;                     // a poll was started
        std::optional<AccountPlan> pendingPlan;  // a reload's new settings, applied at the end
    };

    // The Waiting accounts in the order takeDue starts them: healthy ones before failing ones,
    // then by due time and config order. Every change to a Waiting entry's key goes through
    // unqueue / enqueue, so that a poll's end costs O(log n), not a pass over every account.
    using QueueKey = std::tuple<bool, TimePoint, std::size_t, std::string>;  // failing, dueAt, order, name
    static QueueKey keyOf(const Entry& entry) { return {failing(entry), entry.dueAt, entry.order, entry.plan.name}; }
    void unqueue(const Entry& entry);
    void enqueue(const Entry& entry);  // when Waiting
    // After a poll: the entry's due time, with a reload's pending settings applied.
    TimePoint nextDue(Entry& entry, TimePoint now);

    Duration withJitter(Duration delay);
    static bool failing(const Entry& entry) { return entry.failures > 0; }
    AccountView view(const Entry& entry) const;

    SchedulePolicy policy_;
    int maxParallel_;
    bool once_;
    bool dispatching_ = true;
    int running_ = 0;
    int runningFailing_ = 0;  // Running accounts whose last poll failed
    std::map<std::string, Entry> entries_;
    std::set<QueueKey> waiting_;
    std::mt19937_64 random_;
};

}  // namespace mc::schedules
