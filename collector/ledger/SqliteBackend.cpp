#include "collector/ledger/SqliteLedgerStore.hpp"

#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Data/SQLite/SessionImpl.h>
#include <Poco/Data/SQLite/Utility.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "collector/ledger/LedgerBackend.hpp"
#include "proto/SafeText.hpp"
#include "proto/UniqueFd.hpp"

namespace mc::ledger {
namespace {

namespace fs = std::filesystem;

// How long a write waits for another process's transaction (each is short, but an fsync on a
// busy disk may take seconds) before it fails the poll as a ledger failure.
constexpr std::size_t kBusyTimeoutSeconds = 30;
// `ledger migrate` reads a source another process may be writing.
constexpr std::size_t kReadOnlyBusyTimeoutSeconds = 5;
constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirectoryMode = 0700;

// Migration i brings the schema from version i to i + 1; each runs in the opening transaction.
// Never edit a released migration: append a new one.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE messages (
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    uid_validity INTEGER NOT NULL,
    uid TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    content_hash TEXT NOT NULL DEFAULT '',
    message_id TEXT NOT NULL DEFAULT '',
    first_seen_at INTEGER NOT NULL DEFAULT 0,
    delivered_at INTEGER NOT NULL DEFAULT 0,
    deleted_at INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account, folder, uid_validity, uid)
);
CREATE INDEX messages_by_message_id ON messages (account, folder, message_id);
CREATE INDEX messages_by_content_hash ON messages (account, content_hash);
CREATE TABLE accounts (
    name TEXT PRIMARY KEY NOT NULL,
    first_seen_at INTEGER NOT NULL DEFAULT 0,
    last_poll_at INTEGER NOT NULL DEFAULT 0,
    last_result TEXT NOT NULL DEFAULT '',
    last_error TEXT NOT NULL DEFAULT ''
);
)sql",
    // Version 2: when the service plans to poll each account next (shown by `status`).
    R"sql(
ALTER TABLE accounts ADD COLUMN next_poll_at INTEGER NOT NULL DEFAULT 0;
)sql",
    // Version 3: account leases, so that processes sharing the file poll each account one at a
    // time. expires_at is unix milliseconds; process identifies the holder on this machine.
    R"sql(
CREATE TABLE leases (
    account TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    process TEXT NOT NULL DEFAULT ''
);
)sql",
    // Version 4: the header block's hash, checked before a later session deletes the message.
    R"sql(
ALTER TABLE messages ADD COLUMN header_hash TEXT NOT NULL DEFAULT '';
)sql",
    // Version 5: a poll's work proportional to what changed: rows asking for work found by index,
    // and where the last complete poll left each mailbox (MailboxMark).
    R"sql(
CREATE INDEX IF NOT EXISTS messages_by_state ON messages (account, folder, uid_validity, state, delivered_at);
CREATE TABLE IF NOT EXISTS mailbox_marks (
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    uid_validity INTEGER NOT NULL,
    uid_next INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    last_uid TEXT NOT NULL,
    fetch_limit INTEGER NOT NULL,
    PRIMARY KEY (account, folder)
);
)sql",
    // Version 6: each account's last polls, and older ones summed per day (the status page).
    R"sql(
CREATE TABLE IF NOT EXISTS poll_history (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    result TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    fetched INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0,
    quarantined INTEGER NOT NULL DEFAULT 0,
    deferred INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS poll_history_by_account ON poll_history (account, id);
CREATE TABLE IF NOT EXISTS poll_days (
    account TEXT NOT NULL,
    day INTEGER NOT NULL,
    polls INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    fetched INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0,
    quarantined INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, day)
);
)sql",
    // Version 7: the folder's HIGHESTMODSEQ in its mark (IMAP QRESYNC: expunges since then named).
    R"sql(
ALTER TABLE mailbox_marks ADD COLUMN highest_mod_seq INTEGER NOT NULL DEFAULT 0;
)sql",
    // Version 8: cross-account dedupe ([collector] dedupe = "message-id"): who claimed each
    // (Message-ID, body hash) first; the primary key makes the claim atomic. And the bytes each account
    // downloaded per hour, for max_bytes_per_day.
    R"sql(
CREATE TABLE IF NOT EXISTS dedupe_claims (
    message_id TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    uid_validity INTEGER NOT NULL,
    uid TEXT NOT NULL,
    claimed_at INTEGER NOT NULL,
    settled INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (message_id, body_hash)
);
CREATE TABLE IF NOT EXISTS downloads (
    account TEXT NOT NULL,
    hour INTEGER NOT NULL,
    bytes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, hour)
);
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// Leases: times are unix milliseconds of this machine's clock.
constexpr const char* kSqlLease = "SELECT holder, expires_at, process FROM leases WHERE account = ?";
constexpr const char* kSqlTakeLease =
    "INSERT INTO leases (account, holder, expires_at, process) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (account) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,"
    " process = excluded.process";
constexpr const char* kSqlRenewLease = "UPDATE leases SET expires_at = ? WHERE account = ? AND holder = ?";

std::string errnoText(int error) { return std::generic_category().message(error); }

std::int64_t unixMilliseconds() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Where a file is: what SQLite opened must be what we checked.
struct FileIdentity {
    dev_t device;
    ino_t inode;
    bool operator==(const FileIdentity&) const = default;
};

// The first line of a small file, "" when it cannot be read.
std::string firstLine(const char* path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

// What /proc says of a process: its start time (field 22 of /proc/PID/stat, clock ticks since
// boot) while it runs; ended when it is gone or a zombie (state Z or X) waiting for its parent;
// unknown when /proc does not tell (not mounted, or hidden by hidepid).
struct ProcessState {
    enum { Running, Ended, Unknown } kind = Unknown;
    std::string startTime;
};

ProcessState processState(const std::string& pid) {
    const int fd = ::open(("/proc/" + pid + "/stat").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? ProcessState{ProcessState::Ended, {}} : ProcessState{};
    char buffer[1024];
    const ssize_t length = ::read(fd, buffer, sizeof buffer);
    ::close(fd);
    if (length <= 0) return {};
    const std::string stat(buffer, static_cast<std::size_t>(length));
    // The command name (field 2) may hold spaces and parentheses: field 3 starts after the last ')'.
    const std::size_t close = stat.rfind(')');
    if (close == std::string::npos) return {};
    std::istringstream fields(stat.substr(close + 1));
    std::string field;
    for (int index = 3; index <= 22 && fields >> field; ++index) {
        if (index == 3 && (field == "Z" || field == "X")) return {ProcessState::Ended, {}};
        if (index == 22) return {ProcessState::Running, field};
    }
    return {};
}

// This kernel's boot and pid namespace, "" when they cannot be known (no /proc, or a /proc of
// another pid namespace): two processes with the same value see each other's pids in /proc.
std::string pidNamespace() {
    char link[64] = {};
    const ssize_t length = ::readlink("/proc/self/ns/pid", link, sizeof link - 1);
    const std::string bootId = firstLine("/proc/sys/kernel/random/boot_id");
    char self[32] = {};
    const ssize_t selfLength = ::readlink("/proc/self", self, sizeof self - 1);
    if (length <= 0 || bootId.empty() || selfLength <= 0 ||
        std::string(self, static_cast<std::size_t>(selfLength)) != std::to_string(::getpid())) {
        return {};
    }
    // With hidepid=2 other users' processes look ended: then we cannot tell, and say so. Pid 1
    // is another user's process unless we are root (who sees everything) or pid 1 ourselves.
    if (processState("1").kind != ProcessState::Running) return {};
    return bootId + "/" + std::string(link, static_cast<std::size_t>(length));
}

// How a lease records its holder process: "NAMESPACE PID STARTTIME". A pid alone could be reused
// by another process; pid and start time within one boot and pid namespace cannot.
std::string currentProcessIdentity() {
    const std::string ns = pidNamespace();
    const std::string pid = std::to_string(::getpid());
    const ProcessState self = processState(pid);
    if (ns.empty() || self.kind != ProcessState::Running) return {};
    return ns + " " + pid + " " + self.startTime;
}

// True only when `identity` (see currentProcessIdentity) names a process of our boot and pid
// namespace that no longer runs: then its leases can be taken at once, without waiting for them
// to expire. Anything we cannot be sure of counts as alive.
bool holderProcessEnded(const std::string& identity, const std::string& ours) {
    std::istringstream fields(identity), ourFields(ours);
    std::string ns, pid, started, ourNs;
    if (!(fields >> ns >> pid >> started) || !(ourFields >> ourNs) || ns != ourNs) return false;
    if (pid.find_first_not_of("0123456789") != std::string::npos) return false;
    const ProcessState holder = processState(pid);
    if (holder.kind == ProcessState::Running) return holder.startTime != started;  // pid reused
    return holder.kind == ProcessState::Ended;
}

// Makes a new directory entry in `dir` durable; without it a crash could lose the new file.
void syncDirectory(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
        const int error = errno;
        if (fd >= 0) ::close(fd);
        throw LedgerError("cannot sync ledger directory " + dir.string() + ": " + errnoText(error));
    }
    ::close(fd);
}

// Creates `dir` and missing parents with mode 0700; existing directories are left as they are.
void ensureDirectory(const fs::path& dir) {
    if (dir.empty()) return;
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            throw LedgerError("ledger directory " + dir.string() + " is not a directory");
        }
        return;
    }
    if (const int error = errno; error != ENOENT) {
        throw LedgerError("ledger directory " + dir.string() + ": " + errnoText(error));
    }
    const fs::path parent = dir.parent_path();
    if (!parent.empty() && parent != dir) ensureDirectory(parent);
    if (::mkdir(dir.c_str(), kDirectoryMode) != 0) {
        const int error = errno;
        if (error == EEXIST) return;  // created concurrently
        throw LedgerError("cannot create ledger directory " + dir.string() + ": " + errnoText(error));
    }
    // mkdir applies the umask; chmod makes the mode independent of it.
    if (::chmod(dir.c_str(), kDirectoryMode) != 0) {
        const int error = errno;
        throw LedgerError("cannot set the mode of ledger directory " + dir.string() + ": " + errnoText(error));
    }
    if (!parent.empty()) syncDirectory(parent);
}

// Checks `path` without following symlinks: refuses anything but a regular file and strips
// group/other permissions; with `create`, a missing file is created with exactly 0600.
// Returns the file's identity; nullopt when it does not exist and `create` is false.
// An existing file is only looked at through an O_PATH descriptor: closing an ordinary one drops
// every POSIX lock this process holds on the file, and SQLite's locks on -shm are such locks.
// Without them another process re-initialises the shared memory under our mapping (SIGBUS).
std::optional<FileIdentity> secureFile(const std::string& path, bool create) {
    bool created = false;
    if (create) {
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, kFileMode);
        if (const int error = errno; fd < 0 && error != EEXIST) {
            throw LedgerError("cannot create ledger file " + path + ": " + errnoText(error));
        }
        if (fd >= 0) {
            ::close(fd);  // a file this call created: nobody holds locks on it yet
            created = true;
        }
    }
    // O_PATH | O_NOFOLLOW opens a symlink itself, so fstat below sees and refuses it.
    const int fd = ::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        const int error = errno;
        if (error == ENOENT && !create) return std::nullopt;
        throw LedgerError("cannot open ledger file " + path + ": " + errnoText(error));
    }
    proto::UniqueFd guard(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int error = errno;
        throw LedgerError("cannot stat ledger file " + path + ": " + errnoText(error));
    }
    if (S_ISLNK(st.st_mode)) {
        throw LedgerError("ledger file " + path + " is a symbolic link; refusing to open it");
    }
    if (!S_ISREG(st.st_mode)) {
        throw LedgerError("ledger file " + path + " is not a regular file");
    }
    // A new file gets exactly 0600 whatever the umask; an existing one loses group/other bits.
    // fchmod does not take O_PATH descriptors; the /proc link reaches the very file we checked.
    const mode_t wanted = created ? kFileMode : (st.st_mode & 0700);
    if ((st.st_mode & 07777) != wanted && ::chmod(("/proc/self/fd/" + std::to_string(fd)).c_str(), wanted) != 0) {
        const int error = errno;
        throw LedgerError("cannot restrict the permissions of ledger file " + path + ": " + errnoText(error));
    }
    if (created) syncDirectory(fs::path(path).parent_path());
    return FileIdentity{st.st_dev, st.st_ino};
}

// `path` as a SQLite URI ("file:" and the path, percent-encoded where URIs need it).
std::string fileUri(const std::string& path) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string uri = "file:";
    for (const char c : path) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) != 0 || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
            uri += c;
        } else {
            uri += '%';
            uri += kHex[byte >> 4];
            uri += kHex[byte & 0xf];
        }
    }
    return uri;
}

// SQLite says "disk I/O error" for every failed read, write or sync, and cannot tell which
// system error it was (sqlite3_system_errno reads errno after SQLite has moved on): name the
// step and the usual causes, so that an operator looks at space and limits first.
std::string describeFailure(sqlite3* db) {
    const int rc = sqlite3_extended_errcode(db);
    std::string text = sqlite3_errmsg(db);
    switch (rc) {
        case SQLITE_IOERR_WRITE:
        case SQLITE_IOERR_TRUNCATE:
        case SQLITE_IOERR_FSYNC:
        case SQLITE_IOERR_SHMSIZE:
            text += ": a write failed (disk full, quota, file size limit, or a failing disk)";
            break;
        case SQLITE_IOERR_READ:
        case SQLITE_IOERR_SHORT_READ:
            text += ": a read failed";
            break;
        default:
            break;
    }
    return text + " (sqlite code " + std::to_string(rc) + ")";
}

class SqliteBackend final : public LedgerBackend {
public:
    SqliteBackend(const std::string& path, SqliteLedgerStore::Access access) : path_(path) {
        if (access == SqliteLedgerStore::Access::ReadWrite) {
            openForWriting();
        } else {
            openReadOnly();
        }
    }

    SchemaColumns schemaColumns() const override { return {version_ >= 2, version_ >= 4, version_ >= 8}; }
    void beginWrite(Durability durability) override {
        // The level may not change inside a transaction; it applies to the commits that follow.
        if (durability != synchronous_) {
            execute(durability == Durability::Synced ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
            synchronous_ = durability;
        }
        execute("BEGIN IMMEDIATE");
    }
    void beginRead() override { execute("BEGIN"); }
    void commit() override { execute("COMMIT"); }
    void rollback() override {
        if (inTransaction()) execute("ROLLBACK");
    }
    // Poco's session keeps its own idea of the transaction; SQLite ends one by itself on some
    // errors (disk full, I/O error), which only the handle tells.
    bool inTransaction() override { return sqlite3_get_autocommit(handle()) == 0; }

    std::string describe(const Poco::Exception& error) override {
        // Poco's message holds SQLite's text but not the extended code that tells a failed
        // write from a failed read: ask the handle, which still holds the failure.
        if (dynamic_cast<const Poco::Data::SQLite::SQLiteException*>(&error) != nullptr) {
            return describeFailure(handle());
        }
        return error.displayText();
    }

    void probeWrite() override {
        // Rewrites the header page with the version it already holds: a real, durable write (WAL
        // append and fsync) that changes no data.
        executeText("PRAGMA user_version = " + std::to_string(kSchemaVersion));
    }

    // A lease whose holder process has ended (same machine, same pid namespace: checked by pid
    // and start time) is free at once; one of an unknown process is free when it expires.
    Lease takeLease(const std::string& account, const std::string& holder, std::chrono::milliseconds ttl) override {
        const std::int64_t now = unixMilliseconds();
        const SqlRows current = select(kSqlLease, "TIT", {account});
        if (current.size() == 1) {
            const bool free = current.text(0, 0) == holder || current.integer(0, 1) <= now ||
                              holderProcessEnded(current.text(0, 2), processIdentity_);
            if (!free) return Lease{false, current.text(0, 0)};
        }
        execute(kSqlTakeLease, {account, holder, now + ttl.count(), processIdentity_});
        return Lease{true, holder};
    }

    bool renewLease(const std::string& account, const std::string& holder, std::chrono::milliseconds ttl) override {
        return execute(kSqlRenewLease, {unixMilliseconds() + ttl.count(), account, holder}) == 1;
    }

    // A JSON array of strings (json_each reads it).
    std::string textList(const std::vector<std::string>& values) const override {
        std::string out = "[";
        for (const std::string& value : values) {
            if (out.size() > 1) out += ',';
            out += '"' + proto::jsonEscape(validText(value)) + '"';
        }
        return out + "]";
    }

protected:
    std::size_t run(const char* sql, const SqlValue* begin, const SqlValue* end, SqlRows* rows) override {
        sqlite3* db = handle();
        sqlite3_stmt*& statement = statements_[sql];
        if (statement == nullptr) {
            const std::string& source = text(sql);
            const int rc = sqlite3_prepare_v3(db, source.c_str(), static_cast<int>(source.size()) + 1,
                                              SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
            if (rc != SQLITE_OK) {
                statements_.erase(sql);
                Poco::Data::SQLite::Utility::throwException(db, rc & 0xff);
            }
        }
        int index = 0;
        for (const SqlValue* value = begin; value != end; ++value) {
            ++index;
            const int rc =
                std::holds_alternative<std::int64_t>(*value)
                    ? sqlite3_bind_int64(statement, index, std::get<std::int64_t>(*value))
                    : sqlite3_bind_text(statement, index, std::get<std::string>(*value).data(),
                                        static_cast<int>(std::get<std::string>(*value).size()), SQLITE_STATIC);
            if (rc != SQLITE_OK) finish(statement, rc);
        }
        std::size_t count = 0;
        for (;;) {
            const int rc = sqlite3_step(statement);
            if (rc == SQLITE_DONE) break;
            if (rc != SQLITE_ROW) finish(statement, rc);
            ++count;
            if (rows == nullptr) continue;
            for (std::size_t column = 0; column < rows->columnCount(); ++column) {
                const int at = static_cast<int>(column);
                if (rows->isText(column)) {
                    const auto* bytes = reinterpret_cast<const char*>(sqlite3_column_text(statement, at));
                    rows->addText(column,
                                  std::string_view(bytes != nullptr ? bytes : "",
                                                   static_cast<std::size_t>(sqlite3_column_bytes(statement, at))));
                } else {
                    rows->addInteger(column, sqlite3_column_int64(statement, at));
                }
            }
        }
        // A statement that modified rows says how many; a query, how many it read.
        if (sqlite3_stmt_readonly(statement) == 0) count = static_cast<std::size_t>(sqlite3_changes(db));
        finish(statement, SQLITE_OK);
        return count;
    }

    std::string dialect(std::string_view sql) const override {
        std::string text(sql);
        text = replaceAll(std::move(text), "{row_order}", "rowid");
        text = replaceAll(std::move(text), "{byte_order}", "");  // BINARY, SQLite's default
        // Unix milliseconds now, from this machine's clock as the lease times are.
        text = replaceAll(std::move(text), "{lease_unexpired}",
                          "l.expires_at > CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)");
        return replaceAll(std::move(text), "{in_text_list}", " IN (SELECT value FROM json_each(?))");
    }

private:
    sqlite3* handle() { return Poco::Data::SQLite::Utility::dbHandle(session()); }

    // Ends a run of `statement`: resets it (so that it holds no lock and no bound text) and,
    // after a failure `rc`, throws the connector's exception for it (DBLockedException, ...).
    void finish(sqlite3_stmt* statement, int rc) {
        sqlite3_reset(statement);
        sqlite3_clear_bindings(statement);
        if (rc != SQLITE_OK) Poco::Data::SQLite::Utility::throwException(handle(), rc & 0xff);
    }

    // The prepared statements, by shared SQL constant; finalized before the session closes.
    struct Statements : std::unordered_map<const char*, sqlite3_stmt*> {
        ~Statements() {
            for (auto& [sql, statement] : *this) sqlite3_finalize(statement);
        }
    };

    // Opens the session on `name`; a failure names the ledger and SQLite's reason.
    void openSession(const std::string& name, std::size_t busyTimeoutSeconds) {
        try {
            // Login timeout 0: a file that cannot be opened fails at once instead of being retried.
            session_.emplace(Poco::AutoPtr<Poco::Data::SessionImpl>(new Poco::Data::SQLite::SessionImpl(name, 0)));
            session_->setProperty("connectionTimeout", busyTimeoutSeconds);  // the busy timeout
        } catch (const Poco::Exception& e) {
            throw LedgerError("cannot open ledger " + path_ + ": " + e.message());
        }
    }

    void openForWriting() {
        if (path_.empty()) throw LedgerError("ledger path is empty");
        // Absolute, so SQLite never reads a name like ":memory:" or "file:..." as anything but a file.
        std::error_code error;
        const fs::path absolute = fs::absolute(fs::path(path_), error);
        if (error) throw LedgerError("ledger path " + path_ + ": " + error.message());
        path_ = absolute.lexically_normal().string();
        processIdentity_ = currentProcessIdentity();
        const fs::path file(path_);
        if (!file.has_filename()) throw LedgerError("ledger path " + path_ + " names no file");
        ensureDirectory(file.parent_path());
        const std::optional<FileIdentity> checked = secureFile(path_, /*create=*/true);
        // SQLite creates these with the database file's mode, but stale ones may be looser, and a
        // planted symlink must not redirect our writes.
        secureFile(path_ + "-wal", false);
        secureFile(path_ + "-shm", false);
        openSession(path_, kBusyTimeoutSeconds);
        // Poco opens without SQLITE_OPEN_NOFOLLOW: make sure that what SQLite opened is the
        // regular file checked above, not a symlink planted in between.
        if (secureFile(path_, false) != checked) {
            throw LedgerError("ledger file " + path_ + " was replaced while being opened; refusing it");
        }
        if (sqlite3_db_readonly(handle(), "main") == 1) throw LedgerError("ledger " + path_ + " is read-only");
        try {
            enableWal();
            execute("PRAGMA synchronous = FULL");
            migrate();
        } catch (const Poco::Exception& e) {
            throw LedgerError("cannot open ledger " + path_ + ": " + describe(e));
        } catch (const SqlFailure& e) {
            throw LedgerError("cannot open ledger " + path_ + ": " + e.what());
        }
        secureFile(path_ + "-wal", false);
        secureFile(path_ + "-shm", false);
    }

    // A source that is never written, migrated or created (`ledger migrate`).
    void openReadOnly() {
        struct stat st {};
        if (::lstat(path_.c_str(), &st) != 0) {
            throw LedgerError("cannot open ledger " + path_ + ": " + errnoText(errno));
        }
        if (!S_ISREG(st.st_mode)) throw LedgerError("ledger file " + path_ + " is not a regular file");
        openSession(fileUri(path_) + "?mode=ro", kReadOnlyBusyTimeoutSeconds);
        try {
            version_ = static_cast<int>(select("PRAGMA user_version", "I").integer(0, 0));
        } catch (const Poco::Exception& e) {
            throw LedgerError("cannot read " + path_ + ": " + describe(e));
        }
        if (version_ < 1 || version_ > kSchemaVersion) {
            throw LedgerError(path_ + " is not a mailcollector ledger this build knows (schema version " +
                              std::to_string(version_) + ")");
        }
    }

    void enableWal() {
        // Turning a new (rollback-mode) file into WAL takes locks that SQLite does not wait for
        // with the busy handler: two processes opening a fresh ledger together made one fail with
        // "database is locked". Once the file is in WAL mode (persistent) this is a no-op.
        const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(kBusyTimeoutSeconds);
        for (;;) {
            try {
                const SqlRows mode = select("PRAGMA journal_mode = WAL", "T");
                const std::string got = mode.size() == 1 ? mode.text(0, 0) : std::string();
                if (got != "wal") throw SqlFailure("cannot enable WAL journal mode (got '" + got + "')");
                return;
            } catch (const Poco::Data::SQLite::DBLockedException&) {
                if (std::chrono::steady_clock::now() >= giveUp) throw;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    void migrate() {
        beginWrite(Durability::Synced);
        try {
            version_ = static_cast<int>(select("PRAGMA user_version", "I").integer(0, 0));
            if (version_ > kSchemaVersion) {
                throw LedgerError("ledger schema version " + std::to_string(version_) +
                                  " is newer than this mailcollector supports");
            }
            for (int next = version_; next < kSchemaVersion; ++next) {
                try {
                    executeText(kMigrations[next]);
                } catch (const Poco::Exception& e) {
                    throw SqlFailure("migration to schema version " + std::to_string(next + 1) + ": " + describe(e));
                }
            }
            // PRAGMA takes no parameters; the value is our own integer.
            if (version_ != kSchemaVersion) executeText("PRAGMA user_version = " + std::to_string(kSchemaVersion));
            version_ = kSchemaVersion;
            commit();
        } catch (...) {
            try {
                rollback();
            } catch (const Poco::Exception&) {
                // The failure that got us here is the one to report.
            }
            throw;
        }
    }

    std::string path_;
    std::string processIdentity_;  // this process in the leases it takes; "" when unknown
    int version_ = 0;              // the schema version of the opened file
    // The connection's synchronous level: FULL (Synced) from opening on.
    Durability synchronous_ = Durability::Synced;
    Statements statements_;
};

}  // namespace

int SqliteLedgerStore::schemaVersion() { return kSchemaVersion; }

SqliteLedgerStore::SqliteLedgerStore(const std::string& path, Access access)
    : SqlLedgerStore(std::make_unique<SqliteBackend>(path, access)),
      path_(access == Access::ReadWrite ? fs::absolute(fs::path(path)).lexically_normal().string() : path) {}

}  // namespace mc::ledger
