#pragma once
// The part of the ledger that differs between SQLite and PostgreSQL, behind one interface:
// opening (file hardening and WAL; connecting), schema migrations, the dialect of the shared SQL
// text, write transactions, reconnection, error texts, leases and bulk copy. The store
// (SqlLedgerStore) holds everything else: one SQL text with `?` placeholders, one row mapping.
// Statements run through a Poco::Data session; a backend uses its connector's native handle only
// for what Poco::Data cannot do, and says why where it does. Every call requires the store's
// database mutex.
//
// execute and select run on the connector's native handle, through a statement prepared once per
// session (run): Poco 1.11 prepares a Statement again on every execution (40% of a small
// write's time in a profile; on PostgreSQL a prepare, describe and deallocate round trip each).
// Poco::Data keeps the sessions, transactions of PostgreSQL, migrations and the export cursor.

#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "collector/ledger/LedgerStore.hpp"

namespace mc::ledger {

// A statement parameter.
using SqlValue = std::variant<std::int64_t, std::string>;

// A failure of ours while using the ledger (an unexpected value, an unknown state), never
// carrying SQL text or row contents. The store rethrows it as LedgerError naming the operation.
class SqlFailure : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The rows of a query, a vector per column as Poco::Data extracts them.
class SqlRows {
public:
    // `types`: a letter per column, 'T' text or 'I' a 64-bit integer.
    explicit SqlRows(std::string_view types);
    std::size_t size() const;
    std::size_t columnCount() const { return columns_.size(); }
    const std::string& text(std::size_t row, std::size_t column) const {
        return std::get<Texts>(columns_[column])[row];
    }
    // The text, moved out of the rows.
    std::string take(std::size_t row, std::size_t column) { return std::move(std::get<Texts>(columns_[column])[row]); }
    std::int64_t integer(std::size_t row, std::size_t column) const {
        return std::get<Integers>(columns_[column])[row];
    }
    // Extracts the rows `statement` yields into these columns.
    void extractFrom(Poco::Data::Statement& statement);
    void clear();
    // Appends a value to `column` (a row is complete when every column has it).
    void addText(std::size_t column, std::string_view text) { std::get<Texts>(columns_[column]).emplace_back(text); }
    void addInteger(std::size_t column, std::int64_t value) { std::get<Integers>(columns_[column]).push_back(value); }
    bool isText(std::size_t column) const { return std::holds_alternative<Texts>(columns_[column]); }

private:
    using Texts = std::vector<std::string>;
    using Integers = std::vector<Poco::Int64>;
    std::vector<std::variant<Texts, Integers>> columns_;
};

// How far a write transaction's commit goes before it returns.
//  Synced: on disk (message state: the pipeline deletes a source message only after it).
//  Bookkeeping: visible to every reader at once but possibly lost, together with what followed
//  it, in a power loss or OS crash: leases, poll results and history, the next poll's time. A
//  crash loses nothing that a Synced commit made before it, and later Synced commits sync the
//  earlier Bookkeeping ones with them (SQLite: WAL with synchronous=NORMAL commits in order).
enum class Durability { Synced, Bookkeeping };

// One message row as stored, for moving ledgers (`ledger migrate`).
struct StoredMessage {
    MessageRecord record;
    std::int64_t deletedAt = 0;
};

// A dedupe claim ([collector] dedupe), as `ledger migrate` copies it.
struct StoredClaim {
    std::string messageId, bodyHash;
    MessageKey claimant;
    std::int64_t claimedAt = 0;
    bool settled = false;  // the claimant's copy was delivered
};

struct ImportCounts {
    std::uint64_t accounts = 0, messages = 0, pending = 0, quarantined = 0;
};

class LedgerBackend {
public:
    virtual ~LedgerBackend() = default;

    // Runs `sql` (the shared text: `?` placeholders and {tokens}, see dialect) with `values`;
    // returns the number of rows it changed (or read).
    std::size_t execute(const char* sql, std::initializer_list<SqlValue> values = {});
    std::size_t execute(const char* sql, const std::vector<SqlValue>& values);
    // Runs a query whose rows have columns of `types` (see SqlRows).
    SqlRows select(const char* sql, std::string_view types, std::initializer_list<SqlValue> values = {});
    // Runs `sql` (backend text, no parameters) as it is: migrations, test seams.
    void executeText(const std::string& sql);

    // Reads a query's rows a batch at a time (a whole ledger may not fit in memory).
    class Cursor {
    public:
        Cursor(LedgerBackend& backend, const char* sql, std::string_view types);
        // Moves to the next row; false at the end.
        bool next();
        std::string take(std::size_t column) { return rows_.take(row_, column); }
        std::int64_t integer(std::size_t column) const { return rows_.integer(row_, column); }

    private:
        Poco::Data::Statement statement_;
        SqlRows rows_;
        std::size_t row_ = 0;
        bool started_ = false;
    };

    // Which columns of later schema versions the opened ledger has (a ledger opened read-only is
    // not migrated).
    struct SchemaColumns {
        bool nextPollAt = true;
        bool headerHash = true;
        bool dedupeClaims = true;
    };
    virtual SchemaColumns schemaColumns() const { return {}; }

    // Begins a write transaction whose commit is `durability` (SQLite: one that takes the
    // write lock at once).
    virtual void beginWrite(Durability durability) = 0;
    // Begins a read transaction: the reads that follow see one snapshot.
    virtual void beginRead() = 0;
    virtual void commit() = 0;
    // Rolls back the open transaction, if any (SQLite rolls some back itself, on I/O errors).
    virtual void rollback() = 0;
    virtual bool inTransaction() = 0;
    // After a failure: true when it lost the connection, which reconnect() re-establishes.
    virtual bool connectionLost() { return false; }
    virtual void reconnect() {}
    // The database's own words for `error`: never SQL text, parameters or a password.
    virtual std::string describe(const Poco::Exception& error) = 0;
    // A durable write that changes no data.
    virtual void probeWrite() = 0;

    // Leases; takeLease and renewLease run inside a write transaction.
    virtual Lease takeLease(const std::string& account, const std::string& holder, std::chrono::milliseconds ttl) = 0;
    virtual bool renewLease(const std::string& account, const std::string& holder, std::chrono::milliseconds ttl) = 0;

    // `values` as the parameter of an {in_text_list}.
    virtual std::string textList(const std::vector<std::string>& values) const = 0;

    // Import: locks the tables against other writers for the rest of the transaction, and
    // appends every message `next` yields.
    virtual void lockForImport() {}
    virtual void copyMessages(const std::function<bool(StoredMessage&)>& next, ImportCounts& counts);

protected:
    // Runs `sql` with the values [begin, end) through its prepared statement, prepared on first
    // use in this session (statements are keyed by the address of the shared SQL constant);
    // appends the rows to `rows` when given. Returns the rows changed (or read). Failures are the
    // connector's Poco exceptions, which describe() reads.
    virtual std::size_t run(const char* sql, const SqlValue* begin, const SqlValue* end, SqlRows* rows) = 0;
    // `sql` in this backend's dialect, converted once.
    const std::string& text(const char* sql);

    // `sql` (shared text) in this backend's dialect: its placeholders, and the {tokens}
    // {row_order} (the insertion order column), {byte_order} (collation sorting by bytes),
    // {lease_unexpired} (a lease row `l` that has not expired) and {in_text_list} (membership in
    // a textList parameter, one indexed lookup per element) replaced.
    virtual std::string dialect(std::string_view sql) const = 0;
    Poco::Data::Session& session();

    std::optional<Poco::Data::Session> session_;

private:
    std::unordered_map<const char*, std::string> texts_;  // keyed by the shared SQL constant
};

// `text` with each `token` replaced by `replacement`.
std::string replaceAll(std::string text, std::string_view token, std::string_view replacement);
// `text` as valid UTF-8 without NUL (each offending byte becomes '?'): free-form values
// (Message-ID, error texts) may be neither, and neither database keeps them intact.
std::string validText(const std::string& text);
std::int64_t unixSeconds();

}  // namespace mc::ledger
