#include "collector/AccountPoller.hpp"
#include "collector/FailureHints.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "collector/CrashPoints.hpp"
#include "collector/DeliveryPipeline.hpp"
#include "collector/DownloadBudget.hpp"
#include "collector/HeaderFingerprint.hpp"
#include "collector/SessionOptions.hpp"
#include "collector/SourceSettings.hpp"
#include "collector/imap/GmailSource.hpp"
#include "collector/imap/ImapSession.hpp"
#include "collector/pop3/Pop3Session.hpp"
#include "config/Providers.hpp"
#include "delivery/MessageTarget.hpp"
#include "net/LineChannel.hpp"
#include "proto/AsciiText.hpp"
#include "proto/ImapCommand.hpp"
#include "proto/MessageHeaders.hpp"

namespace mc::collector {
namespace {

using ledger::MailboxMark;
using ledger::MessageKey;
using ledger::MessageRecord;
using ledger::MessageState;

constexpr const char* kTooBig = "larger than max_message_size";

// One mailbox as the source listed it, whichever protocol; entries by index in [0, count()).
// Lookups instead of copies, so that a listing of a million messages is held once, compactly.
class ListedMailbox {
public:
    virtual ~ListedMailbox() = default;
    virtual std::size_t count() const = 0;
    virtual std::uint32_t number(std::size_t index) const = 0;  // POP3: message number; IMAP: UID
    virtual std::string uid(std::size_t index) const = 0;       // the ledger's uid
    virtual std::uint64_t size(std::size_t index) const = 0;
    // Listed more than once (POP3): cannot identify a message.
    virtual bool repeated(std::size_t index) const { return false; }
    virtual bool anyRepeated() const { return false; }
    // Flagged \Deleted (IMAP), by another client or by us before a crash.
    virtual bool flaggedDeleted(std::size_t index) const { return false; }
    virtual std::optional<std::size_t> find(const std::string& uid) const = 0;
    virtual std::optional<std::size_t> findNumber(std::uint32_t number) const = 0;
};

class Pop3Mailbox final : public ListedMailbox {
public:
    explicit Pop3Mailbox(const Pop3Listing& listing) : listing_(listing) {}
    std::size_t count() const override { return listing_.count(); }
    std::uint32_t number(std::size_t index) const override { return listing_.number(index); }
    std::string uid(std::size_t index) const override { return listing_.uidl(index); }
    std::uint64_t size(std::size_t index) const override { return listing_.size(index); }
    bool repeated(std::size_t index) const override { return listing_.repeated(index); }
    bool anyRepeated() const override { return listing_.anyRepeated(); }
    std::optional<std::size_t> find(const std::string& uid) const override { return listing_.findUidl(uid); }
    std::optional<std::size_t> findNumber(std::uint32_t number) const override { return listing_.findNumber(number); }

private:
    const Pop3Listing& listing_;
};

// The UID a ledger row of an IMAP folder names: only the text std::to_string writes ("007" or
// "+7" is no UID of ours).
std::optional<std::uint32_t> imapUid(const std::string& text) {
    std::uint32_t number = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (error != std::errc() || end != text.data() + text.size() || std::to_string(number) != text) return std::nullopt;
    return number;
}

// The X-GM-MSGID a Gmail ledger row names (as std::to_string writes it).
std::optional<std::uint64_t> gmailMessageId(const std::string& text) {
    std::uint64_t id = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (error != std::errc() || end != text.data() + text.size() || std::to_string(id) != text) return std::nullopt;
    return id;
}

// `byGmailId`: the ledger's uid is the X-GM-MSGID (entries without one are dropped: see
// withoutGmailId), else the UID.
class ImapMailbox final : public ListedMailbox {
public:
    explicit ImapMailbox(std::vector<ImapListing> listing, bool byGmailId = false)
        : listing_(std::move(listing)), byGmailId_(byGmailId) {
        if (byGmailId_) {
            auto noId =
                std::remove_if(listing_.begin(), listing_.end(), [](const auto& e) { return !e.gmailMessageId; });
            withoutGmailId_ = static_cast<std::size_t>(listing_.end() - noId);
            listing_.erase(noId, listing_.end());
        }
        std::sort(listing_.begin(), listing_.end(), [](const auto& a, const auto& b) { return a.uid < b.uid; });
        listing_.erase(
            std::unique(listing_.begin(), listing_.end(), [](const auto& a, const auto& b) { return a.uid == b.uid; }),
            listing_.end());
        if (byGmailId_) {
            for (std::size_t index = 0; index < listing_.size(); ++index)
                byGmailIdIndex_.emplace_back(listing_[index].gmailMessageId, index);
            std::sort(byGmailIdIndex_.begin(), byGmailIdIndex_.end());
            // An X-GM-MSGID listed under two UIDs (a broken or hostile server) identifies neither.
            repeated_.assign(listing_.size(), false);
            for (std::size_t at = 1; at < byGmailIdIndex_.size(); ++at)
                if (byGmailIdIndex_[at].first == byGmailIdIndex_[at - 1].first) {
                    repeated_[byGmailIdIndex_[at].second] = repeated_[byGmailIdIndex_[at - 1].second] = true;
                    anyRepeated_ = true;
                }
        }
    }
    bool repeated(std::size_t index) const override { return anyRepeated_ && repeated_[index]; }
    bool anyRepeated() const override { return anyRepeated_; }
    std::size_t count() const override { return listing_.size(); }
    std::uint32_t number(std::size_t index) const override { return listing_[index].uid; }
    std::string uid(std::size_t index) const override {
        return std::to_string(byGmailId_ ? listing_[index].gmailMessageId : listing_[index].uid);
    }
    std::uint64_t size(std::size_t index) const override { return listing_[index].size; }
    bool flaggedDeleted(std::size_t index) const override { return listing_[index].deleted; }
    std::optional<std::size_t> find(const std::string& uid) const override {
        if (!byGmailId_) {
            auto number = imapUid(uid);
            return number ? findNumber(*number) : std::nullopt;
        }
        auto id = gmailMessageId(uid);
        if (!id) return std::nullopt;
        auto at = std::lower_bound(byGmailIdIndex_.begin(), byGmailIdIndex_.end(), std::pair{*id, std::size_t{0}});
        if (at == byGmailIdIndex_.end() || at->first != *id) return std::nullopt;
        return at->second;
    }
    // Listed without an X-GM-MSGID (byGmailId): left out, for a later poll.
    std::size_t withoutGmailId() const { return withoutGmailId_; }
    std::optional<std::size_t> findNumber(std::uint32_t number) const override {
        auto at = std::lower_bound(listing_.begin(), listing_.end(), number,
                                   [](const ImapListing& entry, std::uint32_t uid) { return entry.uid < uid; });
        if (at == listing_.end() || at->uid != number) return std::nullopt;
        return static_cast<std::size_t>(at - listing_.begin());
    }

private:
    std::vector<ImapListing> listing_;
    bool byGmailId_ = false;
    std::vector<std::pair<std::uint64_t, std::size_t>> byGmailIdIndex_;  // X-GM-MSGID, index; sorted
    std::vector<bool> repeated_;                                         // by index (byGmailId)
    bool anyRepeated_ = false;
    std::size_t withoutGmailId_ = 0;
};

// The ledger folder of Gmail rows keyed by X-GM-MSGID (UIDVALIDITY 0): one per account, whatever
// label folder a message was listed in.
constexpr const char* kGmailLedgerFolder = "X-GM-MSGID";

// Where the items live: POP3 folder "" and UIDVALIDITY 0.
struct Mailbox {
    std::string folder;
    std::uint64_t uidValidity = 0;
    // Gmail: rows keyed by X-GM-MSGID, so a message is one row in every label folder and across
    // UIDVALIDITY changes.
    bool byGmailId = false;
    bool holdsEveryMessage = false;  // Gmail's All Mail (\All): a message it does not list is gone

    std::string ledgerFolder() const { return byGmailId ? kGmailLedgerFolder : folder; }
    std::uint64_t ledgerValidity() const { return byGmailId ? 0 : uidValidity; }
};

// On a Gmail server rows are keyed by X-GM-MSGID, except in a folder the ledger holds UID-keyed
// rows for (collected by an earlier version): keyed anew, all of it would be delivered again.
bool keyedByGmailId(const ImapSession& session, ledger::LedgerStore* ledger, const std::string& account,
                    const std::string& folder) {
    return session.hasCapability("X-GM-EXT-1") && !(ledger && ledger->hasMessagesInFolder(account, folder));
}

// Gmail shows a message once per label: "*" there is All Mail alone (each message once), unless
// the account was collected folder by folder before (UID-keyed rows outside the X-GM-MSGID
// folder): it goes on so, since All Mail keyed anew would deliver all of it again.
std::optional<std::string> gmailCollectedFolder(const config::AccountSettings& account, const ImapSession& session,
                                                const std::vector<ImapFolder>& listed, ledger::LedgerStore* ledger) {
    auto allMail = gmailAllMailFolder(account, session.hasCapability("X-GM-EXT-1"), listed);
    if (allMail && ledger && ledger->hasMessagesOutsideFolder(account.name, kGmailLedgerFolder)) allMail.reset();
    return allMail;
}

// The folders a poll reads: Gmail's All Mail alone when gmailCollectedFolder chose it.
std::vector<std::string> foldersToCollect(const config::AccountSettings& account, const std::vector<ImapFolder>& listed,
                                          const std::optional<std::string>& allMail) {
    return allMail ? std::vector<std::string>{*allMail} : resolveImapFolders(account, listed);
}

// What one poll of one mailbox works with, set up once and passed whole (as isync's sync_vars).
struct MailboxPoll {
    const config::Config& config;
    const config::AccountSettings& account;
    ledger::LedgerStore& ledger;
    const PollControl& control;
    PollReport& report;
    Mailbox mailbox;

    MessageKey key(const std::string& uid) const {
        return MessageKey{account.name, mailbox.ledgerFolder(), mailbox.ledgerValidity(), uid};
    }
};

using ContentCheck = std::function<bool(const std::string& contentHash)>;

struct Plan {
    std::vector<std::uint32_t> fetch;  // numbers, in the order to fetch them
    // Per number: content not to resend (a message under a UID that held other content before).
    std::map<std::uint32_t, std::string> knownHashes;
    // Content the account delivered before (from any folder, under any UIDVALIDITY or UIDL) is
    // recorded, not sent again: a message another client moved or whose folder it renamed, a
    // re-scan (UIDVALIDITY changed), rebuilt or repeated UIDLs. The ledger is asked per message;
    // not on an account's first poll (nothing was delivered yet), unless UIDLs repeat.
    bool rescan = false;
    ContentCheck deliveredBefore;
    std::vector<std::uint32_t> ambiguous;  // repeated UIDLs, sorted: never deleted
    // Planned messages an earlier poll tried and left pending (a target deferring them, a crash),
    // sorted: within a download budget they take turns with the rest (see withinBudget).
    std::vector<std::uint32_t> retries;
    // Delivered in an earlier poll, due for deletion now, once verifyEarlier confirmed each one
    // is still the message delivered; with its ledger row.
    std::vector<std::pair<std::uint32_t, MessageRecord>> deleteEarlier;
    std::vector<std::string> absent;  // ledger rows of messages no longer listed
    std::size_t leftAlone = 0;        // flagged \Deleted by another client: neither collected nor removed
    // The source's labels per number (Gmail's X-GM-LABELS), filled in as the messages are fetched.
    std::map<std::uint32_t, std::vector<std::string>> sourceLabels;

    bool isAmbiguous(std::uint32_t number) const {
        return std::binary_search(ambiguous.begin(), ambiguous.end(), number);
    }
    bool isRetry(std::uint32_t number) const { return std::binary_search(retries.begin(), retries.end(), number); }
    // The message's own earlier content (its row may no longer hold it: a changed size resets the
    // row), and whatever the account delivered before.
    ContentCheck notToResend(std::uint32_t number) const {
        auto known = knownHashes.find(number);
        if (known == knownHashes.end()) return deliveredBefore;
        return [hash = known->second, before = deliveredBefore](const std::string& contentHash) {
            return contentHash == hash || (before && before(contentHash));
        };
    }
};

using BodyFactory = std::function<delivery::MessageBody()>;
using BodyHandler = std::function<bool(std::uint32_t number, delivery::MessageBody body)>;
// A message the source answered with something that cannot be trusted: left pending, with why.
using FailureHandler = std::function<void(std::uint32_t number, const std::string& why)>;
using Retriever = std::function<void(const std::vector<std::uint32_t>&, const BodyFactory&, const BodyHandler&,
                                     const FailureHandler&)>;
// Fetches the header blocks of these messages (POP3 TOP n 0, IMAP BODY.PEEK[HEADER]), each handed
// to the handler as it arrives; a message the server gives no header for is not.
using HeaderHandler = std::function<void(std::uint32_t number, const std::string& header)>;
using HeaderFetcher = std::function<void(const std::vector<std::uint32_t>&, const HeaderHandler&)>;

bool deletionDue(const config::AccountSettings& account, const MessageRecord& record, std::time_t now) {
    if (!account.keep) return true;
    if (account.deleteAfterDays <= 0) return false;
    return record.deliveredAt > 0 && now - record.deliveredAt >= std::int64_t(account.deleteAfterDays) * 86400;
}

bool deletesAnything(const config::AccountSettings& account) { return !account.keep || account.deleteAfterDays > 0; }

// What to do with one listed message, given its ledger row.
enum class Decision : std::uint8_t {
    Nothing,
    Fetch,
    FetchNotResending,  // deleted before and listed again: its earlier content is not sent again
    ResetAndFetch,      // same UID, other size: a different message; fetched, never deleted by UID
    Reset,              // the same, but too big to fetch
    SkipNew,            // fetch = "new" and on the server before the account's first listing
    SkipTooBig,
    DeleteEarlier,  // delivered before and due for deletion
};

struct PlanRules {
    bool firstPoll = false;
    bool fetchNewOnly = false;
    std::uint64_t maxMessageSize = 0;
    const config::AccountSettings* account = nullptr;
    std::time_t now = 0;
};

// The pure decision: no I/O, no ledger.
Decision decide(const MessageRecord* record, std::uint64_t listedSize, const PlanRules& rules) {
    const bool tooBig = listedSize > rules.maxMessageSize;
    if (!record) {
        if (rules.firstPoll && rules.fetchNewOnly) return Decision::SkipNew;
        return tooBig ? Decision::SkipTooBig : Decision::Fetch;
    }
    if (record->size != listedSize && record->size != 0 && record->state != MessageState::Skipped)
        return tooBig ? Decision::Reset : Decision::ResetAndFetch;
    switch (record->state) {
        case MessageState::Seen:  // left pending by an earlier poll (4xx, crash)
            return tooBig ? Decision::Nothing : Decision::Fetch;
        case MessageState::Delivered:
            return deletionDue(*rules.account, *record, rules.now) ? Decision::DeleteEarlier : Decision::Nothing;
        case MessageState::Deleted:
            // Deleted before, listed again: the server re-used the UID or kept the message.
            return tooBig ? Decision::Nothing : Decision::FetchNotResending;
        case MessageState::Skipped:
            // Too big earlier but allowed now (the limit was raised): fetch it.
            return record->lastError.rfind(kTooBig, 0) == 0 && !tooBig ? Decision::Fetch : Decision::Nothing;
        case MessageState::Quarantined:
            return Decision::Nothing;  // reported; an operator decides
    }
    return Decision::Nothing;
}

bool decisionNeedsRow(Decision decision) {
    return decision == Decision::FetchNotResending || decision == Decision::ResetAndFetch ||
           decision == Decision::Reset || decision == Decision::DeleteEarlier;
}

PlanRules planRules(const config::AccountSettings& account, bool firstPoll, const Clock& clock) {
    return PlanRules{firstPoll, account.fetch == config::FetchPolicy::New, account.maxMessageSize, &account,
                     std::chrono::system_clock::to_time_t(clock.wallNow())};
}

// Carries out a decision for listed entry `index`: the plan, and the ledger rows it writes.
// `record`: the row, for decisions that need it (decisionNeedsRow).
void applyDecision(MailboxPoll& poll, Plan& plan, const ListedMailbox& listed, std::size_t index, Decision decision,
                   const MessageRecord* record) {
    const std::uint32_t number = listed.number(index);
    const std::uint64_t size = listed.size(index);
    auto onlyItsContent = [&] { plan.knownHashes[number] = record->contentHash; };
    switch (decision) {
        case Decision::Nothing:
            return;
        case Decision::Fetch:
            plan.fetch.push_back(number);
            return;
        case Decision::FetchNotResending:
            onlyItsContent();
            plan.fetch.push_back(number);
            return;
        case Decision::ResetAndFetch:
        case Decision::Reset: {
            const std::string uid = listed.uid(index);
            spdlog::warn("account={} uid={} changed size ({} -> {}); treating it as a new message", poll.account.name,
                         net::printable(uid), record->size, size);
            poll.ledger.recordSeen(poll.key(uid), size);
            if (decision == Decision::ResetAndFetch) {
                onlyItsContent();
                plan.fetch.push_back(number);
            }
            return;
        }
        case Decision::SkipNew:
            poll.ledger.markSkipped(poll.key(listed.uid(index)), size,
                                    "on the server before the account was added (fetch = \"new\")");
            ++poll.report.skipped;
            return;
        case Decision::SkipTooBig: {
            const std::string uid = listed.uid(index);
            poll.ledger.markSkipped(poll.key(uid), size,
                                    std::string(kTooBig) + " (" + std::to_string(size) + " bytes)");
            spdlog::warn("account={} folder={} uid={} skipped: {} bytes is {}", poll.account.name,
                         net::printable(poll.mailbox.folder), net::printable(uid), size, kTooBig);
            ++poll.report.skipped;
            return;
        }
        case Decision::DeleteEarlier:
            plan.deleteEarlier.emplace_back(number, *record);
            return;
    }
}

// Plans a mailbox from its listing: one pass over its ledger rows (one held at a time) decides for
// the listed messages that have one and, for a whole listing, finds the rows of messages no longer
// listed; then every decision is carried out. `rescan`: the UIDVALIDITY changed; content delivered
// under the folder's earlier UIDVALIDITYs is not sent again. `rowsOfListed`: the listing
// is partial (what arrived since the mailbox's mark, and what the ledger has work for), with the
// rows it has; rows of messages not listed are then no news.
// Rows of messages no longer listed are forgotten at most this many per poll (the rest on later
// polls): a server listing far fewer messages than the ledger knows must not make a poll hold them.
constexpr std::size_t kMostForgottenPerPoll = 10'000;

Plan planListing(MailboxPoll& poll, const ListedMailbox& listed, bool firstPoll, bool rescan,
                 const std::vector<MessageRecord>* rowsOfListed = nullptr) {
    Plan plan;
    const PlanRules rules = planRules(poll.account, firstPoll, *poll.control.clock);
    std::vector<std::optional<Decision>> decisions(listed.count());
    std::map<std::size_t, MessageRecord> rows;  // for decisions that need the row (few)
    std::size_t othersDeleting = 0;
    auto visit = [&](const MessageRecord& record) {
        auto index = listed.find(record.key.uid);
        if (!index) {
            if (rowsOfListed) return true;
            // Repeated UIDLs are recorded as "UIDL#hash": they stay while the UIDL is listed.
            auto hash = record.key.uid.rfind('#');
            if (!(listed.anyRepeated() && hash != std::string::npos && listed.find(record.key.uid.substr(0, hash))))
                if (plan.absent.size() < kMostForgottenPerPoll) plan.absent.push_back(record.key.uid);
            return true;
        }
        if (listed.repeated(*index)) return true;
        // A message flagged \Deleted is being deleted by another client (or by us, in a poll
        // that stopped before UID EXPUNGE): neither collected nor removed, unless we delivered it.
        if (listed.flaggedDeleted(*index) && record.state != MessageState::Delivered) {
            decisions[*index] = Decision::Nothing;
            ++othersDeleting;
            return true;
        }
        const Decision decision = decide(&record, listed.size(*index), rules);
        decisions[*index] = decision;
        if (decisionNeedsRow(decision)) rows.emplace(*index, record);
        if (decision == Decision::Fetch && record.state == MessageState::Seen)
            plan.retries.push_back(listed.number(*index));
        return true;
    };
    if (rowsOfListed)
        std::for_each(rowsOfListed->begin(), rowsOfListed->end(), visit);
    else  // no ledger call inside: the store may hold its lock while it visits
        poll.ledger.forEachMessage(poll.account.name, poll.mailbox.ledgerFolder(), poll.mailbox.ledgerValidity(),
                                   visit);
    plan.rescan = rescan;
    if (!firstPoll || rescan || listed.anyRepeated())
        plan.deliveredBefore = [&ledger = poll.ledger, account = poll.account.name](const std::string& contentHash) {
            return ledger.deliveredInAccount(account, contentHash);
        };

    for (std::size_t index = 0; index < listed.count(); ++index) {
        if (listed.repeated(index)) {
            // A repeated UIDL cannot identify a message: fetch it, send it only if its content is
            // new, and never delete it.
            plan.ambiguous.push_back(listed.number(index));
            plan.fetch.push_back(listed.number(index));
            continue;
        }
        if (!decisions[index] && listed.flaggedDeleted(index)) {
            ++othersDeleting;
            continue;
        }
        auto row = rows.find(index);
        applyDecision(poll, plan, listed, index, decisions[index].value_or(decide(nullptr, listed.size(index), rules)),
                      row == rows.end() ? nullptr : &row->second);
    }
    std::sort(plan.ambiguous.begin(), plan.ambiguous.end());
    std::sort(plan.retries.begin(), plan.retries.end());
    plan.leftAlone = othersDeleting;
    if (othersDeleting)
        spdlog::info("account={} folder={} {} message(s) flagged \\Deleted by another client left alone",
                     poll.account.name, net::printable(poll.mailbox.folder), othersDeleting);
    return plan;
}

// How many of a listed mailbox's messages a poll would fetch to deliver, per the ledger's rows
// (read only; nullptr: none), by the rules planListing follows.
std::uint64_t countToCollect(ledger::LedgerStore* ledger, const config::AccountSettings& account,
                             const Mailbox& mailbox, const ListedMailbox& listed, bool firstPoll) {
    const PlanRules rules = planRules(account, firstPoll, systemClock());
    std::vector<std::optional<Decision>> decisions(listed.count());
    if (ledger)
        ledger->forEachMessage(
            account.name, mailbox.ledgerFolder(), mailbox.ledgerValidity(), [&](const MessageRecord& record) {
                auto index = listed.find(record.key.uid);
                if (!index || listed.repeated(*index)) return true;
                const bool othersDeleting = listed.flaggedDeleted(*index) && record.state != MessageState::Delivered;
                decisions[*index] = othersDeleting ? Decision::Nothing : decide(&record, listed.size(*index), rules);
                return true;
            });
    std::uint64_t fresh = 0;
    for (std::size_t index = 0; index < listed.count(); ++index) {
        if (!decisions[index] && listed.flaggedDeleted(index)) continue;  // another client's deletion
        const Decision decision = listed.repeated(index)
                                      ? Decision::Fetch
                                      : decisions[index].value_or(decide(nullptr, listed.size(index), rules));
        if (decision == Decision::Fetch || decision == Decision::FetchNotResending ||
            decision == Decision::ResetAndFetch)
            ++fresh;
    }
    return fresh;
}

// What an operator most likely has to fix when the target refused every message alike.
std::string refusalHint(const std::string& reply) {
    std::string upper = proto::asciiUpperCopy(reply);
    auto has = [&](const char* text) { return upper.find(text) != std::string::npos; };
    if (reply.rfind("APPEND", 0) == 0 || reply.rfind("setting Gmail labels", 0) == 0)
        return "check [target] folder, the account's labels and the target user's rights";
    if (has(" 5.1.") || has("USER UNKNOWN") || has("NOT EXIST") || has("N'T EXIST") || has("RECIPIENT") ||
        has("MAILBOX UNAVAILABLE"))
        return "check [target] recipient";
    if (has("552") || has(" 5.2.2") || has(" 5.3.4") || has("OVERQUOTA") || has("TOO BIG") || has("TOO LARGE"))
        return "the target mailbox is full or refuses messages this big";
    if (has(" 5.7.") || has("RELAY")) return "check [target] username, envelope_from and what the target allows";
    return "check the [target] settings";
}

// A message delivered in an earlier session is deleted only when the server still lists the same
// message under its UID: its header block hashes as recorded at delivery (rows from before the
// hash was recorded: its Message-ID is the recorded one). UIDs reused for other messages (POP3
// servers numbering by message number) would otherwise delete mail never fetched. Messages with
// other headers are fetched as new ones (content delivered before is recognised by its hash and
// not sent twice); those the server gives no header for are kept. Both are warned about once.
void verifyEarlier(const MailboxPoll& poll, Plan& plan, const HeaderFetcher& fetchHeaders) {
    if (plan.deleteEarlier.empty()) return;
    enum class Verdict { NoHeader, Same, Other };
    std::vector<Verdict> verdicts(plan.deleteEarlier.size(), Verdict::NoHeader);
    std::unordered_map<std::uint32_t, std::size_t> indexOf;
    std::vector<std::uint32_t> numbers;
    for (std::size_t i = 0; i < plan.deleteEarlier.size(); ++i) {
        indexOf[plan.deleteEarlier[i].first] = i;
        numbers.push_back(plan.deleteEarlier[i].first);
    }
    // Judged as each header arrives, so that only a verdict per message is held.
    fetchHeaders(numbers, [&](std::uint32_t number, const std::string& header) {
        auto index = indexOf.find(number);
        if (index == indexOf.end() || verdicts[index->second] != Verdict::NoHeader) return;
        const MessageRecord& record = plan.deleteEarlier[index->second].second;
        bool same =
            !record.headerHash.empty()
                ? headerFingerprint(header) == record.headerHash
                : !record.messageId.empty() && proto::findHeader(header, "Message-ID").value_or("") == record.messageId;
        verdicts[index->second] = same ? Verdict::Same : Verdict::Other;
    });
    std::vector<std::pair<std::uint32_t, MessageRecord>> verified;
    std::size_t different = 0, unverified = 0, unidentified = 0;
    for (std::size_t i = 0; i < plan.deleteEarlier.size(); ++i) {
        auto& [number, record] = plan.deleteEarlier[i];
        if (verdicts[i] == Verdict::NoHeader) {
            ++unverified;
            continue;
        }
        if (verdicts[i] == Verdict::Same) {
            verified.emplace_back(number, std::move(record));
            continue;
        }
        if (record.headerHash.empty() && record.messageId.empty())
            ++unidentified;
        else
            ++different;
        plan.knownHashes[number] = record.contentHash;
        plan.fetch.push_back(number);
    }
    plan.deleteEarlier = std::move(verified);
    const std::string& account = poll.account.name;
    const std::string folder = net::printable(poll.mailbox.folder);
    if (different)
        spdlog::warn(
            "account={} folder={} {} message(s) listed under a delivered UID have other headers than were "
            "delivered: not deleted; fetched as new messages",
            account, folder, different);
    if (unidentified)
        spdlog::info(
            "account={} folder={} {} message(s) delivered before header hashes were recorded, without a "
            "Message-ID: fetched again, deleted only if their content is the one delivered",
            account, folder, unidentified);
    if (unverified)
        spdlog::warn(
            "account={} folder={} {} message(s) due for deletion kept: the server did not send their "
            "headers to confirm they are the ones delivered",
            account, folder, unverified);
}

struct Collected {
    std::vector<std::uint32_t> toDelete;  // numbers now safe to delete
    // Every planned message was answered (delivered, refused, deferred or left pending, each with
    // its ledger row) and the poll met no error: the mailbox's mark may move on.
    bool complete = false;
};

// The planned messages the poll's download budget lets it fetch, in the plan's order; the rest
// stays unrecorded (new) or pending for a later poll. The budget takes them oldest first, new mail
// and messages earlier polls left pending taking turns (new first): messages a target defers again
// and again cannot fill every poll's max_messages_per_poll and hold back the mail behind them.
std::vector<std::uint32_t> withinBudget(const PollControl& control, const ListedMailbox& listed, const Plan& plan) {
    if (!control.budget) return plan.fetch;
    std::vector<std::uint32_t> retries, others;
    for (auto number : plan.fetch) (plan.isRetry(number) ? retries : others).push_back(number);
    std::vector<std::uint32_t> turns;
    turns.reserve(plan.fetch.size());
    for (std::size_t i = 0; i < std::max(retries.size(), others.size()); ++i) {
        if (i < others.size()) turns.push_back(others[i]);
        if (i < retries.size()) turns.push_back(retries[i]);
    }
    std::vector<std::uint64_t> sizes;
    sizes.reserve(turns.size());
    for (auto number : turns) {
        auto index = listed.findNumber(number);
        sizes.push_back(index ? listed.size(*index) : 0);
    }
    turns.resize(control.budget->take(sizes));
    const std::unordered_set<std::uint32_t> taken(turns.begin(), turns.end());
    std::vector<std::uint32_t> numbers;
    for (auto number : plan.fetch)
        if (taken.count(number)) numbers.push_back(number);
    return numbers;
}

// Fetches the planned messages and delivers them; returns the numbers now safe to delete
// (delivered and durably recorded, not ambiguous), including earlier ones that are due.
Collected fetchAndDeliver(MailboxPoll& poll, const ListedMailbox& listed, const Plan& plan, const Retriever& retrieve) {
    const config::AccountSettings& account = poll.account;
    PollReport& report = poll.report;
    Collected collected;
    std::vector<std::uint32_t>& toDelete = collected.toDelete;
    for (const auto& [number, record] : plan.deleteEarlier) toDelete.push_back(number);
    if (plan.fetch.empty()) {
        collected.complete = report.error.empty() && !report.ledgerFailed;
        return collected;
    }

    const std::vector<std::uint32_t> numbers = withinBudget(poll.control, listed, plan);
    // Messages left for a later poll by the download budget keep the mark where it is.
    const bool allPlanned = numbers.size() == plan.fetch.size();
    if (numbers.empty()) return collected;
    const std::string& spoolDir = poll.config.collector.spoolDir;
    DeliveryPipeline pipeline(poll.config, account, poll.ledger, account.endpoint.host, numbers.size(),
                              *poll.control.clock, poll.control.cutoff);
    std::uint64_t handled = 0, untrusted = 0;
    auto addCounts = [&] {
        const DeliveryCounts counts = pipeline.counts();
        report.delivered += counts.delivered;
        report.deferred += counts.deferred;
        report.quarantined += counts.quarantined;
        report.duplicates += counts.duplicates;
        report.dedupedAcrossAccounts += counts.dedupedAcrossAccounts;
        report.bytes += counts.bytes;
        report.loneCrs += counts.loneCrs;
        return counts;
    };
    try {
        retrieve(
            numbers, [&] { return delivery::MessageBody(spoolDir); },
            [&](std::uint32_t number, delivery::MessageBody body) {
                auto index = listed.findNumber(number);
                if (!index) return true;  // not asked for; ignore
                ++report.fetched;
                const std::string uid = listed.uid(*index);
                DeliveryJob job{poll.key(uid), number, listed.size(*index), std::move(body), plan.notToResend(number)};
                if (plan.isAmbiguous(number)) job.key.uid = uid + "#" + job.body.sha256().substr(0, 16);
                if (auto labels = plan.sourceLabels.find(number); labels != plan.sourceLabels.end())
                    job.sourceLabels = labels->second;
                bool accepted = pipeline.submit(std::move(job));
                ++handled;
                if (poll.control.progress) poll.control.progress(handled, numbers.size());
                return accepted && !poll.control.stopRequested();
            },
            [&](std::uint32_t number, const std::string& why) {
                auto index = listed.findNumber(number);
                if (!index) return;
                const std::string uid = listed.uid(*index);
                spdlog::warn("account={} folder={} uid={} left pending: {}", account.name,
                             net::printable(poll.mailbox.folder), net::printable(uid), why);
                poll.ledger.recordFailure(poll.key(uid), listed.size(*index), why);  // pending in `status`
                ++report.untrusted;
                ++untrusted;
            });
    } catch (...) {
        // The source failed: what the target accepted until then is recorded, and counted.
        pipeline.abandon();
        addCounts();
        throw;
    }
    pipeline.finish();
    if (handled < numbers.size() && poll.control.stopRequested() && report.error.empty()) {
        report.interrupted = true;
        report.failure = proto::FailureKind::Interrupted;
        // Of this mailbox's messages: an IMAP poll's earlier folders were collected whole.
        const std::string& folder = poll.mailbox.folder;
        report.error = "interrupted: stopping after " + std::to_string(handled) + " of " +
                       std::to_string(numbers.size()) + " messages" +
                       (folder.empty() ? "" : " in " + net::printable(folder)) + "; the rest is collected next time";
    }
    const DeliveryCounts counts = addCounts();
    if (pipeline.ledgerFailed()) report.ledgerFailed = true;
    if (!pipeline.fatalError().empty()) {
        report.error = pipeline.fatalError();
        report.failure = pipeline.fatalKind();
    }
    if (auto refused = pipeline.commonRejection(); !refused.empty() && report.error.empty()) {
        // Most likely the settings, not the mail: a failed poll, so that it is seen.
        report.error = "target refused all " + std::to_string(counts.quarantined) + " messages with: " + refused +
                       "; " + refusalHint(refused) + ", then run 'mailcollector quarantine retry --account " +
                       account.name + "' to deliver them";
        report.failure = proto::FailureKind::TargetPermanent;
    }
    if (!account.keep)
        for (auto number : pipeline.deliveredNumbers())
            if (!plan.isAmbiguous(number)) toDelete.push_back(number);
    collected.complete =
        allPlanned && handled + untrusted == numbers.size() && report.error.empty() && !report.ledgerFailed;
    return collected;
}

std::string describeDuration(std::chrono::seconds duration) {
    const auto s = duration.count();
    if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
    if (s % 60 == 0) return std::to_string(s / 60) + "m";
    return std::to_string(s) + "s";
}

// When a deletion is due for a Delivered row (LedgerStore::workDue's cut-off); nullopt: never.
std::optional<std::int64_t> deliveredBy(const config::AccountSettings& account, const Clock& clock) {
    if (!account.keep) return std::numeric_limits<std::int64_t>::max();
    if (account.deleteAfterDays <= 0) return std::nullopt;
    return static_cast<std::int64_t>(std::chrono::system_clock::to_time_t(clock.wallNow())) -
           std::int64_t(account.deleteAfterDays) * 86400;
}

// The rows of a partial listing's messages: those the ledger has work for (`due`) and, for the
// others, their row if they have one (left by a poll that stopped before it moved the mark).
// `found` counts the latter.
std::vector<MessageRecord> rowsOfListed(const MailboxPoll& poll, const ListedMailbox& listed,
                                        std::vector<MessageRecord> due, std::size_t& found) {
    std::set<std::string> dueUids;
    for (const auto& record : due) dueUids.insert(record.key.uid);
    for (std::size_t index = 0; index < listed.count(); ++index) {
        std::string uid = listed.uid(index);
        if (dueUids.count(uid)) continue;
        if (auto record = poll.ledger.message(poll.key(uid))) {
            due.push_back(std::move(*record));
            ++found;
        }
    }
    return due;
}

// A POP3 mailbox that only grew is listed from its mark on, at most this many new messages (one
// UIDL and one LIST each); beyond, a whole listing is cheaper.
constexpr std::uint32_t kPop3MostListedOneByOne = 1000;

// The number of messages the POP3 mailbox holds when it only grew since `mark` (as fetchmail
// checks: it holds at least as many, and the last one then is still there under its UIDL), and
// nothing is pending or due for deletion (finding those takes a whole listing) and no limit was
// raised. nullopt: list the mailbox whole.
std::optional<std::uint32_t> pop3GrownFromMark(Pop3Session& session, const MailboxPoll& poll,
                                               const std::optional<MailboxMark>& mark) {
    if (!mark || mark->fetchLimit < poll.account.maxMessageSize || mark->messages > kPop3MaxListingEntries)
        return std::nullopt;
    if (!poll.ledger.workDue(poll.account.name, "", 0, deliveredBy(poll.account, *poll.control.clock), 1).empty())
        return std::nullopt;
    const auto [count, last] = mark->messages > 0 ? session.countAndUidlOf(static_cast<std::uint32_t>(mark->messages))
                                                  : Pop3Session::CountAndUidl{session.messageCount(), std::nullopt};
    if (!count || *count < mark->messages || *count - mark->messages > kPop3MostListedOneByOne) return std::nullopt;
    if (mark->messages > 0 && last != mark->lastUid) return std::nullopt;
    return count;
}

// Where a POP3 poll leaves the mailbox (see MailboxMark): the messages left after QUIT deleted
// `deleted` (sorted) and renumbered the rest, and the UIDL of the last one. `base`: the listing
// started after this mark.
MailboxMark pop3MarkAfter(const Pop3Listing& listing, const std::vector<std::uint32_t>& deleted,
                          const std::optional<MailboxMark>& base, std::uint64_t fetchLimit) {
    MailboxMark mark;
    mark.fetchLimit = fetchLimit;
    for (std::size_t index = listing.count(); index-- > 0;) {
        const std::uint32_t number = listing.number(index);
        if (std::binary_search(deleted.begin(), deleted.end(), number)) continue;
        mark.messages = number - (std::lower_bound(deleted.begin(), deleted.end(), number) - deleted.begin());
        mark.lastUid = listing.uidl(index);
        return mark;
    }
    if (base) {
        mark.messages = base->messages;
        mark.lastUid = base->lastUid;
    }
    return mark;
}

void pollPop3(const config::Config& config, const config::AccountSettings& account, ledger::LedgerStore& ledger,
              const PollControl& control, PollReport& report) {
    Pop3Options options = pop3Options(account, config.collector.ioTimeout);
    options.connect.cutoff = control.cutoff;
    options.spoolDir = config.collector.spoolDir;
    Pop3Session session(std::move(options));
    session.open();
    MailboxPoll poll{config, account, ledger, control, report, Mailbox{}};
    const auto mark = ledger.mailboxMark(account.name, "");
    const Pop3Listing* listing = nullptr;
    std::vector<MessageRecord> rows;
    bool sinceMark = false;
    if (auto count = pop3GrownFromMark(session, poll, mark)) {
        const Pop3Listing& arrived = session.listRange(static_cast<std::uint32_t>(mark->messages) + 1, *count);
        std::size_t withRows = 0;
        rows = rowsOfListed(poll, Pop3Mailbox(arrived), {}, withRows);
        // New messages with rows: a poll that stopped before moving the mark, or a UIDL given
        // twice. A whole listing tells them apart.
        sinceMark = withRows == 0 && arrived.count() == *count - mark->messages && !arrived.anyRepeated();
        if (sinceMark) listing = &arrived;
    }
    if (!sinceMark) listing = &session.list();
    Pop3Mailbox listed(*listing);
    bool firstPoll = ledger.registerAccount(account.name);
    Plan plan = planListing(poll, listed, firstPoll, false, sinceMark ? &rows : nullptr);
    // The mailbox's messages, listed or known from the mark.
    report.listed = (sinceMark ? mark->messages : 0) + listed.count();
    verifyEarlier(poll, plan, [&](const auto& numbers, const auto& handle) { session.headers(numbers, handle); });
    Collected collected = fetchAndDeliver(
        poll, listed, plan, [&](const auto& numbers, const auto& makeBody, const auto& handle, const auto& failed) {
            session.retrieve(numbers, makeBody, handle, failed);
        });

    std::vector<std::uint32_t> marked;
    if (!collected.toDelete.empty() && !report.ledgerFailed) {
        marked = session.markDeleted(collected.toDelete);
        crashPoint("after-dele");
    }
    crashPoint("before-quit");
    bool committed = session.quit();  // POP3 deletes only at QUIT
    if (committed && !marked.empty()) {
        for (auto number : marked)
            if (auto index = listed.findNumber(number)) ledger.markDeleted(poll.key(listed.uid(*index)));
        report.deleted = marked.size();
    } else if (!marked.empty()) {
        spdlog::warn("account={} server did not confirm QUIT; {} deletions may not have happened", account.name,
                     marked.size());
    }
    if (report.ledgerFailed) return;
    ledger.forget(account.name, "", 0, plan.absent);
    // The mark moves on only when every message listed was handled and the deletions are known.
    if (!collected.complete || listed.anyRepeated() || (!marked.empty() && !committed)) return;
    std::sort(marked.begin(), marked.end());
    MailboxMark next = pop3MarkAfter(*listing, marked, sinceMark ? mark : std::nullopt, account.maxMessageSize);
    if (next != mark) ledger.recordMailboxMark(account.name, "", next);
}

// An IMAP folder is polled from its mark while it has fewer arrivals and rows with work than this
// (each is looked up in the ledger); beyond, it is listed whole.
constexpr std::size_t kImapMostCheckedSinceMark = 10'000;

// Messages QRESYNC named as expunged since the mark beyond this are listed instead: a listing
// is cheaper than looking up so many rows one by one.
constexpr std::size_t kImapMostVanishedLookedUp = 1000;

// The messages the mark counted that QRESYNC says were expunged since (VANISHED (EARLIER)): those
// below its UIDNEXT with a row, but Deleted ones (our own deletions left the count when made).
// Their rows go to `gone`, to be forgotten. Nullopt when too many to look up.
std::optional<std::uint64_t> expungedSinceMark(MailboxPoll& poll, const MailboxMark& mark,
                                               const std::vector<proto::ImapRange>& vanished,
                                               std::vector<std::string>& gone) {
    std::vector<std::uint32_t> uids;
    for (const auto& range : vanished)
        for (std::uint64_t uid = range.first; uid <= range.last && uid < mark.uidNext; ++uid) {
            if (uids.size() == kImapMostVanishedLookedUp) return std::nullopt;
            uids.push_back(static_cast<std::uint32_t>(uid));
        }
    std::sort(uids.begin(), uids.end());
    uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
    std::uint64_t counted = 0;
    for (auto uid : uids)
        if (auto row = poll.ledger.message(poll.key(std::to_string(uid)))) {
            gone.push_back(row->key.uid);
            if (row->state != MessageState::Deleted) ++counted;
        }
    return counted;
}

// Rows of messages that left a folder, forgotten once every folder of the account was polled: a
// message another client moved is found by its content in the folder it went to, whichever of
// the two is polled first.
struct LeftFolder {
    std::string folder;
    std::uint64_t uidValidity = 0;
    std::vector<std::string> uids;
};

void pollImapFolder(MailboxPoll& poll, ImapSession& session, const std::string& trashWireName, bool firstPoll,
                    std::vector<LeftFolder>& leftFolders) {
    const config::AccountSettings& account = poll.account;
    const std::string& folder = poll.mailbox.folder;
    PollReport& report = poll.report;
    bool deleting = deletesAnything(account);
    const auto mark = poll.ledger.mailboxMark(account.name, folder);
    std::optional<ImapKnownState> known;
    if (mark && mark->highestModSeq != 0)
        known = ImapKnownState{static_cast<std::uint32_t>(mark->uidValidity), mark->highestModSeq, mark->messages};
    ImapMailboxState state = session.select(folder, !deleting, known);
    poll.mailbox.uidValidity = state.uidValidity;
    // Gmail: rows keyed by X-GM-MSGID; a folder collected by UID before (an older version) keeps
    // its UID rows, so that nothing is delivered again.
    Mailbox& mailbox = poll.mailbox;
    mailbox.byGmailId = keyedByGmailId(session, &poll.ledger, account.name, folder);

    // Since the mark, when the folder kept its UIDVALIDITY and every message below the mark's
    // UIDNEXT (none can appear there), but those QRESYNC says were expunged since: only what
    // arrived from it on is listed, and what the ledger has work for (pending, due for deletion).
    // Nothing new: no listing at all (a server that does not say UIDNEXT at SELECT, as Courier,
    // is asked for the UIDs from the mark's on: one FETCH answered by at most one message).
    // More arrivals or work than kImapMostCheckedSinceMark: a whole listing, compared with the
    // ledger page by page, holds less than their rows would.
    const bool uidNextUnknown = state.uidNext == 0;
    // (A mark past the last UID there can be, 2^32 - 1, means a whole listing.)
    bool sinceMark = mark && mark->uidValidity == state.uidValidity && mark->uidNext != 0 &&
                     mark->uidNext <= std::numeric_limits<std::uint32_t>::max() &&
                     (uidNextUnknown || state.uidNext >= mark->uidNext) && mark->fetchLimit >= account.maxMessageSize &&
                     state.exists < mark->messages + kImapMostCheckedSinceMark;
    std::vector<ImapListing> entries;
    std::vector<std::string> expunged;  // rows of messages expunged since the mark
    std::uint64_t expungedCounted = 0;
    if (sinceMark) {
        const auto from = static_cast<std::uint32_t>(mark->uidNext);
        if (uidNextUnknown || state.uidNext > from)
            entries = session.listUids(std::to_string(from) + ":*", state.exists,
                                       [&](std::uint32_t uid) { return uid >= from; });
        if (state.resynced) {
            auto counted = expungedSinceMark(poll, *mark, state.vanished, expunged);
            sinceMark = counted.has_value();
            expungedCounted = counted.value_or(0);
        }
        sinceMark = sinceMark && expungedCounted <= mark->messages &&
                    session.mailbox().exists + expungedCounted == mark->messages + entries.size();
        if (!sinceMark) expunged.clear();
    }
    std::vector<MessageRecord> due;
    // QRESYNC's expunges let the arrivals exceed the count's bound: checked before the limit below.
    sinceMark = sinceMark && entries.size() < kImapMostCheckedSinceMark;
    if (sinceMark) {
        due =
            poll.ledger.workDue(account.name, mailbox.ledgerFolder(), mailbox.ledgerValidity(),
                                deliveredBy(account, *poll.control.clock), kImapMostCheckedSinceMark - entries.size());
        sinceMark = entries.size() + due.size() < kImapMostCheckedSinceMark;
        // Gmail rows do not name their UID: the messages they have work for are found by a whole listing.
        if (mailbox.byGmailId && !due.empty()) sinceMark = false;
    }
    std::vector<MessageRecord> rows;
    bool validityChanged = false;
    if (sinceMark) {
        std::vector<std::uint32_t> dueUids;
        for (const auto& record : due)
            if (auto uid = imapUid(record.key.uid); uid && *uid < mark->uidNext) dueUids.push_back(*uid);
        std::sort(dueUids.begin(), dueUids.end());
        for (const auto& set : proto::imapSequenceSet(dueUids)) {
            auto more = session.listUids(set, dueUids.size(), [&](std::uint32_t uid) {
                return std::binary_search(dueUids.begin(), dueUids.end(), uid);
            });
            entries.insert(entries.end(), more.begin(), more.end());
        }
        std::size_t withRows = 0;
        ImapMailbox partial(entries, mailbox.byGmailId);
        rows = rowsOfListed(poll, partial, std::move(due), withRows);
    } else if (mailbox.byGmailId) {
        entries = session.listMessages();  // X-GM-MSGIDs do not change with UIDVALIDITY: no re-scan
    } else {
        due = {};
        entries = {};
        entries = session.listMessages();
        // Messages delivered under another UIDVALIDITY: the folder was re-created or renumbered,
        // and its re-scan is not finished (a poll that stopped half-way, a download budget). Re-scan
        // it: content delivered before is recorded, not sent; nothing is deleted. Once a re-scan
        // has recorded every listed message, the rows of other UIDVALIDITYs are forgotten.
        validityChanged = poll.ledger.deliveredUnderOtherValidity(account.name, folder, state.uidValidity);
        if (validityChanged)
            spdlog::warn(
                "account={} folder={} UIDVALIDITY changed to {}: re-scanning; already delivered messages are "
                "skipped and nothing is deleted from this folder in this poll",
                account.name, net::printable(folder), state.uidValidity);
    }
    ImapMailbox listed(std::move(entries), mailbox.byGmailId);
    if (listed.withoutGmailId() > 0)
        spdlog::warn("account={} folder={} {} message(s) listed without an X-GM-MSGID: left for a later poll",
                     account.name, net::printable(folder), listed.withoutGmailId());
    Plan plan = planListing(poll, listed, firstPoll && !validityChanged, validityChanged, sinceMark ? &rows : nullptr);
    // The folder's messages, listed or known from the mark, but those left alone.
    report.listed += (sinceMark ? session.mailbox().exists : listed.count()) - plan.leftAlone;
    verifyEarlier(poll, plan, [&](const auto& uids, const auto& handle) { session.headers(uids, handle); });
    Collected collected = fetchAndDeliver(
        poll, listed, plan, [&](const auto& numbers, const auto& makeBody, const auto& handle, const auto& failed) {
            // Gmail: the labels of exactly the messages about to be fetched (within the budget).
            // Drafts are in All Mail too, each saved version under a new X-GM-MSGID: recorded
            // skipped, never fetched (the message sent from one is collected as any other).
            std::vector<std::uint32_t> wanted = numbers;
            if (session.hasCapability("X-GM-EXT-1")) {
                std::set<std::uint32_t> drafts;
                session.gmailLabels(numbers, [&](std::uint32_t uid, const proto::ImapValue& labels) {
                    if (gmailIsDraft(labels))
                        drafts.insert(uid);
                    else
                        plan.sourceLabels[uid] = gmailLabelsToCarry(labels, session.utf8Mode());
                });
                for (auto uid : drafts)
                    if (auto index = listed.findNumber(uid))
                        poll.ledger.markSkipped(poll.key(listed.uid(*index)), listed.size(*index), "a Gmail draft");
                std::erase_if(wanted, [&](std::uint32_t uid) { return drafts.count(uid) > 0; });
                report.skipped += drafts.size();
            }
            session.retrieve(wanted, makeBody, handle, failed);
        });

    const auto& toDelete = collected.toDelete;
    std::vector<std::uint32_t> deleted;
    if (deleting && !toDelete.empty() && !validityChanged && !report.ledgerFailed) {
        if (session.currentUidValidity() != state.uidValidity) {
            spdlog::warn("account={} folder={} UIDVALIDITY changed during the poll; nothing deleted", account.name,
                         net::printable(folder));
        } else if (session.deleteMessages(toDelete, trashWireName)) {
            crashPoint("after-dele");
            for (auto uid : toDelete)
                if (auto index = listed.findNumber(uid)) poll.ledger.markDeleted(poll.key(listed.uid(*index)));
            report.deleted += toDelete.size();
            deleted = toDelete;
        } else {
            spdlog::warn(
                "account={} server offers neither UIDPLUS nor MOVE: keeping the mail, since a bare EXPUNGE "
                "would also remove other clients' deleted messages",
                account.name);
        }
    }
    if (report.ledgerFailed) return;
    plan.absent.insert(plan.absent.end(), expunged.begin(), expunged.end());
    // A Gmail message is gone only when All Mail no longer lists it (a label folder lists some),
    // and only when every entry came with its X-GM-MSGID (one listed without is unidentified).
    if ((!mailbox.byGmailId || mailbox.holdsEveryMessage) && listed.withoutGmailId() == 0 && !plan.absent.empty())
        leftFolders.push_back({mailbox.ledgerFolder(), mailbox.ledgerValidity(), std::move(plan.absent)});
    // The mark moves on only when every message listed was handled, none was left alone for
    // another client, and the folder kept its UIDVALIDITY.
    if (!collected.complete || plan.leftAlone > 0 || listed.withoutGmailId() > 0 ||
        session.currentUidValidity() != state.uidValidity)
        return;
    if (validityChanged) poll.ledger.forgetOtherValidities(account.name, folder, state.uidValidity);
    const std::uint64_t listedFrom = sinceMark ? mark->uidNext : 0;
    // Without UIDNEXT from the server: one past the highest UID listed (or the mark's), which no
    // message to come can be below.
    std::uint64_t uidNext = state.uidNext;
    if (uidNextUnknown) {
        uidNext = std::max<std::uint64_t>(listedFrom, 1);
        for (std::size_t index = 0; index < listed.count(); ++index)
            uidNext = std::max<std::uint64_t>(uidNext, std::uint64_t{listed.number(index)} + 1);
    }
    std::uint64_t below = sinceMark ? mark->messages - expungedCounted : 0;
    for (std::size_t index = 0; index < listed.count(); ++index)
        if (listed.number(index) >= listedFrom && listed.number(index) < uidNext) ++below;
    for (auto uid : deleted)
        if (uid < uidNext && below > 0) --below;
    MailboxMark next{state.uidValidity, uidNext, below, "", account.maxMessageSize, state.highestModSeq};
    if (next != mark) poll.ledger.recordMailboxMark(account.name, folder, next);
}

void pollImap(const config::Config& config, const config::AccountSettings& account, ledger::LedgerStore& ledger,
              const PollControl& control, PollReport& report) {
    ImapOptions options = imapOptions(account, config.collector.ioTimeout);
    options.connect.cutoff = control.cutoff;
    options.qresync = true;
    ImapSession session(std::move(options));
    session.open();
    bool wantsStar = imapFoldersNeedList(account);
    std::vector<ImapFolder> listed;
    if (wantsStar || (deletesAnything(account) && !session.hasCapability("UIDPLUS"))) listed = session.listFolders();
    std::string trashWireName;
    // The \Trash folder, else one named like a trash folder (Outlook's "Deleted Items").
    int trashRank = 0;
    for (const auto& folder : listed)
        if (folder.trashRank() > trashRank) {
            trashRank = folder.trashRank();
            trashWireName = folder.wireName;
        }
    bool firstPoll = ledger.registerAccount(account.name);
    std::vector<std::string> failures;
    const auto allMail = gmailCollectedFolder(account, session, listed, &ledger);
    const auto folders = foldersToCollect(account, listed, allMail);
    std::vector<LeftFolder> leftFolders;
    for (std::size_t index = 0; index < folders.size(); ++index) {
        const std::string& folder = folders[index];
        if (index > 0 && control.stopRequested()) {
            report.interrupted = true;
            report.failure = proto::FailureKind::Interrupted;
            report.error = "interrupted: stopping before the remaining folders; they are collected next time";
            break;
        }
        try {
            MailboxPoll poll{config, account, ledger, control, report, Mailbox{folder, 0}};
            poll.mailbox.holdsEveryMessage = allMail == folder;
            pollImapFolder(poll, session, trashWireName, firstPoll, leftFolders);
        } catch (const ImapError& e) {
            if (session.state() == ImapSession::State::LoggedOut) throw;
            // A folder that cannot be opened fails alone; the others are still collected.
            spdlog::error("account={} folder={} failed: {}", account.name, net::printable(folder), e.what());
            failures.push_back(folder + ": " + e.what());
            if (failures.size() == 1) report.failure = e.failureKind();
        }
        if (report.ledgerFailed || !report.error.empty()) break;
    }
    if (!report.ledgerFailed)
        for (const auto& left : leftFolders) ledger.forget(account.name, left.folder, left.uidValidity, left.uids);
    session.logout();
    if (!failures.empty() && report.error.empty()) report.error = failures.front();
}

}  // namespace

bool pollIsPartial(const PollReport& report) {
    return report.ok && (report.deferred > 0 || report.untrusted > 0 || report.leftForLater > 0);
}

std::string pollResultText(const PollReport& report) {
    if (report.ok) return pollIsPartial(report) ? "partial" : "ok";
    return "failed:" + std::string(proto::failureKindName(report.failure));
}

PollResultText parsePollResult(const std::string& text) {
    PollResultText parsed;
    const std::size_t colon = text.find(':');
    parsed.result = text.substr(0, colon);
    if (colon != std::string::npos) parsed.failure = proto::parseFailureKind(text.substr(colon + 1));
    return parsed;
}

PollReport pollAccount(const config::Config& config, const config::AccountSettings& account,
                       ledger::LedgerStore& ledger, const PollControl& control) {
    PollReport report;
    report.account = account.name;
    // The steady clock, not control.clock: the deadline below also cuts the poll's sockets.
    auto started = std::chrono::steady_clock::now();
    // At poll_timeout the poll stops fetching, like an interrupt; what it holds is delivered and
    // recorded within io_timeout more, after which all its I/O is cut off.
    const auto pollTimeout = account.pollTimeout.count() > 0 ? account.pollTimeout : config.collector.pollTimeout;
    PollControl bounded = control;
    bounded.deadline = started + pollTimeout;
    const auto wallSeconds = [&] {
        return static_cast<std::int64_t>(std::chrono::system_clock::to_time_t(control.clock->wallNow()));
    };
    DownloadBudget budget(account, [&] { return ledger.downloadedBytesSince(account.name, wallSeconds() - 86400); });
    bounded.budget = &budget;
    auto cutoff = std::make_shared<net::IoCutoff>(control.cutoff);
    cutoff->cutAt(*bounded.deadline + config.collector.ioTimeout);
    bounded.cutoff = cutoff;
    try {
        if (account.protocol == config::SourceProtocol::Pop3)
            pollPop3(config, account, ledger, bounded, report);
        else
            pollImap(config, account, ledger, bounded, report);
        report.ok = report.error.empty();
    } catch (const ledger::LedgerError& e) {
        report.ledgerFailed = true;
        report.failure = proto::FailureKind::Ledger;
        report.error = std::string("ledger failure: ") + e.what();
    } catch (const proto::Failure& e) {
        report.failure = config::isThrottledReply(e.what()) ? proto::FailureKind::Throttled : e.failureKind();
        report.error = withFailureHint(account, e.what(), report.failure);
    } catch (const std::exception& e) {
        report.error = withFailureHint(account, e.what());
    }
    // What this poll downloaded counts against max_bytes_per_day whatever became of it (a deferred
    // or held message was downloaded all the same), so that retries cannot exceed the limit.
    if (account.maxBytesPerDay != 0 && budget.takenBytes() != 0 && !report.ledgerFailed) {
        try {
            ledger.recordDownload(account.name, wallSeconds(), budget.takenBytes());
        } catch (const ledger::LedgerError& e) {
            spdlog::error("account={} cannot record its downloaded bytes: {}", account.name, e.what());
        }
    }
    if (!report.ok && !report.ledgerFailed) {
        if (control.stopRequested()) {
            // Stopped by the caller, maybe cut off in the middle of an exchange.
            if (!report.interrupted)
                report.error = "interrupted: stopped in the middle of the poll (" + report.error +
                               "); the rest is collected next time";
            report.interrupted = true;
            report.failure = proto::FailureKind::Interrupted;
        } else if (bounded.stopRequested()) {
            report.interrupted = false;
            report.failure = proto::FailureKind::Timeout;
            report.error =
                "poll_timeout (" + describeDuration(pollTimeout) + ") reached; the rest is collected next time";
        }
    }
    report.leftForLater = budget.leftMessages();
    report.limitNote = budget.describe();
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;  // the caller records it (LedgerStore::recordPollEnd)
}

CheckReport checkAccount(const config::Config& config, const config::AccountSettings& account,
                         ledger::LedgerStore* ledger) {
    CheckReport report{account.name, false, "", {}};
    const std::string server = config::describeServer(account) + ": ";
    std::string security = account.endpoint.tls == config::TlsMode::None ? "no TLS" : "TLS verified";
    try {
        const bool firstPoll = !ledger || !ledger->account(account.name);
        std::uint64_t messages = 0, fresh = 0;
        auto count = [&](const Mailbox& mailbox, const ListedMailbox& listed) {
            report.mailboxes.push_back(
                {mailbox.folder, listed.count(), countToCollect(ledger, account, mailbox, listed, firstPoll)});
            messages += report.mailboxes.back().messages;
            fresh += report.mailboxes.back().fresh;
        };
        auto totals = [&] { return std::to_string(messages) + " messages, " + std::to_string(fresh) + " new; "; };
        if (account.protocol == config::SourceProtocol::Pop3) {
            Pop3Session session(pop3Options(account, config.collector.ioTimeout));
            session.open();
            count(Mailbox{}, Pop3Mailbox(session.list()));
            session.quit();
            report.detail = totals() + security + (session.pipelining() ? "; pipelining" : "");
        } else {
            ImapSession session(imapOptions(account, config.collector.ioTimeout));
            session.open();
            const auto listed = session.listFolders();
            auto folders = foldersToCollect(account, listed, gmailCollectedFolder(account, session, listed, ledger));
            for (const auto& folder : folders) {
                Mailbox mailbox{folder, session.select(folder, true).uidValidity};  // EXAMINE
                mailbox.byGmailId = keyedByGmailId(session, ledger, account.name, folder);
                count(mailbox, ImapMailbox(session.listMessages(), mailbox.byGmailId));
            }
            report.detail =
                std::to_string(folders.size()) + " folders, " + totals() + security +
                (session.hasCapability("IDLE") ? "; IDLE" : "") +
                (deletesAnything(account) && !session.canDelete() ? "; no UIDPLUS or MOVE: mail will be kept" : "");
            session.logout();
        }
        report.ok = true;
    } catch (const proto::Failure& e) {
        const auto kind = config::isThrottledReply(e.what()) ? proto::FailureKind::Throttled : e.failureKind();
        report.detail = withFailureHint(account, e.what(), kind);
    } catch (const std::exception& e) {
        report.detail = withFailureHint(account, e.what());
    }
    report.detail = server + report.detail;
    return report;
}

CheckReport checkTarget(const config::Config& config) {
    CheckReport report{"target", false, ""};
    try {
        auto target = delivery::makeTarget(
            targetOptions(config.target, targetPassword(config.target), config.collector.ioTimeout));
        target->open();
        auto probe = target->probe();
        target->close();
        report.ok = probe.ok;
        report.detail = config.target.endpoint.host + ":" + std::to_string(config.target.endpoint.port) +
                        " accepts connections" +
                        (config.target.endpoint.tls == config::TlsMode::None ? "" : " (TLS verified)") +
                        (config.target.username.empty() ? "" : ", credentials accepted") + "; " + probe.detail;
    } catch (const std::exception& e) {
        report.detail = e.what();
    }
    return report;
}

}  // namespace mc::collector
