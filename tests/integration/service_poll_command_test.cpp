// `mailcollector poll`: the real binary asks the running service (real Dovecot POP3 and IMAP
// sources, LMTP target) to poll now, waits and prints each result as `run --once` words it;
// without a service it says so; exit codes as `run --once`.

#include <gtest/gtest.h>

#include "tests/integration/service_harness.hpp"

namespace mc::testing::service {
namespace {

class PollCommandTest : public ServiceFixture {
protected:
    ProcessResult poll(const std::string& config, std::vector<std::string> names = {}) {
        std::vector<std::string> argv{MC_BINARY, "poll", "-c", config};
        argv.insert(argv.end(), names.begin(), names.end());
        return runProcess(argv, {}, 120s);
    }
};

TEST_F(PollCommandTest, WithoutAServiceSaysSoAndFails) {
    const auto config = writeConfig(makeAccounts(1, "alone"));
    const auto result = poll(config);
    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_NE(result.err.find("no mailcollector service is listening on 127.0.0.1:" + std::to_string(httpPort_) +
                              "; start it with `mailcollector run -c " + config + "` or use `run --once`"),
              std::string::npos)
        << result.err;
    EXPECT_EQ(result.out, "");
}

TEST_F(PollCommandTest, PollsNowWaitsAndPrintsEachResult) {
    auto accounts = makeAccounts(3, "now");
    accounts[1].protocol = "imap";
    accounts[1].extra = "idle = false\n";  // polled when asked, not when IDLE announces the mail
    // A wrong password: that account's poll fails, the others go on.
    Account broken = accounts[2];
    broken.name = "broken";
    broken.password = "not-the-password";
    accounts.push_back(broken);
    const auto config = writeConfig(accounts);
    startDaemon(config);
    ASSERT_TRUE(waitQuiet(accounts, 1)) << daemon_->err();

    for (int i = 0; i < 3; ++i) seed(accounts[0], "pop-" + std::to_string(i) + "@example.org");
    for (int i = 0; i < 2; ++i) seed(accounts[1], "imap-" + std::to_string(i) + "@example.org");
    // One account: when `poll` returns, its messages are in; the other account's are not yet.
    const auto one = poll(config, {"now001"});
    EXPECT_EQ(one.exitCode, 0) << one.describe();
    EXPECT_NE(one.out.find("account=now001 poll ok: listed=3 fetched=3 delivered=3 "), std::string::npos) << one.out;
    EXPECT_EQ(one.out.find("now002"), std::string::npos) << one.out;
    EXPECT_EQ(delivered(), 3u);

    // Several: every result, one line each; the failed account makes it exit 1 as run --once.
    const auto several = poll(config, {"now002", "broken"});
    EXPECT_EQ(several.exitCode, 1) << several.describe();
    EXPECT_NE(several.out.find("account=now002 poll ok: listed=2 fetched=2 delivered=2 "), std::string::npos)
        << several.out;
    EXPECT_NE(several.out.find("account=broken poll failed failure_kind="), std::string::npos) << several.out;
    EXPECT_EQ(delivered(), 5u);

    // All accounts, nothing new: each polled again and reported.
    const auto all = poll(config);
    EXPECT_EQ(all.exitCode, 1) << all.describe();
    for (const auto& account : accounts)
        EXPECT_NE(all.out.find("account=" + account.name + " poll "), std::string::npos) << all.out;
    EXPECT_NE(all.out.find("account=now001 poll ok: listed=3 fetched=0 delivered=0 "), std::string::npos) << all.out;
    EXPECT_EQ(delivered(), 5u);

    // Names are checked against the config before anything is asked.
    const auto unknown = poll(config, {"nosuch"});
    EXPECT_EQ(unknown.exitCode, 2) << unknown.describe();
    EXPECT_NE(unknown.err.find("no account named 'nosuch'"), std::string::npos) << unknown.err;
    const auto stopped = daemon_->stop(SIGTERM);
    EXPECT_EQ(stopped.exitCode, 0) << stopped.describe();
}

TEST_F(PollCommandTest, AnAccountTheServiceDoesNotKnowIsNamedWithTheKnownOnes) {
    const auto accounts = makeAccounts(2, "known");
    const auto config = writeConfig({accounts[0]});
    startDaemon(config);
    // The file gained an account the running service has not loaded (no SIGHUP yet).
    const auto newer = writeConfig(accounts);
    const auto result = poll(newer, {"known002"});
    EXPECT_EQ(result.exitCode, 2) << result.describe();
    EXPECT_NE(result.err.find("no account named 'known002'; the service's accounts: known001"), std::string::npos)
        << result.err;
}

}  // namespace
}  // namespace mc::testing::service
