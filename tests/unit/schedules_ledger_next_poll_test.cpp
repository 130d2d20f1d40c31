// The ledger additions the service relies on: schema version 2 (accounts.next_poll_at),
// recordNextPoll and the write probe behind /healthz.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>

#include "collector/ledger/SqliteLedgerStore.hpp"
#include "tests/support/LedgerPolls.hpp"

namespace mc::ledger {
namespace {

class LedgerNextPollTest : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/mc-ledger2-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        path_ = (dir_ / "ledger.db").string();
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    // What version 1 of mailcollector created, with one polled account in it.
    void createVersion1Ledger() {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
        const char* sql = R"sql(
PRAGMA journal_mode = WAL;
CREATE TABLE messages (account TEXT NOT NULL, folder TEXT NOT NULL, uid_validity INTEGER NOT NULL,
    uid TEXT NOT NULL, size INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL,
    content_hash TEXT NOT NULL DEFAULT '', message_id TEXT NOT NULL DEFAULT '',
    first_seen_at INTEGER NOT NULL DEFAULT 0, delivered_at INTEGER NOT NULL DEFAULT 0,
    deleted_at INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '', PRIMARY KEY (account, folder, uid_validity, uid));
CREATE INDEX messages_by_message_id ON messages (account, folder, message_id);
CREATE INDEX messages_by_content_hash ON messages (account, content_hash);
CREATE TABLE accounts (name TEXT PRIMARY KEY NOT NULL, first_seen_at INTEGER NOT NULL DEFAULT 0,
    last_poll_at INTEGER NOT NULL DEFAULT 0, last_result TEXT NOT NULL DEFAULT '',
    last_error TEXT NOT NULL DEFAULT '');
INSERT INTO accounts VALUES ('old', 1600000000, 1600000100, 'ok', '');
INSERT INTO messages (account, folder, uid_validity, uid, size, state) VALUES ('old', '', 0, 'u1', 10, 'delivered');
PRAGMA user_version = 1;
)sql";
        char* error = nullptr;
        ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
        sqlite3_close(db);
        ASSERT_EQ(::chmod(path_.c_str(), 0600), 0);
    }

    std::filesystem::path dir_;
    std::string path_;
};

TEST_F(LedgerNextPollTest, Version1LedgersAreMigratedKeepingTheirRows) {
    createVersion1Ledger();
    EXPECT_GE(SqliteLedgerStore::schemaVersion(), 2);  // later versions migrate through 2
    SqliteLedgerStore store(path_);
    auto old = store.account("old");
    ASSERT_TRUE(old);
    EXPECT_EQ(old->lastPollAt, 1600000100);
    EXPECT_EQ(old->lastResult, "ok");
    EXPECT_EQ(old->nextPollAt, 0);
    EXPECT_EQ(old->delivered, 1u);
    store.recordNextPoll("old", 1600000400);
    EXPECT_EQ(store.account("old")->nextPollAt, 1600000400);
}

TEST_F(LedgerNextPollTest, RecordNextPollUpdatesExistingRowsOnly) {
    {
        SqliteLedgerStore store(path_);
        store.recordNextPoll("ghost", 5);
        EXPECT_FALSE(store.account("ghost")) << "no row is created";
        testing::recordLastPoll(store, "ghost", "failed", "connection refused");  // a poll that never listed
        store.recordNextPoll("ghost", 1700000060);
        EXPECT_EQ(store.account("ghost")->nextPollAt, 1700000060);
        EXPECT_TRUE(store.registerAccount("ghost")) << "still new for fetch = \"new\"";
        store.recordNextPoll("ghost", 1700000300);
        testing::recordLastPoll(store, "ghost", "ok", "");
        EXPECT_EQ(store.account("ghost")->nextPollAt, 1700000300) << "recordPollEnd leaves it alone";
        EXPECT_EQ(store.accounts().at(0).nextPollAt, 1700000300);
    }
    SqliteLedgerStore reopened(path_);
    EXPECT_EQ(reopened.account("ghost")->nextPollAt, 1700000300) << "durable";
}

TEST_F(LedgerNextPollTest, WriteProbeSucceedsOnlyWhenTheLedgerTakesWrites) {
    SqliteLedgerStore store(path_);
    EXPECT_NO_THROW(store.probeWrite());
    store.executeForTesting("PRAGMA query_only = 1");
    try {
        store.probeWrite();
        ADD_FAILURE() << "probe succeeded on a read-only connection";
    } catch (const LedgerError& e) {
        EXPECT_NE(std::string(e.what()).find("probeWrite failed"), std::string::npos) << e.what();
    }
    store.executeForTesting("PRAGMA query_only = 0");
    EXPECT_NO_THROW(store.probeWrite());
    SqliteLedgerStore again(path_);
    EXPECT_NO_THROW(again.probeWrite()) << "the probe leaves the schema version alone";
}

}  // namespace
}  // namespace mc::ledger
