#include "schedules/Scheduler.hpp"

#include <algorithm>
#include <set>

namespace mc::schedules {

const char* toString(AccountState state) {
    switch (state) {
        case AccountState::Waiting:
            return "waiting";
        case AccountState::Running:
            return "running";
        case AccountState::Done:
            return "done";
    }
    return "?";
}

namespace {

// base * 2^(steps), saturating at cap (steps may be large after days of failures).
Duration doubled(Duration base, int steps, Duration cap) {
    if (base <= Duration::zero()) return std::min(base, cap);
    Duration delay = base;
    for (int i = 0; i < steps && delay < cap; ++i) delay *= 2;
    return std::min(delay, cap);
}

}  // namespace

Scheduler::Scheduler(SchedulePolicy policy, int maxParallel, std::uint64_t seed, bool once)
    : policy_(policy), maxParallel_(std::max(1, maxParallel)), once_(once), random_(seed) {}

ReloadSummary Scheduler::setAccounts(const std::vector<AccountPlan>& plans, TimePoint now) {
    ReloadSummary summary;
    std::set<std::string> present;
    for (std::size_t i = 0; i < plans.size(); ++i) {
        const AccountPlan& plan = plans[i];
        if (!present.insert(plan.name).second) continue;  // config validation forbids this
        auto it = entries_.find(plan.name);
        if (it == entries_.end()) {
            Entry entry;
            entry.plan = plan;
            entry.order = i;
            entry.dueAt = now + std::max(Duration::zero(), plan.firstDelay);
            entry.lastEnd = now;
            enqueue(entries_.emplace(plan.name, std::move(entry)).first->second);
            summary.added.push_back(plan.name);
            continue;
        }
        Entry& entry = it->second;
        unqueue(entry);  // its order, due time or failures may change; enqueued again below
        entry.order = i;
        const bool wasRemoved = entry.removed;
        entry.removed = false;
        const AccountPlan& latest = entry.pendingPlan ? *entry.pendingPlan : entry.plan;
        if (latest.fingerprint == plan.fingerprint && latest.interval == plan.interval) {
            if (wasRemoved) summary.added.push_back(plan.name);  // back before its poll ended
            enqueue(entry);
            continue;
        }
        (wasRemoved ? summary.added : summary.changed).push_back(plan.name);
        if (entry.state == AccountState::Running) {
            entry.pendingPlan = plan;  // this poll goes on with the old settings
            continue;
        }
        const bool settingsChanged = entry.plan.fingerprint != plan.fingerprint;
        entry.plan = plan;
        entry.pendingPlan.reset();
        if (entry.state == AccountState::Done) continue;
        if (settingsChanged) {
            // New settings (a fixed password, another server): try them now, forget the backoff.
            entry.failures = 0;
            entry.deferredStreak = 0;
            entry.dueAt = now;
        } else {
            entry.dueAt = std::max(now, entry.lastEnd + withJitter(baseDelay(view(entry))));
        }
        enqueue(entry);
    }
    for (auto it = entries_.begin(); it != entries_.end();) {
        Entry& entry = it->second;
        if (present.count(it->first)) {
            ++it;
            continue;
        }
        if (entry.state == AccountState::Running) {
            if (!entry.removed) summary.removed.push_back(it->first);
            entry.removed = true;  // its poll finishes undisturbed; then it goes
            entry.pendingPlan.reset();
            entry.pollAgain = false;
            ++it;
        } else {
            summary.removed.push_back(it->first);
            unqueue(entry);
            it = entries_.erase(it);
        }
    }
    return summary;
}

void Scheduler::setMaxParallel(int maxParallel) { maxParallel_ = std::max(1, maxParallel); }

std::vector<std::string> Scheduler::takeDue(TimePoint now) {
    std::vector<std::string> started;
    if (!dispatching_) return started;
    // The healthy section of the queue first, then the failing one, each while due.
    for (const bool failingPart : {false, true}) {
        auto it = waiting_.lower_bound(QueueKey{failingPart, TimePoint::min(), 0, std::string()});
        while (it != waiting_.end() && std::get<0>(*it) == failingPart && std::get<1>(*it) <= now &&
               running_ < maxParallel_ && (!failingPart || runningFailing_ < failingSlots())) {
            Entry& entry = entries_.at(std::get<3>(*it));
            it = waiting_.erase(it);
            entry.state = AccountState::Running;
            entry.polled = true;
            ++running_;
            if (failingPart) ++runningFailing_;
            started.push_back(entry.plan.name);
        }
    }
    return started;
}

std::optional<TimePoint> Scheduler::complete(const std::string& name, const PollOutcome& outcome, TimePoint now) {
    auto it = entries_.find(name);
    if (it == entries_.end() || it->second.state != AccountState::Running) return std::nullopt;
    Entry& entry = it->second;
    --running_;
    if (failing(entry)) --runningFailing_;
    entry.lastEnd = now;
    if (entry.removed) {
        entries_.erase(it);
        return std::nullopt;
    }
    if (outcome.ok) {
        entry.failures = 0;
        entry.deferredStreak = outcome.deferred ? entry.deferredStreak + 1 : 0;
    } else {
        ++entry.failures;
        entry.retry = outcome.retry;
        entry.deferredStreak = 0;
    }
    if (once_) {
        entry.state = AccountState::Done;
        return std::nullopt;
    }
    entry.state = AccountState::Waiting;
    entry.dueAt = nextDue(entry, now);
    enqueue(entry);
    return entry.dueAt;
}

TimePoint Scheduler::nextDue(Entry& entry, TimePoint now) {
    if (entry.pendingPlan) {
        const bool settingsChanged = entry.pendingPlan->fingerprint != entry.plan.fingerprint;
        entry.plan = *entry.pendingPlan;
        entry.pendingPlan.reset();
        if (settingsChanged) {
            entry.failures = 0;
            entry.deferredStreak = 0;
            entry.pollAgain = false;
            return now;
        }
    }
    if (entry.pollAgain) {
        // Asked for while this poll ran, maybe after its listing: mail may have come since.
        entry.pollAgain = false;
        return now;
    }
    return now + withJitter(baseDelay(view(entry)));
}

bool Scheduler::pollNow(const std::string& name, TimePoint now) {
    if (once_) return false;
    auto it = entries_.find(name);
    if (it == entries_.end() || it->second.removed) return false;
    Entry& entry = it->second;
    if (entry.state == AccountState::Waiting) {
        unqueue(entry);
        entry.dueAt = std::min(entry.dueAt, now);
        enqueue(entry);
    } else if (entry.state == AccountState::Running)
        entry.pollAgain = true;
    return true;
}

void Scheduler::holdFirstPoll(const std::string& name, TimePoint until) {
    auto it = entries_.find(name);
    if (it == entries_.end() || it->second.polled || it->second.state != AccountState::Waiting) return;
    unqueue(it->second);
    it->second.dueAt = std::max(it->second.dueAt, until);
    enqueue(it->second);
}

void Scheduler::pollAllNow(TimePoint now) {
    for (auto& [name, entry] : entries_) pollNow(name, now);
}

std::optional<TimePoint> Scheduler::nextWakeup() const {
    if (!dispatching_ || running_ >= maxParallel_ || waiting_.empty()) return std::nullopt;
    // The healthy section starts the queue; the failing one starts at its lower bound. Failing
    // accounts out of slots wait for a completion, not for a time.
    std::optional<TimePoint> earliest;
    if (!std::get<0>(*waiting_.begin())) earliest = std::get<1>(*waiting_.begin());
    auto failingFirst = waiting_.lower_bound(QueueKey{true, TimePoint::min(), 0, std::string()});
    if (failingFirst != waiting_.end() && runningFailing_ < failingSlots() &&
        (!earliest || std::get<1>(*failingFirst) < *earliest))
        earliest = std::get<1>(*failingFirst);
    return earliest;
}

bool Scheduler::finished() const { return running_ == 0 && waiting_.empty(); }

void Scheduler::unqueue(const Entry& entry) {
    if (entry.state == AccountState::Waiting) waiting_.erase(keyOf(entry));
}

void Scheduler::enqueue(const Entry& entry) {
    if (entry.state == AccountState::Waiting) waiting_.insert(keyOf(entry));
}

std::optional<AccountView> Scheduler::account(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) return std::nullopt;
    return view(it->second);
}

std::vector<AccountView> Scheduler::accounts() const {
    std::vector<const Entry*> ordered;
    for (const auto& [name, entry] : entries_) ordered.push_back(&entry);
    std::sort(ordered.begin(), ordered.end(), [](const Entry* a, const Entry* b) { return a->order < b->order; });
    std::vector<AccountView> views;
    views.reserve(ordered.size());
    for (const Entry* entry : ordered) views.push_back(view(*entry));
    return views;
}

Duration Scheduler::baseDelay(const AccountView& account) const {
    const Duration interval = account.interval;
    if (account.failures > 0) {
        const Duration base = std::min(interval, policy_.backoffBase);
        const Duration cap = std::max(policy_.backoffCap, interval);
        if (account.retry == proto::RetryClass::Now) return base;
        // Refused credentials or a bad certificate do not mend by themselves; a reload with new
        // settings polls at once (see reload), anything else waits the longest backoff.
        if (account.retry == proto::RetryClass::Never) return cap;
        return doubled(base, account.failures - 1, cap);
    }
    if (account.deferredStreak > 0) {
        const Duration base = std::min(interval, policy_.deferredRetry);
        return doubled(base, account.deferredStreak - 1, interval);
    }
    return interval;
}

Duration Scheduler::withJitter(Duration delay) {
    using Ticks = Duration::rep;
    const auto share = std::chrono::duration_cast<Duration>(
        std::chrono::duration<double, Duration::period>(static_cast<double>(delay.count()) * policy_.jitterFraction));
    const Duration most = std::min(share, policy_.maxJitter);
    if (most <= Duration::zero()) return delay;
    std::uniform_int_distribution<Ticks> pick(0, most.count());
    return delay + Duration(pick(random_));
}

AccountView Scheduler::view(const Entry& entry) const {
    AccountView view;
    view.name = entry.plan.name;
    view.state = entry.state;
    view.dueAt = entry.dueAt;
    view.failures = entry.failures;
    view.retry = entry.retry;
    view.deferredStreak = entry.deferredStreak;
    view.pollAgain = entry.pollAgain;
    view.removed = entry.removed;
    view.interval = entry.plan.interval;
    return view;
}

}  // namespace mc::schedules
