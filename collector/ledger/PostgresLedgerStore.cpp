#include "collector/ledger/PostgresLedgerStore.hpp"

#include <libpq-fe.h>

#include <ctime>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace mc::ledger {
namespace {

// Migration i brings the schema from version i to i + 1; each runs in the opening transaction,
// under an advisory lock, so instances starting together migrate once. Never edit a released
// migration: append a new one. Version 1 is SQLite's version 2 plus leases; `id` keeps the
// insertion order SQLite's rowid gives.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE messages (
    id BIGSERIAL NOT NULL,
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    uid_validity BIGINT NOT NULL,
    uid TEXT NOT NULL,
    size BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    content_hash TEXT NOT NULL DEFAULT '',
    message_id TEXT NOT NULL DEFAULT '',
    first_seen_at BIGINT NOT NULL DEFAULT 0,
    delivered_at BIGINT NOT NULL DEFAULT 0,
    deleted_at BIGINT NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account, folder, uid_validity, uid)
);
CREATE INDEX messages_by_message_id ON messages (account, folder, message_id);
CREATE INDEX messages_by_content_hash ON messages (account, content_hash);
CREATE TABLE accounts (
    name TEXT PRIMARY KEY NOT NULL,
    first_seen_at BIGINT NOT NULL DEFAULT 0,
    last_poll_at BIGINT NOT NULL DEFAULT 0,
    last_result TEXT NOT NULL DEFAULT '',
    last_error TEXT NOT NULL DEFAULT '',
    next_poll_at BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE leases (
    account TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
)sql",
    // Version 2 (SQLite's version 4): the header block's hash, checked before a later session
    // deletes the message.
    R"sql(
ALTER TABLE messages ADD COLUMN header_hash TEXT NOT NULL DEFAULT '';
)sql",
    // Version 3 (SQLite's version 5): rows asking for work found by index, and where the last
    // complete poll left each mailbox (MailboxMark).
    R"sql(
CREATE INDEX IF NOT EXISTS messages_by_state ON messages (account, folder, uid_validity, state, delivered_at);
CREATE TABLE IF NOT EXISTS mailbox_marks (
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    uid_validity BIGINT NOT NULL,
    uid_next BIGINT NOT NULL,
    messages BIGINT NOT NULL,
    last_uid TEXT NOT NULL,
    fetch_limit BIGINT NOT NULL,
    PRIMARY KEY (account, folder)
);
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));
// pg_advisory_xact_lock key for schema changes: "mailcoll" in ASCII.
constexpr const char* kSqlSchemaLock = "SELECT pg_advisory_xact_lock(7809643557136232300)";

// SQL is laid out to be read as SQL.
// clang-format off
#define MC_MESSAGE_COLUMNS                                                        \
    "account, folder, uid_validity, uid, size, state, content_hash, message_id, " \
    "first_seen_at, delivered_at, attempts, last_error, header_hash"
#define MC_MESSAGE_KEY "account = $1 AND folder = $2 AND uid_validity = $3 AND uid = $4"
#define MC_ON_KEY_CONFLICT " ON CONFLICT (account, folder, uid_validity, uid) DO UPDATE SET "
// Size 0 from a caller means "unknown": it never overwrites a known size.
#define MC_KEEP_KNOWN_SIZE "size = CASE WHEN excluded.size = 0 THEN messages.size ELSE excluded.size END, "
#define MC_LEASE_END "clock_timestamp() + $3::float8 * interval '1 millisecond'"

constexpr const char* kSqlMailbox =
    "SELECT " MC_MESSAGE_COLUMNS " FROM messages"
    " WHERE account = $1 AND folder = $2 AND uid_validity = $3 ORDER BY id";
constexpr const char* kSqlFolder =
    "SELECT " MC_MESSAGE_COLUMNS " FROM messages"
    " WHERE account = $1 AND folder = $2 ORDER BY uid_validity, id";
// As in SQLite: a row first created by mark* has size 0 (unknown); recordSeen fills that in
// instead of treating it as a changed message.
constexpr const char* kSqlRecordSeen =
    "INSERT INTO messages (account, folder, uid_validity, uid, size, state, first_seen_at)"
    " VALUES ($1, $2, $3, $4, $5, 'seen', $6)" MC_ON_KEY_CONFLICT
    "size = excluded.size, state = 'seen', content_hash = '', message_id = '', header_hash = '',"
    " first_seen_at = excluded.first_seen_at, delivered_at = 0, deleted_at = 0, attempts = 0,"
    " last_error = ''"
    " WHERE messages.size <> excluded.size AND messages.size <> 0";
constexpr const char* kSqlFillUnknownSize =
    "UPDATE messages SET size = $5 WHERE " MC_MESSAGE_KEY " AND size = 0";
constexpr const char* kSqlMarkDelivered =
    "INSERT INTO messages (account, folder, uid_validity, uid, state, content_hash, message_id,"
    " first_seen_at, delivered_at, size, header_hash)"
    " VALUES ($1, $2, $3, $4, 'delivered', $5, $6, $7, $7, $8, $9)"
    MC_ON_KEY_CONFLICT MC_KEEP_KNOWN_SIZE
    "state = 'delivered', content_hash = excluded.content_hash,"
    " message_id = excluded.message_id, delivered_at = excluded.delivered_at,"
    " header_hash = excluded.header_hash";
constexpr const char* kSqlMarkWithReason =
    "INSERT INTO messages (account, folder, uid_validity, uid, state, last_error, first_seen_at,"
    " size) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)" MC_ON_KEY_CONFLICT MC_KEEP_KNOWN_SIZE
    "state = excluded.state, last_error = excluded.last_error";
constexpr const char* kSqlMarkDeleted =
    "INSERT INTO messages (account, folder, uid_validity, uid, state, first_seen_at, deleted_at)"
    " VALUES ($1, $2, $3, $4, 'deleted', $5, $5)" MC_ON_KEY_CONFLICT
    "state = 'deleted', deleted_at = excluded.deleted_at";
constexpr const char* kSqlRecordFailure =
    "INSERT INTO messages (account, folder, uid_validity, uid, state, attempts, last_error,"
    " first_seen_at, size) VALUES ($1, $2, $3, $4, 'seen', 1, $5, $6, $7)" MC_ON_KEY_CONFLICT
    MC_KEEP_KNOWN_SIZE "attempts = messages.attempts + 1, last_error = excluded.last_error";
// COLLATE "C": byte order, as SQLite sorts.
constexpr const char* kSqlQuarantined =
    "SELECT " MC_MESSAGE_COLUMNS " FROM messages"
    " WHERE state = 'quarantined' AND ($1 = '' OR account = $1) ORDER BY account COLLATE \"C\", id";
constexpr const char* kSqlRequeueQuarantined =
    "UPDATE messages SET state = 'seen', attempts = 0, last_error = ''"
    " WHERE " MC_MESSAGE_KEY " AND state = 'quarantined'";
constexpr const char* kSqlDropQuarantined =
    "UPDATE messages SET state = 'skipped', last_error = $5"
    " WHERE " MC_MESSAGE_KEY " AND state = 'quarantined'";
constexpr const char* kSqlMailboxUids =
    "SELECT uid FROM messages WHERE account = $1 AND folder = $2 AND uid_validity = $3";
// Primary-key lookups of the given uids, in one statement however many there are.
constexpr const char* kSqlDeleteUids =
    "DELETE FROM messages WHERE account = $1 AND folder = $2 AND uid_validity = $3"
    " AND uid = ANY($4::text[])";

// A page of a mailbox's rows after id $4, so that a big mailbox is read a page at a time.
constexpr const char* kSqlMailboxPage =
    "SELECT " MC_MESSAGE_COLUMNS ", id FROM messages"
    " WHERE account = $1 AND folder = $2 AND uid_validity = $3 AND id > $4 ORDER BY id LIMIT 5000";
constexpr const char* kSqlMessage = "SELECT " MC_MESSAGE_COLUMNS " FROM messages WHERE " MC_MESSAGE_KEY;
// $4: delivered rows up to this delivered_at are due (-1: none).
constexpr const char* kSqlWorkDue =
    "SELECT " MC_MESSAGE_COLUMNS " FROM messages"
    " WHERE account = $1 AND folder = $2 AND uid_validity = $3"
    " AND (state = 'seen' OR (state = 'delivered' AND delivered_at <= $4)) ORDER BY id";
constexpr const char* kSqlMailboxMark =
    "SELECT uid_validity, uid_next, messages, last_uid, fetch_limit FROM mailbox_marks"
    " WHERE account = $1 AND folder = $2";
constexpr const char* kSqlRecordMailboxMark =
    "INSERT INTO mailbox_marks (account, folder, uid_validity, uid_next, messages, last_uid, fetch_limit)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account, folder) DO UPDATE SET"
    " uid_validity = excluded.uid_validity, uid_next = excluded.uid_next, messages = excluded.messages,"
    " last_uid = excluded.last_uid, fetch_limit = excluded.fetch_limit";
constexpr const char* kSqlClearMailboxMark = "DELETE FROM mailbox_marks WHERE account = $1 AND folder = $2";

// Leases shown by status are the unexpired ones.
#define MC_ACCOUNT_SELECT                                                                  \
    "SELECT a.name, a.first_seen_at, a.last_poll_at, a.last_result, a.last_error,"         \
    " a.next_poll_at, COALESCE(l.holder, '') FROM accounts a LEFT JOIN leases l"           \
    " ON l.account = a.name AND l.expires_at > clock_timestamp()"
constexpr const char* kSqlAccount = MC_ACCOUNT_SELECT " WHERE a.name = $1";
// COLLATE "C": byte order, as SQLite sorts, whatever the database's locale.
constexpr const char* kSqlAccounts = MC_ACCOUNT_SELECT " ORDER BY a.name COLLATE \"C\"";
constexpr const char* kSqlAccountCounts =
    "SELECT state, COUNT(*) FROM messages WHERE account = $1 GROUP BY state";
constexpr const char* kSqlAllCounts =
    "SELECT account, state, COUNT(*) FROM messages GROUP BY account, state";
constexpr const char* kSqlRegisterAccount =
    "INSERT INTO accounts (name, first_seen_at) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET"
    " first_seen_at = excluded.first_seen_at WHERE accounts.first_seen_at = 0";
constexpr const char* kSqlRecordPoll =
    "INSERT INTO accounts (name, first_seen_at, last_poll_at, last_result, last_error)"
    " VALUES ($1, 0, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET last_poll_at = excluded.last_poll_at,"
    " last_result = excluded.last_result, last_error = excluded.last_error";
constexpr const char* kSqlRecordNextPoll =
    "UPDATE accounts SET next_poll_at = $2 WHERE name = $1";
// Rewrites the version row with its own value: a real, durable commit that changes no data.
constexpr const char* kSqlProbe = "UPDATE schema_version SET version = version";

constexpr const char* kSqlTakeLease =
    "INSERT INTO leases (account, holder, expires_at) VALUES ($1, $2, " MC_LEASE_END ")"
    " ON CONFLICT (account) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
    " WHERE leases.holder = excluded.holder OR leases.expires_at <= clock_timestamp()"
    " RETURNING holder";
constexpr const char* kSqlLeaseHolder = "SELECT holder FROM leases WHERE account = $1";
constexpr const char* kSqlRenewLease =
    "UPDATE leases SET expires_at = " MC_LEASE_END " WHERE account = $1 AND holder = $2";
constexpr const char* kSqlReleaseLease = "DELETE FROM leases WHERE account = $1 AND holder = $2";

constexpr const char* kSqlLockForImport = "LOCK TABLE accounts, messages IN EXCLUSIVE MODE";
constexpr const char* kSqlImportConflicts =
    "SELECT name FROM accounts WHERE name = ANY($1::text[])"
    " UNION SELECT DISTINCT account FROM messages WHERE account = ANY($1::text[]) ORDER BY 1";
constexpr const char* kSqlImportAccount =
    "INSERT INTO accounts (name, first_seen_at, last_poll_at, last_result, last_error, next_poll_at)"
    " VALUES ($1, $2, $3, $4, $5, $6)";
constexpr const char* kSqlImportMessages =
    "COPY messages (" MC_MESSAGE_COLUMNS ", deleted_at) FROM STDIN";

#undef MC_MESSAGE_COLUMNS
#undef MC_MESSAGE_KEY
#undef MC_ON_KEY_CONFLICT
#undef MC_KEEP_KNOWN_SIZE
#undef MC_LEASE_END
#undef MC_ACCOUNT_SELECT
// clang-format on

// A failed libpq call, carrying PostgreSQL's own message (never parameters or the URL). The
// public methods rethrow it as LedgerError naming the operation.
class PgFailure : public std::runtime_error {
public:
    PgFailure(const std::string& message, bool connectionLost)
        : std::runtime_error(message), connectionLost_(connectionLost) {}
    bool connectionLost() const { return connectionLost_; }

private:
    bool connectionLost_;
};

LedgerError operationError(const char* operation, const std::string& detail) {
    return LedgerError(std::string("ledger: ") + operation + " failed: " + detail);
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

std::string connectionError(pg_conn* conn) { return conn != nullptr ? trimmed(PQerrorMessage(conn)) : "out of memory"; }

// PostgreSQL text must be valid UTF-8 without NUL; free-form values (Message-ID, error texts)
// may be neither. Each invalid byte becomes '?'. Keys (account, folder, uid) are valid already:
// account names come from the TOML config, folders are decoded to UTF-8, UIDs are ASCII.
std::string validText(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t size = text.size();
    for (std::size_t i = 0; i < size;) {
        const unsigned char c = bytes[i];
        std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        bool valid = length != 0 && c != 0 && i + length <= size && !(length == 2 && c < 0xC2);
        for (std::size_t k = 1; valid && k < length; ++k) valid = (bytes[i + k] & 0xC0) == 0x80;
        if (valid && length == 3) {
            const unsigned next = bytes[i + 1];
            valid = !(c == 0xE0 && next < 0xA0) && !(c == 0xED && next >= 0xA0);  // overlong, surrogate
        }
        if (valid && length == 4) {
            const unsigned next = bytes[i + 1];
            valid = c <= 0xF4 && !(c == 0xF0 && next < 0x90) && !(c == 0xF4 && next >= 0x90);
        }
        if (valid) {
            out.append(text, i, length);
            i += length;
        } else {
            out += '?';
            ++i;
        }
    }
    return out;
}

// A PostgreSQL text[] literal: {"a","b\"c"}.
std::string textArray(const std::vector<std::string>& values) {
    std::string out = "{";
    for (const std::string& value : values) {
        if (out.size() > 1) out += ',';
        out += '"';
        for (char c : value) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

// One field of COPY's text format.
void appendCopyField(std::string& out, const std::string& value) {
    for (char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                out += c;
        }
    }
}

std::string number(std::int64_t value) { return std::to_string(value); }
std::string number(std::uint64_t value) { return std::to_string(static_cast<std::int64_t>(value)); }

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::vector<std::string> keyParams(const MessageKey& key) {
    return {key.account, key.folder, number(key.uidValidity), key.uid};
}

MessageState parseState(const std::string& text) {
    if (auto state = parseMessageState(text)) return *state;
    throw PgFailure("unknown message state in the ledger", false);
}

}  // namespace

// Owns one PGresult.
class PostgresLedgerStore::Result {
public:
    explicit Result(pg_result* result) : result_(result) {}
    ~Result() { PQclear(result_); }
    Result(Result&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;

    pg_result* get() const { return result_; }
    int rows() const { return PQntuples(result_); }
    std::string text(int row, int column) const {
        return std::string(PQgetvalue(result_, row, column),
                           static_cast<std::size_t>(PQgetlength(result_, row, column)));
    }
    std::int64_t integer(int row, int column) const { return std::stoll(PQgetvalue(result_, row, column)); }
    // Rows a command changed (INSERT, UPDATE, DELETE).
    std::uint64_t changed() const {
        const char* count = PQcmdTuples(result_);
        return *count != '\0' ? std::stoull(count) : 0;
    }
    MessageRecord message(int row) const {
        MessageRecord record;
        record.key.account = text(row, 0);
        record.key.folder = text(row, 1);
        record.key.uidValidity = static_cast<std::uint64_t>(integer(row, 2));
        record.key.uid = text(row, 3);
        record.size = static_cast<std::uint64_t>(integer(row, 4));
        record.state = parseState(text(row, 5));
        record.contentHash = text(row, 6);
        record.messageId = text(row, 7);
        record.firstSeenAt = integer(row, 8);
        record.deliveredAt = integer(row, 9);
        record.attempts = static_cast<int>(integer(row, 10));
        record.headerHash = text(row, 12);
        record.lastError = text(row, 11);
        return record;
    }
    AccountRecord account(int row) const {
        AccountRecord record;
        record.name = text(row, 0);
        record.firstSeenAt = integer(row, 1);
        record.lastPollAt = integer(row, 2);
        record.lastResult = text(row, 3);
        record.lastError = text(row, 4);
        record.nextPollAt = integer(row, 5);
        record.leaseHolder = text(row, 6);
        return record;
    }

private:
    pg_result* result_;
};

int PostgresLedgerStore::schemaVersion() { return kSchemaVersion; }

PostgresLedgerStore::PostgresLedgerStore(const std::string& url) : url_(url) {
    std::lock_guard lock(mutex_);
    try {
        connect();
        migrate();
    } catch (const PgFailure& e) {
        PQfinish(conn_);
        conn_ = nullptr;
        throw LedgerError("cannot open the PostgreSQL ledger: " + std::string(e.what()));
    }
}

PostgresLedgerStore::~PostgresLedgerStore() { PQfinish(conn_); }

void PostgresLedgerStore::connect() {
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) return;
    PQfinish(conn_);
    // Defaults first: the URL (expanded from "dbname") overrides any of them. Keepalives find a
    // server that vanished without closing the connection.
    const char* keywords[] = {"connect_timeout",
                              "application_name",
                              "keepalives_idle",
                              "keepalives_interval",
                              "keepalives_count",
                              "dbname",
                              nullptr};
    const char* values[] = {"10", "mailcollector", "30", "10", "3", url_.c_str(), nullptr};
    conn_ = PQconnectdbParams(keywords, values, 1);
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) throw PgFailure(connectionError(conn_), false);
    // NOTICEs ("relation already exists, skipping") are not for the operator's terminal.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    // Every commit must be on the server's disk before a source message may be deleted.
    if (Result setting = query("SHOW synchronous_commit"); setting.text(0, 0) == "off")
        execute("SET synchronous_commit = on");
}

void PostgresLedgerStore::migrate() {
    // Up to date: nothing to write (a read-only standby or role can still be read).
    if (Result exists = query("SELECT to_regclass('schema_version') IS NOT NULL"); exists.text(0, 0) == "t") {
        if (Result current = query("SELECT version FROM schema_version");
            current.rows() == 1 && current.integer(0, 0) == kSchemaVersion)
            return;
    }
    transaction([&] {
        execute(kSqlSchemaLock);
        execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
        Result current = query("SELECT version FROM schema_version");
        int version = 0;
        if (current.rows() == 0)
            execute("INSERT INTO schema_version (version) VALUES (0)");
        else
            version = static_cast<int>(current.integer(0, 0));
        if (version > kSchemaVersion) {
            throw PgFailure("the ledger has schema version " + std::to_string(version) +
                                ", newer than this build knows (" + std::to_string(kSchemaVersion) +
                                "); upgrade mailcollector",
                            false);
        }
        for (int next = version; next < kSchemaVersion; ++next) {
            try {
                execute(kMigrations[next]);
            } catch (const PgFailure& e) {
                throw PgFailure("migration to schema version " + std::to_string(next + 1) + ": " + e.what(),
                                e.connectionLost());
            }
        }
        if (version != kSchemaVersion)
            query("UPDATE schema_version SET version = $1", {std::to_string(kSchemaVersion)});
    });
}

namespace {

// Throws PgFailure unless `result` is a success.
void check(pg_conn* conn, pg_result* result) {
    const ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_IN) return;
    std::string message = result != nullptr ? trimmed(PQresultErrorMessage(result)) : "";
    if (message.empty()) message = connectionError(conn);
    for (char& c : message)
        if (c == '\n') c = ' ';
    throw PgFailure(message, PQstatus(conn) == CONNECTION_BAD);
}

}  // namespace

PostgresLedgerStore::Result PostgresLedgerStore::query(const char* sql, const std::vector<std::string>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const std::string& param : params) values.push_back(param.c_str());
    Result result(
        PQexecParams(conn_, sql, static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0));
    check(conn_, result.get());
    return result;
}

void PostgresLedgerStore::execute(const char* sql) {
    // PQexec: several statements at once (migrations), no parameters.
    Result result(PQexec(conn_, sql));
    check(conn_, result.get());
}

template <typename Body>
void PostgresLedgerStore::transaction(Body&& body) {
    execute("BEGIN");
    try {
        body();
        execute("COMMIT");
    } catch (...) {
        if (PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_IDLE) {
            PQclear(PQexec(conn_, "ROLLBACK"));
        }
        throw;
    }
}

template <typename Body>
auto PostgresLedgerStore::run(const char* operation, Body&& body) {
    std::lock_guard lock(mutex_);
    for (int attempt = 0;; ++attempt) {
        try {
            connect();
            return body();
        } catch (const PgFailure& e) {
            // A dropped connection (server restart, failover, idle timeout) is re-established
            // once. Writes are upserts, so running one again is safe (recordFailure may count
            // that failure twice).
            if (e.connectionLost() && attempt == 0) continue;
            throw operationError(operation, e.what());
        } catch (const std::invalid_argument& e) {  // std::stoll on a value we did not write
            throw operationError(operation, std::string("unexpected value in the ledger: ") + e.what());
        } catch (const std::out_of_range& e) {
            throw operationError(operation, std::string("unexpected value in the ledger: ") + e.what());
        }
    }
}

std::vector<MessageRecord> PostgresLedgerStore::messages(const std::string& account, const std::string& folder,
                                                         std::uint64_t uidValidity) {
    return run("messages", [&] {
        Result rows = query(kSqlMailbox, {account, folder, number(uidValidity)});
        std::vector<MessageRecord> records;
        records.reserve(static_cast<std::size_t>(rows.rows()));
        for (int row = 0; row < rows.rows(); ++row) records.push_back(rows.message(row));
        return records;
    });
}

void PostgresLedgerStore::forEachMessage(const std::string& account, const std::string& folder,
                                         std::uint64_t uidValidity,
                                         const std::function<bool(const MessageRecord&)>& visit) {
    std::string after = "0";
    for (;;) {
        Result page = run("forEachMessage", [&] {
            return query(kSqlMailboxPage, {account, folder, number(uidValidity), after});
        });
        for (int row = 0; row < page.rows(); ++row)
            if (!visit(page.message(row))) return;
        if (page.rows() == 0) return;
        after = page.text(page.rows() - 1, 13);
    }
}

std::optional<MessageRecord> PostgresLedgerStore::message(const MessageKey& key) {
    const auto params = keyParams(key);
    return run("message", [&]() -> std::optional<MessageRecord> {
        Result rows = query(kSqlMessage, params);
        if (rows.rows() == 0) return std::nullopt;
        return rows.message(0);
    });
}

std::vector<MessageRecord> PostgresLedgerStore::workDue(const std::string& account, const std::string& folder,
                                                        std::uint64_t uidValidity,
                                                        std::optional<std::int64_t> deliveredBy) {
    return run("workDue", [&] {
        Result rows = query(kSqlWorkDue, {account, folder, number(uidValidity), number(deliveredBy.value_or(-1))});
        std::vector<MessageRecord> records;
        for (int row = 0; row < rows.rows(); ++row) records.push_back(rows.message(row));
        return records;
    });
}

void PostgresLedgerStore::forget(const std::string& account, const std::string& folder, std::uint64_t uidValidity,
                                 const std::vector<std::string>& uids) {
    if (uids.empty()) return;
    run("forget", [&] { query(kSqlDeleteUids, {account, folder, number(uidValidity), textArray(uids)}); });
}

std::optional<MailboxMark> PostgresLedgerStore::mailboxMark(const std::string& account, const std::string& folder) {
    return run("mailboxMark", [&]() -> std::optional<MailboxMark> {
        Result rows = query(kSqlMailboxMark, {account, folder});
        if (rows.rows() == 0) return std::nullopt;
        return MailboxMark{static_cast<std::uint64_t>(rows.integer(0, 0)),
                           static_cast<std::uint64_t>(rows.integer(0, 1)),
                           static_cast<std::uint64_t>(rows.integer(0, 2)), rows.text(0, 3),
                           static_cast<std::uint64_t>(rows.integer(0, 4))};
    });
}

void PostgresLedgerStore::recordMailboxMark(const std::string& account, const std::string& folder,
                                            const std::optional<MailboxMark>& mark) {
    run("recordMailboxMark", [&] {
        if (!mark) {
            query(kSqlClearMailboxMark, {account, folder});
            return;
        }
        query(kSqlRecordMailboxMark, {account, folder, number(mark->uidValidity), number(mark->uidNext),
                                      number(mark->messages), validText(mark->lastUid), number(mark->fetchLimit)});
    });
}

std::vector<MessageRecord> PostgresLedgerStore::messagesInFolder(const std::string& account,
                                                                 const std::string& folder) {
    return run("messagesInFolder", [&] {
        Result rows = query(kSqlFolder, {account, folder});
        std::vector<MessageRecord> records;
        records.reserve(static_cast<std::size_t>(rows.rows()));
        for (int row = 0; row < rows.rows(); ++row) records.push_back(rows.message(row));
        return records;
    });
}

void PostgresLedgerStore::recordSeen(const MessageKey& key, std::uint64_t size) {
    auto fill = keyParams(key);
    fill.push_back(number(size));
    auto seen = fill;
    seen.push_back(number(now()));
    run("recordSeen", [&] {
        transaction([&] {
            query(kSqlRecordSeen, seen);
            query(kSqlFillUnknownSize, fill);
        });
    });
}

void PostgresLedgerStore::markDelivered(const MessageKey& key, std::uint64_t size, const std::string& contentHash,
                                        const std::string& messageId, const std::string& headerHash) {
    auto params = keyParams(key);
    for (std::string value :
         {validText(contentHash), validText(messageId), number(now()), number(size), validText(headerHash)})
        params.push_back(std::move(value));
    run("markDelivered", [&] { query(kSqlMarkDelivered, params); });
}

void PostgresLedgerStore::upsertState(const char* operation, const MessageKey& key, std::uint64_t size,
                                      const char* state, const std::string& reason) {
    auto params = keyParams(key);
    for (std::string value : {std::string(state), validText(reason), number(now()), number(size)})
        params.push_back(std::move(value));
    run(operation, [&] { query(kSqlMarkWithReason, params); });
}

void PostgresLedgerStore::markQuarantined(const MessageKey& key, std::uint64_t size, const std::string& reason) {
    upsertState("markQuarantined", key, size, toString(MessageState::Quarantined), reason);
}

void PostgresLedgerStore::markSkipped(const MessageKey& key, std::uint64_t size, const std::string& reason) {
    upsertState("markSkipped", key, size, toString(MessageState::Skipped), reason);
}

void PostgresLedgerStore::markDeleted(const MessageKey& key) {
    auto params = keyParams(key);
    params.push_back(number(now()));
    run("markDeleted", [&] { query(kSqlMarkDeleted, params); });
}

void PostgresLedgerStore::recordFailure(const MessageKey& key, std::uint64_t size, const std::string& error) {
    auto params = keyParams(key);
    for (std::string value : {validText(error), number(now()), number(size)}) params.push_back(std::move(value));
    run("recordFailure", [&] { query(kSqlRecordFailure, params); });
}

std::vector<MessageRecord> PostgresLedgerStore::quarantined(const std::string& account) {
    return run("quarantined", [&] {
        Result rows = query(kSqlQuarantined, {account});
        std::vector<MessageRecord> records;
        records.reserve(static_cast<std::size_t>(rows.rows()));
        for (int row = 0; row < rows.rows(); ++row) records.push_back(rows.message(row));
        return records;
    });
}

bool PostgresLedgerStore::requeueQuarantined(const MessageKey& key) {
    const auto params = keyParams(key);
    return run("requeueQuarantined", [&] { return query(kSqlRequeueQuarantined, params).changed() == 1; });
}

bool PostgresLedgerStore::dropQuarantined(const MessageKey& key, const std::string& reason) {
    auto params = keyParams(key);
    params.push_back(validText(reason));
    return run("dropQuarantined", [&] { return query(kSqlDropQuarantined, params).changed() == 1; });
}

void PostgresLedgerStore::forgetAbsent(const std::string& account, const std::string& folder, std::uint64_t uidValidity,
                                       const std::vector<std::string>& present) {
    std::vector<std::string> params{account, folder, number(uidValidity)};
    run("forgetAbsent", [&] {
        // Diff in memory, as SQLite does: the planner cannot be trusted to hash a 100,000-element
        // parameter, and a nested loop over it takes minutes.
        transaction([&] {
            Result stored = query(kSqlMailboxUids, params);
            const std::unordered_set<std::string_view> keep(present.begin(), present.end());
            std::vector<std::string> absent;
            for (int row = 0; row < stored.rows(); ++row) {
                std::string uid = stored.text(row, 0);
                if (!keep.contains(uid)) absent.push_back(std::move(uid));
            }
            if (absent.empty()) return;
            auto remove = params;
            remove.push_back(textArray(absent));
            query(kSqlDeleteUids, remove);
        });
    });
}

std::optional<AccountRecord> PostgresLedgerStore::account(const std::string& name) {
    return run("account", [&]() -> std::optional<AccountRecord> {
        Result row = query(kSqlAccount, {name});
        if (row.rows() == 0) return std::nullopt;
        AccountRecord record = row.account(0);
        Result counts = query(kSqlAccountCounts, {name});
        for (int i = 0; i < counts.rows(); ++i)
            addStateCount(record, parseState(counts.text(i, 0)), static_cast<std::uint64_t>(counts.integer(i, 1)));
        return record;
    });
}

std::vector<AccountRecord> PostgresLedgerStore::accounts() {
    return run("accounts", [&] {
        std::vector<AccountRecord> records;
        std::unordered_map<std::string, std::size_t> byName;
        Result rows = query(kSqlAccounts);
        for (int i = 0; i < rows.rows(); ++i) {
            records.push_back(rows.account(i));
            byName.emplace(records.back().name, records.size() - 1);
        }
        Result counts = query(kSqlAllCounts);
        for (int i = 0; i < counts.rows(); ++i) {
            // Rows of accounts never registered are not reported.
            if (auto it = byName.find(counts.text(i, 0)); it != byName.end())
                addStateCount(records[it->second], parseState(counts.text(i, 1)),
                              static_cast<std::uint64_t>(counts.integer(i, 2)));
        }
        return records;
    });
}

bool PostgresLedgerStore::registerAccount(const std::string& name) {
    const std::vector<std::string> params{name, number(now())};
    return run("registerAccount", [&] { return query(kSqlRegisterAccount, params).changed() == 1; });
}

void PostgresLedgerStore::recordPoll(const std::string& name, const std::string& result, const std::string& error) {
    const std::vector<std::string> params{name, number(now()), result, validText(error)};
    run("recordPoll", [&] { query(kSqlRecordPoll, params); });
}

void PostgresLedgerStore::recordNextPoll(const std::string& name, std::int64_t nextPollAt) {
    const std::vector<std::string> params{name, number(nextPollAt)};
    run("recordNextPoll", [&] { query(kSqlRecordNextPoll, params); });
}

void PostgresLedgerStore::probeWrite() {
    run("probeWrite", [&] { query(kSqlProbe); });
}

Lease PostgresLedgerStore::takeLease(const std::string& account, const std::string& holder,
                                     std::chrono::milliseconds ttl) {
    const std::vector<std::string> params{account, holder, std::to_string(ttl.count())};
    return run("takeLease", [&] {
        // Twice at most: the holder seen refusing us may release it before we read who it is.
        for (int attempt = 0; attempt < 2; ++attempt) {
            if (query(kSqlTakeLease, params).rows() == 1) return Lease{true, holder};
            Result current = query(kSqlLeaseHolder, {account});
            if (current.rows() == 1) return Lease{false, current.text(0, 0)};
        }
        return Lease{false, "another instance"};
    });
}

bool PostgresLedgerStore::renewLease(const std::string& account, const std::string& holder,
                                     std::chrono::milliseconds ttl) {
    const std::vector<std::string> params{account, holder, std::to_string(ttl.count())};
    return run("renewLease", [&] { return query(kSqlRenewLease, params).changed() == 1; });
}

void PostgresLedgerStore::releaseLease(const std::string& account, const std::string& holder) {
    const std::vector<std::string> params{account, holder};
    run("releaseLease", [&] { query(kSqlReleaseLease, params); });
}

ImportCounts PostgresLedgerStore::importLedger(const std::vector<std::string>& names,
                                               const std::vector<AccountRecord>& accounts,
                                               const std::function<bool(StoredMessage&)>& next) {
    std::lock_guard lock(mutex_);
    ImportCounts counts;
    try {
        connect();
        transaction([&] {
            execute(kSqlLockForImport);
            Result conflicts = query(kSqlImportConflicts, {textArray(names)});
            if (conflicts.rows() > 0) {
                std::string list;
                for (int i = 0; i < conflicts.rows() && i < 10; ++i)
                    list += (list.empty() ? "" : ", ") + conflicts.text(i, 0);
                if (conflicts.rows() > 10) list += ", ...";
                throw PgFailure("the target ledger already holds " + std::to_string(conflicts.rows()) +
                                    " of these accounts (" + list + "); nothing was copied",
                                false);
            }
            for (const AccountRecord& account : accounts) {
                query(kSqlImportAccount,
                      {account.name, number(account.firstSeenAt), number(account.lastPollAt), account.lastResult,
                       validText(account.lastError), number(account.nextPollAt)});
                ++counts.accounts;
            }
            execute(kSqlImportMessages);
            try {
                copyMessages(next, counts);
            } catch (...) {
                // Ends COPY so that the transaction can be rolled back.
                PQputCopyEnd(conn_, "import aborted");
                while (pg_result* rest = PQgetResult(conn_)) PQclear(rest);
                throw;
            }
            Result copied(PQgetResult(conn_));
            check(conn_, copied.get());
            while (pg_result* extra = PQgetResult(conn_)) PQclear(extra);
        });
    } catch (const PgFailure& e) {
        throw operationError("import", e.what());
    }
    return counts;
}

void PostgresLedgerStore::copyMessages(const std::function<bool(StoredMessage&)>& next, ImportCounts& counts) {
    std::string buffer;
    auto flush = [&] {
        if (!buffer.empty() && PQputCopyData(conn_, buffer.data(), static_cast<int>(buffer.size())) != 1)
            throw PgFailure(connectionError(conn_), PQstatus(conn_) == CONNECTION_BAD);
        buffer.clear();
    };
    StoredMessage message;
    while (next(message)) {
        const MessageRecord& r = message.record;
        for (const std::string& field :
             {r.key.account, r.key.folder, number(r.key.uidValidity), r.key.uid, number(r.size),
              std::string(toString(r.state)), validText(r.contentHash), validText(r.messageId), number(r.firstSeenAt),
              number(r.deliveredAt), std::to_string(r.attempts), validText(r.lastError), validText(r.headerHash),
              number(message.deletedAt)}) {
            appendCopyField(buffer, field);
            buffer += '\t';
        }
        buffer.back() = '\n';
        ++counts.messages;
        if (r.state == MessageState::Seen) ++counts.pending;
        if (r.state == MessageState::Quarantined) ++counts.quarantined;
        if (buffer.size() >= 256 * 1024) flush();
    }
    flush();
    if (PQputCopyEnd(conn_, nullptr) != 1) throw PgFailure(connectionError(conn_), false);
}

void PostgresLedgerStore::executeForTesting(const std::string& sql) {
    run("executeForTesting", [&] { execute(sql.c_str()); });
}

}  // namespace mc::ledger
