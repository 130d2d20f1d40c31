// Several mailcollector instances sharing one PostgreSQL ledger, end to end: a private Dovecot
// (POP3 sources and the LMTP target) and a private PostgreSQL. Leases keep delivery exactly
// once; a killed instance's accounts are taken over once its leases expire; `ledger migrate`
// moves a SQLite ledger without refetching; the ledger URL's password never shows.

#include <gtest/gtest.h>

#include "tests/integration/service_harness.hpp"
#include "tests/support/PostgresServer.hpp"

namespace mc::testing::service {
namespace {

class SharedLedgerTest : public ServiceFixture {
protected:
    void SetUp() override {
        if (!PostgresServer::available()) GTEST_SKIP() << "no PostgreSQL 15 server binaries";
        postgres_.emplace();
        postgres_->createDatabase("shared");
        url_ = postgres_->url("shared");
    }

    // The config every instance uses: the shared ledger, short leases.
    std::string sharedConfig(const std::vector<Account>& accounts, const std::string& targetExtra = "") {
        return writeConfig(accounts, "ledger = \"" + url_ + "\"\nlease_ttl = \"5s\"", targetExtra);
    }

    // Accounts whose lease is held (unexpired), per `status --json`.
    std::size_t held(const std::string& config) {
        const std::string out = this->status(config).out;
        std::size_t count = 0;
        for (auto at = out.find("\"held_by\":\""); at != std::string::npos; at = out.find("\"held_by\":\"", at + 1))
            if (out.compare(at + 11, 1, "\"") != 0) ++count;
        return count;
    }

    std::unique_ptr<BackgroundProcess> once(const std::string& config, std::map<std::string, std::string> env = {}) {
        env.emplace("MC_LOG_LEVEL", "debug");
        return std::make_unique<BackgroundProcess>(std::vector<std::string>{MC_BINARY, "run", "-c", config, "--once"},
                                                   env);
    }

    void expectNoPassword(const std::string& text) {
        EXPECT_EQ(text.find(postgres_->password()), std::string::npos) << text;
    }

    std::optional<PostgresServer> postgres_;
    std::string url_;
};

TEST_F(SharedLedgerTest, TwoInstancesDeliverEveryMessageOnce) {
    const auto accounts = makeAccounts(6, "shared");
    for (const auto& account : accounts)
        for (int i = 0; i < 12; ++i) seed(account, account.name + "-" + std::to_string(i) + "@example.org");
    const auto config = sharedConfig(accounts);

    auto first = once(config);
    auto second = once(config);
    const auto a = first->wait(120s);
    const auto b = second->wait(120s);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->exitCode, 0) << a->err;
    EXPECT_EQ(b->exitCode, 0) << b->err;

    const auto ids = deliveredIds();
    EXPECT_EQ(ids.size(), 72u);
    for (const auto& [id, count] : ids) EXPECT_EQ(count, 1) << id;
    EXPECT_EQ(delivered(), 72u);
    expectNoPassword(a->err + a->out + b->err + b->out);

    // A third run finds everything recorded.
    auto third = once(config)->wait(60s);
    ASSERT_TRUE(third);
    EXPECT_EQ(third->exitCode, 0) << third->err;
    EXPECT_EQ(delivered(), 72u);
}

TEST_F(SharedLedgerTest, KilledInstanceIsTakenOverOnceItsLeasesExpire) {
    const auto accounts = makeAccounts(3, "crash");
    for (const auto& account : accounts)
        for (int i = 0; i < 20; ++i) seed(account, account.name + "-" + std::to_string(i) + "@example.org");
    // One delivery connection per account: at most one message per account in flight.
    const auto config = sharedConfig(accounts, "connections = 1\n");

    // Killed (SIGKILL, by itself) between the target's 2xx and the ledger commit of a message.
    auto crashed = once(config, {{"MC_CRASH_AT", "after-accept:25"}})->wait(120s);
    ASSERT_TRUE(crashed);
    ASSERT_EQ(crashed->termSignal, SIGKILL) << crashed->err;
    const std::size_t before = delivered();
    ASSERT_GE(before, 25u);
    ASSERT_LT(before, 60u);

    // Its leases are still valid: the other instance skips those accounts and says who has them.
    auto status = this->status(config);
    EXPECT_GE(held(config), 1u) << status.out;
    auto skipped = once(config)->wait(60s);
    ASSERT_TRUE(skipped);
    EXPECT_EQ(skipped->exitCode, 0) << skipped->err;
    EXPECT_NE(skipped->err.find("skipped: held by "), std::string::npos) << skipped->err;

    // Once they expire (5 s after the last renewal), it takes them over and finishes the import.
    ASSERT_TRUE(eventually([&] { return held(config) == 0; }, 20s));
    auto takeover = once(config)->wait(120s);
    ASSERT_TRUE(takeover);
    EXPECT_EQ(takeover->exitCode, 0) << takeover->err;
    EXPECT_EQ(takeover->err.find("skipped: held by "), std::string::npos) << takeover->err;

    const auto ids = deliveredIds();
    EXPECT_EQ(ids.size(), 60u);
    int duplicates = 0;
    for (const auto& [id, count] : ids) duplicates += count - 1;
    // The crash window: what the target accepted and the ledger had not recorded yet.
    EXPECT_LE(duplicates, 3);
    EXPECT_GE(duplicates, 1);
    expectNoPassword(crashed->err + skipped->err + takeover->err + status.out + status.err);
}

TEST_F(SharedLedgerTest, MigratedLedgerRefetchesNothing) {
    const auto accounts = makeAccounts(3, "moved");
    for (const auto& account : accounts)
        for (int i = 0; i < 5; ++i) seed(account, account.name + "-" + std::to_string(i) + "@example.org");
    const auto local = writeConfig(accounts);  // the SQLite ledger state/ledger.db
    auto first = runProcess({MC_BINARY, "run", "-c", local, "--once"}, {}, 120s);
    ASSERT_EQ(first.exitCode, 0) << first.describe();
    ASSERT_EQ(delivered(), 15u);

    const std::string file = (work_ / "state" / "ledger.db").string();
    auto migrated = runProcess({MC_BINARY, "ledger", "migrate", "--from", file, "--to", url_}, {}, 60s);
    ASSERT_EQ(migrated.exitCode, 0) << migrated.describe();
    EXPECT_NE(migrated.out.find("copied 3 accounts and 15 messages (0 pending, 0 quarantined)"), std::string::npos)
        << migrated.out;
    expectNoPassword(migrated.out + migrated.err);

    // Once is enough: a second migration into the same ledger is refused, exit 3.
    auto again = runProcess({MC_BINARY, "ledger", "migrate", "--from", file, "--to", url_}, {}, 60s);
    EXPECT_EQ(again.exitCode, 3) << again.describe();
    EXPECT_NE(again.err.find("already holds 3 of these accounts"), std::string::npos) << again.err;
    expectNoPassword(again.out + again.err);

    const auto shared = sharedConfig(accounts);
    for (const auto& account : accounts) seed(account, account.name + "-new@example.org");
    auto second = once(shared)->wait(120s);
    ASSERT_TRUE(second);
    EXPECT_EQ(second->exitCode, 0) << second->err;
    EXPECT_EQ(delivered(), 18u);  // the three new ones only
    for (const auto& [id, count] : deliveredIds()) EXPECT_EQ(count, 1) << id;
    const auto status = this->status(shared);
    EXPECT_EQ(status.exitCode, 0) << status.describe();
    EXPECT_NE(status.out.find("\"account\":\"moved001\""), std::string::npos) << status.out;
    EXPECT_NE(status.out.find("\"delivered\":6"), std::string::npos) << status.out;
}

TEST_F(SharedLedgerTest, UnreachableLedgerIsExit3WithoutThePassword) {
    const auto accounts = makeAccounts(1, "nope");
    // Wrong password, then a port nobody listens on.
    for (const std::string& url :
         {"postgresql://mc:wrong-secret-pw@127.0.0.1:" + std::to_string(postgres_->port()) + "/shared",
          std::string("postgresql://mc:wrong-secret-pw@127.0.0.1:1/shared")}) {
        SCOPED_TRACE(url);
        const auto config = writeConfig(accounts, "ledger = \"" + url + "\"");
        auto run = runProcess({MC_BINARY, "run", "-c", config, "--once"}, {{"MC_LOG_LEVEL", "debug"}}, 60s);
        EXPECT_EQ(run.exitCode, 3) << run.describe();
        EXPECT_NE(run.err.find("cannot open the ledger"), std::string::npos) << run.err;
        EXPECT_EQ(run.err.find("wrong-secret-pw"), std::string::npos) << run.err;
        auto status = this->status(config);
        EXPECT_EQ(status.exitCode, 3) << status.describe();
        EXPECT_EQ((status.out + status.err).find("wrong-secret-pw"), std::string::npos) << status.err;
        auto migrate = runProcess({MC_BINARY, "ledger", "migrate", "--from", "/nonexistent.db", "--to", url}, {}, 60s);
        EXPECT_EQ(migrate.exitCode, 3) << migrate.describe();
        EXPECT_EQ((migrate.out + migrate.err).find("wrong-secret-pw"), std::string::npos) << migrate.err;
    }
}

}  // namespace
}  // namespace mc::testing::service
