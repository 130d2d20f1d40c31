#pragma once
// The PostgreSQL ledger, shared by several instances: the same rows and semantics as the SQLite
// ledger, plus leases (which instance polls an account). A mark* call returns once PostgreSQL
// committed it (synchronous_commit is never off for our session). One connection, guarded by a
// mutex; a dropped connection is re-established once per call, else the call throws LedgerError.
// Error messages name the operation and PostgreSQL's reason, never the URL (it may hold a
// password).

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "collector/ledger/LedgerStore.hpp"

struct pg_conn;
struct pg_result;

namespace mc::ledger {

// One message row as stored, for moving ledgers (`ledger migrate`).
struct StoredMessage {
    MessageRecord record;
    std::int64_t deletedAt = 0;
};

struct ImportCounts {
    std::uint64_t accounts = 0, messages = 0, pending = 0, quarantined = 0;
};

class PostgresLedgerStore final : public LedgerStore {
public:
    // The newest schema version this build knows; older schemas are migrated when opened.
    static int schemaVersion();

    // Connects to `url` (postgresql://...) and creates or migrates the schema.
    explicit PostgresLedgerStore(const std::string& url);
    ~PostgresLedgerStore() override;
    PostgresLedgerStore(const PostgresLedgerStore&) = delete;
    PostgresLedgerStore& operator=(const PostgresLedgerStore&) = delete;

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

    // Lease times are the server's clock, so instances need not agree on theirs.
    Lease takeLease(const std::string& account, const std::string& holder, std::chrono::milliseconds ttl) override;
    bool renewLease(const std::string& account, const std::string& holder, std::chrono::milliseconds ttl) override;
    void releaseLease(const std::string& account, const std::string& holder) override;

    // Copies `accounts` and every message `next` yields (it fills its argument and returns
    // true, or returns false at the end) in one transaction. Refuses (LedgerError, nothing
    // written) when the ledger holds an account row or a message of any of `names` already.
    ImportCounts importLedger(const std::vector<std::string>& names, const std::vector<AccountRecord>& accounts,
                              const std::function<bool(StoredMessage&)>& next);

    // Test seam: runs `sql` (statements without parameters) on the connection.
    void executeForTesting(const std::string& sql);

private:
    class Result;

    void connect();
    void migrate();
    // Runs `body` with the connection locked; reconnects and runs it again once when the
    // connection was lost; rethrows failures as LedgerError naming `operation`.
    template <typename Body>
    auto run(const char* operation, Body&& body);
    // Runs `body` in a transaction (the connection must be locked).
    template <typename Body>
    void transaction(Body&& body);
    // Both below require mutex_ to be held.
    Result query(const char* sql, const std::vector<std::string>& params = {});
    void execute(const char* sql);
    // Streams `next`'s rows into a COPY that has begun; ends it.
    void copyMessages(const std::function<bool(StoredMessage&)>& next, ImportCounts& counts);
    void upsertState(const char* operation, const MessageKey& key, std::uint64_t size, const char* state,
                     const std::string& reason);

    std::string url_;
    pg_conn* conn_ = nullptr;
    std::mutex mutex_;  // guards conn_; held for a whole call
};

}  // namespace mc::ledger
