#pragma once
// The ledger store: one implementation over a Poco::Data session, for SQLite files and
// PostgreSQL servers alike (what differs is in LedgerBackend). Safe to share between threads;
// concurrent writers are group-committed (one commit, and one fsync, for everyone who queued
// while the previous commit ran), each in its own savepoint so that one failing write does not
// undo the others. A mark* call returns once its transaction committed durably; the poll's
// bookkeeping (leases, recordPollEnd, recordNextPoll) is committed without a sync of
// its own (Durability::Bookkeeping), so that a poll that finds nothing new syncs nothing. A PostgreSQL
// connection that was lost is re-established once per call. Failures are LedgerErrors naming the
// operation and the database's reason, never SQL text, row contents or a password.
//
// Connections: a SQLite ledger has one. A PostgreSQL ledger opens more while every open one is
// busy, up to the bound given (at most kMaxLedgerConnections): parallel polls' writes commit on
// their own connections instead of queueing on one; each connection re-establishes itself once
// per call when it was lost.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collector/ledger/LedgerBackend.hpp"
#include "collector/ledger/LedgerStore.hpp"

namespace mc::ledger {

class SqlLedgerStore : public LedgerStore {
public:
    // Opens another connection to the same database (throws as the first one's opening does).
    using Connect = std::function<std::unique_ptr<LedgerBackend>()>;

    // `backend`: the first connection. With `connectMore`, up to `maxConnections` in all.
    explicit SqlLedgerStore(std::unique_ptr<LedgerBackend> backend, Connect connectMore = {},
                            std::size_t maxConnections = 1);
    ~SqlLedgerStore() override;
    SqlLedgerStore(const SqlLedgerStore&) = delete;
    SqlLedgerStore& operator=(const SqlLedgerStore&) = delete;

    std::vector<MessageRecord> messages(const std::string& account, const std::string& folder,
                                        std::uint64_t uidValidity) override;
    std::vector<MessageRecord> messagesInFolder(const std::string& account, const std::string& folder) override;
    void recordDownload(const std::string& account, std::int64_t at, std::uint64_t bytes) override;
    std::uint64_t downloadedBytesSince(const std::string& account, std::int64_t since) override;
    bool hasMessagesInFolder(const std::string& account, const std::string& folder) override;
    bool hasMessagesOutsideFolder(const std::string& account, const std::string& folder) override;
    DedupeDecision claimMessage(const MessageKey& key, std::uint64_t size, const std::string& messageId,
                                const std::string& bodyHash, const std::string& contentHash,
                                const std::string& headerHash) override;
    std::map<std::string, std::uint64_t> duplicateCounts() override;
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
                                       std::optional<std::int64_t> deliveredBy, std::size_t limit) override;
    bool deliveredInAccount(const std::string& account, const std::string& contentHash) override;
    bool deliveredUnderOtherValidity(const std::string& account, const std::string& folder,
                                     std::uint64_t uidValidity) override;
    void forgetOtherValidities(const std::string& account, const std::string& folder,
                               std::uint64_t uidValidity) override;
    void forget(const std::string& account, const std::string& folder, std::uint64_t uidValidity,
                const std::vector<std::string>& uids) override;
    std::optional<MailboxMark> mailboxMark(const std::string& account, const std::string& folder) override;
    void recordMailboxMark(const std::string& account, const std::string& folder,
                           const std::optional<MailboxMark>& mark) override;
    std::optional<AccountRecord> account(const std::string& name) override;
    std::vector<AccountRecord> accounts() override;
    bool registerAccount(const std::string& name) override;
    void recordNextPoll(const std::string& name, std::int64_t nextPollAt) override;
    void recordPollEnd(const PollRecord& poll, const std::string& lastError, const std::string& leaseHolder) override;
    std::vector<PollRecord> pollHistory(const std::string& account, std::size_t limit) override;
    std::vector<PollDaySummary> pollDays(const std::string& account, std::int64_t sinceDay) override;
    void probeWrite() override;

    Lease takeLease(const std::string& account, const std::string& holder, std::chrono::milliseconds ttl) override;
    bool renewLease(const std::string& account, const std::string& holder, std::chrono::milliseconds ttl) override;
    void releaseLease(const std::string& account, const std::string& holder) override;

    // Copies `accounts`, every message `next` yields (it fills its argument and returns true, or
    // returns false at the end) and every dedupe claim `nextClaim` yields (a claim this ledger has
    // for the same message already is kept) in one transaction. Refuses (LedgerError, nothing
    // written) when the ledger holds an account row or a message of any of `names` already.
    ImportCounts importLedger(const std::vector<std::string>& names, const std::vector<AccountRecord>& accounts,
                              const std::function<bool(StoredMessage&)>& next,
                              const std::function<bool(StoredClaim&)>& nextClaim);
    // Copies every account and message row of this ledger, read in one snapshot (any schema
    // version this build knows), into `target` with importLedger.
    ImportCounts copyInto(SqlLedgerStore& target);

    // How many connections are open (the first one included).
    std::size_t openConnections();

    // Test seam: runs `sql` (the backend's own SQL, no parameters) on the connection, so that
    // tests can provoke real failures (e.g. "PRAGMA query_only = 1").
    void executeForTesting(const std::string& sql);

private:
    class Connection;
    struct PendingWrite;
    using Apply = std::function<void(LedgerBackend&)>;

    // Runs `body` on a connection of its own; reconnects and runs it again once when the
    // connection was lost; rethrows failures as LedgerError naming `operation`.
    template <typename Body>
    auto read(const char* operation, Body&& body);
    // Runs `apply` (statements on the connection) in a committed transaction, possibly shared with
    // other threads' writes; returns once it is committed as `durability` says (a batch with one
    // Synced write is Synced), throws LedgerError naming `operation`.
    void write(const char* operation, const Apply& apply, Durability durability = Durability::Synced);
    void commitBatch(const std::vector<PendingWrite*>& batch);
    // One attempt at committing the batch; false when the connection was lost on the way.
    bool tryCommitBatch(LedgerBackend& db, const std::vector<PendingWrite*>& batch);
    void upsertState(const char* operation, const MessageKey& key, std::uint64_t size, const char* state,
                     const std::string& reason);
    std::vector<MessageRecord> readMessages(LedgerBackend& db, const char* sql, std::initializer_list<SqlValue> values);

    const Connect connectMore_;
    const std::size_t maxConnections_;
    std::mutex poolMutex_;  // guards idle_ and opened_
    std::condition_variable poolChanged_;
    std::vector<std::unique_ptr<LedgerBackend>> idle_;  // connections no call is using
    std::size_t opened_ = 0;

    std::mutex queueMutex_;  // guards queue_ and committers_
    std::condition_variable queueChanged_;
    std::vector<PendingWrite*> queue_;  // writes waiting for the next commit
    std::size_t committers_ = 0;        // threads committing a batch right now, one per connection
};

}  // namespace mc::ledger
