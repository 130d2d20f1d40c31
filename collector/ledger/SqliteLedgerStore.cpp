#include "collector/ledger/SqliteLedgerStore.hpp"

#include "collector/ledger/MessageColumns.hpp"
#include "proto/UniqueFd.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_set>

namespace mc::ledger {
namespace {

namespace fs = std::filesystem;

// How long a write waits for another process's transaction (each is short, but an fsync on a
// busy disk may take seconds) before it fails the poll as a ledger failure.
constexpr int kBusyTimeoutMs = 30000;
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
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// SQL is laid out to be read as SQL.
// clang-format off
constexpr const char* kSqlBegin = "BEGIN IMMEDIATE";
constexpr const char* kSqlCommit = "COMMIT";
constexpr const char* kSqlRollback = "ROLLBACK";
constexpr const char* kSqlSavepoint = "SAVEPOINT write";
constexpr const char* kSqlRelease = "RELEASE write";
constexpr const char* kSqlRollbackTo = "ROLLBACK TO write";

#define MC_MESSAGE_COLUMNS MC_LEDGER_MESSAGE_COLUMNS
#define MC_MESSAGE_KEY "account = ?1 AND folder = ?2 AND uid_validity = ?3 AND uid = ?4"
#define MC_ON_KEY_CONFLICT " ON CONFLICT (account, folder, uid_validity, uid) DO UPDATE SET "
// Size 0 from a caller means "unknown": it never overwrites a known size.
#define MC_KEEP_KNOWN_SIZE "size = CASE WHEN excluded.size = 0 THEN messages.size ELSE excluded.size END, "

constexpr const char* kSqlMailbox =
    "SELECT " MC_MESSAGE_COLUMNS " FROM messages"
    " WHERE account = ?1 AND folder = ?2 AND uid_validity = ?3 ORDER BY rowid";
constexpr const char* kSqlFolder =
    "SELECT " MC_MESSAGE_COLUMNS " FROM messages"
    " WHERE account = ?1 AND folder = ?2 ORDER BY uid_validity, rowid";
// A row first created by mark* has size 0 (unknown); recordSeen fills that in below instead of
// treating it as a changed message, which would deliver it a second time.
constexpr const char* kSqlRecordSeen =
    "INSERT INTO messages (account, folder, uid_validity, uid, size, state, first_seen_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, 'seen', ?6)" MC_ON_KEY_CONFLICT
    "size = excluded.size, state = 'seen', content_hash = '', message_id = '', header_hash = '',"
    " first_seen_at = excluded.first_seen_at, delivered_at = 0, deleted_at = 0, attempts = 0,"
    " last_error = ''"
    " WHERE messages.size <> excluded.size AND messages.size <> 0";
constexpr const char* kSqlFillUnknownSize =
    "UPDATE messages SET size = ?5 WHERE " MC_MESSAGE_KEY " AND size = 0";
constexpr const char* kSqlMarkDelivered =
    "INSERT INTO messages (account, folder, uid_validity, uid, state, content_hash, message_id,"
    " first_seen_at, delivered_at, size, header_hash)"
    " VALUES (?1, ?2, ?3, ?4, 'delivered', ?5, ?6, ?7, ?7, ?8, ?9)"
    MC_ON_KEY_CONFLICT MC_KEEP_KNOWN_SIZE
    "state = 'delivered', content_hash = excluded.content_hash,"
    " message_id = excluded.message_id, delivered_at = excluded.delivered_at,"
    " header_hash = excluded.header_hash";
constexpr const char* kSqlMarkWithReason =
    "INSERT INTO messages (account, folder, uid_validity, uid, state, last_error, first_seen_at,"
    " size) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)" MC_ON_KEY_CONFLICT MC_KEEP_KNOWN_SIZE
    "state = excluded.state, last_error = excluded.last_error";
constexpr const char* kSqlMarkDeleted =
    "INSERT INTO messages (account, folder, uid_validity, uid, state, first_seen_at, deleted_at)"
    " VALUES (?1, ?2, ?3, ?4, 'deleted', ?5, ?5)" MC_ON_KEY_CONFLICT
    "state = 'deleted', deleted_at = excluded.deleted_at";
constexpr const char* kSqlRecordFailure =
    "INSERT INTO messages (account, folder, uid_validity, uid, state, attempts, last_error,"
    " first_seen_at, size) VALUES (?1, ?2, ?3, ?4, 'seen', 1, ?5, ?6, ?7)" MC_ON_KEY_CONFLICT
    MC_KEEP_KNOWN_SIZE "attempts = messages.attempts + 1, last_error = excluded.last_error";
constexpr const char* kSqlQuarantined =
    "SELECT " MC_MESSAGE_COLUMNS " FROM messages"
    " WHERE state = 'quarantined' AND (?1 = '' OR account = ?1) ORDER BY account, rowid";
constexpr const char* kSqlRequeueQuarantined =
    "UPDATE messages SET state = 'seen', attempts = 0, last_error = ''"
    " WHERE " MC_MESSAGE_KEY " AND state = 'quarantined'";
constexpr const char* kSqlDropQuarantined =
    "UPDATE messages SET state = 'skipped', last_error = ?5"
    " WHERE " MC_MESSAGE_KEY " AND state = 'quarantined'";
constexpr const char* kSqlMailboxUids =
    "SELECT uid FROM messages WHERE account = ?1 AND folder = ?2 AND uid_validity = ?3";
constexpr const char* kSqlDeleteMessage = "DELETE FROM messages WHERE " MC_MESSAGE_KEY;
constexpr const char* kSqlMessage = "SELECT " MC_MESSAGE_COLUMNS " FROM messages WHERE " MC_MESSAGE_KEY;
// ?4: delivered rows up to this delivered_at are due (-1: none).
constexpr const char* kSqlWorkDue =
    "SELECT " MC_MESSAGE_COLUMNS " FROM messages"
    " WHERE account = ?1 AND folder = ?2 AND uid_validity = ?3 AND state = 'seen'"
    " UNION ALL SELECT " MC_MESSAGE_COLUMNS " FROM messages"
    " WHERE account = ?1 AND folder = ?2 AND uid_validity = ?3 AND state = 'delivered'"
    " AND delivered_at <= ?4";
constexpr const char* kSqlMailboxMark =
    "SELECT uid_validity, uid_next, messages, last_uid, fetch_limit FROM mailbox_marks"
    " WHERE account = ?1 AND folder = ?2";
constexpr const char* kSqlRecordMailboxMark =
    "INSERT INTO mailbox_marks (account, folder, uid_validity, uid_next, messages, last_uid, fetch_limit)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (account, folder) DO UPDATE SET"
    " uid_validity = excluded.uid_validity, uid_next = excluded.uid_next, messages = excluded.messages,"
    " last_uid = excluded.last_uid, fetch_limit = excluded.fetch_limit";
constexpr const char* kSqlClearMailboxMark = "DELETE FROM mailbox_marks WHERE account = ?1 AND folder = ?2";

// Leases shown by status are the unexpired ones (?1: now, unix milliseconds).
#define MC_ACCOUNT_SELECT                                                                  \
    "SELECT a.name, a.first_seen_at, a.last_poll_at, a.last_result, a.last_error,"         \
    " a.next_poll_at, COALESCE(l.holder, '') FROM accounts a LEFT JOIN leases l"           \
    " ON l.account = a.name AND l.expires_at > ?1"
constexpr const char* kSqlAccount = MC_ACCOUNT_SELECT " WHERE a.name = ?2";
constexpr const char* kSqlAccounts = MC_ACCOUNT_SELECT " ORDER BY a.name";
constexpr const char* kSqlAccountCounts =
    "SELECT state, COUNT(*) FROM messages WHERE account = ?1 GROUP BY state";
constexpr const char* kSqlAllCounts =
    "SELECT account, state, COUNT(*) FROM messages GROUP BY account, state";
// first_seen_at = 0 marks a row made by recordPoll for an account never listed successfully:
// registering it later still counts as new (fetch = "new" depends on that).
constexpr const char* kSqlRegisterAccount =
    "INSERT INTO accounts (name, first_seen_at) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET"
    " first_seen_at = excluded.first_seen_at WHERE accounts.first_seen_at = 0";
constexpr const char* kSqlRecordPoll =
    "INSERT INTO accounts (name, first_seen_at, last_poll_at, last_result, last_error)"
    " VALUES (?1, 0, ?2, ?3, ?4) ON CONFLICT (name) DO UPDATE SET last_poll_at = excluded.last_poll_at,"
    " last_result = excluded.last_result, last_error = excluded.last_error";
constexpr const char* kSqlRecordNextPoll =
    "UPDATE accounts SET next_poll_at = ?2 WHERE name = ?1";

constexpr const char* kSqlLease = "SELECT holder, expires_at, process FROM leases WHERE account = ?1";
constexpr const char* kSqlTakeLease =
    "INSERT INTO leases (account, holder, expires_at, process) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (account) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,"
    " process = excluded.process";
constexpr const char* kSqlRenewLease = "UPDATE leases SET expires_at = ?3 WHERE account = ?1 AND holder = ?2";
constexpr const char* kSqlReleaseLease = "DELETE FROM leases WHERE account = ?1 AND holder = ?2";

#undef MC_MESSAGE_COLUMNS
#undef MC_MESSAGE_KEY
#undef MC_ON_KEY_CONFLICT
#undef MC_ACCOUNT_SELECT
// clang-format on

// A failed SQLite call, carrying only SQLite's own message (never row contents). The public
// methods rethrow it as LedgerError naming the operation.
// SQLite says "disk I/O error" for every failed read, write or sync, and cannot tell which
// system error it was (sqlite3_system_errno reads errno after SQLite has moved on): name the
// step and the usual causes, so that an operator looks at space and limits first.
std::string describeFailure(sqlite3* db, int rc) {
    std::string text = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
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

class SqliteFailure : public std::runtime_error {
public:
    SqliteFailure(sqlite3* db, int rc) : std::runtime_error(describeFailure(db, rc)), code_(rc) {}
    explicit SqliteFailure(const std::string& message) : std::runtime_error(message) {}
    // SQLite's (extended) result code; SQLITE_ERROR for our own failures.
    int code() const { return code_; }

private:
    int code_ = SQLITE_ERROR;
};

LedgerError operationError(const char* operation, const std::string& detail) {
    return LedgerError(std::string("ledger: ") + operation + " failed: " + detail);
}

std::string errnoText(int error) { return std::generic_category().message(error); }

// Borrows a cached prepared statement for one execution; resets it when done so the next user
// starts clean and no read transaction stays open.
class Statement {
public:
    Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
    ~Statement() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, std::string_view text) {
        // An empty view may have a null data(), which SQLite would bind as NULL.
        const char* data = text.data() != nullptr ? text.data() : "";
        return check(sqlite3_bind_text(stmt_, index, data, static_cast<int>(text.size()), SQLITE_STATIC));
    }
    Statement& bind(int index, std::int64_t value) { return check(sqlite3_bind_int64(stmt_, index, value)); }
    // Binds ?1..?4 to the message key.
    Statement& bindKey(const MessageKey& key) {
        return bind(1, key.account)
            .bind(2, key.folder)
            .bind(3, static_cast<std::int64_t>(key.uidValidity))
            .bind(4, key.uid);
    }
    // True when a row is available; false when done.
    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        throw SqliteFailure(db_, rc);
    }
    void run() {
        while (step()) {
        }
    }
    std::string text(int column) const {
        const auto* data = sqlite3_column_text(stmt_, column);
        if (data == nullptr) return {};
        return std::string(reinterpret_cast<const char*>(data),
                           static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
    }
    std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }

private:
    Statement& check(int rc) {
        if (rc != SQLITE_OK) throw SqliteFailure(db_, rc);
        return *this;
    }

    sqlite3* db_;
    sqlite3_stmt* stmt_;
};

MessageState parseState(const std::string& text) {
    if (auto state = parseMessageState(text)) return *state;
    throw SqliteFailure("unknown message state in the ledger");
}

MessageRecord readMessage(const Statement& row) { return messageFromColumns(row, parseState(row.text(5))); }

AccountRecord readAccount(const Statement& row) {
    AccountRecord record;
    record.name = row.text(0);
    record.firstSeenAt = row.integer(1);
    record.lastPollAt = row.integer(2);
    record.lastResult = row.text(3);
    record.lastError = row.text(4);
    record.nextPollAt = row.integer(5);
    record.leaseHolder = row.text(6);
    return record;
}

std::int64_t unixMilliseconds() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

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
// Returns false when the file does not exist and `create` is false.
// An existing file is only looked at through an O_PATH descriptor: closing an ordinary one drops
// every POSIX lock this process holds on the file, and SQLite's locks on -shm are such locks.
// Without them another process re-initialises the shared memory under our mapping (SIGBUS).
bool secureFile(const std::string& path, bool create) {
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
        if (error == ENOENT && !create) return false;
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
    return true;
}

}  // namespace

// One caller's write waiting in the group-commit queue; lives on that caller's stack.
struct SqliteLedgerStore::PendingWrite {
    const std::function<void()>* apply = nullptr;
    std::string error;  // set when this write did not commit
    bool failed = false;
    bool done = false;
};

int SqliteLedgerStore::schemaVersion() { return kSchemaVersion; }

SqliteLedgerStore::SqliteLedgerStore(const std::string& path) {
    if (path.empty()) throw LedgerError("ledger path is empty");
    // Absolute, so SQLite never reads a name like ":memory:" as anything but a file.
    std::error_code error;
    const fs::path absolute = fs::absolute(fs::path(path), error);
    if (error) throw LedgerError("ledger path " + path + ": " + error.message());
    path_ = absolute.lexically_normal().string();
    processIdentity_ = currentProcessIdentity();
    try {
        open();
    } catch (...) {
        for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
        statements_.clear();
        if (db_ != nullptr) sqlite3_close_v2(db_);
        db_ = nullptr;
        throw;
    }
}

SqliteLedgerStore::~SqliteLedgerStore() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    if (db_ != nullptr) sqlite3_close_v2(db_);
}

void SqliteLedgerStore::open() {
    const fs::path file(path_);
    if (!file.has_filename()) throw LedgerError("ledger path " + path_ + " names no file");
    ensureDirectory(file.parent_path());
    secureFile(path_, /*create=*/true);
    // SQLite creates these with the database file's mode, but stale ones may be looser, and a
    // planted symlink must not redirect our writes.
    secureFile(path_ + "-wal", false);
    secureFile(path_ + "-shm", false);

    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
#ifdef SQLITE_OPEN_NOFOLLOW
    flags |= SQLITE_OPEN_NOFOLLOW;
#endif
    const int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        throw LedgerError("cannot open ledger " + path_ + ": " + SqliteFailure(db_, rc).what());
    }
    sqlite3_extended_result_codes(db_, 1);
    if (sqlite3_db_readonly(db_, "main") == 1) {
        throw LedgerError("ledger " + path_ + " is read-only");
    }
    try {
        sqlite3_busy_timeout(db_, kBusyTimeoutMs);
        enableWal();
        execute("PRAGMA synchronous = FULL");
        migrate();
    } catch (const SqliteFailure& e) {
        throw LedgerError("cannot open ledger " + path_ + ": " + e.what());
    }
    secureFile(path_ + "-wal", false);
    secureFile(path_ + "-shm", false);
}

void SqliteLedgerStore::enableWal() {
    // Turning a new (rollback-mode) file into WAL takes locks that SQLite does not wait for with
    // the busy handler: two processes opening a fresh ledger together made one fail with
    // "database is locked". Once the file is in WAL mode (persistent) this is a no-op.
    const auto giveUp = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
    for (;;) {
        try {
            Statement walMode(db_, statement("PRAGMA journal_mode = WAL"));
            const std::string mode = walMode.step() ? walMode.text(0) : std::string();
            if (mode != "wal") throw SqliteFailure("cannot enable WAL journal mode (got '" + mode + "')");
            return;
        } catch (const SqliteFailure& e) {
            if ((e.code() & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= giveUp) throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void SqliteLedgerStore::migrate() {
    execute(kSqlBegin);
    try {
        int version = 0;
        {
            Statement userVersion(db_, statement("PRAGMA user_version"));
            if (userVersion.step()) version = static_cast<int>(userVersion.integer(0));
        }
        if (version > kSchemaVersion) {
            throw LedgerError("ledger schema version " + std::to_string(version) +
                              " is newer than this mailcollector supports");
        }
        for (int next = version; next < kSchemaVersion; ++next) {
            char* message = nullptr;
            const int rc = sqlite3_exec(db_, kMigrations[next], nullptr, nullptr, &message);
            if (rc != SQLITE_OK) {
                std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
                sqlite3_free(message);
                throw SqliteFailure("migration to schema version " + std::to_string(next + 1) + ": " + detail);
            }
        }
        if (version != kSchemaVersion) {
            // PRAGMA takes no parameters; the value is our own integer.
            const std::string setVersion = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
            if (const int rc = sqlite3_exec(db_, setVersion.c_str(), nullptr, nullptr, nullptr); rc != SQLITE_OK) {
                throw SqliteFailure(db_, rc);
            }
        }
        execute(kSqlCommit);
    } catch (...) {
        if (sqlite3_get_autocommit(db_) == 0) {
            sqlite3_exec(db_, kSqlRollback, nullptr, nullptr, nullptr);
        }
        throw;
    }
}

sqlite3_stmt* SqliteLedgerStore::statement(const char* sql) {
    if (auto it = statements_.find(sql); it != statements_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
        SqliteFailure failure(db_, rc);
        sqlite3_finalize(stmt);
        throw failure;
    }
    statements_.emplace(sql, stmt);
    return stmt;
}

void SqliteLedgerStore::execute(const char* sql) { Statement(db_, statement(sql)).run(); }

void SqliteLedgerStore::write(const char* operation, const std::function<void()>& apply) {
    PendingWrite write;
    write.apply = &apply;
    std::unique_lock queueLock(queueMutex_);
    queue_.push_back(&write);
    queueChanged_.wait(queueLock, [&] { return write.done || !committing_; });
    if (!write.done) {
        // Nobody is committing: lead, taking every write queued so far (ours included). Others
        // keep queueing meanwhile and one of them leads the next batch.
        committing_ = true;
        std::vector<PendingWrite*> batch;
        batch.swap(queue_);
        queueLock.unlock();
        try {
            commitBatch(batch);
        } catch (...) {
            // Only allocation can get here; never leave a transaction open, committing_ set or a
            // caller unanswered.
            std::lock_guard dbLock(dbMutex_);
            if (sqlite3_get_autocommit(db_) == 0) {
                sqlite3_exec(db_, kSqlRollback, nullptr, nullptr, nullptr);
            }
            for (PendingWrite* pending : batch) pending->failed = true;
        }
        queueLock.lock();
        for (PendingWrite* pending : batch) pending->done = true;
        committing_ = false;
        queueChanged_.notify_all();
    }
    if (write.failed) {
        throw operationError(operation, write.error.empty() ? "internal error" : write.error);
    }
}

void SqliteLedgerStore::commitBatch(const std::vector<PendingWrite*>& batch) {
    std::lock_guard dbLock(dbMutex_);
    // Fails every write of the batch that has not failed yet: their changes were rolled back.
    auto failRest = [&](const std::string& detail) {
        if (sqlite3_get_autocommit(db_) == 0) {
            sqlite3_exec(db_, kSqlRollback, nullptr, nullptr, nullptr);
        }
        for (PendingWrite* pending : batch) {
            if (!pending->failed) {
                pending->failed = true;
                pending->error = detail;
            }
        }
    };
    try {
        execute(kSqlBegin);
    } catch (const std::exception& e) {
        failRest(e.what());
        return;
    }
    // With several writers each gets a savepoint, so one failing write does not undo the others.
    const bool savepoints = batch.size() > 1;
    for (PendingWrite* pending : batch) {
        try {
            if (savepoints) execute(kSqlSavepoint);
            (*pending->apply)();
            if (savepoints) execute(kSqlRelease);
        } catch (const std::exception& e) {
            pending->failed = true;
            pending->error = e.what();
            // SQLite rolls the whole transaction back on some errors (disk full, I/O error);
            // then nothing of this batch survived.
            if (!savepoints || sqlite3_get_autocommit(db_) != 0) {
                failRest(e.what());
                return;
            }
            try {
                execute(kSqlRollbackTo);
                execute(kSqlRelease);
            } catch (const std::exception& rollbackError) {
                failRest(rollbackError.what());
                return;
            }
        }
    }
    try {
        execute(kSqlCommit);
    } catch (const std::exception& e) {
        failRest(e.what());
    }
}

std::vector<MessageRecord> SqliteLedgerStore::messages(const std::string& account, const std::string& folder,
                                                       std::uint64_t uidValidity) {
    std::lock_guard lock(dbMutex_);
    try {
        Statement query(db_, statement(kSqlMailbox));
        query.bind(1, account).bind(2, folder).bind(3, static_cast<std::int64_t>(uidValidity));
        std::vector<MessageRecord> records;
        while (query.step()) records.push_back(readMessage(query));
        return records;
    } catch (const SqliteFailure& e) {
        throw operationError("messages", e.what());
    }
}

void SqliteLedgerStore::forEachMessage(const std::string& account, const std::string& folder, std::uint64_t uidValidity,
                                       const std::function<bool(const MessageRecord&)>& visit) {
    std::lock_guard lock(dbMutex_);
    try {
        Statement query(db_, statement(kSqlMailbox));
        query.bind(1, account).bind(2, folder).bind(3, static_cast<std::int64_t>(uidValidity));
        while (query.step())
            if (!visit(readMessage(query))) return;
    } catch (const SqliteFailure& e) {
        throw operationError("forEachMessage", e.what());
    }
}

std::optional<MessageRecord> SqliteLedgerStore::message(const MessageKey& key) {
    std::lock_guard lock(dbMutex_);
    try {
        Statement query(db_, statement(kSqlMessage));
        query.bindKey(key);
        if (!query.step()) return std::nullopt;
        return readMessage(query);
    } catch (const SqliteFailure& e) {
        throw operationError("message", e.what());
    }
}

std::vector<MessageRecord> SqliteLedgerStore::workDue(const std::string& account, const std::string& folder,
                                                      std::uint64_t uidValidity,
                                                      std::optional<std::int64_t> deliveredBy) {
    std::lock_guard lock(dbMutex_);
    try {
        Statement query(db_, statement(kSqlWorkDue));
        query.bind(1, account)
            .bind(2, folder)
            .bind(3, static_cast<std::int64_t>(uidValidity))
            .bind(4, deliveredBy.value_or(-1));
        std::vector<MessageRecord> records;
        while (query.step()) records.push_back(readMessage(query));
        return records;
    } catch (const SqliteFailure& e) {
        throw operationError("workDue", e.what());
    }
}

void SqliteLedgerStore::forget(const std::string& account, const std::string& folder, std::uint64_t uidValidity,
                               const std::vector<std::string>& uids) {
    if (uids.empty()) return;
    write("forget", [&] {
        for (const std::string& uid : uids)
            Statement(db_, statement(kSqlDeleteMessage))
                .bind(1, account)
                .bind(2, folder)
                .bind(3, static_cast<std::int64_t>(uidValidity))
                .bind(4, uid)
                .run();
    });
}

std::optional<MailboxMark> SqliteLedgerStore::mailboxMark(const std::string& account, const std::string& folder) {
    std::lock_guard lock(dbMutex_);
    try {
        Statement query(db_, statement(kSqlMailboxMark));
        query.bind(1, account).bind(2, folder);
        if (!query.step()) return std::nullopt;
        return MailboxMark{static_cast<std::uint64_t>(query.integer(0)), static_cast<std::uint64_t>(query.integer(1)),
                           static_cast<std::uint64_t>(query.integer(2)), query.text(3),
                           static_cast<std::uint64_t>(query.integer(4))};
    } catch (const SqliteFailure& e) {
        throw operationError("mailboxMark", e.what());
    }
}

void SqliteLedgerStore::recordMailboxMark(const std::string& account, const std::string& folder,
                                          const std::optional<MailboxMark>& mark) {
    write("recordMailboxMark", [&] {
        if (!mark) {
            Statement(db_, statement(kSqlClearMailboxMark)).bind(1, account).bind(2, folder).run();
            return;
        }
        Statement(db_, statement(kSqlRecordMailboxMark))
            .bind(1, account)
            .bind(2, folder)
            .bind(3, static_cast<std::int64_t>(mark->uidValidity))
            .bind(4, static_cast<std::int64_t>(mark->uidNext))
            .bind(5, static_cast<std::int64_t>(mark->messages))
            .bind(6, mark->lastUid)
            .bind(7, static_cast<std::int64_t>(mark->fetchLimit))
            .run();
    });
}

std::vector<MessageRecord> SqliteLedgerStore::messagesInFolder(const std::string& account, const std::string& folder) {
    std::lock_guard lock(dbMutex_);
    try {
        Statement query(db_, statement(kSqlFolder));
        query.bind(1, account).bind(2, folder);
        std::vector<MessageRecord> records;
        while (query.step()) records.push_back(readMessage(query));
        return records;
    } catch (const SqliteFailure& e) {
        throw operationError("messagesInFolder", e.what());
    }
}

void SqliteLedgerStore::recordSeen(const MessageKey& key, std::uint64_t size) {
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    write("recordSeen", [&] {
        Statement(db_, statement(kSqlRecordSeen))
            .bindKey(key)
            .bind(5, static_cast<std::int64_t>(size))
            .bind(6, now)
            .run();
        Statement(db_, statement(kSqlFillUnknownSize)).bindKey(key).bind(5, static_cast<std::int64_t>(size)).run();
    });
}

void SqliteLedgerStore::markDelivered(const MessageKey& key, std::uint64_t size, const std::string& contentHash,
                                      const std::string& messageId, const std::string& headerHash) {
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    write("markDelivered", [&] {
        Statement(db_, statement(kSqlMarkDelivered))
            .bindKey(key)
            .bind(5, contentHash)
            .bind(6, messageId)
            .bind(7, now)
            .bind(8, static_cast<std::int64_t>(size))
            .bind(9, headerHash)
            .run();
    });
}

void SqliteLedgerStore::upsertState(const char* operation, const MessageKey& key, std::uint64_t size, const char* state,
                                    const std::string& reason) {
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    write(operation, [&] {
        Statement(db_, statement(kSqlMarkWithReason))
            .bindKey(key)
            .bind(5, state)
            .bind(6, reason)
            .bind(7, now)
            .bind(8, static_cast<std::int64_t>(size))
            .run();
    });
}

void SqliteLedgerStore::markQuarantined(const MessageKey& key, std::uint64_t size, const std::string& reason) {
    upsertState("markQuarantined", key, size, toString(MessageState::Quarantined), reason);
}

void SqliteLedgerStore::markSkipped(const MessageKey& key, std::uint64_t size, const std::string& reason) {
    upsertState("markSkipped", key, size, toString(MessageState::Skipped), reason);
}

void SqliteLedgerStore::markDeleted(const MessageKey& key) {
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    write("markDeleted", [&] { Statement(db_, statement(kSqlMarkDeleted)).bindKey(key).bind(5, now).run(); });
}

void SqliteLedgerStore::recordFailure(const MessageKey& key, std::uint64_t size, const std::string& error) {
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    write("recordFailure", [&] {
        Statement(db_, statement(kSqlRecordFailure))
            .bindKey(key)
            .bind(5, error)
            .bind(6, now)
            .bind(7, static_cast<std::int64_t>(size))
            .run();
    });
}

std::vector<MessageRecord> SqliteLedgerStore::quarantined(const std::string& account) {
    std::lock_guard lock(dbMutex_);
    try {
        Statement query(db_, statement(kSqlQuarantined));
        query.bind(1, account);
        std::vector<MessageRecord> records;
        while (query.step()) records.push_back(readMessage(query));
        return records;
    } catch (const SqliteFailure& e) {
        throw operationError("quarantined", e.what());
    }
}

bool SqliteLedgerStore::requeueQuarantined(const MessageKey& key) {
    bool changed = false;
    write("requeueQuarantined", [&] {
        Statement(db_, statement(kSqlRequeueQuarantined)).bindKey(key).run();
        changed = sqlite3_changes(db_) == 1;
    });
    return changed;
}

bool SqliteLedgerStore::dropQuarantined(const MessageKey& key, const std::string& reason) {
    bool changed = false;
    write("dropQuarantined", [&] {
        Statement(db_, statement(kSqlDropQuarantined)).bindKey(key).bind(5, reason).run();
        changed = sqlite3_changes(db_) == 1;
    });
    return changed;
}

void SqliteLedgerStore::forgetAbsent(const std::string& account, const std::string& folder, std::uint64_t uidValidity,
                                     const std::vector<std::string>& present) {
    const auto validity = static_cast<std::int64_t>(uidValidity);
    write("forgetAbsent", [&] {
        // Diff in memory: one indexed scan of the mailbox instead of 100,000 parameter binds.
        std::vector<std::string> stored;
        {
            Statement query(db_, statement(kSqlMailboxUids));
            query.bind(1, account).bind(2, folder).bind(3, validity);
            while (query.step()) stored.push_back(query.text(0));
        }
        const std::unordered_set<std::string_view> keep(present.begin(), present.end());
        for (const std::string& uid : stored) {
            if (keep.contains(uid)) continue;
            Statement(db_, statement(kSqlDeleteMessage))
                .bind(1, account)
                .bind(2, folder)
                .bind(3, validity)
                .bind(4, uid)
                .run();
        }
    });
}

std::optional<AccountRecord> SqliteLedgerStore::account(const std::string& name) {
    std::lock_guard lock(dbMutex_);
    try {
        AccountRecord record;
        {
            Statement query(db_, statement(kSqlAccount));
            query.bind(1, unixMilliseconds()).bind(2, name);
            if (!query.step()) return std::nullopt;
            record = readAccount(query);
        }
        Statement counts(db_, statement(kSqlAccountCounts));
        counts.bind(1, name);
        while (counts.step()) {
            addStateCount(record, parseState(counts.text(0)), static_cast<std::uint64_t>(counts.integer(1)));
        }
        return record;
    } catch (const SqliteFailure& e) {
        throw operationError("account", e.what());
    }
}

std::vector<AccountRecord> SqliteLedgerStore::accounts() {
    std::lock_guard lock(dbMutex_);
    try {
        std::vector<AccountRecord> records;
        std::unordered_map<std::string, std::size_t> byName;
        {
            Statement query(db_, statement(kSqlAccounts));
            query.bind(1, unixMilliseconds());
            while (query.step()) {
                records.push_back(readAccount(query));
                byName.emplace(records.back().name, records.size() - 1);
            }
        }
        Statement counts(db_, statement(kSqlAllCounts));
        while (counts.step()) {
            // Rows of accounts never registered are not reported.
            if (auto it = byName.find(counts.text(0)); it != byName.end()) {
                addStateCount(records[it->second], parseState(counts.text(1)),
                              static_cast<std::uint64_t>(counts.integer(2)));
            }
        }
        return records;
    } catch (const SqliteFailure& e) {
        throw operationError("accounts", e.what());
    }
}

bool SqliteLedgerStore::registerAccount(const std::string& name) {
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    bool created = false;
    write("registerAccount", [&] {
        Statement(db_, statement(kSqlRegisterAccount)).bind(1, name).bind(2, now).run();
        created = sqlite3_changes(db_) == 1;
    });
    return created;
}

void SqliteLedgerStore::recordPoll(const std::string& name, const std::string& result, const std::string& error) {
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    // A failure before the first listing is recorded too (status shows it); the row it creates
    // has first_seen_at = 0, so the account still counts as new when it is registered.
    write("recordPoll", [&] {
        Statement(db_, statement(kSqlRecordPoll)).bind(1, name).bind(2, now).bind(3, result).bind(4, error).run();
    });
}

void SqliteLedgerStore::recordNextPoll(const std::string& name, std::int64_t nextPollAt) {
    // Updates only: the rows come from registerAccount and recordPoll, which keep first_seen_at
    // (and with it fetch = "new") right.
    write("recordNextPoll",
          [&] { Statement(db_, statement(kSqlRecordNextPoll)).bind(1, name).bind(2, nextPollAt).run(); });
}

void SqliteLedgerStore::probeWrite() {
    // Rewrites the header page with the version it already holds: a real, durable write (WAL
    // append and fsync) that changes no data. Static, so the statement cache key stays valid.
    static const std::string probe = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
    write("probeWrite", [&] { execute(probe.c_str()); });
}

Lease SqliteLedgerStore::takeLease(const std::string& account, const std::string& holder,
                                   std::chrono::milliseconds ttl) {
    Lease lease{true, holder};
    // One write transaction (BEGIN IMMEDIATE): no other process can take it between our look at
    // the current holder and our insert.
    write("takeLease", [&] {
        lease = Lease{true, holder};
        const std::int64_t now = unixMilliseconds();
        {
            Statement current(db_, statement(kSqlLease));
            current.bind(1, account);
            if (current.step()) {
                const std::string currentHolder = current.text(0);
                const bool free = currentHolder == holder || current.integer(1) <= now ||
                                  holderProcessEnded(current.text(2), processIdentity_);
                if (!free) lease = Lease{false, currentHolder};
            }
        }
        if (!lease.granted) return;
        Statement(db_, statement(kSqlTakeLease))
            .bind(1, account)
            .bind(2, holder)
            .bind(3, now + ttl.count())
            .bind(4, processIdentity_)
            .run();
    });
    return lease;
}

bool SqliteLedgerStore::renewLease(const std::string& account, const std::string& holder,
                                   std::chrono::milliseconds ttl) {
    bool renewed = false;
    write("renewLease", [&] {
        Statement(db_, statement(kSqlRenewLease))
            .bind(1, account)
            .bind(2, holder)
            .bind(3, unixMilliseconds() + ttl.count())
            .run();
        renewed = sqlite3_changes(db_) == 1;
    });
    return renewed;
}

void SqliteLedgerStore::releaseLease(const std::string& account, const std::string& holder) {
    write("releaseLease", [&] { Statement(db_, statement(kSqlReleaseLease)).bind(1, account).bind(2, holder).run(); });
}

void SqliteLedgerStore::executeForTesting(const std::string& sql) {
    std::lock_guard lock(dbMutex_);
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
        sqlite3_free(message);
        throw operationError("executeForTesting", detail);
    }
}

}  // namespace mc::ledger
