#include "schedules/Service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "net/HostAddressCache.hpp"
#include "schedules/AccountLease.hpp"
#include "schedules/AccountPlans.hpp"
#include "schedules/Logging.hpp"

namespace mc::schedules {

const char* toString(ServiceState state) {
    switch (state) {
        case ServiceState::Starting:
            return "starting";
        case ServiceState::Running:
            return "running";
        case ServiceState::Stopping:
            return "stopping";
        case ServiceState::Stopped:
            return "stopped";
    }
    return "?";
}

namespace {

// How long an account's first poll waits for its push watcher to connect (or fail) first.
constexpr Duration kWatcherConnectHold = std::chrono::seconds(30);

std::uint64_t seedOf(std::uint64_t seed) {
    if (seed != 0) return seed;
    std::random_device device;
    return (std::uint64_t(device()) << 32) ^ device();
}

std::int64_t unixSeconds(WallTime at) {
    return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

std::string describeDelay(Duration delay) {
    const auto total = std::chrono::duration_cast<std::chrono::seconds>(delay).count();
    if (total < 60) return std::to_string(total) + "s";
    if (total < 3600) return std::to_string(total / 60) + "m" + std::to_string(total % 60) + "s";
    return std::to_string(total / 3600) + "h" + std::to_string(total % 3600 / 60) + "m";
}

std::vector<std::string> namesOf(const std::vector<AccountPlan>& plans) {
    std::vector<std::string> names;
    names.reserve(plans.size());
    for (const auto& plan : plans) names.push_back(plan.name);
    return names;
}

// Quiet polls (nothing happened) are debug in the service, where they repeat all day; `once`
// reports every account.
void logReport(const collector::PollReport& r, bool once, const std::string& next) {
    const std::string text = describePoll(r) + next;
    if (!r.heldBy.empty()) {
        // `once` was asked for this account now: say why it did nothing.
        spdlog::log(once ? spdlog::level::info : spdlog::level::debug, "{}", text);
        return;
    }
    if (r.interrupted) return spdlog::warn("{}", text);
    if (!r.ok) return spdlog::error("{}", text);
    const bool eventful = r.fetched || r.delivered || r.deferred || r.quarantined || r.skipped || r.deleted ||
                          r.untrusted || r.leftForLater;
    spdlog::log(once || eventful ? spdlog::level::info : spdlog::level::debug, "{}", text);
}

}  // namespace

std::string describePoll(const collector::PollReport& r) {
    if (!r.heldBy.empty()) return fmt::format("account={} skipped: held by {}", r.account, r.heldBy);
    const std::string counts = fmt::format(
        "listed={} fetched={} delivered={} deferred={} quarantined={} skipped={} deleted={} lone_crs={} bytes={} "
        "seconds={:.2f}{}{}{}{}",
        r.listed, r.fetched, r.delivered, r.deferred, r.quarantined, r.skipped, r.deleted, r.loneCrs, r.bytes,
        r.seconds, r.untrusted ? " untrusted=" + std::to_string(r.untrusted) + " (left pending)" : "",
        r.limitNote.empty() ? "" : " later=" + std::to_string(r.leftForLater) + " (" + r.limitNote + ")",
        r.duplicates ? " known=" + std::to_string(r.duplicates) + " (delivered before: recorded, not sent again)" : "",
        r.dedupedAcrossAccounts
            ? " duplicates=" + std::to_string(r.dedupedAcrossAccounts) + " (their Message-ID was delivered before)"
            : "");
    if (r.ok) return fmt::format("account={} poll ok: {}", r.account, counts);
    // Our words before the error, which is server text: a JSON log makes fields of them only there.
    return fmt::format("account={} poll {} failure_kind={} {}: {}", r.account, r.interrupted ? "stopped" : "failed",
                       proto::failureKindName(r.failure), counts, r.error);
}

Service::Service(std::shared_ptr<const config::Config> config, ledger::LedgerStore& ledger, Clock& clock,
                 Metrics& metrics, PollFunction poll, ServiceOptions options)
    : ledger_(ledger),
      leaseHolder_(makeLeaseHolder()),
      clock_(clock),
      metrics_(metrics),
      poll_(std::move(poll)),
      options_(std::move(options)),
      config_(std::move(config)),
      scheduler_(options_.policy, config_->collector.maxParallel, seedOf(options_.seed), options_.once) {
    auto plans = initialPlans(*config_);
    metrics_.setAccounts(namesOf(plans));
    scheduler_.setAccounts(plans, clock_.now());
}

Service::~Service() {
    requestStop();
    stopWatchers();
    // run() stops its workers; they are left only when run() was never called or threw.
    stopWorkers();
}

void Service::stopWorkers() {
    std::unique_lock lock(mutex_);
    workersStopping_ = true;
    jobQueued_.notify_all();
    auto workers = std::move(workers_);
    workers_.clear();
    lock.unlock();
    for (auto& thread : workers) thread.join();
}

std::vector<AccountPlan> Service::initialPlans(const config::Config& config) {
    auto plans = accountPlans(config, options_.only);
    if (options_.once || !options_.resumeSchedule) return plans;
    std::vector<ledger::AccountRecord> records;
    try {
        records = ledger_.accounts();
    } catch (const ledger::LedgerError& e) {
        spdlog::warn("cannot read the last polls from the ledger, polling every account now: {}", e.what());
        return plans;
    }
    const std::int64_t now = unixSeconds(clock_.wallNow());
    for (auto& plan : plans) {
        auto record = std::find_if(records.begin(), records.end(),
                                   [&](const ledger::AccountRecord& r) { return r.name == plan.name; });
        if (record == records.end()) continue;
        metrics_.setPending(plan.name, record->pending);
        if (record->lastResult != "ok" || record->lastPollAt <= 0) continue;
        const Duration age = std::chrono::seconds(std::max<std::int64_t>(0, now - record->lastPollAt));
        if (age < plan.interval) plan.firstDelay = plan.interval - age;
    }
    return plans;
}

ServiceResult Service::run() {
    std::unique_lock lock(mutex_);
    if (state_ == ServiceState::Starting) state_ = ServiceState::Running;
    if (state_ == ServiceState::Running && !options_.once && options_.watchers) {
        auto config = config_;
        lock.unlock();
        syncWatchers(*config, {});
        lock.lock();
    }
    for (;;) {
        if (options_.once && scheduler_.finished()) break;
        if (state_ != ServiceState::Running && scheduler_.running() == 0) break;
        if (state_ == ServiceState::Running)
            for (const auto& name : scheduler_.takeDue(clock_.now())) start(name);
        metrics_.setPollsInFlight(scheduler_.running());
        const auto wake = state_ == ServiceState::Running ? scheduler_.nextWakeup() : std::nullopt;
        clock_.waitUntil(lock, changed_, wake.value_or(kNever));
    }
    // Every poll has completed; their workers may still be logging: wait for all of them.
    lock.unlock();
    stopWorkers();
    stopWatchers();
    lock.lock();
    state_ = ServiceState::Stopped;
    metrics_.setPollsInFlight(0);
    return result_;
}

void Service::requestStop() {
    {
        std::lock_guard lock(mutex_);
        if (state_ == ServiceState::Starting || state_ == ServiceState::Running) state_ = ServiceState::Stopping;
        scheduler_.stopDispatching();
        changed_.notify_all();
    }
    // Watchers wind down while the polls in flight finish; run() waits for them at the end.
    std::lock_guard guard(watchersMutex_);
    for (auto& [name, watched] : watchers_) watched.watcher->requestStop();
}

void Service::syncWatchers(const config::Config& config, const std::function<void()>& update) {
    const auto plans = accountPlans(config, options_.only);
    // Old watchers stop before their replacements start: servers limit connections per user.
    std::vector<std::unique_ptr<AccountWatcher>> retired;
    {
        std::lock_guard guard(watchersMutex_);
        for (auto it = watchers_.begin(); it != watchers_.end();) {
            auto plan =
                std::find_if(plans.begin(), plans.end(), [&](const AccountPlan& p) { return p.name == it->first; });
            if (plan != plans.end() && plan->fingerprint == it->second.fingerprint) {
                ++it;
                continue;
            }
            retired.push_back(std::move(it->second.watcher));
            it = watchers_.erase(it);
        }
    }
    for (auto& watcher : retired) watcher->requestStop();
    for (auto& watcher : retired) watcher->stop();

    std::lock_guard guard(watchersMutex_);
    std::vector<std::pair<std::string, Watched>> made;  // not started yet
    for (const auto& plan : plans) {
        if (!options_.watchers || watchersClosed_ || watchers_.count(plan.name)) continue;
        const config::AccountSettings* account = config.findAccount(plan.name);
        auto watcher = options_.watchers(config, *account, [this, name = plan.name] {
            spdlog::debug("account={} new mail announced: polling now", name);
            pollNow(name);
        });
        if (watcher) made.emplace_back(plan.name, Watched{plan.fingerprint, std::move(watcher)});
    }
    {
        // The first poll waits for the watcher to connect (it then asks for a poll), so that none
        // is repeated for the watch starting after it; kWatcherConnectHold at most. Held in the
        // step the scheduler hears of the account: none may start before its hold.
        std::lock_guard lock(mutex_);
        if (update) update();
        for (const auto& [name, watched] : made) scheduler_.holdFirstPoll(name, clock_.now() + kWatcherConnectHold);
    }
    for (auto& [name, watched] : made) {
        watched.watcher->start();
        watchers_.emplace(name, std::move(watched));
    }
}

void Service::stopWatchers() {
    std::map<std::string, Watched> watchers;
    {
        std::lock_guard guard(watchersMutex_);
        watchersClosed_ = true;
        watchers.swap(watchers_);
    }
    for (auto& [name, watched] : watchers) watched.watcher->requestStop();
    for (auto& [name, watched] : watchers) watched.watcher->stop();
}

void Service::start(const std::string& name) {
    const config::AccountSettings* account = config_->findAccount(name);
    if (account == nullptr) {
        // Cannot happen (the scheduler's accounts come from this config); never leave it Running.
        scheduler_.complete(name, PollOutcome{}, clock_.now());
        return;
    }
    jobs_.push_back(Job{config_, account, ++history_[name].started});
    // Every queued job needs a worker of its own: the scheduler started it to run now.
    if (workers_.size() - busyWorkers_ < jobs_.size())
        workers_.emplace_back([this] { workLoop(); });
    else
        jobQueued_.notify_one();
}

void Service::workLoop() {
    std::unique_lock lock(mutex_);
    for (;;) {
        jobQueued_.wait(lock, [this] { return !jobs_.empty() || workersStopping_; });
        if (jobs_.empty()) return;  // stopping
        const Job job = std::move(jobs_.front());
        jobs_.pop_front();
        ++busyWorkers_;
        lock.unlock();
        work(job);  // finish() counts this worker free again
        lock.lock();
        changed_.notify_all();
    }
}

void Service::work(const Job& job) {
    const config::Config* config = job.config.get();
    const config::AccountSettings& account = *job.account;
    collector::PollReport report;
    std::optional<std::uint64_t> pending;
    {
        ScopedLogAccount scope(account.name);
        try {
            // Instances sharing a ledger poll an account one at a time (see AccountLease).
            AccountLease lease(ledger_, account.name, leaseHolder_, config->collector.leaseTtl);
            if (lease.granted()) {
                report = guardedPoll(*config, account);
                report.account = account.name;
                // The account's last result, its history and the lease: one ledger write.
                if (!report.ledgerFailed) {
                    try {
                        lease.endPoll(historyRecord(report), lastError(report));
                    } catch (const ledger::LedgerError& e) {
                        setLedgerFailure(report, e);  // what the poll did is still reported
                    }
                }
            } else {
                report.ok = true;
                report.heldBy = lease.holder();
            }
        } catch (const ledger::LedgerError& e) {
            report = collector::PollReport{};
            setLedgerFailure(report, e);
        } catch (const std::exception& e) {  // e.g. no thread for the lease's renewal
            report = internalError(e);
        }
        report.account = account.name;
        // The pending gauge (the account's rows counted by state: tens of ms at 100,000 messages)
        // is served by the service alone; `run --once` has no /metrics.
        if (!report.ledgerFailed && !options_.once) {
            try {
                if (auto record = ledger_.account(account.name)) pending = record->pending;
            } catch (const ledger::LedgerError& e) {
                spdlog::warn("account={} cannot read its pending count: {}", account.name, e.what());
            }
        }
    }
    finish(account.name, report, pending, job.pollNumber);
}

collector::PollReport Service::guardedPoll(const config::Config& config, const config::AccountSettings& account) {
    try {
        return poll_(config, account);
    } catch (const ledger::LedgerError& e) {
        collector::PollReport report;
        setLedgerFailure(report, e);
        return report;
    } catch (const std::exception& e) {
        return internalError(e);
    }
}

collector::PollReport Service::internalError(const std::exception& e) {
    collector::PollReport report;
    report.error = std::string("internal error: ") + e.what();
    return report;
}

void Service::setLedgerFailure(collector::PollReport& report, const ledger::LedgerError& e) {
    report.ok = false;
    report.ledgerFailed = true;
    report.failure = proto::FailureKind::Ledger;
    report.error = std::string("ledger failure: ") + e.what();
}

// What the account's row keeps of its last poll: the error, else what the limits left for later.
std::string Service::lastError(const collector::PollReport& report) {
    return report.error.empty() ? report.limitNote : report.error;
}

void Service::finish(const std::string& name, const collector::PollReport& report, std::optional<std::uint64_t> pending,
                     std::uint64_t pollNumber) {
    std::optional<TimePoint> next;
    TimePoint now;
    {
        std::lock_guard lock(mutex_);
        now = clock_.now();
        PollHistory& history = history_[name];
        history.finished = pollNumber;
        history.lastReport = report;
        if (!report.ok) result_.anyFailed = true;
        if (report.ledgerFailed && !result_.ledgerFailed) {
            result_.ledgerFailed = true;
            spdlog::critical("account={} the ledger cannot be written; stopping: {}", name, report.error);
            if (state_ == ServiceState::Starting || state_ == ServiceState::Running) state_ = ServiceState::Stopping;
            scheduler_.stopDispatching();
        }
        // Free again before the scheduler hears of the finished poll: the job it starts next finds this
        // worker instead of starting another (the pool stays at max_parallel workers).
        --busyWorkers_;
        next = scheduler_.complete(
            name, PollOutcome{report.ok, report.deferred > 0, proto::retryClassOf(report.failure)}, now);
        if (!scheduler_.dispatching()) next.reset();  // stopping: there is no next poll
        if (auto view = scheduler_.account(name)) {
            metrics_.recordPoll(report, pending, unixSeconds(clock_.wallNow()));
            metrics_.setConsecutiveFailures(name, view->failures);
            metrics_.setNextPoll(name, next ? unixSeconds(clock_.toWall(*next)) : 0);
        }
        metrics_.setPollsInFlight(scheduler_.running());
    }
    logReport(report, options_.once, next ? "; next poll in " + describeDelay(*next - now) : std::string());
    if (next && options_.recordNextPoll && !report.ledgerFailed) {
        try {
            ledger_.recordNextPoll(name, unixSeconds(clock_.toWall(*next)));
        } catch (const ledger::LedgerError& e) {
            spdlog::error("account={} cannot record its next poll: {}", name, e.what());
        }
    }
}

ledger::PollRecord Service::historyRecord(const collector::PollReport& report) const {
    ledger::PollRecord poll;
    poll.account = report.account;
    poll.durationMs = static_cast<std::int64_t>(report.seconds * 1000);
    poll.startedAt = unixSeconds(clock_.wallNow()) - poll.durationMs / 1000;
    poll.result = collector::pollResultText(report);
    poll.error = report.error;
    poll.fetched = report.fetched;
    poll.delivered = report.delivered;
    poll.quarantined = report.quarantined;
    poll.deferred = report.deferred;
    poll.skipped = report.skipped;
    poll.deleted = report.deleted;
    return poll;
}

ReloadSummary Service::reload(const std::shared_ptr<const config::Config>& config) {
    {
        std::lock_guard lock(mutex_);
        if (options_.once || state_ == ServiceState::Stopping || state_ == ServiceState::Stopped) return {};
    }
    net::HostAddressCache::process().clear();  // a reloaded config's servers are looked up afresh
    ReloadSummary summary;
    syncWatchers(*config, [&] {
        if (state_ == ServiceState::Stopping || state_ == ServiceState::Stopped) return;
        config_ = config;
        scheduler_.setMaxParallel(config_->collector.maxParallel);
        auto plans = accountPlans(*config_, options_.only);
        summary = scheduler_.setAccounts(plans, clock_.now());
        metrics_.setAccounts(namesOf(plans));
        changed_.notify_all();
    });
    return summary;
}

PollRequest Service::pollNow(const std::string& account) {
    std::lock_guard lock(mutex_);
    if (state_ != ServiceState::Running && state_ != ServiceState::Starting) return PollRequest::NotRunning;
    if (!scheduler_.pollNow(account, clock_.now())) return PollRequest::UnknownAccount;
    changed_.notify_all();
    return PollRequest::Accepted;
}

PollRequest Service::pollAllNow() {
    std::lock_guard lock(mutex_);
    if (state_ != ServiceState::Running && state_ != ServiceState::Starting) return PollRequest::NotRunning;
    scheduler_.pollAllNow(clock_.now());
    changed_.notify_all();
    return PollRequest::Accepted;
}

PollRequest Service::requestPolls(const std::vector<std::string>& names, PollTicket& ticket) {
    std::lock_guard lock(mutex_);
    if (state_ != ServiceState::Running && state_ != ServiceState::Starting) return PollRequest::NotRunning;
    std::vector<std::string> wanted = names;
    if (wanted.empty())
        for (const auto& view : scheduler_.accounts()) wanted.push_back(view.name);
    for (const auto& name : wanted) {
        const auto view = scheduler_.account(name);
        if (!view || view->removed) return PollRequest::UnknownAccount;
    }
    ticket.accounts.clear();
    for (const auto& name : wanted) {
        scheduler_.pollNow(name, clock_.now());
        ticket.accounts.emplace_back(name, history_[name].started);
    }
    changed_.notify_all();
    return PollRequest::Accepted;
}

std::vector<collector::PollReport> Service::waitForPolls(const PollTicket& ticket, const std::atomic<bool>& cancelled) {
    auto notPolled = [](const std::string& name, const std::string& why,
                        proto::FailureKind kind = proto::FailureKind::Interrupted) {
        collector::PollReport report;
        report.account = name;
        report.error = why;
        report.failure = kind;
        return report;
    };
    std::unique_lock lock(mutex_);
    std::vector<std::optional<collector::PollReport>> reports(ticket.accounts.size());
    for (;;) {
        bool waiting = false;
        for (std::size_t i = 0; i < ticket.accounts.size(); ++i) {
            if (reports[i]) continue;
            const auto& [name, before] = ticket.accounts[i];
            const PollHistory& history = history_[name];
            const auto view = scheduler_.account(name);
            if (history.finished > before)
                reports[i] = history.lastReport;
            else if (!view)
                reports[i] = notPolled(name, "not polled: removed from the configuration", proto::FailureKind::Config);
            else if (view->state != AccountState::Running && !scheduler_.dispatching())
                reports[i] = notPolled(name, "not polled: the service is stopping");
            else
                waiting = true;
        }
        if (!waiting || cancelled) break;
        changed_.wait(lock);
    }
    std::vector<collector::PollReport> result;
    for (std::size_t i = 0; i < reports.size(); ++i)
        result.push_back(reports[i] ? *reports[i]
                                    : notPolled(ticket.accounts[i].first, "not polled: the request was cancelled"));
    return result;
}

void Service::wakeWaiters() {
    std::lock_guard lock(mutex_);
    changed_.notify_all();
}

std::vector<std::string> Service::accountNames() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> names;
    for (const auto& view : scheduler_.accounts()) names.push_back(view.name);
    return names;
}

ServiceState Service::state() const {
    std::lock_guard lock(mutex_);
    return state_;
}

std::shared_ptr<const config::Config> Service::config() const {
    std::lock_guard lock(mutex_);
    return config_;
}

std::vector<AccountView> Service::accounts() const {
    std::lock_guard lock(mutex_);
    return scheduler_.accounts();
}

std::map<std::string, collector::PollReport> Service::lastReports() const {
    std::lock_guard lock(mutex_);
    std::map<std::string, collector::PollReport> reports;
    for (const auto& [name, history] : history_)
        if (history.finished > 0) reports.emplace(name, history.lastReport);
    return reports;
}

int Service::pollsInFlight() const {
    std::lock_guard lock(mutex_);
    return scheduler_.running();
}

}  // namespace mc::schedules
