#pragma once
// One poll of one account, in the order of RELIABILITY: connect, list, compare with the ledger,
// fetch the new messages, deliver them, record, and only then clean up the source.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/Clock.hpp"
#include "collector/ledger/LedgerStore.hpp"
#include "config/Config.hpp"
#include "net/Transport.hpp"
#include "proto/Failure.hpp"

namespace mc::collector {

class DownloadBudget;

struct PollReport {
    std::string account;
    bool ok = false;            // the poll ran to its end (messages may still be pending)
    bool ledgerFailed = false;  // the ledger could not be written: nothing else is safe
    bool interrupted = false;   // ended early because the caller asked it to stop
    std::string error;          // why the poll failed or stopped early
    // What kind of failure `error` is (when not empty), from the exception that raised it.
    proto::FailureKind failure = proto::FailureKind::Protocol;
    std::string heldBy;  // not polled: another instance holds the account's lease
    // duplicates: not sent, their content was delivered before (the poll line's known=).
    std::uint64_t listed = 0, fetched = 0, delivered = 0, deferred = 0, quarantined = 0, skipped = 0, deleted = 0,
                  duplicates = 0, bytes = 0;
    std::uint64_t untrusted = 0;              // not delivered: the source's answer for them did not add up
    std::uint64_t loneCrs = 0;                // lone CRs the delivered messages had, each sent as a space
    std::uint64_t dedupedAcrossAccounts = 0;  // not sent: their Message-ID was delivered ([collector] dedupe)
    // Left for a later poll by max_messages_per_poll / max_bytes_per_day, and why (for the poll
    // line and `status`; empty when nothing was left).
    std::uint64_t leftForLater = 0;
    std::string limitNote;
    double seconds = 0;
};

// Called as messages are handled: (handled so far, total to fetch).
using ProgressCallback = std::function<void(std::uint64_t done, std::uint64_t total)>;

// How the caller follows and steers a poll.
struct PollControl {
    ProgressCallback progress;
    // Set by another thread (a stopping service): no further message is fetched; those already
    // fetched are delivered and recorded, and delivered ones are cleaned up as usual. The poll
    // then ends with an "interrupted" error, so that the rest is collected next time.
    const std::atomic<bool>* stop = nullptr;
    // Cut by the caller when it stops (io_timeout after `stop` is set): every read and write of the
    // poll then fails at once, whatever the servers do. The poll cuts its own at its poll_timeout.
    std::shared_ptr<const net::IoCutoff> cutoff;
    // Set by pollAccount: at its poll_timeout the poll stops as if `stop` were set. On the steady
    // clock, not `clock`: the same deadline cuts the poll's sockets (net::IoCutoff), which only
    // real time can do.
    std::optional<std::chrono::steady_clock::time_point> deadline;
    // The time the poll's decisions read (delete_after_days, trace headers, quarantine names, the
    // target's busy back-off); never null.
    Clock* clock = &systemClock();
    // Set by pollAccount: what the poll may still download (max_messages_per_poll, max_bytes_per_day).
    DownloadBudget* budget = nullptr;

    bool stopRequested() const {
        return (stop != nullptr && stop->load()) || (deadline && std::chrono::steady_clock::now() >= *deadline);
    }
};

// The poll's result as the ledger keeps it: "ok", "partial" (messages deferred by the target or
// left for later by a download limit), or "failed:KIND" (KIND a
// failureKindName), so that `status` shows the kind without reading error text.
std::string pollResultText(const PollReport& report);
// A poll that ran to its end but left messages for later: pending (deferred by the target,
// untrusted answers) or left by a download limit.
bool pollIsPartial(const PollReport& report);
struct PollResultText {
    std::string result;                         // ok | partial | failed ("" never polled)
    std::optional<proto::FailureKind> failure;  // for "failed:KIND"
};
PollResultText parsePollResult(const std::string& text);

// Never throws: every failure becomes part of the report, scoped to this account. The account's
// last result is the caller's to record (LedgerStore::recordPollEnd, with its history and lease).
PollReport pollAccount(const config::Config& config, const config::AccountSettings& account,
                       ledger::LedgerStore& ledger, const PollControl& control = {});

// One mailbox as `check` saw it.
struct MailboxCount {
    std::string folder;  // UTF-8, as the server named it; "" for POP3
    std::uint64_t messages = 0;
    std::uint64_t fresh = 0;  // what a run would collect: new to the ledger, or left pending in it
};

struct CheckReport {
    std::string account;
    bool ok = false;
    std::string detail;                   // "2 folders, 12 messages, 3 new; TLS verified" or the error
    std::vector<MailboxCount> mailboxes;  // each folder read (POP3: the one mailbox), in order
};

// Gmail's "verify" step and a dry run: connect, negotiate TLS, authenticate, list each mailbox a
// run would read (IMAP: read-only) and count what a run would collect per `ledger` (nullptr: no
// ledger yet). Fetches, flags, deletes and records nothing.
CheckReport checkAccount(const config::Config& config, const config::AccountSettings& account,
                         ledger::LedgerStore* ledger);
// Connects to the target, authenticates and tries a delivery without delivering (SMTP/LMTP:
// MAIL FROM, RCPT TO the recipient, RSET; IMAP: STATUS of the folder).
CheckReport checkTarget(const config::Config& config);

}  // namespace mc::collector
