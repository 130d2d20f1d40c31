// The Service with real threads, a fake clock and a scripted poll function (no network): what
// runs when, in parallel, through reloads, poll-now requests, failures and stops.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "collector/ledger/LedgerStore.hpp"
#include "schedules/Service.hpp"
#include "tests/support/FakeClock.hpp"
#include "tests/support/LedgerPolls.hpp"

namespace mc::schedules {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;

constexpr auto kWait = std::chrono::seconds(10);  // bound for things that happen at once

// Stands in for pollAccount: counts polls, tracks concurrency, and holds the polls of "hung"
// accounts until the test releases them.
class FakePoller {
public:
    collector::PollReport poll(const config::Config&, const config::AccountSettings& account) {
        std::unique_lock lock(mutex_);
        ++active_;
        maxActive_ = std::max(maxActive_, active_);
        ++started_[account.name];
        threads_.insert(threadSerial());
        hosts_[account.name].push_back(account.endpoint.host);
        changed_.notify_all();
        changed_.wait(lock, [&] { return !hung_.count(account.name) && !holdAll_; });
        --active_;
        ++finished_[account.name];
        collector::PollReport report = results_.count(account.name) ? results_[account.name] : collector::PollReport{};
        report.account = account.name;
        if (!results_.count(account.name)) report.ok = true;
        changed_.notify_all();
        return report;
    }
    PollFunction function() {
        return [this](const config::Config& c, const config::AccountSettings& a) { return poll(c, a); };
    }

    void hang(const std::string& account) {
        std::lock_guard lock(mutex_);
        hung_.insert(account);
    }
    void release(const std::string& account) {
        std::lock_guard lock(mutex_);
        hung_.erase(account);
        changed_.notify_all();
    }
    void holdAll(bool hold) {
        std::lock_guard lock(mutex_);
        holdAll_ = hold;
        changed_.notify_all();
    }
    void setResult(const std::string& account, collector::PollReport report) {
        std::lock_guard lock(mutex_);
        results_[account] = std::move(report);
    }

    int started(const std::string& account) {
        std::lock_guard lock(mutex_);
        return started_[account];
    }
    int finished(const std::string& account) {
        std::lock_guard lock(mutex_);
        return finished_[account];
    }
    int active() {
        std::lock_guard lock(mutex_);
        return active_;
    }
    int maxActive() {
        std::lock_guard lock(mutex_);
        return maxActive_;
    }
    // How many threads ran polls (serials, not std::thread::id, which a new thread may reuse).
    std::size_t threads() {
        std::lock_guard lock(mutex_);
        return threads_.size();
    }
    std::vector<std::string> hosts(const std::string& account) {
        std::lock_guard lock(mutex_);
        return hosts_[account];
    }

    // Waits (bounded) until `done` holds; re-checked whenever a poll starts or ends.
    bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout = kWait) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] {
            lock.unlock();
            bool result = done();
            lock.lock();
            return result;
        });
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::set<std::string> hung_;
    bool holdAll_ = false;
    int active_ = 0, maxActive_ = 0;
    std::map<std::string, int> started_, finished_;
    std::set<int> threads_;
    static int threadSerial() {
        static std::atomic<int> next{0};
        thread_local const int serial = ++next;
        return serial;
    }
    std::map<std::string, std::vector<std::string>> hosts_;
    std::map<std::string, collector::PollReport> results_;
};

class ServiceTest : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/mc-schedules-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        ledger_ = ledger::openLedger((dir_ / "ledger.db").string());
    }
    void TearDown() override {
        if (runner_.valid()) {
            service_->requestStop();
            poller_.holdAll(false);
            for (const auto& name : hungNames_) poller_.release(name);
            runner_.wait();
        }
        service_.reset();
        ledger_.reset();
        std::filesystem::remove_all(dir_);
    }

    static config::AccountSettings account(const std::string& name, std::chrono::seconds interval = 300s,
                                           const std::string& host = "pop.example.net") {
        config::AccountSettings settings;
        settings.name = name;
        settings.interval = interval;
        settings.endpoint.host = host;
        return settings;
    }
    static std::shared_ptr<const config::Config> makeConfig(std::vector<config::AccountSettings> accounts,
                                                            int maxParallel = 8) {
        auto config = std::make_shared<config::Config>();
        config->collector.maxParallel = maxParallel;
        config->accounts = std::move(accounts);
        return config;
    }

    void start(std::shared_ptr<const config::Config> config, ServiceOptions options = {}) {
        if (options.seed == 0) options.seed = 99;
        service_ =
            std::make_unique<Service>(std::move(config), *ledger_, clock_, metrics_, poller_.function(), options);
        runner_ = std::async(std::launch::async, [this] { return service_->run(); });
    }
    bool waitState(ServiceState state) {
        return poller_.waitFor([&] { return service_->state() == state; });
    }
    // Bounded wait for run() to return.
    std::optional<ServiceResult> result(std::chrono::milliseconds timeout = kWait) {
        if (runner_.wait_for(timeout) != std::future_status::ready) return std::nullopt;
        return runner_.get();
    }
    void advance(Duration by) { clock_.advance(by); }

    // Bounded wait for a condition on the service's side (which the poller cannot signal).
    static bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = kWait) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(1ms);
        }
        return true;
    }
    // The service has recorded `polls` finished polls of `name` and scheduled the next: from
    // here on the fake clock can be moved without racing the completion.
    bool settled(const std::string& name, int polls) {
        return eventually([&] {
            if (poller_.finished(name) != polls) return false;
            for (const auto& view : service_->accounts())
                if (view.name == name) return view.state == AccountState::Waiting;
            return false;
        });
    }

    std::filesystem::path dir_;
    std::unique_ptr<ledger::LedgerStore> ledger_;
    FakeClock clock_;
    Metrics metrics_;
    FakePoller poller_;
    std::unique_ptr<Service> service_;
    std::future<ServiceResult> runner_;
    std::vector<std::string> hungNames_;
};

SchedulePolicy noJitter() {
    SchedulePolicy policy;
    policy.jitterFraction = 0;
    return policy;
}

TEST_F(ServiceTest, PollsEveryAccountAtOnceThenEachOnItsOwnInterval) {
    start(makeConfig({account("fast", 10s), account("slow", 60s)}), ServiceOptions{.policy = noJitter()});
    ASSERT_TRUE(settled("fast", 1) && settled("slow", 1));
    for (int polls = 2; polls <= 6; ++polls) {
        advance(10s);
        ASSERT_TRUE(settled("fast", polls));
        EXPECT_EQ(poller_.started("slow"), 1);
    }
    advance(10s);  // t = 60 s
    ASSERT_TRUE(settled("fast", 7) && settled("slow", 2));
    advance(9s);
    EXPECT_FALSE(eventually([&] { return poller_.started("fast") == 8; }, 50ms)) << "not before its time";
}

TEST_F(ServiceTest, AHangingAccountDoesNotDelayTheOthers) {
    poller_.hang("stuck");
    hungNames_.push_back("stuck");
    start(makeConfig({account("stuck", 10s), account("a", 10s), account("b", 10s), account("c", 10s)}, 2),
          ServiceOptions{.policy = noJitter()});
    ASSERT_TRUE(poller_.waitFor([&] { return poller_.started("stuck") == 1; }));
    for (int round = 1; round <= 5; ++round) {
        ASSERT_TRUE(settled("a", round) && settled("b", round) && settled("c", round)) << "round " << round;
        advance(10s);
    }
    EXPECT_EQ(poller_.started("stuck"), 1) << "a running account is never polled twice at once";
    EXPECT_LE(poller_.maxActive(), 2);
    poller_.release("stuck");
    ASSERT_TRUE(settled("stuck", 1));
    advance(10s);
    ASSERT_TRUE(settled("stuck", 2)) << "back on its interval once its poll ended";
}

TEST_F(ServiceTest, NeverRunsMoreThanMaxParallelPolls) {
    std::vector<config::AccountSettings> accounts;
    for (int i = 0; i < 30; ++i) accounts.push_back(account("acct" + std::to_string(i), 10s));
    poller_.holdAll(true);
    start(makeConfig(accounts, 4));
    ASSERT_TRUE(poller_.waitFor([&] { return poller_.active() == 4; }));
    EXPECT_FALSE(poller_.waitFor([&] { return poller_.active() > 4; }, 100ms)) << "a fifth poll started";
    EXPECT_EQ(service_->pollsInFlight(), 4);
    poller_.holdAll(false);
    for (int round = 1; round <= 3; ++round) {
        for (int i = 0; i < 30; ++i) ASSERT_TRUE(settled("acct" + std::to_string(i), round)) << i;
        advance(11s);
    }
    EXPECT_EQ(poller_.maxActive(), 4);
    // 90 polls ran on long-lived workers, not on a thread each; a worker finishing its poll while
    // the next is handed out may let one more start, so allow twice max_parallel.
    EXPECT_LE(poller_.threads(), 8u);
}

TEST_F(ServiceTest, PollNowAndPollAllNow) {
    start(makeConfig({account("a", 3600s), account("b", 3600s)}));
    ASSERT_TRUE(settled("a", 1) && settled("b", 1));
    EXPECT_EQ(service_->pollNow("a"), PollRequest::Accepted);
    ASSERT_TRUE(settled("a", 2));
    EXPECT_EQ(poller_.started("b"), 1);
    EXPECT_EQ(service_->pollNow("nobody"), PollRequest::UnknownAccount);
    EXPECT_EQ(service_->pollAllNow(), PollRequest::Accepted);
    ASSERT_TRUE(settled("a", 3) && settled("b", 2));

    // Asked for while it runs: one more poll right after, not two at once.
    poller_.hang("a");
    hungNames_.push_back("a");
    service_->pollNow("a");
    ASSERT_TRUE(poller_.waitFor([&] { return poller_.started("a") == 4; }));
    service_->pollNow("a");
    service_->pollNow("a");
    poller_.release("a");
    ASSERT_TRUE(settled("a", 5));
    EXPECT_EQ(poller_.started("a"), 5);
}

TEST_F(ServiceTest, FailuresBackOffAndPendingMessagesAreRetriedSoon) {
    collector::PollReport failed;
    failed.error = "cannot connect to pop.example.net:995: Connection refused";
    failed.failure = proto::FailureKind::Network;
    poller_.setResult("broken", failed);
    collector::PollReport deferred;
    deferred.ok = true;
    deferred.deferred = 3;
    poller_.setResult("deferring", deferred);
    start(makeConfig({account("broken", 300s), account("deferring", 300s)}), ServiceOptions{.policy = noJitter()});
    ASSERT_TRUE(settled("broken", 1) && settled("deferring", 1));
    advance(30s);
    ASSERT_TRUE(settled("deferring", 2));
    EXPECT_EQ(poller_.started("broken"), 1);
    advance(30s);  // t = 60 s: the first retry of a failure
    ASSERT_TRUE(settled("broken", 2));
    advance(29s);  // t = 89 s
    EXPECT_FALSE(eventually([&] { return poller_.started("deferring") == 3; }, 50ms)) << "not before its time";
    advance(1s);  // t = 90 s: the second retry of pending messages, 60 s after the first
    ASSERT_TRUE(settled("deferring", 3));
    advance(89s);  // t = 179 s: the second retry of a failure is 2 min after the first
    EXPECT_FALSE(eventually([&] { return poller_.started("broken") == 3; }, 50ms)) << "not before its time";
    advance(1s);
    ASSERT_TRUE(settled("broken", 3));
    auto view = service_->accounts();
    EXPECT_EQ(view[0].failures, 3);
    const std::string metrics = metrics_.render();
    EXPECT_NE(metrics.find("mailcollector_poll_errors_total{account=\"broken\",kind=\"network\"} 3"), std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("mailcollector_consecutive_failures{account=\"broken\"} 3"), std::string::npos);
}

TEST_F(ServiceTest, ReloadAddsRemovesAndChangesAccountsWithoutDisturbingTheOthers) {
    poller_.hang("busy");
    hungNames_.push_back("busy");
    start(makeConfig(
        {account("steady", 3600s), account("edited", 3600s), account("dropped", 3600s), account("busy", 3600s)}));
    ASSERT_TRUE(settled("steady", 1) && settled("edited", 1) && settled("dropped", 1));
    ASSERT_TRUE(poller_.waitFor([&] { return poller_.started("busy") == 1; }));

    auto summary = service_->reload(
        makeConfig({account("steady", 3600s), account("edited", 3600s, "new.example.net"), account("added", 3600s)}));
    EXPECT_EQ(summary.added, std::vector<std::string>{"added"});
    EXPECT_EQ(summary.removed, (std::vector<std::string>{"busy", "dropped"}));
    EXPECT_EQ(summary.changed, std::vector<std::string>{"edited"});
    ASSERT_TRUE(settled("added", 1) && settled("edited", 2));
    EXPECT_EQ(poller_.hosts("edited").back(), "new.example.net");
    EXPECT_EQ(poller_.started("steady"), 1) << "an unchanged account keeps its schedule";
    EXPECT_EQ(service_->pollNow("dropped"), PollRequest::UnknownAccount);

    // The removed account's poll in flight ends normally; it is not polled again.
    poller_.release("busy");
    ASSERT_TRUE(eventually([&] { return service_->accounts().size() == 3; }));
    service_->pollAllNow();
    ASSERT_TRUE(settled("steady", 2) && settled("added", 2));
    EXPECT_EQ(poller_.started("busy"), 1);
    EXPECT_EQ(poller_.started("dropped"), 1);
    std::vector<std::string> names;
    for (const auto& view : service_->accounts()) names.push_back(view.name);
    EXPECT_EQ(names, (std::vector<std::string>{"steady", "edited", "added"}));
    const std::string metrics = metrics_.render();
    EXPECT_EQ(metrics.find("account=\"dropped\""), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("mailcollector_accounts 3"), std::string::npos);
}

TEST_F(ServiceTest, ReloadCanChangeMaxParallel) {
    std::vector<config::AccountSettings> accounts;
    for (int i = 0; i < 6; ++i) accounts.push_back(account("acct" + std::to_string(i), 3600s));
    poller_.holdAll(true);
    start(makeConfig(accounts, 1));
    ASSERT_TRUE(poller_.waitFor([&] { return poller_.active() == 1; }));
    service_->reload(makeConfig(accounts, 3));
    ASSERT_TRUE(poller_.waitFor([&] { return poller_.active() == 3; }));
    poller_.holdAll(false);
    ASSERT_TRUE(poller_.waitFor([&] { return poller_.finished("acct5") == 1; }));
    EXPECT_EQ(poller_.maxActive(), 3);
}

TEST_F(ServiceTest, StopLetsPollsInFlightFinishAndStartsNothingNew) {
    poller_.hang("slow");
    hungNames_.push_back("slow");
    start(makeConfig({account("slow", 10s), account("quick", 10s)}));
    ASSERT_TRUE(poller_.waitFor([&] { return poller_.started("slow") == 1 && poller_.finished("quick") == 1; }));
    ASSERT_TRUE(waitState(ServiceState::Running));
    service_->requestStop();
    EXPECT_EQ(service_->state(), ServiceState::Stopping);
    EXPECT_EQ(service_->pollNow("quick"), PollRequest::NotRunning);
    advance(60s);
    EXPECT_FALSE(result(std::chrono::milliseconds(100))) << "must wait for the poll in flight";
    EXPECT_EQ(poller_.started("quick"), 1);
    poller_.release("slow");
    auto finished = result();
    ASSERT_TRUE(finished);
    EXPECT_FALSE(finished->ledgerFailed);
    EXPECT_EQ(poller_.finished("slow"), 1);
    EXPECT_EQ(service_->state(), ServiceState::Stopped);
}

TEST_F(ServiceTest, ALedgerFailureStopsTheService) {
    collector::PollReport broken;
    broken.ledgerFailed = true;
    broken.error = "ledger failure: disk I/O error";
    poller_.setResult("a", broken);
    start(makeConfig({account("a", 10s), account("b", 10s), account("c", 10s)}, 1));
    auto finished = result();
    ASSERT_TRUE(finished);
    EXPECT_TRUE(finished->ledgerFailed);
    EXPECT_EQ(poller_.started("b"), 0) << "nothing else is safe once the ledger fails";
}

TEST_F(ServiceTest, OncePollsEachAccountOnceInParallelAndReportsFailures) {
    collector::PollReport failed;
    failed.error = "authentication (USER/PASS) refused: -ERR nope";
    poller_.setResult("c", failed);
    poller_.holdAll(true);
    start(makeConfig({account("a"), account("b"), account("c"), account("d")}, 3), ServiceOptions{.once = true});
    ASSERT_TRUE(poller_.waitFor([&] { return poller_.active() == 3; }));
    poller_.holdAll(false);
    auto finished = result();
    ASSERT_TRUE(finished);
    EXPECT_TRUE(finished->anyFailed);
    for (const char* name : {"a", "b", "c", "d"}) EXPECT_EQ(poller_.started(name), 1) << name;
}

TEST_F(ServiceTest, OnlyPollsTheSelectedAccounts) {
    start(makeConfig({account("a"), account("b"), account("c")}), ServiceOptions{.once = true, .only = {"c", "a"}});
    ASSERT_TRUE(result());
    EXPECT_EQ(poller_.started("a"), 1);
    EXPECT_EQ(poller_.started("b"), 0);
    EXPECT_EQ(poller_.started("c"), 1);
}

TEST_F(ServiceTest, RecordsTheNextPollAndResumesFromTheLedgerAfterARestart) {
    ASSERT_TRUE(ledger_->registerAccount("recent"));
    testing::recordLastPoll(*ledger_, "recent", "ok", "");  // just now (real time; the fake wall clock is older)
    ASSERT_TRUE(ledger_->registerAccount("failing"));
    testing::recordLastPoll(*ledger_, "failing", "failed", "x");
    start(makeConfig({account("recent", 600s), account("failing", 600s)}), ServiceOptions{.policy = noJitter()});
    ASSERT_TRUE(poller_.waitFor([&] { return poller_.finished("failing") == 1; }));
    EXPECT_EQ(poller_.started("recent"), 0) << "polled successfully less than an interval ago";
    ASSERT_TRUE(poller_.waitFor([&] { return ledger_->account("failing")->nextPollAt != 0; }));
    const auto wallNow = std::chrono::duration_cast<std::chrono::seconds>(clock_.wallNow().time_since_epoch()).count();
    EXPECT_EQ(ledger_->account("failing")->nextPollAt, wallNow + 600);
    advance(600s);
    ASSERT_TRUE(poller_.waitFor([&] { return poller_.finished("recent") == 1; }));
}

TEST_F(ServiceTest, AThrowingPollFunctionCountsAsAFailedPoll) {
    service_ = std::make_unique<Service>(
        makeConfig({account("a")}), *ledger_, clock_, metrics_,
        [](const config::Config&, const config::AccountSettings&) -> collector::PollReport {
            throw std::runtime_error("boom");
        },
        ServiceOptions{.once = true});
    runner_ = std::async(std::launch::async, [this] { return service_->run(); });
    auto finished = result();
    ASSERT_TRUE(finished);
    EXPECT_TRUE(finished->anyFailed);
}

// Records what the service does with its watchers; "announce" plays the server's new-mail push.
class FakeWatchers {
public:
    class Watcher final : public AccountWatcher {
    public:
        Watcher(FakeWatchers& owner, std::string name, std::string host, std::function<void()> onNewMail)
            : owner_(owner), name_(std::move(name)), host_(std::move(host)), onNewMail_(std::move(onNewMail)) {}
        void start() override {
            owner_.event("start " + name_ + "@" + host_, this);
            if (owner_.announceOnStart) onNewMail_();  // connected at once, as IDLE says then
        }
        void requestStop() override { owner_.event("requestStop " + name_, nullptr); }
        void stop() override { owner_.event("stop " + name_, this, true); }
        void announce() { onNewMail_(); }

    private:
        FakeWatchers& owner_;
        std::string name_, host_;
        std::function<void()> onNewMail_;
    };

    WatcherFactory factory() {
        return [this](const config::Config&, const config::AccountSettings& account,
                      std::function<void()> onNewMail) -> std::unique_ptr<AccountWatcher> {
            if (!account.idle) return nullptr;
            if (onMake) onMake(account.name);
            return std::make_unique<Watcher>(*this, account.name, account.endpoint.host, std::move(onNewMail));
        };
    }
    void event(const std::string& what, Watcher* watcher, bool stopped = false) {
        std::lock_guard lock(mutex_);
        events_.push_back(what);
        const std::string name = what.substr(what.find(' ') + 1, what.find('@') - what.find(' ') - 1);
        if (stopped && live_.count(name) && live_[name] == watcher)
            live_.erase(name);
        else if (!stopped && watcher)
            live_[name] = watcher;
    }
    bool announce(const std::string& name) {
        std::lock_guard lock(mutex_);
        if (!live_.count(name)) return false;
        live_[name]->announce();
        return true;
    }
    std::vector<std::string> events() {
        std::lock_guard lock(mutex_);
        return events_;
    }
    std::set<std::string> live() {
        std::lock_guard lock(mutex_);
        std::set<std::string> names;
        for (const auto& [name, watcher] : live_) names.insert(name);
        return names;
    }

    std::atomic<bool> announceOnStart{true};
    std::function<void(const std::string& account)> onMake;  // called as the factory makes a watcher

private:
    std::mutex mutex_;
    std::vector<std::string> events_;
    std::map<std::string, Watcher*> live_;
};

TEST_F(ServiceTest, PushWatchersFollowTheAccountsAndTriggerPolls) {
    FakeWatchers watchers;
    auto pushed = account("pushed", 3600s);
    auto polled = account("polled", 3600s);
    polled.idle = false;
    auto edited = account("edited", 3600s);
    start(makeConfig({pushed, polled, edited}), ServiceOptions{.watchers = watchers.factory()});
    ASSERT_TRUE(settled("pushed", 1) && settled("polled", 1) && settled("edited", 1));
    EXPECT_EQ(watchers.live(), (std::set<std::string>{"edited", "pushed"}));

    ASSERT_TRUE(watchers.announce("pushed"));
    ASSERT_TRUE(settled("pushed", 2)) << "new mail announced: polled without waiting for the interval";
    EXPECT_EQ(poller_.started("edited"), 1);

    // edited changes host: its watcher is replaced; pushed goes away: its watcher stops.
    service_->reload(makeConfig({polled, account("edited", 3600s, "imap.example.com")}));
    EXPECT_EQ(watchers.live(), std::set<std::string>{"edited"});
    auto events = watchers.events();
    auto at = [&](const std::string& event) { return std::find(events.begin(), events.end(), event) - events.begin(); };
    EXPECT_LT(at("stop pushed"), static_cast<long>(events.size()));
    EXPECT_LT(at("stop edited"), at("start edited@imap.example.com")) << "the old connection goes first";
    EXPECT_EQ(events.back(), "start edited@imap.example.com");

    service_->requestStop();
    ASSERT_TRUE(result());
    EXPECT_TRUE(watchers.live().empty()) << "every watcher is stopped before run() returns";
}

TEST_F(ServiceTest, AWatchedAccountsFirstPollWaitsForItsWatcherAndIsNotRepeatedForIt) {
    FakeWatchers watchers;
    watchers.announceOnStart = false;
    auto pushed = account("pushed", 3600s);
    auto polled = account("polled", 3600s);
    polled.idle = false;
    auto silent = account("silent", 3600s);
    start(makeConfig({pushed, polled, silent}), ServiceOptions{.policy = noJitter(), .watchers = watchers.factory()});
    ASSERT_TRUE(settled("polled", 1)) << "an account without a watcher is polled at once";
    EXPECT_EQ(poller_.started("pushed"), 0) << "held until its watcher has connected";

    // The watcher connected and asks for a poll (IDLE's first round): that is the first poll,
    // and the next one is an interval later, not right after it.
    ASSERT_TRUE(watchers.announce("pushed"));
    ASSERT_TRUE(settled("pushed", 1));
    for (const auto& view : service_->accounts())
        if (view.name == "pushed") EXPECT_EQ(view.dueAt, clock_.now() + 3600s);
    EXPECT_FALSE(eventually([&] { return poller_.started("pushed") > 1; }, 50ms));

    // A watcher that never connects holds the first poll for 30 s at most.
    EXPECT_EQ(poller_.started("silent"), 0);
    advance(30s);
    ASSERT_TRUE(settled("silent", 1));
    EXPECT_EQ(poller_.started("pushed"), 1);
    service_->requestStop();
    ASSERT_TRUE(result());
}

// An IDLE account added by a reload follows the rule of those present at the start: its first
// poll waits for its watcher to connect, and is not repeated for it.
TEST_F(ServiceTest, AWatchedAccountAddedByAReloadIsPolledOnceItsWatcherConnects) {
    FakeWatchers watchers;
    watchers.announceOnStart = false;
    // Making a watcher takes a moment: time enough for the service to start the account's poll,
    // were the account scheduled before its hold.
    watchers.onMake = [&](const std::string& name) {
        poller_.waitFor([&] { return poller_.started(name) > 0; }, 200ms);
    };
    auto polled = account("polled", 3600s);
    polled.idle = false;
    start(makeConfig({polled}), ServiceOptions{.policy = noJitter(), .watchers = watchers.factory()});
    ASSERT_TRUE(settled("polled", 1));

    const auto summary = service_->reload(makeConfig({polled, account("added", 3600s)}));
    EXPECT_EQ(summary.added, std::vector<std::string>{"added"});
    EXPECT_FALSE(eventually([&] { return poller_.started("added") > 0; }, 50ms))
        << "held until its watcher has connected";
    auto dueAt = [&] {
        for (const auto& view : service_->accounts())
            if (view.name == "added") return view.dueAt;
        return TimePoint{};
    };
    EXPECT_EQ(dueAt(), clock_.now() + 30s) << "30 s at most";

    // Connected: IDLE's first round asks for the first poll; the next is an interval later.
    ASSERT_TRUE(watchers.announce("added"));
    ASSERT_TRUE(settled("added", 1));
    EXPECT_EQ(dueAt(), clock_.now() + 3600s);
    EXPECT_FALSE(eventually([&] { return poller_.started("added") > 1; }, 50ms));
    EXPECT_EQ(poller_.started("polled"), 1);
    service_->requestStop();
    ASSERT_TRUE(result());
}

TEST_F(ServiceTest, OnceModeStartsNoWatchers) {
    FakeWatchers watchers;
    start(makeConfig({account("a")}), ServiceOptions{.once = true, .watchers = watchers.factory()});
    ASSERT_TRUE(result());
    EXPECT_TRUE(watchers.events().empty());
}

}  // namespace
}  // namespace mc::schedules
