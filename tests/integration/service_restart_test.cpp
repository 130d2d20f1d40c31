// Stopping the service in the middle of a large first import, then starting it again: nothing
// lost, nothing doubled beyond the crash window (a message the target accepted but the ledger
// had not recorded yet: at most one per target connection in flight).

#include <signal.h>

#include <regex>

#include "tests/integration/service_harness.hpp"

namespace mc::testing::service {
namespace {

constexpr int kImport = 2000;
constexpr int kConnections = 4;

class ServiceRestartTest : public ServiceFixture {
protected:
    void SetUp() override {
        bulk_ = makeAccounts(1, "bulk", "keep = false")[0];
        others_ = makeAccounts(3, "small");
        for (int i = 0; i < kImport; ++i) seed(bulk_, "bulk-" + std::to_string(i) + "@x", 1500);
        for (const auto& account : others_)
            for (int i = 0; i < 5; ++i) seed(account, "small-" + std::to_string(i) + "@" + account.name);
        all_ = others_;
        all_.push_back(bulk_);
        config_ = writeConfig(all_, "", "connections = " + std::to_string(kConnections));
    }

    int expectedTotal() const { return kImport + 5 * static_cast<int>(others_.size()); }

    // After the restart: one more poll of everything completes the import.
    void restartAndFinish() {
        startDaemon(config_);
        ASSERT_TRUE(eventually([&] { return metrics()["mailcollector_polls_in_flight"] == 0; }, 300s));
        ASSERT_TRUE(pollAllAndWait(all_)) << daemon_->err();
        auto ids = deliveredIds();
        int duplicates = 0;
        for (const auto& [id, count] : ids) duplicates += count - 1;
        EXPECT_EQ(ids.size(), static_cast<std::size_t>(expectedTotal())) << "every message arrived";
        EXPECT_LE(duplicates, kConnections) << "only the crash window may double a message";
        EXPECT_EQ(dovecot_.messageFiles(bulk_.user).size(), 0u) << "keep = false: the source is emptied";
        auto json = status(config_);
        EXPECT_NE(json.out.find("\"pending\":0,"), std::string::npos) << json.out;
        EXPECT_EQ(json.out.find("\"pending\":1"), std::string::npos) << json.out;
        EXPECT_EQ(health(), 200);
        daemon_->sendSignal(SIGTERM);
        auto ended = daemon_->wait(120s);
        ASSERT_TRUE(ended);
        EXPECT_EQ(ended->exitCode, 0);
    }

    Account bulk_;
    std::vector<Account> others_, all_;
    std::string config_;
};

TEST_F(ServiceRestartTest, SigtermDuringALargeImportStopsFetchingRecordsWhatItHoldsAndExitsZero) {
    startDaemon(config_);
    ASSERT_TRUE(eventually([&] { return delivered() >= 300; }, 120s)) << daemon_->err();
    daemon_->sendSignal(SIGTERM);
    ASSERT_TRUE(daemon_->waitForOutput("polls in flight deliver", 30s));
    EXPECT_NE(health(), 200) << "no new work is taken (503, or already gone)";
    auto ended = daemon_->wait(60s);
    ASSERT_TRUE(ended) << "a stop does not wait for the whole import";
    EXPECT_EQ(ended->exitCode, 0) << ended->describe();
    EXPECT_NE(ended->err.find("polls in flight deliver and record"), std::string::npos) << ended->err;
    EXPECT_NE(ended->err.find("interrupted: stopping after"), std::string::npos) << ended->err;
    EXPECT_EQ(ended->err.find("\"level\":\"critical\""), std::string::npos);
    // A graceful stop has no crash window: every message is either on the target once (and
    // gone from the source) or still on the source.
    auto ids = deliveredIds();
    std::size_t fromBulk = 0;
    for (const auto& [id, count] : ids) {
        EXPECT_EQ(count, 1) << id;
        if (id.rfind("bulk-", 0) == 0) ++fromBulk;
    }
    EXPECT_LT(fromBulk, static_cast<std::size_t>(kImport)) << "the import was cut short";
    EXPECT_EQ(fromBulk + dovecot_.messageFiles(bulk_.user).size(), static_cast<std::size_t>(kImport))
        << "what was delivered was removed from the source, the rest stayed";
    // The stop line counts what this poll fetched and delivered: the messages on the target; its
    // JSON carries the counts and the failure kind as fields.
    std::smatch stopped;
    const std::regex line("\"account\":\"" + bulk_.name +
                          "\",\"failure_kind\":\"interrupted\",\"listed\":[0-9]+,\"fetched\":[0-9]+,"
                          "\"delivered\":([0-9]+),[^\n]*\"message\":\"poll stopped [^\n]*: interrupted: stopping after "
                          "([0-9]+) of ([0-9]+) messages");
    ASSERT_TRUE(std::regex_search(ended->err, stopped, line)) << ended->err;
    EXPECT_EQ(std::stoul(stopped[1]), fromBulk) << stopped[0];
    EXPECT_EQ(std::stoul(stopped[2]), fromBulk) << stopped[0];
    EXPECT_EQ(std::stoul(stopped[3]), static_cast<std::size_t>(kImport)) << stopped[0];
    restartAndFinish();
}

TEST_F(ServiceRestartTest, ASecondSigtermQuitsAtOnceAndARestartCompletesTheImport) {
    startDaemon(config_);
    ASSERT_TRUE(eventually([&] { return delivered() >= 300; }, 120s)) << daemon_->err();
    daemon_->sendSignal(SIGTERM);
    ASSERT_TRUE(daemon_->waitForOutput("polls in flight deliver", 30s));
    daemon_->sendSignal(SIGTERM);
    auto ended = daemon_->wait(30s);
    ASSERT_TRUE(ended) << "the second signal does not wait";
    EXPECT_EQ(ended->exitCode, 1) << ended->describe();
    const std::size_t before = deliveredIds().size();
    EXPECT_LT(before, static_cast<std::size_t>(expectedTotal())) << "the import was cut short";
    restartAndFinish();
}

TEST_F(ServiceRestartTest, SigkillDuringALargeImportThenRestart) {
    startDaemon(config_);
    ASSERT_TRUE(eventually([&] { return delivered() >= 300; }, 120s)) << daemon_->err();
    daemon_->stop(SIGKILL);
    EXPECT_LT(deliveredIds().size(), static_cast<std::size_t>(expectedTotal()));
    restartAndFinish();
}

}  // namespace
}  // namespace mc::testing::service
