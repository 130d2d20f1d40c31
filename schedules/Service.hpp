#pragma once
// The running service: owns the Scheduler, hands each due poll to a pool of long-lived worker
// threads (at most max_parallel polls at once, so a server that hangs until its io_timeout holds
// one worker and delays nobody else; a worker is started only when every one is busy, and serves
// poll after poll), applies reloads, and stops gracefully.
//
// Service state:  Starting --run()--> Running --requestStop()/ledger failure--> Stopping
//                 --(polls in flight ended)--> Stopped.   In `once` mode Running ends by itself
// when every account was polled once.
//
// Thread-safe: run() blocks in one thread; the other methods may be called from any thread
// (signal handling thread, HTTP threads).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/Clock.hpp"
#include "collector/AccountPoller.hpp"
#include "collector/ledger/LedgerStore.hpp"
#include "config/Config.hpp"
#include "schedules/Metrics.hpp"
#include "schedules/Scheduler.hpp"

namespace mc::schedules {

// One poll of one account; must not throw (pollAccount never does; a throw counts as a failure).
using PollFunction = std::function<collector::PollReport(const config::Config&, const config::AccountSettings&)>;

// Push notification of new mail for one account (IMAP IDLE). The service starts one per account
// the factory makes one for, replaces it when the account's settings change, and stops it when
// the account goes away or the service stops.
class AccountWatcher {
public:
    virtual ~AccountWatcher() = default;
    virtual void start() = 0;        // returns at once
    virtual void requestStop() = 0;  // returns at once
    virtual void stop() = 0;         // waits for the watcher's threads
};

// Makes the watcher of `account` (not started), or nullptr when there is nothing to watch.
// `onNewMail` may be called from any thread; it asks the service to poll the account now. The
// account's first poll waits until the watcher calls it (connected, or failed to; 30 s at most).
using WatcherFactory = std::function<std::unique_ptr<AccountWatcher>(
    const config::Config& config, const config::AccountSettings& account, std::function<void()> onNewMail)>;

struct ServiceOptions {
    bool once = false;              // poll each account once, then run() returns
    std::vector<std::string> only;  // only these accounts (--account); empty: all
    SchedulePolicy policy;
    std::uint64_t seed = 0;  // jitter seed; 0: random
    // The first poll of an account whose last poll (per the ledger) succeeded less than an
    // interval ago waits for the rest of that interval, so restarts do not poll everything.
    bool resumeSchedule = true;
    bool recordNextPoll = true;  // write each account's next poll time to the ledger
    WatcherFactory watchers;     // empty: no push notification (never used in `once` mode)
};

struct ServiceResult {
    bool anyFailed = false;     // some poll failed
    bool ledgerFailed = false;  // the ledger could not be written: the service stopped
};

enum class ServiceState { Starting, Running, Stopping, Stopped };

const char* toString(ServiceState state);

enum class PollRequest { Accepted, UnknownAccount, NotRunning };

// What a caller of requestPolls waits for: each account, and how many of its polls had started
// when the caller asked (waitForPolls waits for a poll that started later).
struct PollTicket {
    std::vector<std::pair<std::string, std::uint64_t>> accounts;
};

// The words a poll's result is told in, the same in the service's log, `run --once` and
// `mailcollector poll`: "account=NAME poll ok: listed=...", "... poll failed failure_kind=KIND
// listed=...: ERROR" ("poll stopped" when interrupted), "... skipped: held by HOLDER". The counts
// and the failure kind come before any server text, so JSON logs carry them as fields.
std::string describePoll(const collector::PollReport& report);

class Service {
public:
    Service(std::shared_ptr<const config::Config> config, ledger::LedgerStore& ledger, Clock& clock, Metrics& metrics,
            PollFunction poll, ServiceOptions options = {});
    ~Service();
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    // Runs until requestStop() (or a ledger failure, or in `once` mode until every account was
    // polled), then waits for the polls in flight and returns.
    ServiceResult run();
    // Stop taking new work; polls in flight finish (each is bounded by its own timeouts).
    void requestStop();

    // Switches to `config`: polls in flight finish with the old one; see Scheduler::setAccounts
    // for what happens to added, removed and changed accounts. Ignored in `once` mode.
    ReloadSummary reload(const std::shared_ptr<const config::Config>& config);

    PollRequest pollNow(const std::string& account);
    PollRequest pollAllNow();
    // pollNow for each of `names` (every account when empty), remembering what to wait for in
    // `ticket`. UnknownAccount (nothing polled) when a name is not an account of the service.
    PollRequest requestPolls(const std::vector<std::string>& names, PollTicket& ticket);
    // Waits until each account of `ticket` finished a poll it asked for, and returns their reports
    // in ticket order. An account that will not be polled (removed by a reload, or the service
    // stopping) gets a failed report saying so. Returns early, with what has finished, once
    // `cancelled` is set and wakeWaiters() was called.
    std::vector<collector::PollReport> waitForPolls(const PollTicket& ticket, const std::atomic<bool>& cancelled);
    void wakeWaiters();
    // The service's account names, in config order.
    std::vector<std::string> accountNames() const;

    ServiceState state() const;
    std::shared_ptr<const config::Config> config() const;
    std::vector<AccountView> accounts() const;
    // Each account's last finished poll since the service started (the status page).
    std::map<std::string, collector::PollReport> lastReports() const;
    int pollsInFlight() const;

private:
    // One poll for a worker: the config it was started with (a reload does not change it).
    struct Job {
        std::shared_ptr<const config::Config> config;
        const config::AccountSettings* account;
        std::uint64_t pollNumber;
    };

    void start(const std::string& name);  // mutex_ held
    void workLoop();                      // a worker thread: takes jobs until the workers stop
    void work(const Job& job);
    void finish(const std::string& name, const collector::PollReport& report, std::optional<std::uint64_t> pending,
                std::uint64_t pollNumber);
    std::vector<AccountPlan> initialPlans(const config::Config& config);
    void stopWorkers();  // waits for the jobs taken to end, then for every worker thread
    // poll_, its exceptions made failed reports.
    collector::PollReport guardedPoll(const config::Config& config, const config::AccountSettings& account);
    static collector::PollReport internalError(const std::exception& e);
    // Marks REPORT failed by the ledger (the service stops: see finish).
    static void setLedgerFailure(collector::PollReport& report, const ledger::LedgerError& e);
    static std::string lastError(const collector::PollReport& report);
    // The poll as its history keeps it.
    ledger::PollRecord historyRecord(const collector::PollReport& report) const;
    // Starts, replaces and stops watchers to match `config`. `update` (may be empty) is called
    // with mutex_ held in the same step that holds the first poll of each account getting a new
    // watcher: a reload hands the scheduler its accounts there, so an added account cannot be
    // started before its hold. Never called with mutex_ held (a watcher's callback takes it).
    void syncWatchers(const config::Config& config, const std::function<void()>& update);
    void stopWatchers();

    ledger::LedgerStore& ledger_;
    const std::string leaseHolder_;  // this instance in shared ledgers' leases
    Clock& clock_;
    Metrics& metrics_;
    PollFunction poll_;
    ServiceOptions options_;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::shared_ptr<const config::Config> config_;
    Scheduler scheduler_;
    ServiceState state_ = ServiceState::Starting;
    ServiceResult result_;
    std::deque<Job> jobs_;               // started polls no worker has taken yet
    std::condition_variable jobQueued_;  // a job was queued, or the workers stop
    std::vector<std::thread> workers_;
    std::size_t busyWorkers_ = 0;  // running a job
    bool workersStopping_ = false;

    // Per account, for waitForPolls: polls started (the last one's number) and the last finished.
    struct PollHistory {
        std::uint64_t started = 0;
        std::uint64_t finished = 0;  // the number of the last poll that finished
        collector::PollReport lastReport;
    };
    std::map<std::string, PollHistory> history_;

    struct Watched {
        std::string fingerprint;
        std::unique_ptr<AccountWatcher> watcher;
    };
    std::mutex watchersMutex_;  // guards watchers_ and watchersClosed_; taken before mutex_
    std::map<std::string, Watched> watchers_;
    bool watchersClosed_ = false;  // the service stopped: no new watchers
};

}  // namespace mc::schedules
