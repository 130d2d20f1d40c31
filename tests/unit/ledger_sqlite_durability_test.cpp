// Which ledger writes reach the disk before they return: every change of a message's state is
// synced (the pipeline deletes a source message only after it), a poll's bookkeeping is not (a
// poll that finds nothing new syncs nothing). Counted at SQLite's VFS, below everything of ours:
// a default VFS that is the real one with its xSync counted.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "collector/ledger/LedgerStore.hpp"

namespace mc::ledger {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The default VFS with every file's xSync counted: a file is opened by the real VFS and given a
// copy of its methods whose xSync counts and calls the real one.
class SyncCountingVfs {
public:
    SyncCountingVfs() {
        real_ = sqlite3_vfs_find(nullptr);
        vfs_ = *real_;
        vfs_.zName = "mc-sync-counting";
        vfs_.pAppData = this;
        vfs_.xOpen = &open;
        sqlite3_vfs_register(&vfs_, /*makeDflt=*/1);
    }
    ~SyncCountingVfs() {
        sqlite3_vfs_unregister(&vfs_);
        sqlite3_vfs_register(real_, 1);
    }
    SyncCountingVfs(const SyncCountingVfs&) = delete;
    SyncCountingVfs& operator=(const SyncCountingVfs&) = delete;

    static int syncs() { return syncs_.load(); }

private:
    static int open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* outFlags) {
        auto* self = static_cast<SyncCountingVfs*>(vfs->pAppData);
        const int rc = self->real_->xOpen(self->real_, name, file, flags, outFlags);
        if (rc == SQLITE_OK && file->pMethods != nullptr) file->pMethods = self->counting(file->pMethods);
        return rc;
    }

    // The copy of `real` that counts syncs, one per methods table the real VFS uses.
    const sqlite3_io_methods* counting(const sqlite3_io_methods* real) {
        std::lock_guard lock(mutex_);
        auto [it, added] = copies_.try_emplace(real, *real);
        if (added) {
            realSyncs_[&it->second] = real->xSync;
            it->second.xSync = &sync;
        }
        return &it->second;
    }

    static int sync(sqlite3_file* file, int flags) {
        ++syncs_;
        return realSyncs_.at(file->pMethods)(file, flags);
    }

    sqlite3_vfs* real_ = nullptr;
    sqlite3_vfs vfs_{};
    std::mutex mutex_;
    std::map<const sqlite3_io_methods*, sqlite3_io_methods> copies_;
    static inline std::map<const sqlite3_io_methods*, int (*)(sqlite3_file*, int)> realSyncs_;
    static inline std::atomic<int> syncs_{0};
};

class LedgerDurabilityTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "mc-ledger-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        ledger_ = openLedger((dir_ / "ledger.sqlite").string());
        ledger_->registerAccount("alice");
    }
    void TearDown() override {
        ledger_.reset();
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    // How many syncs `write` made.
    template <typename Write>
    int syncsOf(Write&& write) {
        const int before = SyncCountingVfs::syncs();
        write();
        return SyncCountingVfs::syncs() - before;
    }

    SyncCountingVfs vfs_;  // before the ledger, which it outlives
    fs::path dir_;
    std::unique_ptr<LedgerStore> ledger_;
};

const MessageKey kKey{"alice", "INBOX", 7, "42"};

TEST_F(LedgerDurabilityTest, EveryChangeOfMessageStateIsSyncedBeforeItReturns) {
    EXPECT_GE(syncsOf([&] { ledger_->recordSeen(kKey, 100); }), 1);
    EXPECT_GE(syncsOf([&] { ledger_->recordFailure(kKey, 100, "421 try later"); }), 1);
    EXPECT_GE(syncsOf([&] { ledger_->markDelivered(kKey, 100, "hash", "<id@x>", "headers"); }), 1);
    EXPECT_GE(syncsOf([&] { ledger_->markDeleted(kKey); }), 1);
    EXPECT_GE(syncsOf([&] { ledger_->markQuarantined(kKey, 100, "refused"); }), 1);
    EXPECT_GE(syncsOf([&] { ledger_->requeueQuarantined(kKey); }), 1);
    EXPECT_GE(syncsOf([&] { ledger_->markSkipped(kKey, 100, "too big"); }), 1);
    // A new UIDVALIDITY: the mailbox's mark, and the rows of the old one forgotten.
    EXPECT_GE(syncsOf([&] { ledger_->recordMailboxMark("alice", "INBOX", MailboxMark{8, 50, 1, "", 0}); }), 1);
    EXPECT_GE(syncsOf([&] { ledger_->forget("alice", "INBOX", 7, {"42"}); }), 1);
    EXPECT_GE(syncsOf([&] { ledger_->probeWrite(); }), 1);
}

TEST_F(LedgerDurabilityTest, APollThatFindsNothingNewSyncsNothing) {
    // What the service writes around a poll that finds nothing new.
    const int syncs = syncsOf([&] {
        for (int poll = 0; poll < 3; ++poll) {
            EXPECT_TRUE(ledger_->takeLease("alice", "host:1:aa", 60s).granted);
            EXPECT_TRUE(ledger_->renewLease("alice", "host:1:aa", 60s));
            ledger_->recordPollEnd(PollRecord{"alice", 1'700'000'000 + poll, 12, "ok", "", 0, 0, 0, 0, 0, 0}, "",
                                   "host:1:aa");
            ledger_->recordNextPoll("alice", 1'700'000'300);
        }
    });
    EXPECT_EQ(syncs, 0);
    // ... and is still committed: visible to another connection at once.
    auto other = openLedger((dir_ / "ledger.sqlite").string());
    ASSERT_TRUE(other->account("alice").has_value());
    EXPECT_EQ(other->account("alice")->lastResult, "ok");
    EXPECT_EQ(other->account("alice")->nextPollAt, 1'700'000'300);
    EXPECT_EQ(other->pollHistory("alice", 10).size(), 3u);
    // The next message change syncs it with everything before it.
    EXPECT_GE(syncsOf([&] { ledger_->markDelivered(kKey, 100, "hash", "<id@x>", "headers"); }), 1);
}

}  // namespace
}  // namespace mc::ledger
