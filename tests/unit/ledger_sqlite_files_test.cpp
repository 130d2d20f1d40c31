// The SQLite ledger's file handling, schema versioning and error reporting.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "collector/ledger/LedgerStore.hpp"
#include "collector/ledger/SqliteLedgerStore.hpp"

namespace mc::ledger {
namespace {

namespace fs = std::filesystem;

class LedgerFilesTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "mc-ledger-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        path_ = (dir_ / "ledger.sqlite").string();
    }
    void TearDown() override {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    fs::path dir_;
    std::string path_;
};

// Sets the umask for one scope; the umask is process-wide, so tests restore it.
class ScopedUmask {
public:
    explicit ScopedUmask(mode_t mask) : previous_(::umask(mask)) {}
    ~ScopedUmask() { ::umask(previous_); }

private:
    mode_t previous_;
};

mode_t modeOf(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

MessageKey key(const std::string& uid) { return MessageKey{"alice", "", 0, uid}; }

// Runs `call` expecting a LedgerError; returns its message.
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

TEST_F(LedgerFilesTest, FilesAreOwnerOnlyWhateverTheUmask) {
    for (mode_t mask : {mode_t{022}, mode_t{0}}) {
        SCOPED_TRACE(mask);
        const fs::path parent = dir_ / ("new-" + std::to_string(mask));
        const std::string path = (parent / "ledger.sqlite").string();
        ScopedUmask umask(mask);
        auto store = openLedger(path);
        store->markDelivered(key("u1"), 0, "h", "<m@x>", "");
        EXPECT_EQ(modeOf(parent.string()), 0700u);
        EXPECT_EQ(modeOf(path), 0600u);
        EXPECT_EQ(modeOf(path + "-wal"), 0600u);
        EXPECT_EQ(modeOf(path + "-shm"), 0600u);
    }
}

TEST_F(LedgerFilesTest, LooseExistingFilesAreTightened) {
    openLedger(path_)->recordSeen(key("u1"), 10);
    ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
    {
        std::ofstream wal(path_ + "-wal");  // a stale, empty WAL left world-readable
    }
    ASSERT_EQ(::chmod((path_ + "-wal").c_str(), 0666), 0);

    auto store = openLedger(path_);
    EXPECT_EQ(modeOf(path_), 0600u);
    EXPECT_EQ(modeOf(path_ + "-wal"), 0600u);
    EXPECT_EQ(store->messages("alice", "", 0).size(), 1u);
}

TEST_F(LedgerFilesTest, EmptyExistingFileBecomesALedger) {
    { std::ofstream touch(path_); }
    ASSERT_EQ(::chmod(path_.c_str(), 0666), 0);
    auto store = openLedger(path_);
    store->recordSeen(key("u1"), 10);
    EXPECT_EQ(modeOf(path_), 0600u);
}

TEST_F(LedgerFilesTest, SymlinkedLedgerIsRefused) {
    const std::string real = (dir_ / "real.sqlite").string();
    openLedger(real)->recordSeen(key("u1"), 10);
    ASSERT_EQ(::symlink(real.c_str(), path_.c_str()), 0);
    EXPECT_NE(ledgerErrorOf([&] { openLedger(path_); }).find("symbolic link"), std::string::npos);

    const std::string dangling = (dir_ / "dangling.sqlite").string();
    ASSERT_EQ(::symlink((dir_ / "nowhere").c_str(), dangling.c_str()), 0);
    EXPECT_NE(ledgerErrorOf([&] { openLedger(dangling); }).find("symbolic link"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir_ / "nowhere"));
}

TEST_F(LedgerFilesTest, SymlinkedWalIsRefused) {
    const std::string elsewhere = (dir_ / "elsewhere").string();
    ASSERT_EQ(::symlink(elsewhere.c_str(), (path_ + "-wal").c_str()), 0);
    EXPECT_NE(ledgerErrorOf([&] { openLedger(path_); }).find("symbolic link"), std::string::npos);
    EXPECT_FALSE(fs::exists(elsewhere));
}

// Whether another process would find a read lock on byte `offset` of `path` (F_GETLK from a
// forked child: a process never sees its own POSIX locks as conflicts).
bool lockedForOthers(const std::string& path, off_t offset) {
    const pid_t child = ::fork();
    if (child == 0) {
        const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        struct flock probe {};
        probe.l_type = F_WRLCK;
        probe.l_whence = SEEK_SET;
        probe.l_start = offset;
        probe.l_len = 1;
        if (fd < 0 || ::fcntl(fd, F_GETLK, &probe) != 0) ::_exit(2);
        ::_exit(probe.l_type == F_UNLCK ? 0 : 1);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 2);
    return WIFEXITED(status) && WEXITSTATUS(status) == 1;
}

TEST_F(LedgerFilesTest, OpeningKeepsSqliteLocksOnTheSharedMemory) {
    // SQLite's unix VFS holds a read lock on byte 128 of -shm (its "DMS" byte) while it uses the
    // shared memory; a process opening the file without finding it locked re-initialises -shm,
    // which is a SIGBUS for every process that has it mapped. Closing any descriptor of ours on
    // the file would drop that lock: neither opening the ledger nor opening it again may.
    constexpr off_t kDmsByte = 128;
    auto first = openLedger(path_);
    first->recordSeen(key("u1"), 10);
    EXPECT_TRUE(lockedForOthers(path_ + "-shm", kDmsByte));
    auto second = openLedger(path_);
    second->recordSeen(key("u2"), 10);
    EXPECT_TRUE(lockedForOthers(path_ + "-shm", kDmsByte));
    second.reset();
    first->recordSeen(key("u3"), 10);
    EXPECT_TRUE(lockedForOthers(path_ + "-shm", kDmsByte));
}

TEST_F(LedgerFilesTest, NonFilesAreRefused) {
    fs::create_directory(path_);
    EXPECT_NE(ledgerErrorOf([&] { openLedger(path_); }).find("not a regular file"), std::string::npos);
    EXPECT_FALSE(ledgerErrorOf([&] { openLedger(""); }).empty());
    const std::string url = "postgresql://user:secret@db/mail";
    const std::string error = ledgerErrorOf([&] { openLedger(url); });
    EXPECT_EQ(error.find("secret"), std::string::npos) << error;
}

TEST_F(LedgerFilesTest, GarbageFileIsRefused) {
    {
        std::ofstream garbage(path_);
        garbage << std::string(4096, 'x');
    }
    EXPECT_FALSE(ledgerErrorOf([&] { openLedger(path_); }).empty());
}

TEST_F(LedgerFilesTest, NewerSchemaVersionIsRefused) {
    {
        SqliteLedgerStore store(path_);
        store.recordSeen(key("u1"), 10);
        store.executeForTesting("PRAGMA user_version = " + std::to_string(SqliteLedgerStore::schemaVersion() + 98));
    }
    const std::string expected = "ledger schema version " + std::to_string(SqliteLedgerStore::schemaVersion() + 98) +
                                 " is newer than this mailcollector supports";
    EXPECT_EQ(ledgerErrorOf([&] { openLedger(path_); }), expected);
}

TEST_F(LedgerFilesTest, ReopeningKeepsTheSchemaVersion) {
    SqliteLedgerStore(path_).recordSeen(key("u1"), 10);
    SqliteLedgerStore store(path_);
    EXPECT_EQ(store.messages("alice", "", 0).size(), 1u);
    EXPECT_GE(SqliteLedgerStore::schemaVersion(), 1);
}

TEST_F(LedgerFilesTest, VersionThreeLedgerGainsAnEmptyHeaderHash) {
    {
        // A ledger as schema version 3 left it: no header_hash column.
        SqliteLedgerStore store(path_);
        store.markDelivered(key("old"), 10, "h", "<old@x>", "");
        store.executeForTesting("ALTER TABLE messages DROP COLUMN header_hash");
        store.executeForTesting("ALTER TABLE mailbox_marks DROP COLUMN highest_mod_seq");
        store.executeForTesting("PRAGMA user_version = 3");
    }
    SqliteLedgerStore store(path_);
    store.markDelivered(key("new"), 20, "h2", "<new@x>", "header-hash");
    auto rows = store.messages("alice", "", 0);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].messageId, "<old@x>");
    EXPECT_EQ(rows[0].headerHash, "");  // unknown: deletion falls back to the Message-ID
    EXPECT_EQ(rows[1].headerHash, "header-hash");
}

TEST_F(LedgerFilesTest, VersionOneLedgerIsMigratedToTheNewest) {
    {
        // A ledger as schema version 1 left it: no next_poll_at, no leases, no header_hash.
        SqliteLedgerStore store(path_);
        store.registerAccount("alice");
        store.markDelivered(key("old"), 10, "h", "<old@x>", "");
        store.executeForTesting("DROP TABLE leases");
        store.executeForTesting("ALTER TABLE accounts DROP COLUMN next_poll_at");
        store.executeForTesting("ALTER TABLE messages DROP COLUMN header_hash");
        store.executeForTesting("ALTER TABLE mailbox_marks DROP COLUMN highest_mod_seq");
        store.executeForTesting("PRAGMA user_version = 1");
    }
    SqliteLedgerStore store(path_);
    EXPECT_TRUE(store.takeLease("alice", "me", std::chrono::minutes(1)).granted);
    store.recordNextPoll("alice", 1'900'000'000);
    EXPECT_EQ(store.account("alice")->nextPollAt, 1'900'000'000);
    EXPECT_EQ(store.account("alice")->leaseHolder, "me");
    const auto rows = store.messages("alice", "", 0);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].messageId, "<old@x>");
    EXPECT_EQ(rows[0].headerHash, "");
}

TEST_F(LedgerFilesTest, ReadOnlyFileIsRefusedForNonRoot) {
    // Root ignores file modes; the test hooks below cover write failures in that case.
    if (::geteuid() == 0) GTEST_SKIP() << "running as root";
    openLedger(path_)->recordSeen(key("u1"), 10);
    ASSERT_EQ(::chmod(path_.c_str(), 0400), 0);
    EXPECT_FALSE(ledgerErrorOf([&] { openLedger(path_)->recordSeen(key("u2"), 1); }).empty());
}

TEST_F(LedgerFilesTest, WriteRefusedBySqliteSurfacesFromMarkCalls) {
    SqliteLedgerStore store(path_);
    store.recordSeen(key("u1"), 10);
    store.executeForTesting("PRAGMA query_only = 1");

    const std::string error = ledgerErrorOf([&] {
        store.markQuarantined(MessageKey{"alice", "", 0, "secret-uid"}, 0, "secret reason");
    });
    EXPECT_NE(error.find("markQuarantined"), std::string::npos) << error;
    EXPECT_NE(error.find("readonly"), std::string::npos) << error;
    EXPECT_EQ(error.find("secret"), std::string::npos) << error;  // no message content
    EXPECT_FALSE(ledgerErrorOf([&] { store.markDelivered(key("u1"), 0, "h", "<m@x>", ""); }).empty());
    EXPECT_FALSE(ledgerErrorOf([&] { store.markDeleted(key("u1")); }).empty());
    EXPECT_FALSE(ledgerErrorOf([&] { store.recordFailure(key("u1"), 0, "e"); }).empty());
    EXPECT_FALSE(ledgerErrorOf([&] { store.forgetAbsent("alice", "", 0, {}); }).empty());
    EXPECT_FALSE(ledgerErrorOf([&] { store.registerAccount("alice"); }).empty());

    store.executeForTesting("PRAGMA query_only = 0");
    store.markDelivered(key("u1"), 0, "h", "<m@x>", "");
    EXPECT_EQ(store.messages("alice", "", 0).at(0).state, MessageState::Delivered);
}

TEST_F(LedgerFilesTest, DiskFullSurfacesAndNothingIsHalfWritten) {
    SqliteLedgerStore store(path_);
    store.recordSeen(key("u1"), 10);
    // Caps the file at its current size: growing it fails with SQLITE_FULL, as on a full disk.
    store.executeForTesting("PRAGMA max_page_count = 1");
    const std::string big(64 * 1024, 'r');

    const std::string error = ledgerErrorOf([&] {
        for (int i = 0; i < 100; ++i) store.markSkipped(key("big" + std::to_string(i)), 0, big);
    });
    EXPECT_NE(error.find("full"), std::string::npos) << error;

    store.executeForTesting("PRAGMA max_page_count = 1000000000");
    store.markDelivered(key("u1"), 0, "h", "<m@x>", "");
    for (const MessageRecord& row : store.messages("alice", "", 0)) {
        EXPECT_TRUE(row.key.uid == "u1" || row.lastError == big) << row.key.uid;
    }
}

TEST_F(LedgerFilesTest, ConcurrentWritersAllSeeTheFailure) {
    SqliteLedgerStore store(path_);
    store.executeForTesting("PRAGMA query_only = 1");
    constexpr int kThreads = 4;
    constexpr int kPerThread = 50;
    std::atomic<int> failures{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < kThreads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                try {
                    store.markDelivered(key(std::to_string(t) + "-" + std::to_string(i)), 0, "h", "", "");
                } catch (const LedgerError&) {
                    ++failures;
                }
            }
        });
    }
    for (auto& worker : workers) worker.join();
    EXPECT_EQ(failures.load(), kThreads * kPerThread);
    EXPECT_TRUE(store.messages("alice", "", 0).empty());
}

TEST_F(LedgerFilesTest, UnderDiskFullAReturnedWriteIsKeptAndAFailedOneIsNot) {
    // Group commit shares transactions between threads; a failure must not leak across callers.
    constexpr int kThreads = 4;
    constexpr int kPerThread = 60;
    std::vector<std::vector<bool>> committed(kThreads, std::vector<bool>(kPerThread));
    {
        SqliteLedgerStore store(path_);
        store.recordSeen(key("seed"), 1);
        store.executeForTesting("PRAGMA max_page_count = 1");
        const std::string big(16 * 1024, 'r');
        std::vector<std::thread> workers;
        for (int t = 0; t < kThreads; ++t) {
            workers.emplace_back([&, t] {
                for (int i = 0; i < kPerThread; ++i) {
                    const MessageKey k = key(std::to_string(t) + "-" + std::to_string(i));
                    try {
                        if (i % 3 == 0) {
                            store.markSkipped(k, 0, big);
                        } else {
                            store.markDelivered(k, 0, "h", "", "");
                        }
                        committed[t][i] = true;
                    } catch (const LedgerError&) {
                    }
                }
            });
        }
        for (auto& worker : workers) worker.join();
    }
    auto store = openLedger(path_);
    std::set<std::string> rows;
    for (const MessageRecord& row : store->messages("alice", "", 0)) rows.insert(row.key.uid);
    int failed = 0;
    for (int t = 0; t < kThreads; ++t) {
        for (int i = 0; i < kPerThread; ++i) {
            const std::string uid = std::to_string(t) + "-" + std::to_string(i);
            EXPECT_EQ(rows.contains(uid), committed[t][i]) << uid;
            failed += committed[t][i] ? 0 : 1;
        }
    }
    EXPECT_GT(failed, 0);
}

// Writes from 4 threads (so group commit batches them), uids "<thread>-<i>", every 5th one
// "poison-<thread>-<i>"; returns which calls returned normally.
std::map<std::string, bool> writeConcurrently(LedgerStore& store) {
    constexpr int kThreads = 4;
    constexpr int kPerThread = 100;
    std::mutex mutex;
    std::map<std::string, bool> outcome;
    std::vector<std::thread> workers;
    for (int t = 0; t < kThreads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                const std::string uid = (i % 5 == 0 ? "poison-" : "") + std::to_string(t) + "-" + std::to_string(i);
                bool ok = true;
                try {
                    store.markDelivered(key(uid), 0, "h", "", "");
                } catch (const LedgerError&) {
                    ok = false;
                }
                std::lock_guard lock(mutex);
                outcome[uid] = ok;
            }
        });
    }
    for (auto& worker : workers) worker.join();
    return outcome;
}

TEST_F(LedgerFilesTest, AFailingWriteDoesNotTakeItsBatchDown) {
    SqliteLedgerStore store(path_);
    // RAISE(ABORT) fails the one statement and leaves the transaction open, like a constraint.
    store.executeForTesting(
        "CREATE TEMP TRIGGER poison BEFORE INSERT ON messages WHEN NEW.uid LIKE 'poison%' "
        "BEGIN SELECT RAISE(ABORT, 'poisoned row'); END");
    const auto outcome = writeConcurrently(store);
    std::set<std::string> rows;
    for (const MessageRecord& row : store.messages("alice", "", 0)) rows.insert(row.key.uid);
    for (const auto& [uid, ok] : outcome) {
        EXPECT_EQ(ok, !uid.starts_with("poison")) << uid;
        EXPECT_EQ(rows.contains(uid), ok) << uid;
    }
}

TEST_F(LedgerFilesTest, AWriteThatAbortsTheTransactionFailsItsWholeBatch) {
    {
        SqliteLedgerStore store(path_);
        // RAISE(ROLLBACK) undoes the whole shared transaction, as SQLite does on disk full.
        store.executeForTesting(
            "CREATE TEMP TRIGGER poison BEFORE INSERT ON messages WHEN NEW.uid LIKE 'poison%' "
            "BEGIN SELECT RAISE(ROLLBACK, 'poisoned transaction'); END");
        const auto outcome = writeConcurrently(store);
        auto reopened = openLedger(path_);  // a second connection sees only committed rows
        std::set<std::string> rows;
        for (const MessageRecord& row : reopened->messages("alice", "", 0)) {
            rows.insert(row.key.uid);
        }
        for (const auto& [uid, ok] : outcome) {
            EXPECT_EQ(rows.contains(uid), ok) << uid;
            if (uid.starts_with("poison")) {
                EXPECT_FALSE(ok) << uid;
            }
        }
        // The store is still usable afterwards.
        store.markDelivered(key("after"), 0, "h", "", "");
    }
    EXPECT_EQ(openLedger(path_)->messages("alice", "", 0).back().key.uid, "after");
}

}  // namespace
}  // namespace mc::ledger
