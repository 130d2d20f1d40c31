// Several mailcollector processes on one SQLite ledger, end to end: a private Dovecot (POP3 and
// IMAP sources, the LMTP target counting what arrives). Account leases in the SQLite file keep
// delivery exactly once whether two `run --once` start together or a `run --once` runs beside
// the service; the process that finds an account held skips it and says who holds it; a killed
// holder's accounts are taken over at once; the service survives it all (no SIGBUS).

#include <gtest/gtest.h>

#include <regex>

#include "tests/integration/service_harness.hpp"

namespace mc::testing::service {
namespace {

class SqliteProcessesTest : public ServiceFixture {
protected:
    // Half POP3, half IMAP accounts.
    std::vector<Account> mixedAccounts(int count, const std::string& prefix) {
        auto accounts = makeAccounts(count, prefix);
        for (std::size_t i = 0; i < accounts.size(); i += 2) accounts[i].protocol = "imap";
        return accounts;
    }

    void seedRound(const std::vector<Account>& accounts, int round, int perAccount) {
        for (const auto& account : accounts)
            for (int i = 0; i < perAccount; ++i)
                seed(account, account.name + "-r" + std::to_string(round) + "-" + std::to_string(i) + "@example.org");
    }

    std::unique_ptr<BackgroundProcess> once(const std::string& config) {
        return std::make_unique<BackgroundProcess>(std::vector<std::string>{MC_BINARY, "run", "-c", config, "--once"});
    }

    // Every Message-ID at the target exactly once, and `expected` of them.
    void expectEachOnce(std::size_t expected) {
        const auto ids = deliveredIds();
        EXPECT_EQ(ids.size(), expected);
        for (const auto& [id, count] : ids) EXPECT_EQ(count, 1) << id;
        EXPECT_EQ(delivered(), expected);
    }

    // The "skipped: held by HOLDER" lines of a log; each holder must be one of `pids` on this host.
    int skipsNamingHolders(const std::string& log, const std::vector<pid_t>& pids) {
        char host[256] = {};
        ::gethostname(host, sizeof host - 1);
        static const std::regex skipped("skipped: held by ([^:\\s\"]+):([0-9]+):");
        int count = 0;
        for (std::sregex_iterator it(log.begin(), log.end(), skipped), end; it != end; ++it) {
            ++count;
            EXPECT_EQ((*it)[1].str(), host);
            const pid_t holder = std::stoi((*it)[2].str());
            EXPECT_NE(std::find(pids.begin(), pids.end(), holder), pids.end()) << it->str();
        }
        return count;
    }
};

TEST_F(SqliteProcessesTest, TwoOnceRunsStartedTogetherDeliverEveryMessageOnce) {
    const auto accounts = mixedAccounts(4, "pair");
    // A fresh ledger file for both in the first round: they also race to create it.
    const auto config = writeConfig(accounts);
    int skips = 0;
    constexpr int kRounds = 4, kPerAccount = 10;
    for (int round = 0; round < kRounds; ++round) {
        seedRound(accounts, round, kPerAccount);
        auto first = once(config);
        auto second = once(config);
        const auto a = first->wait(180s);
        const auto b = second->wait(180s);
        ASSERT_TRUE(a && b);
        EXPECT_EQ(a->exitCode, 0) << a->err;
        EXPECT_EQ(b->exitCode, 0) << b->err;
        skips += skipsNamingHolders(a->err, {second->pid()}) + skipsNamingHolders(b->err, {first->pid()});
        expectEachOnce(accounts.size() * kPerAccount * (round + 1));
    }
    // Started together, they meet on some account in some round; the one that skips says why.
    EXPECT_GT(skips, 0);
}

TEST_F(SqliteProcessesTest, OnceBesideTheServiceDeliversEveryMessageOnce) {
    const auto accounts = mixedAccounts(4, "beside");
    const auto config = writeConfig(accounts);
    startDaemon(config);
    ASSERT_TRUE(waitQuiet(accounts, 1));
    constexpr int kRounds = 4, kPerAccount = 10;
    int skips = 0;
    for (int round = 0; round < kRounds; ++round) {
        seedRound(accounts, round, kPerAccount);
        // "Check mail now" in the service and a cron --once at the same moment.
        daemon_->sendSignal(SIGUSR1);
        auto manual = once(config);
        const auto result = manual->wait(180s);
        ASSERT_TRUE(result);
        EXPECT_EQ(result->exitCode, 0) << result->err;
        skips += skipsNamingHolders(result->err, {daemon_->pid()});
        // Whatever the --once skipped, the service delivers (a poll it skipped runs again at once).
        daemon_->sendSignal(SIGUSR1);
        ASSERT_TRUE(eventually([&] { return delivered() >= accounts.size() * kPerAccount * (round + 1); }, 120s))
            << daemon_->err();
        ASSERT_TRUE(waitQuiet(accounts, 1));
        ASSERT_TRUE(daemon_->running()) << daemon_->err();
        expectEachOnce(accounts.size() * kPerAccount * (round + 1));
    }
    EXPECT_GT(skips, 0);
    const auto stopped = daemon_->stop(SIGTERM);
    EXPECT_EQ(stopped.exitCode, 0) << stopped.describe();
}

TEST_F(SqliteProcessesTest, AKilledHoldersAccountsAreTakenOverAtOnce) {
    const auto accounts = mixedAccounts(2, "killed");
    for (const auto& account : accounts)
        for (int i = 0; i < 20; ++i) seed(account, account.name + "-" + std::to_string(i) + "@example.org");
    // Leases that would outlive the test: only knowing the holder is dead frees them. One
    // delivery connection per account: at most one message per account in flight at the kill.
    const auto config = writeConfig(accounts, "lease_ttl = \"1h\"", "connections = 1\n");

    auto crashed =
        std::make_unique<BackgroundProcess>(std::vector<std::string>{MC_BINARY, "run", "-c", config, "--once"},
                                            std::map<std::string, std::string>{{"MC_CRASH_AT", "after-accept:15"}})
            ->wait(180s);
    ASSERT_TRUE(crashed);
    ASSERT_EQ(crashed->termSignal, SIGKILL) << crashed->err;
    const auto held = status(config);
    EXPECT_TRUE(std::regex_search(held.out, std::regex("\"held_by\":\"[^\"]"))) << held.out;

    auto takeover = once(config)->wait(180s);
    ASSERT_TRUE(takeover);
    EXPECT_EQ(takeover->exitCode, 0) << takeover->err;
    EXPECT_EQ(takeover->err.find("skipped: held by "), std::string::npos) << takeover->err;
    const auto ids = deliveredIds();
    EXPECT_EQ(ids.size(), 40u);
    int duplicates = 0;
    for (const auto& [id, count] : ids) duplicates += count - 1;
    EXPECT_LE(duplicates, 2);  // the crash window: accepted by the target, not yet recorded
}

}  // namespace
}  // namespace mc::testing::service
