#pragma once
// The SQLite ledger: one WAL-mode database file (0600), written with synchronous=FULL so a mark*
// call is on disk when it returns. Safe to share between threads; concurrent writers are
// group-committed (one fsync for everyone who queued while the previous commit ran). Several
// processes may share the file: each write is a BEGIN IMMEDIATE transaction that waits for the
// others, and account leases (times from this machine's clock) keep one poller per account.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "collector/ledger/LedgerStore.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace mc::ledger {

class SqliteLedgerStore final : public LedgerStore {
public:
    // The newest schema version this build knows; older ledgers are migrated when opened.
    static int schemaVersion();

    // Opens or creates the ledger at `path` (see openLedger for the file rules).
    explicit SqliteLedgerStore(const std::string& path);
    ~SqliteLedgerStore() override;
    SqliteLedgerStore(const SqliteLedgerStore&) = delete;
    SqliteLedgerStore& operator=(const SqliteLedgerStore&) = delete;

    std::vector<MessageRecord> messages(const std::string& account, const std::string& folder,
                                        std::uint64_t uidValidity) override;
    std::vector<MessageRecord> messagesInFolder(const std::string& account, const std::string& folder) override;
    void recordSeen(const MessageKey& key, std::uint64_t size) override;
    void markDelivered(const MessageKey& key, std::uint64_t size, const std::string& contentHash,
                       const std::string& messageId, const std::string& headerHash) override;
    void markQuarantined(const MessageKey& key, std::uint64_t size, const std::string& reason) override;
    void markSkipped(const MessageKey& key, std::uint64_t size, const std::string& reason) override;
    void markDeleted(const MessageKey& key) override;
    void recordFailure(const MessageKey& key, std::uint64_t size, const std::string& error) override;
    std::vector<MessageRecord> quarantined(const std::string& account) override;
    bool requeueQuarantined(const MessageKey& key) override;
    bool dropQuarantined(const MessageKey& key, const std::string& reason) override;
    void forgetAbsent(const std::string& account, const std::string& folder, std::uint64_t uidValidity,
                      const std::vector<std::string>& present) override;
    void forEachMessage(const std::string& account, const std::string& folder, std::uint64_t uidValidity,
                        const std::function<bool(const MessageRecord&)>& visit) override;
    std::optional<MessageRecord> message(const MessageKey& key) override;
    std::vector<MessageRecord> workDue(const std::string& account, const std::string& folder, std::uint64_t uidValidity,
                                       std::optional<std::int64_t> deliveredBy) override;
    void forget(const std::string& account, const std::string& folder, std::uint64_t uidValidity,
                const std::vector<std::string>& uids) override;
    std::optional<MailboxMark> mailboxMark(const std::string& account, const std::string& folder) override;
    void recordMailboxMark(const std::string& account, const std::string& folder,
                           const std::optional<MailboxMark>& mark) override;
    std::optional<AccountRecord> account(const std::string& name) override;
    std::vector<AccountRecord> accounts() override;
    bool registerAccount(const std::string& name) override;
    void recordPoll(const std::string& name, const std::string& result, const std::string& error) override;
    void recordNextPoll(const std::string& name, std::int64_t nextPollAt) override;
    void probeWrite() override;

    // A lease whose holder process has ended (same machine, same pid namespace: checked by pid
    // and start time) is free at once; one of an unknown process is free when it expires.
    Lease takeLease(const std::string& account, const std::string& holder, std::chrono::milliseconds ttl) override;
    bool renewLease(const std::string& account, const std::string& holder, std::chrono::milliseconds ttl) override;
    void releaseLease(const std::string& account, const std::string& holder) override;

    // The absolute path of the database file.
    const std::string& path() const { return path_; }

    // Test seam: runs `sql` on the connection (e.g. "PRAGMA query_only = 1") so tests can provoke
    // real SQLite write failures, which file permissions cannot do when tests run as root.
    void executeForTesting(const std::string& sql);

private:
    struct PendingWrite;

    void open();
    void enableWal();
    void migrate();
    // Both below require dbMutex_ to be held.
    sqlite3_stmt* statement(const char* sql);
    void execute(const char* sql);
    // Runs `apply` (statements on the connection) in a committed transaction, possibly shared with
    // other threads' writes; returns once it is durable, throws LedgerError naming `operation`.
    void write(const char* operation, const std::function<void()>& apply);
    void commitBatch(const std::vector<PendingWrite*>& batch);
    void upsertState(const char* operation, const MessageKey& key, std::uint64_t size, const char* state,
                     const std::string& reason);

    std::string path_;
    std::string processIdentity_;  // this process in the leases it takes; "" when unknown
    sqlite3* db_ = nullptr;
    std::mutex dbMutex_;  // guards db_ and statements_; held for a whole read or commit
    std::unordered_map<const char*, sqlite3_stmt*> statements_;  // keyed by the SQL constant

    std::mutex queueMutex_;  // guards queue_ and committing_
    std::condition_variable queueChanged_;
    std::vector<PendingWrite*> queue_;  // writes waiting for the next commit
    bool committing_ = false;           // a thread is committing a batch right now
};

}  // namespace mc::ledger
