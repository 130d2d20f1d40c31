#include <Poco/Data/PostgreSQL/PostgreSQLException.h>
#include <Poco/Data/PostgreSQL/SessionHandle.h>
#include <Poco/Data/PostgreSQL/SessionImpl.h>
#include <libpq-fe.h>

#include <cstdlib>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "collector/ledger/LedgerBackend.hpp"
#include "collector/ledger/PostgresLedgerStore.hpp"

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
    // Version 4 (SQLite's version 6): each account's last polls, and older ones summed per day (the status page).
    R"sql(
CREATE TABLE IF NOT EXISTS poll_history (
    id BIGSERIAL PRIMARY KEY,
    account TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL DEFAULT 0,
    result TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    fetched BIGINT NOT NULL DEFAULT 0,
    delivered BIGINT NOT NULL DEFAULT 0,
    quarantined BIGINT NOT NULL DEFAULT 0,
    deferred BIGINT NOT NULL DEFAULT 0,
    skipped BIGINT NOT NULL DEFAULT 0,
    deleted BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS poll_history_by_account ON poll_history (account, id);
CREATE TABLE IF NOT EXISTS poll_days (
    account TEXT NOT NULL,
    day BIGINT NOT NULL,
    polls BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    fetched BIGINT NOT NULL DEFAULT 0,
    delivered BIGINT NOT NULL DEFAULT 0,
    quarantined BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (account, day)
);
)sql",
    // Version 5 (SQLite's version 7): the folder's HIGHESTMODSEQ in its mark (IMAP QRESYNC).
    R"sql(
ALTER TABLE mailbox_marks ADD COLUMN IF NOT EXISTS highest_mod_seq BIGINT NOT NULL DEFAULT 0;
)sql",
    // Version 6 (SQLite's version 8): cross-account dedupe ([collector] dedupe = "message-id"): who claimed each
    // (Message-ID, body hash) first; the primary key makes the claim atomic. And the bytes each account
    // downloaded per hour, for max_bytes_per_day.
    R"sql(
CREATE TABLE IF NOT EXISTS dedupe_claims (
    message_id TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    uid_validity BIGINT NOT NULL,
    uid TEXT NOT NULL,
    claimed_at BIGINT NOT NULL,
    settled BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (message_id, body_hash)
);
CREATE TABLE IF NOT EXISTS downloads (
    account TEXT NOT NULL,
    hour BIGINT NOT NULL,
    bytes BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (account, hour)
);
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// SQL is laid out to be read as SQL.
// clang-format off
// pg_advisory_xact_lock key for schema changes: "mailcoll" in ASCII.
constexpr const char* kSqlSchemaLock = "SELECT pg_advisory_xact_lock(7809643557136232300)";
constexpr const char* kSqlSchemaExists = "SELECT CAST(to_regclass('schema_version') IS NOT NULL AS INTEGER)";
constexpr const char* kSqlSchemaVersion = "SELECT version FROM schema_version";
constexpr const char* kSqlCreateSchemaVersion = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)";
constexpr const char* kSqlInsertSchemaVersion = "INSERT INTO schema_version (version) VALUES (0)";
constexpr const char* kSqlSetSchemaVersion = "UPDATE schema_version SET version = ?";
// Rewrites the version row with its own value: a real, durable commit that changes no data.
constexpr const char* kSqlProbe = "UPDATE schema_version SET version = version";

#define MC_LEASE_END "clock_timestamp() + CAST(? AS float8) * interval '1 millisecond'"
constexpr const char* kSqlTakeLease =
    "INSERT INTO leases (account, holder, expires_at) VALUES (?, ?, " MC_LEASE_END ")"
    " ON CONFLICT (account) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
    " WHERE leases.holder = excluded.holder OR leases.expires_at <= clock_timestamp()";
constexpr const char* kSqlLeaseHolder = "SELECT holder FROM leases WHERE account = ?";
constexpr const char* kSqlRenewLease =
    "UPDATE leases SET expires_at = " MC_LEASE_END " WHERE account = ? AND holder = ?";
#undef MC_LEASE_END

constexpr const char* kSqlLockForImport = "LOCK TABLE accounts, messages IN EXCLUSIVE MODE";
constexpr const char* kSqlCopyMessages =
    "COPY messages (account, folder, uid_validity, uid, size, state, content_hash, message_id,"
    " first_seen_at, delivered_at, attempts, last_error, header_hash, deleted_at) FROM STDIN";
// clang-format on

// Options every connection gets unless the URL sets them: a bounded connect, a name the
// operator (and the tests) can find in pg_stat_activity, and keepalives that find a server that
// vanished without closing the connection.
constexpr std::pair<const char*, const char*> kConnectionDefaults[] = {
    {"connect_timeout", "10"}, {"application_name", "mailcollector"},
    {"keepalives_idle", "30"}, {"keepalives_interval", "10"},
    {"keepalives_count", "3"},
};

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.pop_back();
    return text;
}

// `url`'s options as the "key=value key=value" string Poco's PostgreSQL connector takes (it
// does not take URLs). Poco splits that string at spaces without regard to quoting, so a value
// with a space cannot pass; libpq reads `\` as an escape in unquoted values.
std::string connectionString(const std::string& url, std::string& password) {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(PQconninfoParse(url.c_str(), &error),
                                                                         &PQconninfoFree);
    if (!options) {
        // libpq's message names the part of the URL it could not read, never the password.
        const std::string detail = error != nullptr ? trimmed(error) : "out of memory";
        PQfreemem(error);
        throw SqlFailure("the PostgreSQL URL is not valid: " + detail);
    }
    std::string text;
    auto append = [&](std::string_view key, std::string_view value) {
        if (value.find_first_of(" \t\n\r") != std::string_view::npos) {
            throw SqlFailure("the PostgreSQL URL's " + std::string(key) +
                             " holds a space, which the connector cannot pass on; for a password, use a "
                             "password file (~/.pgpass or PGPASSFILE) instead");
        }
        text += key;
        text += '=';
        for (const char c : value) {
            if (c == '\\' || c == '\'') text += '\\';
            text += c;
        }
        text += ' ';
    };
    for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
        if (option->val == nullptr) continue;
        if (std::string_view(option->keyword) == "password") password = option->val;
        append(option->keyword, option->val);
    }
    for (const auto& [key, value] : kConnectionDefaults) {
        bool set = false;
        for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
            set = set || (option->val != nullptr && std::string_view(option->keyword) == key);
        }
        if (!set) append(key, value);
    }
    return text;
}

struct ClearResult {
    void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ClearResult>;

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

class PostgresBackend final : public LedgerBackend {
public:
    // Migrate: the store's first connection brings the schema up to date; the others find it so.
    enum class Schema { Migrate, AsIs };

    PostgresBackend(const std::string& url, Schema schema) : url_(url) {
        try {
            connect();
            if (schema == Schema::Migrate) migrate();
        } catch (const Poco::Exception& e) {
            throw LedgerError("cannot open the PostgreSQL ledger: " + describe(e));
        } catch (const SqlFailure& e) {
            throw LedgerError("cannot open the PostgreSQL ledger: " + std::string(e.what()));
        }
    }

    // Poco's session keeps the transaction state; its begin/commit/rollback also defer the
    // deallocation of statements prepared inside a transaction until it ends.
    // Every commit waits for the server's WAL flush, Bookkeeping ones too: PostgreSQL groups
    // concurrent commits' flushes itself.
    void beginWrite(Durability) override { session().begin(); }
    void beginRead() override { session().begin(); }
    void commit() override { session().commit(); }
    void rollback() override { session().rollback(); }
    bool inTransaction() override {
        return connection() != nullptr && PQtransactionStatus(connection()) != PQTRANS_IDLE;
    }
    bool connectionLost() override { return connection() == nullptr || PQstatus(connection()) == CONNECTION_BAD; }
    void reconnect() override {
        statements_.clear();  // they lived in the lost session
        session_.reset();
        handle_ = nullptr;
        connect();
    }

    // PostgreSQL's own message: its first line, without Poco's prefix. What follows it in
    // Poco's texts is the statement's SQL or the connection string (with the password), never
    // shown; other Poco failures are named by their kind only, for the same reason.
    std::string describe(const Poco::Exception& error) override {
        if (dynamic_cast<const Poco::Data::PostgreSQL::PostgreSQLException*>(&error) == nullptr &&
            dynamic_cast<const Poco::Data::ConnectionFailedException*>(&error) == nullptr) {
            return error.name();
        }
        std::string text = error.message();
        for (std::string_view prefix :
             {"postgresql_stmt_prepare error: ", "postgresql_stmt_execute error: ", "Connection Error: ",
              "BEGIN statement failed:: ", "COMMIT statement failed:: ", "ROLLBACK statement failed:: "}) {
            if (text.starts_with(prefix)) text.erase(0, prefix.size());
        }
        text = trimmed(text.substr(0, text.find('\n')));
        for (std::string_view severity : {"ERROR:  ", "FATAL:  "}) {
            if (text.starts_with(severity)) text.erase(0, severity.size());
        }
        if (!password_.empty()) {
            for (std::size_t at = text.find(password_); at != std::string::npos; at = text.find(password_)) {
                text.replace(at, password_.size(), "***");
            }
        }
        return text.empty() ? error.name() : text;
    }

    void probeWrite() override { execute(kSqlProbe); }

    Lease takeLease(const std::string& account, const std::string& holder, std::chrono::milliseconds ttl) override {
        // Twice at most: the holder seen refusing us may release it before we read who it is.
        for (int attempt = 0; attempt < 2; ++attempt) {
            if (execute(kSqlTakeLease, {account, holder, std::int64_t{ttl.count()}}) == 1) return Lease{true, holder};
            const SqlRows current = select(kSqlLeaseHolder, "T", {account});
            if (current.size() == 1) return Lease{false, current.text(0, 0)};
        }
        return Lease{false, "another instance"};
    }

    bool renewLease(const std::string& account, const std::string& holder, std::chrono::milliseconds ttl) override {
        return execute(kSqlRenewLease, {std::int64_t{ttl.count()}, account, holder}) == 1;
    }

    // A text[] literal: {"a","b\"c"}.
    std::string textList(const std::vector<std::string>& values) const override {
        std::string out = "{";
        for (const std::string& value : values) {
            if (out.size() > 1) out += ',';
            out += '"';
            for (const char c : validText(value)) {
                if (c == '"' || c == '\\') out += '\\';
                out += c;
            }
            out += '"';
        }
        return out + "}";
    }

    void lockForImport() override { execute(kSqlLockForImport); }

    // COPY FROM STDIN: Poco::Data has no COPY, so this streams through the session's libpq
    // handle (a whole ledger in one statement instead of a round trip per row).
    void copyMessages(const std::function<bool(StoredMessage&)>& next, ImportCounts& counts) override {
        PGconn* conn = connection();
        auto fail = [&]() -> SqlFailure { return SqlFailure(trimmed(PQerrorMessage(conn))); };
        const Result started(PQexec(conn, kSqlCopyMessages));
        if (PQresultStatus(started.get()) != PGRES_COPY_IN) throw fail();
        std::string buffer;
        auto flush = [&] {
            if (!buffer.empty() && PQputCopyData(conn, buffer.data(), static_cast<int>(buffer.size())) != 1) {
                throw fail();
            }
            buffer.clear();
        };
        try {
            StoredMessage message;
            while (next(message)) {
                const MessageRecord& r = message.record;
                for (const std::string& field :
                     {r.key.account, r.key.folder, std::to_string(static_cast<std::int64_t>(r.key.uidValidity)),
                      r.key.uid, std::to_string(static_cast<std::int64_t>(r.size)), std::string(toString(r.state)),
                      validText(r.contentHash), validText(r.messageId), std::to_string(r.firstSeenAt),
                      std::to_string(r.deliveredAt), std::to_string(r.attempts), validText(r.lastError),
                      validText(r.headerHash), std::to_string(message.deletedAt)}) {
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
        } catch (...) {
            // Ends COPY so that the transaction can be rolled back.
            PQputCopyEnd(conn, "import aborted");
            while (PGresult* rest = PQgetResult(conn)) PQclear(rest);
            throw;
        }
        if (PQputCopyEnd(conn, nullptr) != 1) throw fail();
        bool copied = true;
        std::string error;
        while (PGresult* result = PQgetResult(conn)) {
            if (PQresultStatus(result) != PGRES_COMMAND_OK) {
                copied = false;
                error = trimmed(PQresultErrorMessage(result));
            }
            PQclear(result);
        }
        if (!copied) throw SqlFailure(error.substr(0, error.find('\n')));
    }

protected:
    std::size_t run(const char* sql, const SqlValue* begin, const SqlValue* end, SqlRows* rows) override {
        PGconn* conn = connection();
        if (conn == nullptr) throw Poco::Data::PostgreSQL::ConnectionException("not connected");
        const int count = static_cast<int>(end - begin);
        auto [it, added] = statements_.try_emplace(sql);
        if (added) {
            it->second = "mc_" + std::to_string(++statementsPrepared_);
            const Result prepared(PQprepare(conn, it->second.c_str(), text(sql).c_str(), count, nullptr));
            if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
                statements_.erase(it);
                throw Poco::Data::PostgreSQL::StatementException(std::string("postgresql_stmt_prepare error: ") +
                                                                 PQresultErrorMessage(prepared.get()));
            }
        }
        // Parameters in text format, as the connector passed them.
        std::vector<std::string> numbers;
        numbers.reserve(static_cast<std::size_t>(count));
        std::vector<const char*> values;
        for (const SqlValue* value = begin; value != end; ++value) {
            if (const auto* number = std::get_if<std::int64_t>(value)) {
                values.push_back(numbers.emplace_back(std::to_string(*number)).c_str());
            } else {
                values.push_back(std::get<std::string>(*value).c_str());
            }
        }
        const Result result(PQexecPrepared(conn, it->second.c_str(), count, values.data(), nullptr, nullptr, 0));
        const ExecStatusType status = PQresultStatus(result.get());
        if (status == PGRES_COMMAND_OK) return std::strtoull(PQcmdTuples(result.get()), nullptr, 10);
        if (status != PGRES_TUPLES_OK) {
            throw Poco::Data::PostgreSQL::StatementException(std::string("postgresql_stmt_execute error: ") +
                                                             PQresultErrorMessage(result.get()));
        }
        const int found = PQntuples(result.get());
        for (int row = 0; rows != nullptr && row < found; ++row) {
            for (std::size_t column = 0; column < rows->columnCount(); ++column) {
                const int at = static_cast<int>(column);
                const char* value = PQgetvalue(result.get(), row, at);  // "" for NULL
                if (rows->isText(column)) {
                    rows->addText(
                        column, std::string_view(value, static_cast<std::size_t>(PQgetlength(result.get(), row, at))));
                } else {
                    rows->addInteger(column, std::strtoll(value, nullptr, 10));
                }
            }
        }
        return static_cast<std::size_t>(found);
    }

    std::string dialect(std::string_view sql) const override {
        std::string text(sql);
        text = replaceAll(std::move(text), "{row_order}", "id");
        // Byte order, as SQLite sorts, whatever the database's locale.
        text = replaceAll(std::move(text), "{byte_order}", " COLLATE \"C\"");
        text = replaceAll(std::move(text), "{lease_unexpired}", "l.expires_at > clock_timestamp()");
        // A text[] parameter: a constant to the planner, which hashes it (an array computed in the
        // query is searched element by element for every row: minutes for 50,000).
        text = replaceAll(std::move(text), "{in_text_list}", " = ANY(CAST(? AS text[]))");
        // The connector takes $1, $2, ... (none of our string literals holds a '?').
        std::string numbered;
        int parameter = 0;
        for (const char c : text) {
            if (c == '?') {
                numbered += '$' + std::to_string(++parameter);
            } else {
                numbered += c;
            }
        }
        return numbered;
    }

private:
    PGconn* connection() { return handle_ != nullptr ? static_cast<PGconn*>(*handle_) : nullptr; }

    void connect() {
        const std::string options = connectionString(url_, password_);
        // Poco 1.11's SessionHandle::connect keeps (leaks) the PGconn of a failed attempt, about
        // 17 KB each, and the service retries a lost database forever: the attempt is made with
        // libpq first, which frees it, and the session opened once a server accepted one. (Poco
        // has no way to adopt that connection; the second costs a round trip per (re)connect.)
        {
            const std::unique_ptr<PGconn, decltype(&PQfinish)> attempt(PQconnectdb(options.c_str()), &PQfinish);
            if (PQstatus(attempt.get()) != CONNECTION_OK) {
                // As the connector words it, for describe().
                throw Poco::Data::ConnectionFailedException(
                    std::string("Connection Error: ") + (attempt ? PQerrorMessage(attempt.get()) : "out of memory"));
            }
        }
        session_.emplace(Poco::AutoPtr<Poco::Data::SessionImpl>(new Poco::Data::PostgreSQL::SessionImpl(options, 10)));
        handle_ = Poco::AnyCast<Poco::Data::PostgreSQL::SessionHandle*>(session_->getProperty("handle"));
        // NOTICEs ("relation already exists, skipping") are not for the operator's terminal;
        // Poco::Data has no notice hook, so this one setting goes through the libpq handle.
        PQsetNoticeProcessor(
            connection(), [](void*, const char*) {}, nullptr);
        // Every commit must be on the server's disk before a source message may be deleted.
        if (select("SHOW synchronous_commit", "T").text(0, 0) == "off") execute("SET synchronous_commit = on");
    }

    void migrate() {
        // Up to date: nothing to write (a read-only standby or role can still be read).
        if (select(kSqlSchemaExists, "I").integer(0, 0) == 1) {
            const SqlRows current = select(kSqlSchemaVersion, "I");
            if (current.size() == 1 && current.integer(0, 0) == kSchemaVersion) return;
        }
        session().begin();
        try {
            select(kSqlSchemaLock, "T");
            execute(kSqlCreateSchemaVersion);
            const SqlRows current = select(kSqlSchemaVersion, "I");
            int version = 0;
            if (current.size() == 0) {
                execute(kSqlInsertSchemaVersion);
            } else {
                version = static_cast<int>(current.integer(0, 0));
            }
            if (version > kSchemaVersion) {
                throw SqlFailure("the ledger has schema version " + std::to_string(version) +
                                 ", newer than this build knows (" + std::to_string(kSchemaVersion) +
                                 "); upgrade mailcollector");
            }
            for (int next = version; next < kSchemaVersion; ++next) {
                // A migration holds several statements, and the connector prepares one at a
                // time: each runs as its own statement.
                std::string_view script = kMigrations[next];
                try {
                    for (std::size_t end = script.find(';'); end != std::string_view::npos; end = script.find(';')) {
                        executeText(std::string(script.substr(0, end)));
                        script.remove_prefix(end + 1);
                    }
                } catch (const Poco::Exception& e) {
                    throw SqlFailure("migration to schema version " + std::to_string(next + 1) + ": " + describe(e));
                }
            }
            if (version != kSchemaVersion) execute(kSqlSetSchemaVersion, {std::int64_t{kSchemaVersion}});
            session().commit();
        } catch (...) {
            try {
                if (inTransaction()) session().rollback();
            } catch (const Poco::Exception&) {
                // The failure that got us here is the one to report.
            }
            throw;
        }
    }

    std::string url_;
    std::string password_;  // from the URL: never shown, even where libpq would echo it
    Poco::Data::PostgreSQL::SessionHandle* handle_ = nullptr;  // the session's libpq connection
    // The statements prepared in this session (by shared SQL constant) and their names.
    std::unordered_map<const char*, std::string> statements_;
    std::uint64_t statementsPrepared_ = 0;
};

}  // namespace

int PostgresLedgerStore::schemaVersion() { return kSchemaVersion; }

PostgresLedgerStore::PostgresLedgerStore(const std::string& url, std::size_t connections)
    : SqlLedgerStore(
          std::make_unique<PostgresBackend>(url, PostgresBackend::Schema::Migrate),
          [url] { return std::make_unique<PostgresBackend>(url, PostgresBackend::Schema::AsIs); }, connections) {}

}  // namespace mc::ledger
