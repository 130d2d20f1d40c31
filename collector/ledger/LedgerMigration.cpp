#include "collector/ledger/LedgerMigration.hpp"

#include "collector/ledger/MessageColumns.hpp"

#include <sqlite3.h>

#include <memory>
#include <set>

#include "collector/ledger/SqliteLedgerStore.hpp"

namespace mc::ledger {
namespace {

// A read-only SQLite connection: the source file is never written, migrated or created.
class SqliteSource {
public:
    explicit SqliteSource(const std::string& path) : path_(path) {
        const int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, nullptr);
        if (rc != SQLITE_OK) fail("cannot open");
        sqlite3_busy_timeout(db_, 5000);
        Statement version(*this, "PRAGMA user_version");
        version.step();
        version_ = sqlite3_column_int(version.get(), 0);
        if (version_ < 1 || version_ > SqliteLedgerStore::schemaVersion())
            throw LedgerError(path + " is not a mailcollector ledger this build knows (schema version " +
                              std::to_string(version_) + ")");
        // One read transaction: every row comes from the same snapshot.
        exec("BEGIN");
    }
    ~SqliteSource() { sqlite3_close_v2(db_); }
    SqliteSource(const SqliteSource&) = delete;
    SqliteSource& operator=(const SqliteSource&) = delete;

    class Statement {
    public:
        Statement(SqliteSource& source, const char* sql) : source_(source) {
            if (sqlite3_prepare_v2(source.db_, sql, -1, &stmt_, nullptr) != SQLITE_OK) source.fail("cannot read");
        }
        ~Statement() { sqlite3_finalize(stmt_); }
        Statement(const Statement&) = delete;
        Statement& operator=(const Statement&) = delete;
        sqlite3_stmt* get() const { return stmt_; }
        bool step() {
            const int rc = sqlite3_step(stmt_);
            if (rc == SQLITE_ROW) return true;
            if (rc != SQLITE_DONE) source_.fail("cannot read");
            return false;
        }
        std::string text(int column) const {
            const auto* data = sqlite3_column_text(stmt_, column);
            if (data == nullptr) return {};
            return std::string(reinterpret_cast<const char*>(data),
                               static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
        }
        std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }

    private:
        SqliteSource& source_;
        sqlite3_stmt* stmt_ = nullptr;
    };

    int version() const { return version_; }

    [[noreturn]] void fail(const std::string& what) {
        throw LedgerError(what + " " + path_ + ": " + (db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory"));
    }

private:
    void exec(const char* sql) {
        if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail("cannot read");
    }

    std::string path_;
    sqlite3* db_ = nullptr;
    int version_ = 0;
};

MessageState parseState(const std::string& text) {
    if (auto state = parseMessageState(text)) return *state;
    throw LedgerError("unknown message state '" + text + "' in the source ledger");
}

}  // namespace

ImportCounts migrateLedger(const std::string& sqlitePath, const std::string& postgresUrl) {
    SqliteSource source(sqlitePath);
    std::vector<AccountRecord> accounts;
    std::set<std::string> names;
    {
        // Schema version 1 had no next_poll_at.
        SqliteSource::Statement rows(
            source, source.version() >= 2
                        ? "SELECT name, first_seen_at, last_poll_at, last_result, last_error, next_poll_at "
                          "FROM accounts ORDER BY name"
                        : "SELECT name, first_seen_at, last_poll_at, last_result, last_error, 0 "
                          "FROM accounts ORDER BY name");
        while (rows.step()) {
            AccountRecord record;
            record.name = rows.text(0);
            record.firstSeenAt = rows.integer(1);
            record.lastPollAt = rows.integer(2);
            record.lastResult = rows.text(3);
            record.lastError = rows.text(4);
            record.nextPollAt = rows.integer(5);
            names.insert(record.name);
            accounts.push_back(std::move(record));
        }
        SqliteSource::Statement messageAccounts(source, "SELECT DISTINCT account FROM messages");
        while (messageAccounts.step()) names.insert(messageAccounts.text(0));
    }
    PostgresLedgerStore target(postgresUrl);
    // In rowid order, so that the target keeps SQLite's order of rows within a mailbox.
    SqliteSource::Statement rows(source, source.version() >= 4 ? "SELECT " MC_LEDGER_MESSAGE_COLUMNS
                                                                 ", deleted_at FROM messages ORDER BY rowid"
                                                               : "SELECT " MC_LEDGER_MESSAGE_COLUMNS_WITHOUT_HEADER_HASH
                                                                 ", deleted_at FROM messages ORDER BY rowid");
    return target.importLedger(std::vector<std::string>(names.begin(), names.end()), accounts,
                               [&](StoredMessage& message) {
                                   if (!rows.step()) return false;
                                   message.record = messageFromColumns(rows, parseState(rows.text(5)));
                                   message.deletedAt = rows.integer(13);
                                   return true;
                               });
}

}  // namespace mc::ledger
