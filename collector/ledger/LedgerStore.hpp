#pragma once
// The ledger: every message the collector has handled, keyed by where it lives on the source.
// A row's life: Seen -> Delivered -> Deleted, or Seen -> Quarantined, or Skipped.
// Every mark* call is durable when it returns (the pipeline deletes from the source only after it).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "proto/Failure.hpp"

namespace mc::ledger {

enum class MessageState { Seen, Delivered, Quarantined, Skipped, Deleted };

const char* toString(MessageState state);
// The state named TEXT (as toString writes it); nullopt for anything else.
std::optional<MessageState> parseMessageState(std::string_view text);

// POP3: folder "" and uidValidity 0, uid = the UIDL. IMAP: folder name, UIDVALIDITY, UID as text.
struct MessageKey {
    std::string account;
    std::string folder;
    std::uint64_t uidValidity = 0;
    std::string uid;
    bool operator==(const MessageKey&) const = default;
};

// Cross-account dedupe: what claimMessage decided for a message.
enum class DedupeClaim {
    Claimed,        // this key delivers it (the first to claim it, or the claim passed to it)
    Duplicate,      // another account's message delivered it (or holds it in quarantine): recorded
    HeldByPending,  // another account claimed it and has not delivered it yet: stays pending
};

struct DedupeDecision {
    DedupeClaim claim = DedupeClaim::Claimed;
    MessageKey first;  // who claimed it first (Duplicate, HeldByPending)
};

// A claim pending this long (its account stopped polling) passes to the next account with the message.
inline constexpr int kDedupeClaimDays = 7;
// The note of a row claimMessage recorded as a duplicate starts so.
inline constexpr const char* kDuplicateNote = "duplicate of ";

struct MessageRecord {
    MessageKey key;
    std::uint64_t size = 0;
    MessageState state = MessageState::Seen;
    std::string contentHash;  // sha256 hex of the message as fetched; empty until fetched
    std::string messageId;    // the Message-ID header, empty when absent
    // sha256 hex of the header block as fetched (headerFingerprint): what a later session
    // compares before deleting. Empty for rows delivered before schema version 3.
    std::string headerHash;
    std::int64_t firstSeenAt = 0;  // unix seconds
    std::int64_t deliveredAt = 0;  // unix seconds, 0 when not delivered
    int attempts = 0;              // failed delivery attempts
    std::string lastError;         // last failure or quarantine/skip reason
};

// Where the last complete poll left a mailbox, so that the next poll of an unchanged mailbox
// needs no listing. IMAP: the folder had `messages` messages below UID `uidNext` under
// `uidValidity`, every one of them handled (rows for all; none can appear below uidNext again).
// POP3 (folder "", uidValidity 0, uidNext 0): `messages` messages, the last one's UIDL `lastUid`.
// `fetchLimit`: max_message_size then; a raised limit makes messages skipped as too big due.
// `highestModSeq` (IMAP with QRESYNC): the folder's HIGHESTMODSEQ when the poll selected it, so
// that the next SELECT can ask which messages were expunged since; 0: unknown.
struct MailboxMark {
    std::uint64_t uidValidity = 0;
    std::uint64_t uidNext = 0;
    std::uint64_t messages = 0;
    std::string lastUid;
    std::uint64_t fetchLimit = 0;
    std::uint64_t highestModSeq = 0;
    bool operator==(const MailboxMark&) const = default;
};

// Per-account summary kept for `status` and for the fetch = "new" policy.
struct AccountRecord {
    std::string name;
    std::int64_t firstSeenAt = 0;  // 0: never polled
    std::int64_t lastPollAt = 0;
    std::int64_t nextPollAt = 0;  // unix seconds the service plans the next poll for; 0: unknown
    std::string lastResult;       // "ok", "partial", "failed:KIND" (see collector::pollResultText)
    std::string lastError;
    std::uint64_t seen = 0, delivered = 0, deleted = 0, quarantined = 0, skipped = 0, pending = 0;
    std::string leaseHolder;  // the instance polling it now (shared ledgers); empty: nobody
};

// One finished poll of an account, kept for the status page and `status --history`.
struct PollRecord {
    std::string account;
    std::int64_t startedAt = 0;  // unix seconds
    std::int64_t durationMs = 0;
    std::string result;  // as AccountRecord::lastResult: "ok", "partial", "failed:KIND"
    std::string error;
    std::uint64_t fetched = 0, delivered = 0, quarantined = 0, deferred = 0, skipped = 0, deleted = 0;
};

// Polls older than an account's last kPollHistoryKept, summed per UTC day.
struct PollDaySummary {
    std::string account;
    std::int64_t day = 0;  // unix seconds of 00:00 UTC
    std::uint64_t polls = 0, failed = 0, fetched = 0, delivered = 0, quarantined = 0;
};
inline constexpr std::size_t kPollHistoryKept = 100;

// Counts COUNT messages in STATE into RECORD's per-state counts (and `seen`).
void addStateCount(AccountRecord& record, MessageState state, std::uint64_t count);

// Who may poll an account when several instances share one ledger.
struct Lease {
    bool granted = false;
    std::string holder;  // granted: ours; refused: the instance holding it
};

class LedgerError : public proto::Failure {
public:
    explicit LedgerError(const std::string& what) : proto::Failure(proto::FailureKind::Ledger, what) {}
};

class LedgerStore {
public:
    virtual ~LedgerStore() = default;

    // Rows of one mailbox (POP3: folder "" and uidValidity 0).
    virtual std::vector<MessageRecord> messages(const std::string& account, const std::string& folder,
                                                std::uint64_t uidValidity) = 0;
    // Rows of one account in a folder under any UIDVALIDITY (for re-scan matching).
    virtual std::vector<MessageRecord> messagesInFolder(const std::string& account, const std::string& folder) = 0;
    // Whether the account has any row in the folder (under any UIDVALIDITY).
    virtual bool hasMessagesInFolder(const std::string& account, const std::string& folder) = 0;
    // Whether the account has any row in another folder.
    virtual bool hasMessagesOutsideFolder(const std::string& account, const std::string& folder) = 0;

    // Cross-account dedupe ([collector] dedupe = "message-id"), decided in one durable write
    // transaction, so that parallel polls of two accounts agree: the first key to claim
    // (messageId, bodyHash) delivers it (its row is recorded as seen with the claim, so that a
    // crash before delivery leaves it pending, never lost). markDelivered of the claimant settles
    // the claim, in its own transaction. Another key is a Duplicate once the claim is settled --
    // whatever became of the claimant's row since (deleted, forgotten) -- recorded delivered in the
    // same transaction, with "duplicate of ..." as its note; it is HeldByPending while the
    // claimant's row is pending or quarantined (an operator may still retry or drop it). A claim
    // never settled whose claimant's row is gone or skipped, or pending for kDedupeClaimDays,
    // passes to the new key (one key wins when two try at once).
    virtual DedupeDecision claimMessage(const MessageKey& key, std::uint64_t size, const std::string& messageId,
                                        const std::string& bodyHash, const std::string& contentHash,
                                        const std::string& headerHash) = 0;
    // Per account, the messages recorded as duplicates of another account's (claimMessage).
    virtual std::map<std::string, std::uint64_t> duplicateCounts() = 0;

    // max_bytes_per_day: adds `bytes` downloaded at `at` (unix seconds) to the account's hour, and
    // forgets hours older than two days; the bytes downloaded in the hours from `since`'s on.
    virtual void recordDownload(const std::string& account, std::int64_t at, std::uint64_t bytes) = 0;
    virtual std::uint64_t downloadedBytesSince(const std::string& account, std::int64_t since) = 0;

    // Inserts the row as Seen if absent; if present with another size, resets it to Seen with the
    // new size (a changed message under the same UID is a new message).
    virtual void recordSeen(const MessageKey& key, std::uint64_t size) = 0;
    // The mark*/recordFailure calls insert the row when absent. `size` is the size the source
    // listed; 0 means unknown and leaves a stored size alone.
    virtual void markDelivered(const MessageKey& key, std::uint64_t size, const std::string& contentHash,
                               const std::string& messageId, const std::string& headerHash) = 0;
    virtual void markQuarantined(const MessageKey& key, std::uint64_t size, const std::string& reason) = 0;
    virtual void markSkipped(const MessageKey& key, std::uint64_t size, const std::string& reason) = 0;
    virtual void markDeleted(const MessageKey& key) = 0;
    virtual void recordFailure(const MessageKey& key, std::uint64_t size, const std::string& error) = 0;
    // Quarantined rows of `account` (of every account when empty), by account, oldest first.
    virtual std::vector<MessageRecord> quarantined(const std::string& account) = 0;
    // A quarantined message becomes pending again (Seen, no attempts, no error): the next poll
    // fetches and delivers it. False when the row is not quarantined (any more).
    virtual bool requeueQuarantined(const MessageKey& key) = 0;
    // A quarantined message is given up: Skipped with `reason`, never fetched or deleted. False
    // when the row is not quarantined (any more).
    virtual bool dropQuarantined(const MessageKey& key, const std::string& reason) = 0;
    // Removes the rows of a mailbox whose uid is not in `present` (they left the server).
    virtual void forgetAbsent(const std::string& account, const std::string& folder, std::uint64_t uidValidity,
                              const std::vector<std::string>& present) = 0;
    // Whether the account delivered this content before (a row in any folder, under any
    // UIDVALIDITY or UIDL, Delivered or Deleted): what must not be sent again -- a message another
    // client moved to another folder, a folder renamed, a mailbox the server renumbered or whose
    // UIDLs it rebuilt, repeated UIDLs. Asked per message instead of holding every delivered hash.
    virtual bool deliveredInAccount(const std::string& account, const std::string& contentHash) = 0;

    // ---- Work per poll proportional to what changed. The defaults are correct but read the whole
    // mailbox; stores override them with indexed queries.

    // Calls `visit` with each row of one mailbox, holding one row at a time, until it returns false.
    virtual void forEachMessage(const std::string& account, const std::string& folder, std::uint64_t uidValidity,
                                const std::function<bool(const MessageRecord&)>& visit);
    // The row of `key`, if any.
    virtual std::optional<MessageRecord> message(const MessageKey& key);
    // Rows of one mailbox that ask for work without a listing: pending (Seen) ones, and Delivered
    // ones delivered at or before `deliveredBy` (unix seconds; nullopt: no deletion is due). At most
    // `limit` of them: a caller that gets `limit` rows has more work than a partial poll takes.
    virtual std::vector<MessageRecord> workDue(const std::string& account, const std::string& folder,
                                               std::uint64_t uidValidity, std::optional<std::int64_t> deliveredBy,
                                               std::size_t limit);
    // Whether a row of the account's folder under another UIDVALIDITY than `uidValidity` was
    // delivered (Delivered or Deleted): the folder was renumbered and not yet wholly re-scanned.
    virtual bool deliveredUnderOtherValidity(const std::string& account, const std::string& folder,
                                             std::uint64_t uidValidity);
    // Removes the rows of the account's folder under other UIDVALIDITYs than `uidValidity`, but the
    // quarantined ones (an operator decides on those): once a re-scan recorded every listed message
    // under the new one, they name messages by numbers the server no longer uses.
    virtual void forgetOtherValidities(const std::string& account, const std::string& folder,
                                       std::uint64_t uidValidity);
    // Removes these rows of one mailbox (messages that left the server).
    virtual void forget(const std::string& account, const std::string& folder, std::uint64_t uidValidity,
                        const std::vector<std::string>& uids);
    // The mailbox's mark (see MailboxMark); nullopt when none was recorded. The defaults keep none.
    virtual std::optional<MailboxMark> mailboxMark(const std::string& account, const std::string& folder) {
        return std::nullopt;
    }
    // Records the mark, or removes it (nullopt).
    virtual void recordMailboxMark(const std::string& account, const std::string& folder,
                                   const std::optional<MailboxMark>& mark) {}

    virtual std::optional<AccountRecord> account(const std::string& name) = 0;
    virtual std::vector<AccountRecord> accounts() = 0;
    // Creates the account row (firstSeenAt = now) if absent; returns true when it was created.
    virtual bool registerAccount(const std::string& name) = 0;
    // Records when the service will poll the account next (unix seconds), for `status`. Updates
    // the account's row only (made by registerAccount or recordPollEnd), never creates one. Stores
    // without a schedule ignore it.
    virtual void recordNextPoll(const std::string& name, std::int64_t nextPollAt) {}
    // The end of a poll, in one transaction:
    // - the account's last poll (now, poll.result and `lastError`); a poll that failed before the
    //   first listing is recorded too, in a row with firstSeenAt = 0 (still new when registered);
    // - the poll appended to its history; polls beyond the last kPollHistoryKept are folded into
    //   per-day summaries, so the history stays bounded;
    // - `leaseHolder`'s lease given up (none when empty).
    virtual void recordPollEnd(const PollRecord& poll, const std::string& lastError,
                               const std::string& leaseHolder) = 0;
    // The account's last `limit` polls, newest first.
    virtual std::vector<PollRecord> pollHistory(const std::string& account, std::size_t limit) { return {}; }
    // The account's per-day summaries of older polls from `sinceDay` (unix seconds) on, oldest first.
    virtual std::vector<PollDaySummary> pollDays(const std::string& account, std::int64_t sinceDay) { return {}; }
    // A cheap durable write that changes no data: throws LedgerError when the ledger cannot be
    // written (read-only, disk full, I/O error). For health checks.
    virtual void probeWrite() {}

    // Leases: an instance polls an account only while it holds the account's lease. A lease
    // expires `ttl` after it was taken or last renewed, so when its holder dies another instance
    // takes over. The defaults (a store no other process can open) grant every lease.
    // takeLease grants the lease when it is free, expired or already `holder`'s.
    virtual Lease takeLease(const std::string& account, const std::string& holder, std::chrono::milliseconds ttl) {
        return Lease{true, holder};
    }
    // Extends `holder`'s lease by `ttl` from now; false when it is no longer held by `holder`.
    virtual bool renewLease(const std::string& account, const std::string& holder, std::chrono::milliseconds ttl) {
        return true;
    }
    // Gives the lease up if `holder` holds it.
    virtual void releaseLease(const std::string& account, const std::string& holder) {}
};

bool isPostgresLocation(const std::string& location);
// The location with a password in a URL replaced by "***": what may be logged or shown.
std::string redactLocation(const std::string& location);

// The most connections a PostgreSQL ledger opens (see openLedger).
inline constexpr std::size_t kMaxLedgerConnections = 8;

// Opens the ledger at `location`: a SQLite file path (created if needed, mode 0600, symlinks
// refused) or a postgresql:// URL (schema created or migrated). Throws LedgerError when it
// cannot be opened, migrated or written; its message never holds a password. `connections`:
// how many PostgreSQL sessions it may open for calls made at the same time (max_parallel; at
// most kMaxLedgerConnections); the first is opened at once, others when all open ones are busy.
// A SQLite ledger has one.
std::unique_ptr<LedgerStore> openLedger(const std::string& location, std::size_t connections = 1);

}  // namespace mc::ledger
