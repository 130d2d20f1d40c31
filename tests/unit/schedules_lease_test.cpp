// Leases as the service uses them: an account whose lease another instance holds is not polled,
// a granted lease is renewed while the poll runs and released when it ends.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "base/Clock.hpp"
#include "collector/ledger/LedgerStore.hpp"
#include "schedules/AccountLease.hpp"
#include "schedules/Metrics.hpp"
#include "schedules/Service.hpp"

namespace mc::schedules {
namespace {

using namespace std::chrono_literals;

// A SQLite ledger whose leases are those of a shared ledger where "other:1:x" holds `held`.
class LeasingLedger final : public ledger::LedgerStore {
public:
    LeasingLedger(std::unique_ptr<ledger::LedgerStore> inner, std::set<std::string> held)
        : inner_(std::move(inner)), held_(std::move(held)) {}

    std::vector<ledger::MessageRecord> messages(const std::string& a, const std::string& f, std::uint64_t v) override {
        return inner_->messages(a, f, v);
    }
    std::vector<ledger::MessageRecord> messagesInFolder(const std::string& a, const std::string& f) override {
        return inner_->messagesInFolder(a, f);
    }
    void recordDownload(const std::string& a, std::int64_t at, std::uint64_t bytes) override {
        inner_->recordDownload(a, at, bytes);
    }
    std::uint64_t downloadedBytesSince(const std::string& a, std::int64_t since) override {
        return inner_->downloadedBytesSince(a, since);
    }
    bool hasMessagesInFolder(const std::string& a, const std::string& f) override {
        return inner_->hasMessagesInFolder(a, f);
    }
    bool hasMessagesOutsideFolder(const std::string& a, const std::string& f) override {
        return inner_->hasMessagesOutsideFolder(a, f);
    }
    ledger::DedupeDecision claimMessage(const ledger::MessageKey& k, std::uint64_t s, const std::string& id,
                                        const std::string& body, const std::string& content,
                                        const std::string& header) override {
        return inner_->claimMessage(k, s, id, body, content, header);
    }
    std::map<std::string, std::uint64_t> duplicateCounts() override { return inner_->duplicateCounts(); }
    bool deliveredInAccount(const std::string& a, const std::string& hash) override {
        return inner_->deliveredInAccount(a, hash);
    }
    void recordSeen(const ledger::MessageKey& k, std::uint64_t s) override { inner_->recordSeen(k, s); }
    void markDelivered(const ledger::MessageKey& k, std::uint64_t s, const std::string& h, const std::string& m,
                       const std::string& hh) override {
        inner_->markDelivered(k, s, h, m, hh);
    }
    void markQuarantined(const ledger::MessageKey& k, std::uint64_t s, const std::string& r) override {
        inner_->markQuarantined(k, s, r);
    }
    void markSkipped(const ledger::MessageKey& k, std::uint64_t s, const std::string& r) override {
        inner_->markSkipped(k, s, r);
    }
    void markDeleted(const ledger::MessageKey& k) override { inner_->markDeleted(k); }
    void recordFailure(const ledger::MessageKey& k, std::uint64_t s, const std::string& e) override {
        inner_->recordFailure(k, s, e);
    }
    std::vector<ledger::MessageRecord> quarantined(const std::string& a) override { return inner_->quarantined(a); }
    bool requeueQuarantined(const ledger::MessageKey& k) override { return inner_->requeueQuarantined(k); }
    bool dropQuarantined(const ledger::MessageKey& k, const std::string& r) override {
        return inner_->dropQuarantined(k, r);
    }
    void forgetAbsent(const std::string& a, const std::string& f, std::uint64_t v,
                      const std::vector<std::string>& p) override {
        inner_->forgetAbsent(a, f, v, p);
    }
    std::optional<ledger::AccountRecord> account(const std::string& n) override { return inner_->account(n); }
    std::vector<ledger::AccountRecord> accounts() override { return inner_->accounts(); }
    bool registerAccount(const std::string& n) override { return inner_->registerAccount(n); }
    std::vector<ledger::PollRecord> pollHistory(const std::string& a, std::size_t limit) override {
        return inner_->pollHistory(a, limit);
    }
    // The poll's end in the inner store, the lease as this one keeps them; or a failure.
    void recordPollEnd(const ledger::PollRecord& poll, const std::string& lastError,
                       const std::string& leaseHolder) override {
        if (failPollEnd) throw ledger::LedgerError("recordPollEnd: disk I/O error");
        inner_->recordPollEnd(poll, lastError, "");
        if (!leaseHolder.empty()) releaseLease(poll.account, leaseHolder);
    }
    std::atomic<bool> failPollEnd{false};

    ledger::Lease takeLease(const std::string& account, const std::string& holder, std::chrono::milliseconds) override {
        std::lock_guard lock(mutex_);
        if (held_.count(account)) return {false, "other:1:x"};
        holders_[account] = holder;
        return {true, holder};
    }
    bool renewLease(const std::string& account, const std::string& holder, std::chrono::milliseconds) override {
        std::lock_guard lock(mutex_);
        ++renewals_;
        return holders_[account] == holder;
    }
    void releaseLease(const std::string& account, const std::string& holder) override {
        std::lock_guard lock(mutex_);
        if (holders_[account] == holder) holders_.erase(account);
        released_.insert(account);
    }

    std::map<std::string, std::string> holders() {
        std::lock_guard lock(mutex_);
        return holders_;
    }
    std::set<std::string> released() {
        std::lock_guard lock(mutex_);
        return released_;
    }
    int renewals() {
        std::lock_guard lock(mutex_);
        return renewals_;
    }

private:
    std::unique_ptr<ledger::LedgerStore> inner_;
    std::set<std::string> held_;
    std::mutex mutex_;
    std::map<std::string, std::string> holders_;
    std::set<std::string> released_;
    int renewals_ = 0;
};

class LeaseTest : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/mc-lease-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::unique_ptr<LeasingLedger> ledger(std::set<std::string> held) {
        return std::make_unique<LeasingLedger>(ledger::openLedger((dir_ / "ledger.db").string()), std::move(held));
    }
    std::filesystem::path dir_;
};

TEST_F(LeaseTest, AccountHeldElsewhereIsSkippedAndOthersArePolledUnderTheirLease) {
    auto store = ledger({"held"});
    auto config = std::make_shared<config::Config>();
    for (const char* name : {"free", "held"}) {
        config::AccountSettings account;
        account.name = name;
        account.endpoint.host = "pop.example.net";
        config->accounts.push_back(account);
    }
    std::mutex mutex;
    std::vector<std::string> polled;
    std::map<std::string, std::string> holderDuringPoll;
    SystemClock clock;
    Metrics metrics;
    Service service(
        config, *store, clock, metrics,
        [&](const config::Config&, const config::AccountSettings& account) {
            std::lock_guard lock(mutex);
            polled.push_back(account.name);
            holderDuringPoll = store->holders();
            collector::PollReport report;
            report.ok = true;
            return report;
        },
        ServiceOptions{.once = true});
    const ServiceResult result = service.run();
    EXPECT_FALSE(result.anyFailed);
    EXPECT_FALSE(result.ledgerFailed);
    EXPECT_EQ(polled, std::vector<std::string>{"free"});
    ASSERT_EQ(holderDuringPoll.count("free"), 1u);
    EXPECT_NE(holderDuringPoll["free"].find(':'), std::string::npos);  // hostname:pid:random
    EXPECT_TRUE(store->holders().empty());
    EXPECT_EQ(store->released(), std::set<std::string>{"free"});
}

// The poll's end (its result, its history, the lease) is one ledger write; when that write fails the
// poll counts as a ledger failure (the service stops) and the lease is still given up.
TEST_F(LeaseTest, PollEndRecordsResultAndHistoryAndAFailedEndStopsTheServiceYetReleases) {
    for (bool fail : {false, true}) {
        SCOPED_TRACE(fail ? "the end cannot be written" : "the end is written");
        auto store = ledger({});  // the same file both times: the second run adds to the first's history
        store->failPollEnd = fail;
        const std::size_t historyBefore = store->pollHistory("alice", 10).size();
        auto config = std::make_shared<config::Config>();
        config::AccountSettings account;
        account.name = "alice";
        account.endpoint.host = "pop.example.net";
        config->accounts.push_back(account);
        SystemClock clock;
        Metrics metrics;
        Service service(
            config, *store, clock, metrics,
            [](const config::Config&, const config::AccountSettings&) {
                collector::PollReport report;
                report.ok = true;
                report.fetched = report.delivered = 2;
                return report;
            },
            ServiceOptions{.once = true});
        const ServiceResult result = service.run();
        EXPECT_EQ(result.ledgerFailed, fail);
        const auto last = service.lastReports().at("alice");
        EXPECT_EQ(last.delivered, 2u) << "what the poll did is still reported";
        EXPECT_EQ(last.ok, !fail);
        EXPECT_TRUE(store->holders().empty());
        EXPECT_EQ(store->released(), std::set<std::string>{"alice"});
        const auto history = store->pollHistory("alice", 10);
        ASSERT_EQ(history.size(), historyBefore + (fail ? 0 : 1));
        ASSERT_FALSE(history.empty());
        EXPECT_EQ(history[0].delivered, 2u);
        EXPECT_EQ(store->account("alice")->lastResult, "ok");
    }
}

TEST_F(LeaseTest, AccountLeaseRenewsEveryThirdOfTheTtlAndReleases) {
    auto store = ledger({});
    {
        AccountLease lease(*store, "alice", "me:1:a", 60ms);
        EXPECT_TRUE(lease.granted());
        EXPECT_EQ(lease.holder(), "me:1:a");
        std::this_thread::sleep_for(200ms);
        EXPECT_GE(store->renewals(), 4);
        EXPECT_EQ(store->holders().count("alice"), 1u);
    }
    EXPECT_TRUE(store->holders().empty());
    EXPECT_EQ(store->released(), std::set<std::string>{"alice"});
}

TEST_F(LeaseTest, RefusedLeaseNamesTheHolderAndIsNeitherRenewedNorReleased) {
    auto store = ledger({"alice"});
    {
        AccountLease lease(*store, "alice", "me:1:a", 30ms);
        EXPECT_FALSE(lease.granted());
        EXPECT_EQ(lease.holder(), "other:1:x");
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(store->renewals(), 0);
    EXPECT_TRUE(store->released().empty());
}

TEST(LeaseHolderTest, HoldersDifferPerInstance) {
    const std::string a = makeLeaseHolder(), b = makeLeaseHolder();
    EXPECT_NE(a, b);
    EXPECT_NE(a.find(":" + std::to_string(::getpid()) + ":"), std::string::npos) << a;
}

}  // namespace
}  // namespace mc::schedules
