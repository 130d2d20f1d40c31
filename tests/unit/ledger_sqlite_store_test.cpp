// The ledger contract (ledger_contract.hpp) against SQLite, and what is SQLite's own: files
// and directories, leases on a single machine.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "collector/ledger/LedgerStore.hpp"
#include "collector/ledger/SqliteLedgerStore.hpp"
#include "tests/unit/ledger_contract.hpp"

namespace mc::ledger {
namespace {

namespace fs = std::filesystem;
using contract::pop3Key;

// A ledger file in a fresh directory, removed afterwards.
class SqliteBackend {
public:
    static bool available() { return true; }
    SqliteBackend() {
        std::string pattern = (fs::temp_directory_path() / "mc-ledger-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir_ = pattern;
        path_ = (dir_ / "ledger.sqlite").string();
    }
    ~SqliteBackend() {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
    std::unique_ptr<LedgerStore> open() { return openLedger(path_); }
    void execute(const std::string& sql) { SqliteLedgerStore(path_).executeForTesting(sql); }
    const fs::path& dir() const { return dir_; }

private:
    fs::path dir_;
    std::string path_;
};

}  // namespace

namespace contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, LedgerContractTest, SqliteBackend);
}  // namespace contract

namespace {

class LedgerStoreTest : public ::testing::Test {
protected:
    SqliteBackend backend_;
    fs::path dir_ = backend_.dir();
};

TEST_F(LedgerStoreTest, OpenCreatesMissingParentDirectories) {
    const std::string nested = (dir_ / "a" / "b" / "ledger.sqlite").string();
    auto store = openLedger(nested);
    store->recordSeen(pop3Key("u1"), 1);
    EXPECT_TRUE(fs::is_regular_file(nested));
}

TEST_F(LedgerStoreTest, LeasesAreAlwaysGrantedOnOneMachine) {
    auto store = backend_.open();
    EXPECT_TRUE(store->takeLease("alice", "host:1:a", std::chrono::seconds(60)).granted);
    EXPECT_TRUE(store->takeLease("alice", "host:2:b", std::chrono::seconds(60)).granted);
    EXPECT_TRUE(store->renewLease("alice", "host:1:a", std::chrono::seconds(60)));
    store->releaseLease("alice", "host:1:a");
    store->registerAccount("alice");
    EXPECT_EQ(store->account("alice")->leaseHolder, "");
}

TEST_F(LedgerStoreTest, OpenLedgerRedactsPasswordsInLocations) {
    EXPECT_FALSE(isPostgresLocation("/var/lib/ledger.db"));
    EXPECT_TRUE(isPostgresLocation("postgres://h/db"));
    EXPECT_EQ(redactLocation("/var/lib/ledger.db"), "/var/lib/ledger.db");
    EXPECT_EQ(redactLocation("postgresql://mc:s3cret@db.example/ledger"), "postgresql://mc:***@db.example/ledger");
    EXPECT_EQ(redactLocation("postgresql://mc@db.example/ledger?password=s3cret&sslmode=verify-full"),
              "postgresql://mc@db.example/ledger?password=***&sslmode=verify-full");
    EXPECT_EQ(redactLocation("postgresql://db.example/ledger"), "postgresql://db.example/ledger");
}

TEST(LedgerStateTest, ToStringNamesEveryState) {
    EXPECT_STREQ(toString(MessageState::Seen), "seen");
    EXPECT_STREQ(toString(MessageState::Delivered), "delivered");
    EXPECT_STREQ(toString(MessageState::Quarantined), "quarantined");
    EXPECT_STREQ(toString(MessageState::Skipped), "skipped");
    EXPECT_STREQ(toString(MessageState::Deleted), "deleted");
}

}  // namespace
}  // namespace mc::ledger
