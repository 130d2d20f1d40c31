// The PostgreSQL ledger against a private PostgreSQL server: the whole ledger contract
// (ledger_contract.hpp), leases, reconnection, schema versions, errors without secrets, and
// importing a SQLite ledger.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "collector/ledger/LedgerMigration.hpp"
#include "collector/ledger/PostgresLedgerStore.hpp"
#include "collector/ledger/SqliteLedgerStore.hpp"
#include "tests/support/LedgerPolls.hpp"
#include "tests/support/PostgresServer.hpp"
#include "tests/unit/ledger_contract.hpp"

namespace mc::ledger {
namespace {

using namespace std::chrono_literals;
using contract::imapKey;
using contract::pop3Key;
using testing::PostgresServer;

// One server per test process (tests run as separate processes: each starts its own, in about
// a quarter of a second); a fresh database per test.
PostgresServer& server() {
    static PostgresServer instance;
    return instance;
}

std::string freshDatabase() {
    static int counter = 0;
    const std::string name = "ledger_" + std::to_string(++counter);
    server().createDatabase(name);
    return server().url(name);
}

class PostgresBackend {
public:
    static bool available() { return PostgresServer::available(); }
    std::unique_ptr<LedgerStore> open() { return std::make_unique<PostgresLedgerStore>(url_); }
    void execute(const std::string& sql) { PostgresLedgerStore(url_).executeForTesting(sql); }

private:
    std::string url_ = freshDatabase();
};

}  // namespace

namespace contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, LedgerContractTest, PostgresBackend);
}  // namespace contract

namespace {

class PostgresLedgerTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!PostgresServer::available()) GTEST_SKIP() << "no PostgreSQL 15 server binaries";
        url_ = freshDatabase();
    }
    std::string url_;
};

template <typename Call>
std::string ledgerErrorOf(Call&& call) {
    try {
        call();
    } catch (const LedgerError& e) {
        return e.what();
    }
    ADD_FAILURE() << "no LedgerError thrown";
    return {};
}

TEST_F(PostgresLedgerTest, LeaseIsRefusedWhileHeldAndTakenOverAfterExpiry) {
    PostgresLedgerStore one(url_), two(url_);
    EXPECT_TRUE(one.takeLease("alice", "host-a:1:aa", 300ms).granted);
    // Held and not expired: refused, naming the holder; other accounts are free.
    const Lease refused = two.takeLease("alice", "host-b:2:bb", 60s);
    EXPECT_FALSE(refused.granted);
    EXPECT_EQ(refused.holder, "host-a:1:aa");
    EXPECT_TRUE(two.takeLease("bob", "host-b:2:bb", 60s).granted);
    // The holder may take it again (a new poll) without waiting.
    EXPECT_TRUE(one.takeLease("alice", "host-a:1:aa", 300ms).granted);

    std::this_thread::sleep_for(400ms);
    const Lease takenOver = two.takeLease("alice", "host-b:2:bb", 60s);
    EXPECT_TRUE(takenOver.granted);
    EXPECT_EQ(takenOver.holder, "host-b:2:bb");
    // The old holder has lost it: it can neither renew nor release it.
    EXPECT_FALSE(one.renewLease("alice", "host-a:1:aa", 60s));
    one.releaseLease("alice", "host-a:1:aa");
    EXPECT_FALSE(one.takeLease("alice", "host-a:1:aa", 60s).granted);
}

TEST_F(PostgresLedgerTest, RenewKeepsTheLeaseAndReleaseFreesIt) {
    PostgresLedgerStore one(url_), two(url_);
    ASSERT_TRUE(one.takeLease("alice", "a", 300ms).granted);
    for (int i = 0; i < 4; ++i) {
        std::this_thread::sleep_for(150ms);
        ASSERT_TRUE(one.renewLease("alice", "a", 300ms));
        EXPECT_FALSE(two.takeLease("alice", "b", 60s).granted) << "renewal " << i;
    }
    one.releaseLease("alice", "a");
    EXPECT_TRUE(two.takeLease("alice", "b", 60s).granted);
}

TEST_F(PostgresLedgerTest, StatusShowsTheHolderOfAnUnexpiredLease) {
    PostgresLedgerStore store(url_);
    store.registerAccount("alice");
    store.registerAccount("bob");
    ASSERT_TRUE(store.takeLease("alice", "host-a:1:aa", 60s).granted);
    ASSERT_TRUE(store.takeLease("bob", "host-b:2:bb", 1ms).granted);
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(store.account("alice")->leaseHolder, "host-a:1:aa");
    EXPECT_EQ(store.account("bob")->leaseHolder, "");  // expired
    const auto all = store.accounts();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].leaseHolder, "host-a:1:aa");
    store.releaseLease("alice", "host-a:1:aa");
    EXPECT_EQ(store.account("alice")->leaseHolder, "");
}

TEST_F(PostgresLedgerTest, ConcurrentTakersGetTheLeaseOnce) {
    std::atomic<int> granted{0};
    std::vector<std::thread> takers;
    for (int i = 0; i < 8; ++i) {
        takers.emplace_back([&, i] {
            PostgresLedgerStore store(url_);
            if (store.takeLease("alice", "holder-" + std::to_string(i), 60s).granted) ++granted;
        });
    }
    for (auto& taker : takers) taker.join();
    EXPECT_EQ(granted.load(), 1);
}

TEST_F(PostgresLedgerTest, InstancesOpeningTogetherMigrateOnce) {
    std::atomic<int> failures{0};
    std::vector<std::thread> openers;
    for (int i = 0; i < 6; ++i) {
        openers.emplace_back([&] {
            try {
                PostgresLedgerStore store(url_);
                store.recordSeen(pop3Key("u" + std::to_string(failures.load())), 1);
            } catch (const LedgerError& e) {
                ++failures;
                ADD_FAILURE() << e.what();
            }
        });
    }
    for (auto& opener : openers) opener.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(server().sql(url_.substr(url_.rfind('/') + 1), "SELECT version FROM schema_version"),
              std::to_string(PostgresLedgerStore::schemaVersion()) + "\n");
}

TEST_F(PostgresLedgerTest, RefusesASchemaNewerThanThisBuild) {
    { PostgresLedgerStore store(url_); }
    const std::string database = url_.substr(url_.rfind('/') + 1);
    server().sql(database, "UPDATE schema_version SET version = 99");
    const std::string error = ledgerErrorOf([&] { PostgresLedgerStore store(url_); });
    EXPECT_NE(error.find("schema version 99"), std::string::npos) << error;
}

TEST_F(PostgresLedgerTest, ReconnectsOnceAfterTheConnectionDropped) {
    PostgresLedgerStore store(url_);
    store.recordSeen(pop3Key("u1"), 10);
    const std::string database = url_.substr(url_.rfind('/') + 1);
    // What a server restart or an idle-connection reaper does to us.
    server().sql("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + database +
                                 "' AND application_name = 'mailcollector'");
    store.markDelivered(pop3Key("u1"), 0, "h", "<m@x>", "");
    EXPECT_EQ(contract::find(store, pop3Key("u1"))->state, MessageState::Delivered);
}

TEST_F(PostgresLedgerTest, ParallelWritersCommitOnSeveralConnectionsEachReconnectingOnce) {
    constexpr int kWriters = 8, kWrites = 25;
    PostgresLedgerStore store(url_, 4);
    const std::string database = url_.substr(url_.rfind('/') + 1);
    const std::string ours =
        "FROM pg_stat_activity WHERE datname = '" + database + "' AND application_name = 'mailcollector'";
    // Every writer records and delivers messages of its own account, as parallel polls do.
    auto writeAll = [&](const std::string& prefix) {
        std::atomic<int> failures{0};
        std::vector<std::thread> writers;
        for (int w = 0; w < kWriters; ++w) {
            writers.emplace_back([&, w] {
                for (int m = 0; m < kWrites; ++m) {
                    const MessageKey key{prefix + std::to_string(w), "", 0, std::to_string(m)};
                    try {
                        store.recordSeen(key, 10);
                        store.markDelivered(key, 10, "h", "<m@x>", "");
                    } catch (const LedgerError& e) {
                        if (++failures == 1) ADD_FAILURE() << e.what();
                    }
                }
            });
        }
        for (auto& writer : writers) writer.join();
        return failures.load();
    };
    EXPECT_EQ(writeAll("first-"), 0);
    const std::size_t connections = store.openConnections();
    EXPECT_GT(connections, 1u);
    EXPECT_LE(connections, 4u);
    EXPECT_EQ(server().sql("postgres", "SELECT count(*) " + ours), std::to_string(connections) + "\n");

    // Every pooled connection dropped at once (a server restart): each re-establishes itself
    // once, and no write fails.
    server().sql("postgres", "SELECT pg_terminate_backend(pid) " + ours);
    EXPECT_EQ(writeAll("second-"), 0);
    for (const std::string prefix : {"first-", "second-"}) {
        for (int w = 0; w < kWriters; ++w) {
            const auto rows = store.messages(prefix + std::to_string(w), "", 0);
            EXPECT_EQ(rows.size(), static_cast<std::size_t>(kWrites));
            for (const auto& row : rows) EXPECT_EQ(row.state, MessageState::Delivered);
        }
    }
    EXPECT_LE(store.openConnections(), 4u);
}

TEST_F(PostgresLedgerTest, ErrorsNeverShowThePassword) {
    const std::string wrong = "postgresql://mc:not-the-secret-pw@127.0.0.1:" + std::to_string(server().port()) + "/" +
                              url_.substr(url_.rfind('/') + 1);
    std::string error = ledgerErrorOf([&] { openLedger(wrong); });
    EXPECT_NE(error.find("password authentication failed"), std::string::npos) << error;
    EXPECT_EQ(error.find("not-the-secret-pw"), std::string::npos) << error;

    const std::string nobody = "postgresql://mc:another-secret-pw@127.0.0.1:1/ledger?connect_timeout=2";
    error = ledgerErrorOf([&] { openLedger(nobody); });
    EXPECT_NE(error.find("cannot open the PostgreSQL ledger"), std::string::npos) << error;
    EXPECT_EQ(error.find("another-secret-pw"), std::string::npos) << error;
}

TEST_F(PostgresLedgerTest, AUrlValueWithASpaceIsRefusedNamingTheFix) {
    // The connector cannot pass a value holding a space; the error says so, not the value.
    const std::string url = "postgresql://mc:two%20words@127.0.0.1:" + std::to_string(server().port()) + "/" +
                            url_.substr(url_.rfind('/') + 1);
    const std::string error = ledgerErrorOf([&] { openLedger(url); });
    EXPECT_NE(error.find("password holds a space"), std::string::npos) << error;
    EXPECT_NE(error.find(".pgpass"), std::string::npos) << error;
    EXPECT_EQ(error.find("two words"), std::string::npos) << error;
}

TEST_F(PostgresLedgerTest, WriteFailuresAreLedgerErrors) {
    PostgresLedgerStore store(url_);
    store.executeForTesting("ALTER DATABASE " + url_.substr(url_.rfind('/') + 1) +
                            " SET default_transaction_read_only = on");
    PostgresLedgerStore readOnly(url_);  // new sessions only
    const std::string error = ledgerErrorOf([&] { readOnly.markDelivered(pop3Key("u1"), 1, "h", "", ""); });
    EXPECT_NE(error.find("markDelivered failed"), std::string::npos) << error;
    EXPECT_NE(error.find("read-only"), std::string::npos) << error;
    EXPECT_THROW(readOnly.probeWrite(), LedgerError);
}

class LedgerImportTest : public PostgresLedgerTest {
protected:
    void SetUp() override {
        PostgresLedgerTest::SetUp();
        if (IsSkipped()) return;
        sqlitePath_ = (dir_ / "ledger.db").string();
    }
    // A SQLite ledger holding every kind of row.
    void fillSqlite() {
        SqliteLedgerStore store(sqlitePath_);
        store.registerAccount("alice");
        store.registerAccount("bob");
        store.recordSeen(pop3Key("seen"), 10);
        store.recordFailure(pop3Key("seen"), 0, "451 try later");
        store.markDelivered(pop3Key("delivered"), 20, "hash-d", "<d@x>", "header-hash-d");
        store.markDelivered(pop3Key("deleted"), 30, "hash-x", "<x@x>", "");
        store.markDeleted(pop3Key("deleted"));
        store.markQuarantined(pop3Key("quarantined"), 40, "554 virus");
        store.markSkipped(pop3Key("skipped"), 50, "too big");
        store.recordSeen(imapKey("7"), 60);
        store.markDelivered(imapKey("8"), 70, "tab\there\nnewline\\back", "<i@x>", "");
        testing::recordLastPoll(store, "alice", "ok", "");
        store.recordNextPoll("alice", 1'900'000'000);
        testing::recordLastPoll(store, "bob", "failed", "connection refused");
        store.recordSeen(pop3Key("orphan", "ghost"), 1);  // rows of an account never registered
    }

    testing::TempDir dir_{"mc-import"};
    std::string sqlitePath_;
};

TEST_F(LedgerImportTest, CopiesEveryRowAndState) {
    fillSqlite();
    const ImportCounts counts = migrateLedger(sqlitePath_, url_);
    EXPECT_EQ(counts.accounts, 2u);
    EXPECT_EQ(counts.messages, 8u);
    EXPECT_EQ(counts.pending, 3u);  // seen, imap 7, ghost's orphan
    EXPECT_EQ(counts.quarantined, 1u);

    SqliteLedgerStore source(sqlitePath_);
    PostgresLedgerStore target(url_);
    for (const auto& [account, folder, validity] :
         {std::tuple<std::string, std::string, std::uint64_t>{"alice", "", 0}, {"bob", "INBOX", 7}, {"ghost", "", 0}}) {
        const auto want = source.messages(account, folder, validity);
        const auto got = target.messages(account, folder, validity);
        ASSERT_EQ(got.size(), want.size()) << account;
        for (std::size_t i = 0; i < want.size(); ++i) {
            SCOPED_TRACE(want[i].key.uid);
            EXPECT_EQ(got[i].key, want[i].key);
            EXPECT_EQ(got[i].size, want[i].size);
            EXPECT_EQ(got[i].state, want[i].state);
            EXPECT_EQ(got[i].contentHash, want[i].contentHash);
            EXPECT_EQ(got[i].messageId, want[i].messageId);
            EXPECT_EQ(got[i].headerHash, want[i].headerHash);
            EXPECT_EQ(got[i].firstSeenAt, want[i].firstSeenAt);
            EXPECT_EQ(got[i].deliveredAt, want[i].deliveredAt);
            EXPECT_EQ(got[i].attempts, want[i].attempts);
            EXPECT_EQ(got[i].lastError, want[i].lastError);
        }
    }
    const auto wantAccounts = source.accounts();
    const auto gotAccounts = target.accounts();
    ASSERT_EQ(gotAccounts.size(), wantAccounts.size());
    for (std::size_t i = 0; i < wantAccounts.size(); ++i) {
        EXPECT_EQ(gotAccounts[i].name, wantAccounts[i].name);
        EXPECT_EQ(gotAccounts[i].firstSeenAt, wantAccounts[i].firstSeenAt);
        EXPECT_EQ(gotAccounts[i].lastPollAt, wantAccounts[i].lastPollAt);
        EXPECT_EQ(gotAccounts[i].nextPollAt, wantAccounts[i].nextPollAt);
        EXPECT_EQ(gotAccounts[i].lastResult, wantAccounts[i].lastResult);
        EXPECT_EQ(gotAccounts[i].lastError, wantAccounts[i].lastError);
        EXPECT_EQ(gotAccounts[i].delivered, wantAccounts[i].delivered);
        EXPECT_EQ(gotAccounts[i].pending, wantAccounts[i].pending);
        EXPECT_EQ(gotAccounts[i].deleted, wantAccounts[i].deleted);
    }
    // Registered stays registered: fetch = "new" does not start over.
    EXPECT_FALSE(target.registerAccount("alice"));
}

TEST_F(LedgerImportTest, RefusesWhenTheTargetHasThoseAccountsAndCopiesNothing) {
    fillSqlite();
    {
        PostgresLedgerStore target(url_);
        target.registerAccount("carol");  // unrelated: fine
        target.recordSeen(pop3Key("other", "bob"), 1);
    }
    const std::string error = ledgerErrorOf([&] { migrateLedger(sqlitePath_, url_); });
    EXPECT_NE(error.find("already holds 1 of these accounts (bob)"), std::string::npos) << error;
    PostgresLedgerStore target(url_);
    EXPECT_TRUE(target.messages("alice", "", 0).empty());
    EXPECT_EQ(target.accounts().size(), 1u);
}

TEST_F(LedgerImportTest, RunsTwiceOnlyOnce) {
    fillSqlite();
    migrateLedger(sqlitePath_, url_);
    EXPECT_THROW(migrateLedger(sqlitePath_, url_), LedgerError);
    EXPECT_EQ(PostgresLedgerStore(url_).messages("alice", "", 0).size(), 5u);
}

TEST_F(LedgerImportTest, CopiesAVersionOneLedgerOfManyRowsInOrder) {
    {
        // More rows than the source is read at a time, in a ledger as schema version 1 left it:
        // no next_poll_at, no leases, no header_hash.
        SqliteLedgerStore store(sqlitePath_);
        store.registerAccount("alice");
        store.recordNextPoll("alice", 1'900'000'000);
        store.executeForTesting(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1499) "
            "INSERT INTO messages (account, folder, uid_validity, uid, state, size) "
            "SELECT 'alice', '', 0, printf('%04d', 1499 - i), 'delivered', i + 1 FROM n");
        store.executeForTesting("DROP TABLE leases");
        store.executeForTesting("ALTER TABLE accounts DROP COLUMN next_poll_at");
        store.executeForTesting("ALTER TABLE messages DROP COLUMN header_hash");
        store.executeForTesting("PRAGMA user_version = 1");
    }
    EXPECT_EQ(migrateLedger(sqlitePath_, url_).messages, 1500u);
    PostgresLedgerStore target(url_);
    const auto rows = target.messages("alice", "", 0);
    ASSERT_EQ(rows.size(), 1500u);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        ASSERT_EQ(rows[i].size, i + 1) << "row " << i << " out of the source's order";
        EXPECT_EQ(rows[i].headerHash, "");
    }
    EXPECT_EQ(target.account("alice")->nextPollAt, 0);
}

TEST_F(LedgerImportTest, RefusesAMissingOrForeignSourceWithoutCreatingIt) {
    EXPECT_THROW(migrateLedger((dir_ / "missing.db").string(), url_), LedgerError);
    EXPECT_FALSE(std::filesystem::exists(dir_ / "missing.db"));
    testing::writeFile(dir_ / "foreign.db", "not a database at all, just text\n");
    EXPECT_THROW(migrateLedger((dir_ / "foreign.db").string(), url_), LedgerError);
}

}  // namespace
}  // namespace mc::ledger
