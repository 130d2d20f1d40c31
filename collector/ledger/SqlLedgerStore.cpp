#include "collector/ledger/SqlLedgerStore.hpp"

#include "collector/ledger/PollHistorySql.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace mc::ledger {
namespace {

// The SQL both databases run, with `?` placeholders (bound in order) and the {tokens} of
// LedgerBackend::dialect. Laid out to be read as SQL.
// clang-format off
#define MC_MESSAGE_COLUMNS                                                        \
    "account, folder, uid_validity, uid, size, state, content_hash, message_id, " \
    "first_seen_at, delivered_at, attempts, last_error, header_hash"
// Their types (see SqlRows).
constexpr std::string_view kMessageTypes = "TTITITTTIIITT";
#define MC_MESSAGE_KEY "account = ? AND folder = ? AND uid_validity = ? AND uid = ?"
#define MC_ON_KEY_CONFLICT " ON CONFLICT (account, folder, uid_validity, uid) DO UPDATE SET "
// Size 0 from a caller means "unknown": it never overwrites a known size.
#define MC_KEEP_KNOWN_SIZE "size = CASE WHEN excluded.size = 0 THEN messages.size ELSE excluded.size END, "

constexpr const char* kSqlMailbox =
    "SELECT " MC_MESSAGE_COLUMNS " FROM messages"
    " WHERE account = ? AND folder = ? AND uid_validity = ? ORDER BY {row_order}";
constexpr const char* kSqlFolder =
    "SELECT " MC_MESSAGE_COLUMNS " FROM messages"
    " WHERE account = ? AND folder = ? ORDER BY uid_validity, {row_order}";
// A row first created by mark* has size 0 (unknown); recordSeen fills that in below instead of
// treating it as a changed message, which would deliver it a second time.
constexpr const char* kSqlRecordSeen =
    "INSERT INTO messages (account, folder, uid_validity, uid, size, state, first_seen_at)"
    " VALUES (?, ?, ?, ?, ?, 'seen', ?)" MC_ON_KEY_CONFLICT
    "size = excluded.size, state = 'seen', content_hash = '', message_id = '', header_hash = '',"
    " first_seen_at = excluded.first_seen_at, delivered_at = 0, deleted_at = 0, attempts = 0,"
    " last_error = ''"
    " WHERE messages.size <> excluded.size AND messages.size <> 0";
constexpr const char* kSqlFillUnknownSize =
    "UPDATE messages SET size = ? WHERE " MC_MESSAGE_KEY " AND size = 0";
constexpr const char* kSqlExportClaims =
    "SELECT message_id, body_hash, account, folder, uid_validity, uid, claimed_at, settled FROM dedupe_claims";
constexpr const char* kSqlImportClaim =
    "INSERT INTO dedupe_claims (message_id, body_hash, account, folder, uid_validity, uid, claimed_at, settled)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id, body_hash) DO NOTHING";
constexpr const char* kSqlSettleClaim =
    "UPDATE dedupe_claims SET settled = 1 WHERE message_id = ? AND account = ? AND folder = ? AND uid_validity = ?"
    " AND uid = ?";
constexpr const char* kSqlMarkDelivered =
    "INSERT INTO messages (account, folder, uid_validity, uid, state, content_hash, message_id,"
    " first_seen_at, delivered_at, size, header_hash)"
    " VALUES (?, ?, ?, ?, 'delivered', ?, ?, ?, ?, ?, ?)"
    MC_ON_KEY_CONFLICT MC_KEEP_KNOWN_SIZE
    "state = 'delivered', content_hash = excluded.content_hash,"
    " message_id = excluded.message_id, delivered_at = excluded.delivered_at,"
    " header_hash = excluded.header_hash";
constexpr const char* kSqlMarkWithReason =
    "INSERT INTO messages (account, folder, uid_validity, uid, state, last_error, first_seen_at,"
    " size) VALUES (?, ?, ?, ?, ?, ?, ?, ?)" MC_ON_KEY_CONFLICT MC_KEEP_KNOWN_SIZE
    "state = excluded.state, last_error = excluded.last_error";
constexpr const char* kSqlMarkDeleted =
    "INSERT INTO messages (account, folder, uid_validity, uid, state, first_seen_at, deleted_at)"
    " VALUES (?, ?, ?, ?, 'deleted', ?, ?)" MC_ON_KEY_CONFLICT
    "state = 'deleted', deleted_at = excluded.deleted_at";
constexpr const char* kSqlRecordFailure =
    "INSERT INTO messages (account, folder, uid_validity, uid, state, attempts, last_error,"
    " first_seen_at, size) VALUES (?, ?, ?, ?, 'seen', 1, ?, ?, ?)" MC_ON_KEY_CONFLICT
    MC_KEEP_KNOWN_SIZE "attempts = messages.attempts + 1, last_error = excluded.last_error";
constexpr const char* kSqlQuarantined =
    "SELECT " MC_MESSAGE_COLUMNS " FROM messages"
    " WHERE state = 'quarantined' AND (CAST(? AS TEXT) = '' OR account = ?)"
    " ORDER BY account{byte_order}, {row_order}";
constexpr const char* kSqlRequeueQuarantined =
    "UPDATE messages SET state = 'seen', attempts = 0, last_error = ''"
    " WHERE " MC_MESSAGE_KEY " AND state = 'quarantined'";
constexpr const char* kSqlDropQuarantined =
    "UPDATE messages SET state = 'skipped', last_error = ?"
    " WHERE " MC_MESSAGE_KEY " AND state = 'quarantined'";
constexpr const char* kSqlMailboxUids =
    "SELECT uid FROM messages WHERE account = ? AND folder = ? AND uid_validity = ?";
// Primary-key lookups of the listed uids, in one statement however many there are.
constexpr const char* kSqlDeleteUids =
    "DELETE FROM messages WHERE account = ? AND folder = ? AND uid_validity = ?"
    " AND uid{in_text_list}";

// The first page of a mailbox's rows, and the page after a UID: a poll of a big mailbox holds one
// page of rows at a time (the poll's memory budget per message is 64 bytes), never the mailbox.
// In the primary key's order, so that a page is one range of its index (paged in insertion order,
// each page sorted the whole mailbox: a million-row mailbox took minutes).
#define MC_MAILBOX_PAGE_SELECT "SELECT " MC_MESSAGE_COLUMNS " FROM messages WHERE account = ? AND folder = ? AND uid_validity = ?"
constexpr const char* kSqlMailboxFirstPage = MC_MAILBOX_PAGE_SELECT " ORDER BY uid LIMIT 1000";
constexpr const char* kSqlMailboxPage = MC_MAILBOX_PAGE_SELECT " AND uid > ? ORDER BY uid LIMIT 1000";
constexpr const char* kSqlMessage = "SELECT " MC_MESSAGE_COLUMNS " FROM messages WHERE " MC_MESSAGE_KEY;
// Pending rows, and delivered rows up to a delivered_at (-1: none); each part an index range.
constexpr const char* kSqlWorkDue =
    "SELECT " MC_MESSAGE_COLUMNS " FROM messages"
    " WHERE account = ? AND folder = ? AND uid_validity = ? AND state = 'seen'"
    " UNION ALL SELECT " MC_MESSAGE_COLUMNS " FROM messages"
    " WHERE account = ? AND folder = ? AND uid_validity = ? AND state = 'delivered' AND delivered_at <= ?"
    " LIMIT ?";
// One range of the (account, content_hash) index.
constexpr const char* kSqlContentDelivered =
    "SELECT 1 FROM messages WHERE account = ? AND content_hash = ? AND state IN ('delivered', 'deleted') LIMIT 1";
// Two ranges of the (account, folder, uid_validity, state) index, not a pass over the folder's rows
// (which "uid_validity <> ?" is): it is asked at every whole listing.
constexpr const char* kSqlDeliveredUnderOtherValidity =
    "SELECT 1 FROM messages WHERE account = ? AND folder = ? AND uid_validity < ?"
    " AND state IN ('delivered', 'deleted') UNION ALL"
    " SELECT 1 FROM messages WHERE account = ? AND folder = ? AND uid_validity > ?"
    " AND state IN ('delivered', 'deleted') LIMIT 1";
constexpr const char* kSqlDeleteOtherValidities =
    "DELETE FROM messages WHERE account = ? AND folder = ? AND uid_validity <> ? AND state <> 'quarantined'";
constexpr const char* kSqlMailboxMark =
    "SELECT uid_validity, uid_next, messages, last_uid, fetch_limit, highest_mod_seq FROM mailbox_marks"
    " WHERE account = ? AND folder = ?";
constexpr const char* kSqlRecordMailboxMark =
    "INSERT INTO mailbox_marks (account, folder, uid_validity, uid_next, messages, last_uid, fetch_limit,"
    " highest_mod_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account, folder) DO UPDATE SET"
    " uid_validity = excluded.uid_validity, uid_next = excluded.uid_next, messages = excluded.messages,"
    " last_uid = excluded.last_uid, fetch_limit = excluded.fetch_limit, highest_mod_seq = excluded.highest_mod_seq";
constexpr const char* kSqlClearMailboxMark = "DELETE FROM mailbox_marks WHERE account = ? AND folder = ?";

// Leases shown by status are the unexpired ones.
#define MC_ACCOUNT_SELECT                                                          \
    "SELECT a.name, a.first_seen_at, a.last_poll_at, a.last_result, a.last_error," \
    " a.next_poll_at, COALESCE(l.holder, '') FROM accounts a LEFT JOIN leases l"   \
    " ON l.account = a.name AND {lease_unexpired}"
constexpr std::string_view kAccountTypes = "TIITTIT";
// One account and its per-state counts in one statement: a row per state (one with state ''
// when it has no messages).
constexpr const char* kSqlAccount =
    "SELECT a.name, a.first_seen_at, a.last_poll_at, a.last_result, a.last_error, a.next_poll_at,"
    " COALESCE(l.holder, ''), COALESCE(c.state, ''), COALESCE(c.n, 0) FROM accounts a"
    " LEFT JOIN leases l ON l.account = a.name AND {lease_unexpired}"
    " LEFT JOIN (SELECT state, COUNT(*) AS n FROM messages WHERE account = ? GROUP BY state) c ON 1 = 1"
    " WHERE a.name = ?";
constexpr const char* kSqlAccounts = MC_ACCOUNT_SELECT " ORDER BY a.name{byte_order}";
constexpr const char* kSqlAllCounts =
    "SELECT account, state, COUNT(*) FROM messages GROUP BY account, state";
// first_seen_at = 0 marks a row made by recordPollEnd for an account never listed successfully:
// registering it later still counts as new (fetch = "new" depends on that).
constexpr const char* kSqlRegisterAccount =
    "INSERT INTO accounts (name, first_seen_at) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET"
    " first_seen_at = excluded.first_seen_at WHERE accounts.first_seen_at = 0";
constexpr const char* kSqlAccountFirstSeen = "SELECT first_seen_at FROM accounts WHERE name = ?";
constexpr const char* kSqlRecordPoll =
    "INSERT INTO accounts (name, first_seen_at, last_poll_at, last_result, last_error)"
    " VALUES (?, 0, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET last_poll_at = excluded.last_poll_at,"
    " last_result = excluded.last_result, last_error = excluded.last_error";
constexpr const char* kSqlRecordNextPoll =
    "UPDATE accounts SET next_poll_at = ? WHERE name = ?";
constexpr const char* kSqlReleaseLease = "DELETE FROM leases WHERE account = ? AND holder = ?";

constexpr const char* kSqlImportConflicts =
    "SELECT name FROM accounts WHERE name{in_text_list}"
    " UNION SELECT DISTINCT account FROM messages WHERE account{in_text_list}"
    " ORDER BY 1";
constexpr const char* kSqlImportAccount =
    "INSERT INTO accounts (name, first_seen_at, last_poll_at, last_result, last_error, next_poll_at)"
    " VALUES (?, ?, ?, ?, ?, ?)";

// Export reads ledgers of every schema version: the oldest have no next_poll_at, or no
// header_hash (read as '', unknown).
constexpr const char* kSqlExportAccounts =
    "SELECT name, first_seen_at, last_poll_at, last_result, last_error, next_poll_at FROM accounts"
    " ORDER BY name{byte_order}";
constexpr const char* kSqlExportAccountsV1 =
    "SELECT name, first_seen_at, last_poll_at, last_result, last_error, 0 FROM accounts"
    " ORDER BY name{byte_order}";
constexpr const char* kSqlExportMessageAccounts = "SELECT DISTINCT account FROM messages";
// In insertion order, so that the target keeps the order of rows within a mailbox.
constexpr const char* kSqlExportMessages =
    "SELECT " MC_MESSAGE_COLUMNS ", deleted_at FROM messages ORDER BY {row_order}";
constexpr const char* kSqlExportMessagesV3 =
    "SELECT account, folder, uid_validity, uid, size, state, content_hash, message_id,"
    " first_seen_at, delivered_at, attempts, last_error, '', deleted_at FROM messages ORDER BY {row_order}";

constexpr const char* kSqlSavepoint = "SAVEPOINT write";
constexpr const char* kSqlRelease = "RELEASE write";
constexpr const char* kSqlRollbackTo = "ROLLBACK TO write";

#undef MC_MESSAGE_COLUMNS
#undef MC_MESSAGE_KEY
#undef MC_ON_KEY_CONFLICT
#undef MC_KEEP_KNOWN_SIZE
#undef MC_ACCOUNT_SELECT
// clang-format on

LedgerError operationError(const char* operation, const std::string& detail) {
    return LedgerError(std::string("ledger: ") + operation + " failed: " + detail);
}

MessageState parseState(const std::string& text) {
    if (auto state = parseMessageState(text)) return *state;
    throw SqlFailure("unknown message state in the ledger");
}

// One row of SqlRows, read like a cursor's current row.
struct RowOf {
    SqlRows& rows;
    std::size_t row;
    std::string take(std::size_t column) { return rows.take(row, column); }
    std::int64_t integer(std::size_t column) const { return rows.integer(row, column); }
};

// The one mapping of a messages row (MC_MESSAGE_COLUMNS, in that order) to a record.
template <typename Row>
MessageRecord messageFrom(Row&& row) {
    MessageRecord record;
    record.key.account = row.take(0);
    record.key.folder = row.take(1);
    record.key.uidValidity = static_cast<std::uint64_t>(row.integer(2));
    record.key.uid = row.take(3);
    record.size = static_cast<std::uint64_t>(row.integer(4));
    record.state = parseState(row.take(5));
    record.contentHash = row.take(6);
    record.messageId = row.take(7);
    record.firstSeenAt = row.integer(8);
    record.deliveredAt = row.integer(9);
    record.attempts = static_cast<int>(row.integer(10));
    record.lastError = row.take(11);
    record.headerHash = row.take(12);
    return record;
}

// An accounts row (kAccountTypes; the lease holder is optional).
AccountRecord accountFrom(RowOf row) {
    AccountRecord record;
    record.name = row.take(0);
    record.firstSeenAt = row.integer(1);
    record.lastPollAt = row.integer(2);
    record.lastResult = row.take(3);
    record.lastError = row.take(4);
    record.nextPollAt = row.integer(5);
    if (row.rows.columnCount() > 6) record.leaseHolder = row.take(6);
    return record;
}

std::int64_t integer(std::uint64_t value) { return static_cast<std::int64_t>(value); }

std::vector<SqlValue> keyValues(const MessageKey& key) {
    return {key.account, key.folder, integer(key.uidValidity), key.uid};
}

// The key's values followed by `more`.
std::vector<SqlValue> keyValues(const MessageKey& key, std::initializer_list<SqlValue> more) {
    std::vector<SqlValue> values = keyValues(key);
    values.insert(values.end(), more.begin(), more.end());
    return values;
}

}  // namespace

SqlLedgerStore::SqlLedgerStore(std::unique_ptr<LedgerBackend> backend, Connect connectMore, std::size_t maxConnections)
    : connectMore_(std::move(connectMore)),
      maxConnections_(connectMore_ ? std::clamp<std::size_t>(maxConnections, 1, kMaxLedgerConnections) : 1) {
    idle_.push_back(std::move(backend));
    opened_ = 1;
}

SqlLedgerStore::~SqlLedgerStore() = default;

std::size_t SqlLedgerStore::openConnections() {
    std::lock_guard lock(poolMutex_);
    return opened_;
}

// A connection taken from the pool for one call, or one batch of writes; back to it at the end.
class SqlLedgerStore::Connection {
public:
    explicit Connection(SqlLedgerStore& store) : store_(store) {
        std::unique_lock lock(store.poolMutex_);
        for (;;) {
            if (!store.idle_.empty()) {
                backend_ = std::move(store.idle_.back());
                store.idle_.pop_back();
                return;
            }
            if (store.opened_ < store.maxConnections_) break;
            store.poolChanged_.wait(lock);
        }
        // Every connection is busy and there may be another: open it (outside the lock, it
        // takes a round trip or more). When the server refuses it (too many clients) the
        // connections already open serve, one after the other.
        ++store.opened_;
        lock.unlock();
        try {
            backend_ = store.connectMore_();
            return;
        } catch (const std::exception&) {
            lock.lock();
            --store.opened_;
            if (store.opened_ == 0) throw;
        }
        store.poolChanged_.wait(lock, [&] { return !store.idle_.empty(); });
        backend_ = std::move(store.idle_.back());
        store.idle_.pop_back();
    }
    ~Connection() {
        {
            std::lock_guard lock(store_.poolMutex_);
            store_.idle_.push_back(std::move(backend_));
        }
        store_.poolChanged_.notify_one();
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    LedgerBackend& operator*() { return *backend_; }

private:
    SqlLedgerStore& store_;
    std::unique_ptr<LedgerBackend> backend_;
};

// One caller's write waiting in the group-commit queue; lives on that caller's stack.
struct SqlLedgerStore::PendingWrite {
    const Apply* apply = nullptr;
    Durability durability = Durability::Synced;
    std::string error;   // set when this write did not commit
    bool taken = false;  // in a leader's batch
    bool failed = false;
    bool done = false;
};

namespace {

std::string describe(LedgerBackend& db, const std::exception& error) {
    if (const auto* poco = dynamic_cast<const Poco::Exception*>(&error)) return db.describe(*poco);
    return error.what();
}

}  // namespace

template <typename Body>
auto SqlLedgerStore::read(const char* operation, Body&& body) {
    Connection connection(*this);
    LedgerBackend& db = *connection;
    for (int attempt = 0;; ++attempt) {
        try {
            return body(db);
        } catch (const LedgerError&) {
            throw;
        } catch (const std::exception& e) {
            const std::string detail = describe(db, e);
            // A dropped connection (server restart, failover, idle timeout) is re-established
            // once; reads are safe to run again.
            if (attempt == 0 && db.connectionLost()) {
                try {
                    db.reconnect();
                    continue;
                } catch (const std::exception& again) {
                    throw operationError(operation, describe(db, again));
                }
            }
            throw operationError(operation, detail);
        }
    }
}

void SqlLedgerStore::write(const char* operation, const Apply& apply, Durability durability) {
    PendingWrite write;
    write.apply = &apply;
    write.durability = durability;
    std::unique_lock queueLock(queueMutex_);
    queue_.push_back(&write);
    queueChanged_.wait(queueLock, [&] { return write.done || (!write.taken && committers_ < maxConnections_); });
    if (!write.taken) {
        // A connection is free to commit on: lead, taking every write queued so far (ours
        // included). Others keep queueing meanwhile and one of them leads the next batch, on
        // another connection when there are several (PostgreSQL), or after this one.
        ++committers_;
        std::vector<PendingWrite*> batch;
        batch.swap(queue_);
        for (PendingWrite* pending : batch) pending->taken = true;
        queueLock.unlock();
        try {
            commitBatch(batch);
        } catch (const std::exception& e) {
            // No connection could be had, or allocation failed; never leave committers_ counted
            // or a caller unanswered.
            for (PendingWrite* pending : batch) {
                pending->failed = true;
                pending->error = e.what();
            }
        }
        queueLock.lock();
        for (PendingWrite* pending : batch) pending->done = true;
        --committers_;
        queueChanged_.notify_all();
    }
    if (write.failed) {
        throw operationError(operation, write.error.empty() ? "internal error" : write.error);
    }
}

void SqlLedgerStore::commitBatch(const std::vector<PendingWrite*>& batch) {
    Connection connection(*this);
    LedgerBackend& db = *connection;
    // A dropped connection is re-established once and the whole batch runs again: its writes
    // are upserts, so running one again is safe (recordFailure may count that failure twice).
    for (int attempt = 0;; ++attempt) {
        if (tryCommitBatch(db, batch)) return;
        for (PendingWrite* pending : batch) {
            pending->failed = attempt > 0;
            if (attempt > 0 && pending->error.empty()) pending->error = "the connection was lost";
        }
        if (attempt > 0) return;
        try {
            db.reconnect();
        } catch (const std::exception& e) {
            for (PendingWrite* pending : batch) {
                pending->failed = true;
                pending->error = describe(db, e);
            }
            return;
        }
        for (PendingWrite* pending : batch) pending->error.clear();
    }
}

bool SqlLedgerStore::tryCommitBatch(LedgerBackend& db, const std::vector<PendingWrite*>& batch) {
    // Fails every write of the batch that has not failed yet: their changes were rolled back.
    auto failRest = [&](const std::string& detail) {
        try {
            if (db.inTransaction()) db.rollback();
        } catch (const std::exception&) {
            // The rollback's failure adds nothing to `detail`.
        }
        for (PendingWrite* pending : batch) {
            if (!pending->failed) {
                pending->failed = true;
                pending->error = detail;
            }
        }
    };
    // Records the first failure's text for every write; true when the connection was lost.
    auto lost = [&](const std::string& detail) {
        if (!db.connectionLost()) return false;
        for (PendingWrite* pending : batch) pending->error = detail;
        return true;
    };
    Durability durability = Durability::Bookkeeping;
    for (const PendingWrite* pending : batch) {
        if (pending->durability == Durability::Synced) durability = Durability::Synced;
    }
    try {
        db.beginWrite(durability);
    } catch (const std::exception& e) {
        const std::string detail = describe(db, e);
        if (lost(detail)) return false;
        failRest(detail);
        return true;
    }
    // With several writers each gets a savepoint, so one failing write does not undo the others.
    const bool savepoints = batch.size() > 1;
    for (PendingWrite* pending : batch) {
        try {
            if (savepoints) db.execute(kSqlSavepoint);
            (*pending->apply)(db);
            if (savepoints) db.execute(kSqlRelease);
        } catch (const std::exception& e) {
            const std::string detail = describe(db, e);
            if (lost(detail)) return false;
            pending->failed = true;
            pending->error = detail;
            // SQLite rolls the whole transaction back on some errors (disk full, I/O error);
            // then nothing of this batch survived.
            if (!savepoints || !db.inTransaction()) {
                failRest(detail);
                return true;
            }
            try {
                db.execute(kSqlRollbackTo);
                db.execute(kSqlRelease);
            } catch (const std::exception& rollbackError) {
                const std::string rollbackDetail = describe(db, rollbackError);
                if (lost(rollbackDetail)) return false;
                failRest(rollbackDetail);
                return true;
            }
        }
    }
    try {
        db.commit();
    } catch (const std::exception& e) {
        const std::string detail = describe(db, e);
        if (lost(detail)) return false;
        failRest(detail);
    }
    return true;
}

std::vector<MessageRecord> SqlLedgerStore::readMessages(LedgerBackend& db, const char* sql,
                                                        std::initializer_list<SqlValue> values) {
    SqlRows rows = db.select(sql, kMessageTypes, values);
    std::vector<MessageRecord> records;
    records.reserve(rows.size());
    for (std::size_t row = 0; row < rows.size(); ++row) records.push_back(messageFrom(RowOf{rows, row}));
    return records;
}

std::vector<MessageRecord> SqlLedgerStore::messages(const std::string& account, const std::string& folder,
                                                    std::uint64_t uidValidity) {
    return read("messages", [&](LedgerBackend& db) {
        return readMessages(db, kSqlMailbox, {account, folder, integer(uidValidity)});
    });
}

std::vector<MessageRecord> SqlLedgerStore::messagesInFolder(const std::string& account, const std::string& folder) {
    return read("messagesInFolder", [&](LedgerBackend& db) { return readMessages(db, kSqlFolder, {account, folder}); });
}

void SqlLedgerStore::recordSeen(const MessageKey& key, std::uint64_t size) {
    const std::int64_t now = unixSeconds();
    write("recordSeen", [&](LedgerBackend& db) {
        db.execute(kSqlRecordSeen, keyValues(key, {integer(size), now}));
        std::vector<SqlValue> fill{integer(size)};
        for (SqlValue& value : keyValues(key)) fill.push_back(std::move(value));
        db.execute(kSqlFillUnknownSize, fill);
    });
}

void SqlLedgerStore::markDelivered(const MessageKey& key, std::uint64_t size, const std::string& contentHash,
                                   const std::string& messageId, const std::string& headerHash) {
    const std::int64_t now = unixSeconds();
    const auto values =
        keyValues(key, {validText(contentHash), validText(messageId), now, now, integer(size), validText(headerHash)});
    std::vector<SqlValue> settle{validText(messageId)};
    for (SqlValue& value : keyValues(key)) settle.push_back(std::move(value));
    write("markDelivered", [&](LedgerBackend& db) {
        db.execute(kSqlMarkDelivered, values);
        // A dedupe claim of this copy is settled with its delivery (no claim: nothing to do).
        if (!messageId.empty()) db.execute(kSqlSettleClaim, settle);
    });
}

void SqlLedgerStore::upsertState(const char* operation, const MessageKey& key, std::uint64_t size, const char* state,
                                 const std::string& reason) {
    const auto values = keyValues(key, {std::string(state), validText(reason), unixSeconds(), integer(size)});
    write(operation, [&](LedgerBackend& db) { db.execute(kSqlMarkWithReason, values); });
}

void SqlLedgerStore::markQuarantined(const MessageKey& key, std::uint64_t size, const std::string& reason) {
    upsertState("markQuarantined", key, size, toString(MessageState::Quarantined), reason);
}

void SqlLedgerStore::markSkipped(const MessageKey& key, std::uint64_t size, const std::string& reason) {
    upsertState("markSkipped", key, size, toString(MessageState::Skipped), reason);
}

void SqlLedgerStore::markDeleted(const MessageKey& key) {
    const std::int64_t now = unixSeconds();
    const auto values = keyValues(key, {now, now});
    write("markDeleted", [&](LedgerBackend& db) { db.execute(kSqlMarkDeleted, values); });
}

void SqlLedgerStore::recordFailure(const MessageKey& key, std::uint64_t size, const std::string& error) {
    const auto values = keyValues(key, {validText(error), unixSeconds(), integer(size)});
    write("recordFailure", [&](LedgerBackend& db) { db.execute(kSqlRecordFailure, values); });
}

std::vector<MessageRecord> SqlLedgerStore::quarantined(const std::string& account) {
    return read("quarantined", [&](LedgerBackend& db) {
        return readMessages(db, kSqlQuarantined, {account, account});
    });
}

bool SqlLedgerStore::requeueQuarantined(const MessageKey& key) {
    bool changed = false;
    const auto values = keyValues(key);
    write("requeueQuarantined", [&](LedgerBackend& db) { changed = db.execute(kSqlRequeueQuarantined, values) == 1; });
    return changed;
}

bool SqlLedgerStore::dropQuarantined(const MessageKey& key, const std::string& reason) {
    bool changed = false;
    std::vector<SqlValue> values{validText(reason)};
    for (SqlValue& value : keyValues(key)) values.push_back(std::move(value));
    write("dropQuarantined", [&](LedgerBackend& db) { changed = db.execute(kSqlDropQuarantined, values) == 1; });
    return changed;
}

void SqlLedgerStore::forgetAbsent(const std::string& account, const std::string& folder, std::uint64_t uidValidity,
                                  const std::vector<std::string>& present) {
    write("forgetAbsent", [&](LedgerBackend& db) {
        // Diff in memory: one indexed scan of the mailbox, then primary-key deletes of what left;
        // the planners cannot be trusted to hash a 100,000-element parameter.
        const SqlRows stored = db.select(kSqlMailboxUids, "T", {account, folder, integer(uidValidity)});
        const std::unordered_set<std::string_view> keep(present.begin(), present.end());
        std::vector<std::string> absent;
        for (std::size_t row = 0; row < stored.size(); ++row) {
            if (!keep.contains(stored.text(row, 0))) absent.push_back(stored.text(row, 0));
        }
        if (absent.empty()) return;
        db.execute(kSqlDeleteUids, {account, folder, integer(uidValidity), db.textList(absent)});
    });
}

void SqlLedgerStore::forEachMessage(const std::string& account, const std::string& folder, std::uint64_t uidValidity,
                                    const std::function<bool(const MessageRecord&)>& visit) {
    std::optional<std::string> after;  // the last UID of the page before
    for (;;) {
        SqlRows page = read("forEachMessage", [&](LedgerBackend& db) {
            if (!after) return db.select(kSqlMailboxFirstPage, kMessageTypes, {account, folder, integer(uidValidity)});
            return db.select(kSqlMailboxPage, kMessageTypes, {account, folder, integer(uidValidity), *after});
        });
        if (page.size() == 0) return;
        after = page.text(page.size() - 1, 3);
        for (std::size_t row = 0; row < page.size(); ++row) {
            if (!visit(messageFrom(RowOf{page, row}))) return;
        }
    }
}

std::optional<MessageRecord> SqlLedgerStore::message(const MessageKey& key) {
    return read("message", [&](LedgerBackend& db) -> std::optional<MessageRecord> {
        SqlRows rows =
            db.select(kSqlMessage, kMessageTypes, {key.account, key.folder, integer(key.uidValidity), key.uid});
        if (rows.size() == 0) return std::nullopt;
        return messageFrom(RowOf{rows, 0});
    });
}

std::vector<MessageRecord> SqlLedgerStore::workDue(const std::string& account, const std::string& folder,
                                                   std::uint64_t uidValidity, std::optional<std::int64_t> deliveredBy,
                                                   std::size_t limit) {
    return read("workDue", [&](LedgerBackend& db) {
        return readMessages(db, kSqlWorkDue,
                            {account, folder, integer(uidValidity), account, folder, integer(uidValidity),
                             deliveredBy.value_or(-1), integer(limit)});
    });
}

bool SqlLedgerStore::deliveredInAccount(const std::string& account, const std::string& contentHash) {
    return read("deliveredInAccount", [&](LedgerBackend& db) {
        return db.select(kSqlContentDelivered, "I", {account, contentHash}).size() > 0;
    });
}

bool SqlLedgerStore::deliveredUnderOtherValidity(const std::string& account, const std::string& folder,
                                                 std::uint64_t uidValidity) {
    return read("deliveredUnderOtherValidity", [&](LedgerBackend& db) {
        const auto validity = integer(uidValidity);
        return db.select(kSqlDeliveredUnderOtherValidity, "I", {account, folder, validity, account, folder, validity})
                   .size() > 0;
    });
}

void SqlLedgerStore::forgetOtherValidities(const std::string& account, const std::string& folder,
                                           std::uint64_t uidValidity) {
    write("forgetOtherValidities", [&](LedgerBackend& db) {
        db.execute(kSqlDeleteOtherValidities, {account, folder, integer(uidValidity)});
    });
}

void SqlLedgerStore::forget(const std::string& account, const std::string& folder, std::uint64_t uidValidity,
                            const std::vector<std::string>& uids) {
    if (uids.empty()) return;
    write("forget", [&](LedgerBackend& db) {
        db.execute(kSqlDeleteUids, {account, folder, integer(uidValidity), db.textList(uids)});
    });
}

std::optional<MailboxMark> SqlLedgerStore::mailboxMark(const std::string& account, const std::string& folder) {
    return read("mailboxMark", [&](LedgerBackend& db) -> std::optional<MailboxMark> {
        SqlRows rows = db.select(kSqlMailboxMark, "IIITII", {account, folder});
        if (rows.size() == 0) return std::nullopt;
        return MailboxMark{
            static_cast<std::uint64_t>(rows.integer(0, 0)), static_cast<std::uint64_t>(rows.integer(0, 1)),
            static_cast<std::uint64_t>(rows.integer(0, 2)), rows.take(0, 3),
            static_cast<std::uint64_t>(rows.integer(0, 4)), static_cast<std::uint64_t>(rows.integer(0, 5))};
    });
}

void SqlLedgerStore::recordMailboxMark(const std::string& account, const std::string& folder,
                                       const std::optional<MailboxMark>& mark) {
    write("recordMailboxMark", [&](LedgerBackend& db) {
        if (!mark) {
            db.execute(kSqlClearMailboxMark, {account, folder});
            return;
        }
        db.execute(kSqlRecordMailboxMark,
                   {account, folder, integer(mark->uidValidity), integer(mark->uidNext), integer(mark->messages),
                    validText(mark->lastUid), integer(mark->fetchLimit), integer(mark->highestModSeq)});
    });
}

std::optional<AccountRecord> SqlLedgerStore::account(const std::string& name) {
    return read("account", [&](LedgerBackend& db) -> std::optional<AccountRecord> {
        static const std::string kTypes = std::string(kAccountTypes) + "TI";  // and a state's count
        SqlRows rows = db.select(kSqlAccount, kTypes, {name, name});
        if (rows.size() == 0) return std::nullopt;
        AccountRecord record = accountFrom(RowOf{rows, 0});
        constexpr std::size_t kState = kAccountTypes.size();
        for (std::size_t row = 0; row < rows.size(); ++row) {
            if (rows.text(row, kState).empty()) continue;
            addStateCount(record, parseState(rows.text(row, kState)),
                          static_cast<std::uint64_t>(rows.integer(row, kState + 1)));
        }
        return record;
    });
}

std::vector<AccountRecord> SqlLedgerStore::accounts() {
    return read("accounts", [&](LedgerBackend& db) {
        std::vector<AccountRecord> records;
        std::unordered_map<std::string, std::size_t> byName;
        SqlRows rows = db.select(kSqlAccounts, kAccountTypes);
        for (std::size_t row = 0; row < rows.size(); ++row) {
            records.push_back(accountFrom(RowOf{rows, row}));
            byName.emplace(records.back().name, records.size() - 1);
        }
        const SqlRows counts = db.select(kSqlAllCounts, "TTI");
        for (std::size_t row = 0; row < counts.size(); ++row) {
            // Rows of accounts never registered are not reported.
            if (auto it = byName.find(counts.text(row, 0)); it != byName.end()) {
                addStateCount(records[it->second], parseState(counts.text(row, 1)),
                              static_cast<std::uint64_t>(counts.integer(row, 2)));
            }
        }
        return records;
    });
}

bool SqlLedgerStore::registerAccount(const std::string& name) {
    // Every poll asks; once registered, a read answers it (first_seen_at never goes back to 0).
    const bool registered = read("registerAccount", [&](LedgerBackend& db) {
        const SqlRows rows = db.select(kSqlAccountFirstSeen, "I", {name});
        return rows.size() == 1 && rows.integer(0, 0) != 0;
    });
    if (registered) return false;
    const std::int64_t now = unixSeconds();
    bool created = false;
    write("registerAccount", [&](LedgerBackend& db) { created = db.execute(kSqlRegisterAccount, {name, now}) == 1; });
    return created;
}

void SqlLedgerStore::recordNextPoll(const std::string& name, std::int64_t nextPollAt) {
    // Updates only: the rows come from registerAccount and recordPollEnd, which keep first_seen_at
    // (and with it fetch = "new") right.
    write(
        "recordNextPoll",
        [&](LedgerBackend& db) {
            db.execute(kSqlRecordNextPoll, {nextPollAt, name});
        },
        Durability::Bookkeeping);
}

void SqlLedgerStore::recordPollEnd(const PollRecord& poll, const std::string& lastError,
                                   const std::string& leaseHolder) {
    const std::int64_t now = unixSeconds();
    write(
        "recordPollEnd",
        [&](LedgerBackend& db) {
            db.execute(kSqlRecordPoll, {poll.account, now, validText(poll.result), validText(lastError)});
            db.execute(history_sql::kInsertPoll,
                       {poll.account, poll.startedAt, poll.durationMs, validText(poll.result), validText(poll.error),
                        integer(poll.fetched), integer(poll.delivered), integer(poll.quarantined),
                        integer(poll.deferred), integer(poll.skipped), integer(poll.deleted)});
            // The newest poll past the kept ones, found in the (account, id) index: usually none
            // (a young account) or one, summarised into its day and deleted with what is older.
            const SqlRows past = db.select(history_sql::kFirstPollPastKept, "I", {poll.account});
            if (past.size() > 0) {
                db.execute(history_sql::kSummariseOldPolls, {poll.account, past.integer(0, 0)});
                db.execute(history_sql::kDeleteOldPolls, {poll.account, past.integer(0, 0)});
            }
            if (!leaseHolder.empty()) db.execute(kSqlReleaseLease, {poll.account, leaseHolder});
        },
        Durability::Bookkeeping);
}

std::vector<PollRecord> SqlLedgerStore::pollHistory(const std::string& account, std::size_t limit) {
    return read("pollHistory", [&](LedgerBackend& db) {
        const SqlRows rows =
            db.select(history_sql::kPollHistory, "TIITTIIIIII", {account, static_cast<std::int64_t>(limit)});
        std::vector<PollRecord> polls;
        for (std::size_t row = 0; row < rows.size(); ++row) {
            auto count = [&](std::size_t column) { return static_cast<std::uint64_t>(rows.integer(row, column)); };
            polls.push_back(PollRecord{rows.text(row, 0), rows.integer(row, 1), rows.integer(row, 2), rows.text(row, 3),
                                       rows.text(row, 4), count(5), count(6), count(7), count(8), count(9), count(10)});
        }
        return polls;
    });
}

std::vector<PollDaySummary> SqlLedgerStore::pollDays(const std::string& account, std::int64_t sinceDay) {
    return read("pollDays", [&](LedgerBackend& db) {
        const SqlRows rows = db.select(history_sql::kPollDays, "TIIIIII", {account, sinceDay});
        std::vector<PollDaySummary> days;
        for (std::size_t row = 0; row < rows.size(); ++row) {
            auto count = [&](std::size_t column) { return static_cast<std::uint64_t>(rows.integer(row, column)); };
            days.push_back(PollDaySummary{rows.text(row, 0), rows.integer(row, 1), count(2), count(3), count(4),
                                          count(5), count(6)});
        }
        return days;
    });
}

void SqlLedgerStore::probeWrite() {
    write("probeWrite", [&](LedgerBackend& db) { db.probeWrite(); });
}

Lease SqlLedgerStore::takeLease(const std::string& account, const std::string& holder, std::chrono::milliseconds ttl) {
    Lease lease{true, holder};
    // One write transaction: no other process can take it between our look at the current
    // holder and our insert.
    write(
        "takeLease", [&](LedgerBackend& db) { lease = db.takeLease(account, holder, ttl); }, Durability::Bookkeeping);
    return lease;
}

bool SqlLedgerStore::renewLease(const std::string& account, const std::string& holder, std::chrono::milliseconds ttl) {
    bool renewed = false;
    write(
        "renewLease", [&](LedgerBackend& db) { renewed = db.renewLease(account, holder, ttl); },
        Durability::Bookkeeping);
    return renewed;
}

void SqlLedgerStore::releaseLease(const std::string& account, const std::string& holder) {
    write(
        "releaseLease",
        [&](LedgerBackend& db) {
            db.execute(kSqlReleaseLease, {account, holder});
        },
        Durability::Bookkeeping);
}

ImportCounts SqlLedgerStore::importLedger(const std::vector<std::string>& names,
                                          const std::vector<AccountRecord>& accounts,
                                          const std::function<bool(StoredMessage&)>& next,
                                          const std::function<bool(StoredClaim&)>& nextClaim) {
    // Not a queued write: `next` can be read once only, so a lost connection is not retried.
    Connection connection(*this);
    LedgerBackend& db = *connection;
    ImportCounts counts;
    try {
        db.beginWrite(Durability::Synced);
        db.lockForImport();
        const std::string list = db.textList(names);
        const SqlRows conflicts = db.select(kSqlImportConflicts, "T", {list, list});
        if (conflicts.size() > 0) {
            std::string shown;
            for (std::size_t row = 0; row < conflicts.size() && row < 10; ++row) {
                shown += (shown.empty() ? "" : ", ") + conflicts.text(row, 0);
            }
            if (conflicts.size() > 10) shown += ", ...";
            throw SqlFailure("the target ledger already holds " + std::to_string(conflicts.size()) +
                             " of these accounts (" + shown + "); nothing was copied");
        }
        for (const AccountRecord& account : accounts) {
            db.execute(kSqlImportAccount,
                       {account.name, account.firstSeenAt, account.lastPollAt, validText(account.lastResult),
                        validText(account.lastError), account.nextPollAt});
            ++counts.accounts;
        }
        db.copyMessages(next, counts);
        for (StoredClaim claim; nextClaim(claim);) {
            std::vector<SqlValue> values{validText(claim.messageId), claim.bodyHash};
            for (SqlValue& value : keyValues(claim.claimant, {claim.claimedAt, std::int64_t{claim.settled}}))
                values.push_back(std::move(value));
            db.execute(kSqlImportClaim, values);
        }
        db.commit();
    } catch (const std::exception& e) {
        const std::string detail = describe(db, e);
        try {
            if (db.inTransaction()) db.rollback();
        } catch (const std::exception&) {
            // The first failure is the one to report.
        }
        if (const auto* ledgerError = dynamic_cast<const LedgerError*>(&e)) throw *ledgerError;
        throw operationError("import", detail);
    }
    return counts;
}

ImportCounts SqlLedgerStore::copyInto(SqlLedgerStore& target) {
    return read("export", [&](LedgerBackend& db) {
        db.beginRead();
        try {
            const LedgerBackend::SchemaColumns columns = db.schemaColumns();
            std::vector<AccountRecord> accounts;
            std::set<std::string> names;
            SqlRows rows =
                db.select(columns.nextPollAt ? kSqlExportAccounts : kSqlExportAccountsV1, kAccountTypes.substr(0, 6));
            for (std::size_t row = 0; row < rows.size(); ++row) {
                accounts.push_back(accountFrom(RowOf{rows, row}));
                names.insert(accounts.back().name);
            }
            const SqlRows messageAccounts = db.select(kSqlExportMessageAccounts, "T");
            for (std::size_t row = 0; row < messageAccounts.size(); ++row) names.insert(messageAccounts.text(row, 0));
            LedgerBackend::Cursor messages(db, columns.headerHash ? kSqlExportMessages : kSqlExportMessagesV3,
                                           std::string(kMessageTypes) + "I");  // and deleted_at
            // Claims are read once the messages are: one cursor at a time.
            std::optional<LedgerBackend::Cursor> claims;
            const ImportCounts counts = target.importLedger(
                std::vector<std::string>(names.begin(), names.end()), accounts,
                [&](StoredMessage& message) {
                    if (!messages.next()) return false;
                    message.record = messageFrom(messages);
                    message.deletedAt = messages.integer(kMessageTypes.size());
                    return true;
                },
                [&](StoredClaim& claim) {
                    if (!columns.dedupeClaims) return false;
                    if (!claims) claims.emplace(db, kSqlExportClaims, "TTTTITII");
                    if (!claims->next()) return false;
                    claim.messageId = claims->take(0);
                    claim.bodyHash = claims->take(1);
                    claim.claimant = MessageKey{claims->take(2), claims->take(3),
                                                static_cast<std::uint64_t>(claims->integer(4)), claims->take(5)};
                    claim.claimedAt = claims->integer(6);
                    claim.settled = claims->integer(7) != 0;
                    return true;
                });
            db.rollback();  // read only
            return counts;
        } catch (...) {
            if (db.inTransaction()) db.rollback();
            throw;
        }
    });
}

namespace {
// max_bytes_per_day: bytes downloaded per account and hour. SUM of a BIGINT is NUMERIC in
// PostgreSQL: cast back to read it as an integer on both.
constexpr const char* kSqlAddDownload =
    "INSERT INTO downloads (account, hour, bytes) VALUES (?, ?, ?)"
    " ON CONFLICT (account, hour) DO UPDATE SET bytes = downloads.bytes + excluded.bytes";
constexpr const char* kSqlForgetDownloads = "DELETE FROM downloads WHERE account = ? AND hour < ?";
constexpr const char* kSqlDownloadedSince =
    "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM downloads WHERE account = ? AND hour >= ?";
constexpr const char* kSqlClaim =
    "INSERT INTO dedupe_claims (message_id, body_hash, account, folder, uid_validity, uid, claimed_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id, body_hash) DO NOTHING";
constexpr const char* kSqlClaimant =
    "SELECT c.account, c.folder, c.uid_validity, c.uid, c.claimed_at, c.settled, COALESCE(m.state, '')"
    " FROM dedupe_claims c"
    " LEFT JOIN messages m ON m.account = c.account AND m.folder = c.folder AND m.uid_validity = c.uid_validity"
    " AND m.uid = c.uid WHERE c.message_id = ? AND c.body_hash = ?";
// Conditional on the claimant read, so that of two keys taking over one claim at once one wins.
constexpr const char* kSqlPassClaim =
    "UPDATE dedupe_claims SET account = ?, folder = ?, uid_validity = ?, uid = ?, claimed_at = ?"
    " WHERE message_id = ? AND body_hash = ? AND account = ? AND folder = ? AND uid_validity = ? AND uid = ?"
    " AND settled = 0";
// The claimant's row, pending, so that a crash before its delivery leaves it to be retried.
constexpr const char* kSqlSeenIfAbsent =
    "INSERT INTO messages (account, folder, uid_validity, uid, size, state, first_seen_at)"
    " VALUES (?, ?, ?, ?, ?, 'seen', ?) ON CONFLICT (account, folder, uid_validity, uid) DO NOTHING";
constexpr const char* kSqlNote =
    "UPDATE messages SET last_error = ? WHERE account = ? AND folder = ? AND uid_validity = ? AND uid = ?";
constexpr const char* kSqlDuplicateCounts =
    "SELECT account, COUNT(*) FROM messages WHERE state IN ('delivered', 'deleted') AND last_error LIKE ?"
    " GROUP BY account";
constexpr const char* kSqlFolderHasRows =
    "SELECT CAST(1 AS BIGINT) FROM messages WHERE account = ? AND folder = ? LIMIT 1";
// Two range seeks on the primary key, not a pass over the folder's rows.
constexpr const char* kSqlRowsOutsideFolder =
    "SELECT CAST(1 AS BIGINT) FROM messages WHERE account = ? AND folder < ?"
    " UNION ALL SELECT CAST(1 AS BIGINT) FROM messages WHERE account = ? AND folder > ? LIMIT 1";
}  // namespace

void SqlLedgerStore::recordDownload(const std::string& account, std::int64_t at, std::uint64_t bytes) {
    const std::int64_t hour = at / 3600;
    write("recordDownload", [&](LedgerBackend& db) {
        db.execute(kSqlAddDownload, {account, hour, integer(bytes)});
        db.execute(kSqlForgetDownloads, {account, hour - 48});
    });
}

std::uint64_t SqlLedgerStore::downloadedBytesSince(const std::string& account, std::int64_t since) {
    return read("downloadedBytesSince", [&](LedgerBackend& db) {
        const SqlRows rows = db.select(kSqlDownloadedSince, "I", {account, since / 3600});
        return rows.size() > 0 ? static_cast<std::uint64_t>(rows.integer(0, 0)) : std::uint64_t{0};
    });
}

bool SqlLedgerStore::hasMessagesInFolder(const std::string& account, const std::string& folder) {
    return read("hasMessagesInFolder", [&](LedgerBackend& db) {
        return db.select(kSqlFolderHasRows, "I", {account, folder}).size() > 0;
    });
}

bool SqlLedgerStore::hasMessagesOutsideFolder(const std::string& account, const std::string& folder) {
    return read("hasMessagesOutsideFolder", [&](LedgerBackend& db) {
        return db.select(kSqlRowsOutsideFolder, "I", {account, folder, account, folder}).size() > 0;
    });
}

DedupeDecision SqlLedgerStore::claimMessage(const MessageKey& key, std::uint64_t size, const std::string& messageId,
                                            const std::string& bodyHash, const std::string& contentHash,
                                            const std::string& headerHash) {
    const std::int64_t now = unixSeconds();
    const std::string id = validText(messageId);
    DedupeDecision decision;
    write("claimMessage", [&](LedgerBackend& db) {
        decision = DedupeDecision{};
        std::vector<SqlValue> claim{id, bodyHash};
        for (SqlValue& value : keyValues(key, {now})) claim.push_back(std::move(value));
        db.execute(kSqlClaim, claim);
        SqlRows claimant = db.select(kSqlClaimant, "TTITIIT", {id, bodyHash});
        if (claimant.size() == 0) throw SqlFailure("the dedupe claim was not recorded");
        decision.first = MessageKey{claimant.take(0, 0), claimant.take(0, 1),
                                    static_cast<std::uint64_t>(claimant.integer(0, 2)), claimant.take(0, 3)};
        const std::string state = claimant.text(0, 6);
        const bool stale = claimant.integer(0, 4) < now - std::int64_t{kDedupeClaimDays} * 86400;
        const bool settled = claimant.integer(0, 5) != 0 || state == "delivered" || state == "deleted";
        if (decision.first != key && settled) {
            decision.claim = DedupeClaim::Duplicate;
            db.execute(kSqlMarkDelivered,
                       keyValues(key, {validText(contentHash), id, now, now, integer(size), validText(headerHash)}));
            std::vector<SqlValue> note{validText(kDuplicateNote + decision.first.account + " " + decision.first.folder +
                                                 " " + decision.first.uid)};
            for (SqlValue& value : keyValues(key)) note.push_back(std::move(value));
            db.execute(kSqlNote, note);
            return;
        }
        if (decision.first != key && ((state == "seen" && !stale) || state == "quarantined")) {
            decision.claim = DedupeClaim::HeldByPending;
            return;
        }
        if (decision.first != key) {  // the claimant's row is gone or skipped, or it waited too long
            std::vector<SqlValue> pass = keyValues(key, {now, id, bodyHash});
            for (SqlValue& value : keyValues(decision.first)) pass.push_back(std::move(value));
            if (db.execute(kSqlPassClaim, pass) == 0) {  // another key took it over first
                decision.claim = DedupeClaim::HeldByPending;
                return;
            }
            decision.first = key;
        }
        db.execute(kSqlSeenIfAbsent, keyValues(key, {integer(size), now}));
    });
    return decision;
}

std::map<std::string, std::uint64_t> SqlLedgerStore::duplicateCounts() {
    return read("duplicateCounts", [&](LedgerBackend& db) {
        const SqlRows rows = db.select(kSqlDuplicateCounts, "TI", {std::string(kDuplicateNote) + "%"});
        std::map<std::string, std::uint64_t> counts;
        for (std::size_t row = 0; row < rows.size(); ++row)
            counts[rows.text(row, 0)] = static_cast<std::uint64_t>(rows.integer(row, 1));
        return counts;
    });
}

void SqlLedgerStore::executeForTesting(const std::string& sql) {
    read("executeForTesting", [&](LedgerBackend& db) { db.executeText(sql); });
}

}  // namespace mc::ledger
