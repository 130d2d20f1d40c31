// The ledger contract (ledger_contract.hpp) against SQLite, and what is SQLite's own: files
// and directories, leases between processes on one machine.

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "collector/ledger/LedgerStore.hpp"
#include "collector/ledger/SqliteLedgerStore.hpp"
#include "tests/unit/ledger_contract.hpp"

namespace mc::ledger {
namespace {

namespace fs = std::filesystem;
using contract::pop3Key;
using namespace std::chrono_literals;

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

TEST_F(LedgerStoreTest, LeaseIsRefusedWhileHeldAndTakenOverAfterExpiry) {
    // Two connections to one file, as two processes have them.
    auto one = backend_.open();
    auto two = backend_.open();
    EXPECT_TRUE(one->takeLease("alice", "host-a:1:aa", 300ms).granted);
    // Held and not expired: refused, naming the holder; other accounts are free.
    const Lease refused = two->takeLease("alice", "host-b:2:bb", 60s);
    EXPECT_FALSE(refused.granted);
    EXPECT_EQ(refused.holder, "host-a:1:aa");
    EXPECT_TRUE(two->takeLease("bob", "host-b:2:bb", 60s).granted);
    // The holder may take it again (a new poll) without waiting.
    EXPECT_TRUE(one->takeLease("alice", "host-a:1:aa", 300ms).granted);

    std::this_thread::sleep_for(400ms);
    const Lease takenOver = two->takeLease("alice", "host-b:2:bb", 60s);
    EXPECT_TRUE(takenOver.granted);
    EXPECT_EQ(takenOver.holder, "host-b:2:bb");
    // The old holder has lost it: it can neither renew nor release it.
    EXPECT_FALSE(one->renewLease("alice", "host-a:1:aa", 60s));
    one->releaseLease("alice", "host-a:1:aa");
    EXPECT_FALSE(one->takeLease("alice", "host-a:1:aa", 60s).granted);
}

TEST_F(LedgerStoreTest, RenewKeepsTheLeaseAndReleaseFreesIt) {
    auto one = backend_.open();
    auto two = backend_.open();
    ASSERT_TRUE(one->takeLease("alice", "a", 300ms).granted);
    for (int i = 0; i < 4; ++i) {
        std::this_thread::sleep_for(150ms);
        ASSERT_TRUE(one->renewLease("alice", "a", 300ms));
        EXPECT_FALSE(two->takeLease("alice", "b", 60s).granted) << "renewal " << i;
    }
    one->releaseLease("alice", "a");
    EXPECT_TRUE(two->takeLease("alice", "b", 60s).granted);
}

TEST_F(LedgerStoreTest, StatusShowsTheHolderOfAnUnexpiredLease) {
    auto store = backend_.open();
    store->registerAccount("alice");
    store->registerAccount("bob");
    ASSERT_TRUE(store->takeLease("alice", "host-a:1:aa", 60s).granted);
    ASSERT_TRUE(store->takeLease("bob", "host-b:2:bb", 1ms).granted);
    std::this_thread::sleep_for(5ms);
    EXPECT_EQ(store->account("alice")->leaseHolder, "host-a:1:aa");
    EXPECT_EQ(store->account("bob")->leaseHolder, "");
    const auto all = store->accounts();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].leaseHolder, "host-a:1:aa");
    EXPECT_EQ(all[1].leaseHolder, "");
    store->releaseLease("alice", "host-a:1:aa");
    EXPECT_EQ(store->account("alice")->leaseHolder, "");
}

// A child process that takes `account`'s lease in its own connection, tells the parent, then
// waits to be killed: a poller that dies holding a lease.
pid_t leaseHoldingChild(const std::string& path, const std::string& account, const std::string& holder) {
    int ready[2];
    if (::pipe(ready) != 0) throw std::runtime_error("pipe failed");
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(ready[0]);
        try {
            SqliteLedgerStore store(path);
            const char granted = store.takeLease(account, holder, std::chrono::hours(1)).granted ? 'y' : 'n';
            if (::write(ready[1], &granted, 1) != 1) ::_exit(2);
        } catch (...) {
            ::_exit(3);
        }
        for (;;) ::pause();
    }
    ::close(ready[1]);
    char granted = 0;
    const bool told = ::read(ready[0], &granted, 1) == 1;
    ::close(ready[0]);
    if (!told || granted != 'y') {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        throw std::runtime_error("the child did not get the lease");
    }
    return pid;
}

TEST_F(LedgerStoreTest, LeaseOfAKilledProcessOnThisMachineIsTakenOverAtOnce) {
    // Forked before this process opens the file: a child must not inherit SQLite connections.
    const std::string path = (dir_ / "ledger.sqlite").string();
    const pid_t child = leaseHoldingChild(path, "alice", "host:child:aa");
    auto store = backend_.open();
    // Alive: refused, for an hour.
    const Lease refused = store->takeLease("alice", "host:me:bb", 60s);
    EXPECT_FALSE(refused.granted);
    EXPECT_EQ(refused.holder, "host:child:aa");
    EXPECT_EQ(store->account("alice"), std::nullopt);

    ::kill(child, SIGKILL);
    ASSERT_EQ(::waitpid(child, nullptr, 0), child);
    // Ended: its lease is free now, not in an hour.
    const Lease takenOver = store->takeLease("alice", "host:me:bb", 60s);
    EXPECT_TRUE(takenOver.granted);
    EXPECT_EQ(takenOver.holder, "host:me:bb");
}

TEST_F(LedgerStoreTest, LeaseOfAProcessThatCannotBeCheckedWaitsForItsExpiry) {
    auto store = backend_.open();
    SqliteLedgerStore raw((dir_ / "ledger.sqlite").string());
    const auto inOneHour = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch() + std::chrono::hours(1))
                               .count();
    // Another boot or pid namespace (another machine on a shared disk, a container): its pid
    // numbers mean nothing here. A process identity we cannot parse, and none at all, likewise.
    raw.executeForTesting("INSERT INTO leases VALUES ('alice', 'elsewhere:1:aa', " + std::to_string(inOneHour) +
                          ", 'another-boot/pid:[1] 999999 1')");
    raw.executeForTesting("INSERT INTO leases VALUES ('bob', 'elsewhere:1:aa', " + std::to_string(inOneHour) +
                          ", 'garbage')");
    raw.executeForTesting("INSERT INTO leases VALUES ('carol', 'elsewhere:1:aa', " + std::to_string(inOneHour) +
                          ", '')");
    for (const char* account : {"alice", "bob", "carol"}) {
        const Lease refused = store->takeLease(account, "host:me:bb", 60s);
        EXPECT_FALSE(refused.granted) << account;
        EXPECT_EQ(refused.holder, "elsewhere:1:aa") << account;
    }
    raw.executeForTesting("UPDATE leases SET expires_at = 0");
    for (const char* account : {"alice", "bob", "carol"})
        EXPECT_TRUE(store->takeLease(account, "host:me:bb", 60s).granted) << account;
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
