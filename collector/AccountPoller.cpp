#include "collector/AccountPoller.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

#include "collector/CrashPoints.hpp"
#include "collector/DeliveryPipeline.hpp"
#include "collector/HeaderFingerprint.hpp"
#include "collector/SourceSettings.hpp"
#include "collector/imap/ImapSession.hpp"
#include "collector/pop3/Pop3Session.hpp"
#include "delivery/MessageTarget.hpp"
#include "net/LineChannel.hpp"
#include "proto/AsciiText.hpp"
#include "proto/MessageHeaders.hpp"

namespace mc::collector {
namespace {

using ledger::MessageKey;
using ledger::MessageRecord;
using ledger::MessageState;

constexpr const char* kTooBig = "larger than max_message_size";

// One message as a source lists it. POP3: number = message number, uid = UIDL. IMAP: number =
// uid = the UID.
struct SourceItem {
    std::uint32_t number = 0;
    std::string uid;
    std::uint64_t size = 0;
};

// Where the items live: POP3 folder "" and UIDVALIDITY 0.
struct Mailbox {
    std::string folder;
    std::uint64_t uidValidity = 0;
};

struct Plan {
    std::vector<SourceItem> fetch;
    // Per number: content not to resend. Shared, since a re-scan gives every message the same set.
    std::map<std::uint32_t, std::shared_ptr<const std::set<std::string>>> knownHashes;
    // Delivered in an earlier poll, due for deletion now, once verifyEarlier confirmed each one
    // is still the message delivered; with its ledger row.
    std::vector<std::pair<SourceItem, MessageRecord>> deleteEarlier;
    std::set<std::uint32_t> ambiguous;  // duplicate POP3 UIDLs: never deleted
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

MessageKey keyOf(const config::AccountSettings& account, const Mailbox& mailbox, const std::string& uid) {
    return MessageKey{account.name, mailbox.folder, mailbox.uidValidity, uid};
}

bool deletionDue(const config::AccountSettings& account, const MessageRecord& record, std::time_t now) {
    if (!account.keep) return true;
    if (account.deleteAfterDays <= 0) return false;
    return record.deliveredAt > 0 && now - record.deliveredAt >= std::int64_t(account.deleteAfterDays) * 86400;
}

bool deletesAnything(const config::AccountSettings& account) { return !account.keep || account.deleteAfterDays > 0; }

// Decides per listed message: fetch, skip, delete or nothing. Writes the Skipped/Seen rows it
// decides. `alreadyDelivered`: content delivered from this mailbox before (an IMAP UIDVALIDITY
// change); such content is recorded, not sent again.
Plan planMailbox(const config::AccountSettings& account, ledger::LedgerStore& ledger, const Mailbox& mailbox,
                 const std::vector<SourceItem>& listing, bool firstPoll, const std::set<std::string>& alreadyDelivered,
                 PollReport& report) {
    Plan plan;
    std::unordered_map<std::string, MessageRecord> records;
    std::set<std::string> deliveredHashes = alreadyDelivered;
    for (auto& record : ledger.messages(account.name, mailbox.folder, mailbox.uidValidity)) {
        if (record.state == MessageState::Delivered || record.state == MessageState::Deleted)
            deliveredHashes.insert(record.contentHash);
        records.emplace(record.key.uid, std::move(record));
    }
    std::unordered_map<std::string, int> occurrences;
    for (const auto& item : listing) ++occurrences[item.uid];

    using HashSet = std::shared_ptr<const std::set<std::string>>;
    HashSet allDelivered = std::make_shared<const std::set<std::string>>(std::move(deliveredHashes));
    auto only = [](const std::string& hash) { return std::make_shared<const std::set<std::string>>(std::set{hash}); };
    auto fetch = [&](const SourceItem& item, HashSet known) {
        if (!alreadyDelivered.empty()) known = allDelivered;  // a re-scan: everything delivered before
        if (known) plan.knownHashes[item.number] = std::move(known);
        plan.fetch.push_back(item);
    };
    std::time_t now = std::time(nullptr);
    for (const auto& item : listing) {
        MessageKey key = keyOf(account, mailbox, item.uid);
        if (occurrences[item.uid] > 1) {
            // A repeated UIDL cannot identify a message: fetch it, send it only if its content is
            // new, and never delete it.
            plan.ambiguous.insert(item.number);
            fetch(item, allDelivered);
            continue;
        }
        auto found = records.find(item.uid);
        const MessageRecord* record = found == records.end() ? nullptr : &found->second;
        bool tooBig = item.size > account.maxMessageSize;
        if (!record) {
            if (firstPoll && account.fetch == config::FetchPolicy::New) {
                ledger.markSkipped(key, item.size, "on the server before the account was added (fetch = \"new\")");
                ++report.skipped;
            } else if (tooBig) {
                ledger.markSkipped(key, item.size, std::string(kTooBig) + " (" + std::to_string(item.size) + " bytes)");
                spdlog::warn("account={} folder={} uid={} skipped: {} bytes is {}", account.name,
                             net::printable(mailbox.folder), net::printable(item.uid), item.size, kTooBig);
                ++report.skipped;
            } else {
                fetch(item, nullptr);
            }
            continue;
        }
        if (record->size != item.size && record->size != 0 && record->state != MessageState::Skipped) {
            // Same UIDL, other size: a different message. Fetch it as new; never delete by UIDL.
            spdlog::warn("account={} uid={} changed size ({} -> {}); treating it as a new message", account.name,
                         net::printable(item.uid), record->size, item.size);
            ledger.recordSeen(key, item.size);
            if (!tooBig) fetch(item, only(record->contentHash));
            continue;
        }
        switch (record->state) {
            case MessageState::Seen:  // left pending by an earlier poll (4xx, crash)
                if (!tooBig) fetch(item, nullptr);
                break;
            case MessageState::Delivered:
                if (deletionDue(account, *record, now)) plan.deleteEarlier.emplace_back(item, *record);
                break;
            case MessageState::Deleted:
                // Deleted before, listed again: the server re-used the UID or kept the message.
                if (!tooBig) fetch(item, only(record->contentHash));
                break;
            case MessageState::Skipped:
                // Too big earlier but allowed now (the limit was raised): fetch it.
                if (record->lastError.rfind(kTooBig, 0) == 0 && !tooBig) fetch(item, nullptr);
                break;
            case MessageState::Quarantined:
                break;  // reported; an operator decides
        }
    }
    return plan;
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
void verifyEarlier(const config::AccountSettings& account, const Mailbox& mailbox, Plan& plan,
                   const HeaderFetcher& fetchHeaders) {
    if (plan.deleteEarlier.empty()) return;
    enum class Verdict { NoHeader, Same, Other };
    std::vector<Verdict> verdicts(plan.deleteEarlier.size(), Verdict::NoHeader);
    std::unordered_map<std::uint32_t, std::size_t> indexOf;
    std::vector<std::uint32_t> numbers;
    for (std::size_t i = 0; i < plan.deleteEarlier.size(); ++i) {
        indexOf[plan.deleteEarlier[i].first.number] = i;
        numbers.push_back(plan.deleteEarlier[i].first.number);
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
    std::vector<std::pair<SourceItem, MessageRecord>> verified;
    std::size_t different = 0, unverified = 0, unidentified = 0;
    for (std::size_t i = 0; i < plan.deleteEarlier.size(); ++i) {
        auto& [item, record] = plan.deleteEarlier[i];
        if (verdicts[i] == Verdict::NoHeader) {
            ++unverified;
            continue;
        }
        if (verdicts[i] == Verdict::Same) {
            verified.emplace_back(std::move(item), std::move(record));
            continue;
        }
        if (record.headerHash.empty() && record.messageId.empty())
            ++unidentified;
        else
            ++different;
        plan.knownHashes[item.number] =
            std::make_shared<const std::set<std::string>>(std::set<std::string>{record.contentHash});
        plan.fetch.push_back(item);
    }
    plan.deleteEarlier = std::move(verified);
    if (different)
        spdlog::warn(
            "account={} folder={} {} message(s) listed under a delivered UID have other headers than were "
            "delivered: not deleted; fetched as new messages",
            account.name, net::printable(mailbox.folder), different);
    if (unidentified)
        spdlog::info(
            "account={} folder={} {} message(s) delivered before header hashes were recorded, without a "
            "Message-ID: fetched again, deleted only if their content is the one delivered",
            account.name, net::printable(mailbox.folder), unidentified);
    if (unverified)
        spdlog::warn(
            "account={} folder={} {} message(s) due for deletion kept: the server did not send their "
            "headers to confirm they are the ones delivered",
            account.name, net::printable(mailbox.folder), unverified);
}

// Fetches the planned messages and delivers them; returns the numbers now safe to delete
// (delivered and durably recorded, not ambiguous), including earlier ones that are due.
std::vector<std::uint32_t> fetchAndDeliver(const config::Config& config, const config::AccountSettings& account,
                                           ledger::LedgerStore& ledger, const Mailbox& mailbox, const Plan& plan,
                                           const Retriever& retrieve, const PollControl& control, PollReport& report) {
    std::vector<std::uint32_t> toDelete;
    for (const auto& [item, record] : plan.deleteEarlier) toDelete.push_back(item.number);
    if (plan.fetch.empty()) return toDelete;

    std::unordered_map<std::uint32_t, const SourceItem*> byNumber;
    std::vector<std::uint32_t> numbers;
    for (const auto& item : plan.fetch) {
        byNumber[item.number] = &item;
        numbers.push_back(item.number);
    }
    const std::string& spoolDir = config.collector.spoolDir;
    DeliveryPipeline pipeline(config, account, ledger, account.endpoint.host, numbers.size(), control.cutoff);
    std::uint64_t handled = 0;
    retrieve(
        numbers, [&] { return delivery::MessageBody(spoolDir); },
        [&](std::uint32_t number, delivery::MessageBody body) {
            auto found = byNumber.find(number);
            if (found == byNumber.end()) return true;  // not asked for; ignore
            const SourceItem& item = *found->second;
            ++report.fetched;
            DeliveryJob job{keyOf(account, mailbox, item.uid), number, item.size, std::move(body), {}};
            if (plan.ambiguous.count(number)) job.key.uid = item.uid + "#" + job.body.sha256().substr(0, 16);
            if (auto hashes = plan.knownHashes.find(number); hashes != plan.knownHashes.end())
                job.deliveredHashes = hashes->second;
            bool accepted = pipeline.submit(std::move(job));
            if (control.progress) control.progress(++handled, numbers.size());
            return accepted && !control.stopRequested();
        },
        [&](std::uint32_t number, const std::string& why) {
            auto found = byNumber.find(number);
            if (found == byNumber.end()) return;
            const SourceItem& item = *found->second;
            spdlog::warn("account={} folder={} uid={} left pending: {}", account.name, net::printable(mailbox.folder),
                         net::printable(item.uid), why);
            ledger.recordFailure(keyOf(account, mailbox, item.uid), item.size, why);  // pending in `status`
            ++report.untrusted;
        });
    pipeline.finish();
    if (handled < numbers.size() && control.stopRequested() && report.error.empty()) {
        report.interrupted = true;
        report.failure = proto::FailureKind::Interrupted;
        report.error = "interrupted: stopping after " + std::to_string(handled) + " of " +
                       std::to_string(numbers.size()) + " messages; the rest is collected next time";
    }
    auto counts = pipeline.counts();
    report.delivered += counts.delivered;
    report.deferred += counts.deferred;
    report.quarantined += counts.quarantined;
    report.duplicates += counts.duplicates;
    report.bytes += counts.bytes;
    report.loneCrs += counts.loneCrs;
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
            if (!plan.ambiguous.count(number)) toDelete.push_back(number);
    return toDelete;
}

std::string describeDuration(std::chrono::seconds duration) {
    const auto s = duration.count();
    if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
    if (s % 60 == 0) return std::to_string(s / 60) + "m";
    return std::to_string(s) + "s";
}

// Room for a server's size estimate being a little off, not for an endless body.
std::uint64_t bodyCap(const config::AccountSettings& account) {
    return account.maxMessageSize + account.maxMessageSize / 10 + (1 << 20);
}

Pop3Options pop3Options(const config::AccountSettings& account, std::chrono::milliseconds timeout) {
    Pop3Options options;
    options.connect = sourceConnectOptions(account, timeout);
    options.tls = account.endpoint.tls;
    options.username = account.username;
    auto login = sourceLogin(account, timeout);
    options.password = std::move(login.secret);
    options.oauth2 = login.oauth2;
    options.credentialRefused = std::move(login.refused);
    options.auth = account.auth;
    options.maxMessageBytes = bodyCap(account);
    return options;
}

ImapOptions imapOptions(const config::AccountSettings& account, std::chrono::milliseconds timeout) {
    return imapOptionsFor(account, timeout, bodyCap(account));
}

void pollPop3(const config::Config& config, const config::AccountSettings& account, ledger::LedgerStore& ledger,
              const PollControl& control, PollReport& report) {
    Pop3Options options = pop3Options(account, config.collector.ioTimeout);
    options.connect.cutoff = control.cutoff;
    Pop3Session session(std::move(options));
    session.open();
    auto listing = session.list();
    report.listed = listing.size();
    bool firstPoll = ledger.registerAccount(account.name);
    std::vector<SourceItem> items;
    items.reserve(listing.size());
    for (const auto& entry : listing) items.push_back({entry.number, entry.uidl, entry.size});
    Mailbox mailbox;
    Plan plan = planMailbox(account, ledger, mailbox, items, firstPoll, {}, report);
    verifyEarlier(account, mailbox, plan,
                  [&](const auto& numbers, const auto& handle) { session.headers(numbers, handle); });
    auto toDelete = fetchAndDeliver(
        config, account, ledger, mailbox, plan,
        [&](const auto& numbers, const auto& makeBody, const auto& handle, const auto& failed) {
            session.retrieve(numbers, makeBody, handle, failed);
        },
        control, report);

    std::vector<std::uint32_t> marked;
    if (!toDelete.empty() && !report.ledgerFailed) {
        marked = session.markDeleted(toDelete);
        crashPoint("after-dele");
    }
    crashPoint("before-quit");
    bool committed = session.quit();  // POP3 deletes only at QUIT
    if (committed && !marked.empty()) {
        std::unordered_map<std::uint32_t, std::string> uidOf;
        for (const auto& item : items) uidOf[item.number] = item.uid;
        for (auto number : marked) ledger.markDeleted(keyOf(account, mailbox, uidOf[number]));
        report.deleted = marked.size();
    } else if (!marked.empty()) {
        spdlog::warn("account={} server did not confirm QUIT; {} deletions may not have happened", account.name,
                     marked.size());
    }
    std::vector<std::string> present;
    present.reserve(items.size());
    for (const auto& item : items) present.push_back(item.uid);
    if (!plan.ambiguous.empty()) {
        // Repeated UIDLs are recorded as "UIDL#hash": they stay while the UIDL is listed.
        std::set<std::string> listed(present.begin(), present.end());
        for (const auto& record : ledger.messages(account.name, "", 0)) {
            auto hash = record.key.uid.rfind('#');
            if (hash != std::string::npos && listed.count(record.key.uid.substr(0, hash)))
                present.push_back(record.key.uid);
        }
    }
    if (!report.ledgerFailed) ledger.forgetAbsent(account.name, "", 0, present);
}

void pollImapFolder(const config::Config& config, const config::AccountSettings& account, ledger::LedgerStore& ledger,
                    ImapSession& session, const std::string& folder, const std::string& trashWireName, bool firstPoll,
                    const PollControl& control, PollReport& report) {
    bool deleting = deletesAnything(account);
    ImapMailboxState state = session.select(folder, !deleting);
    Mailbox mailbox{folder, state.uidValidity};
    auto listing = session.listMessages();
    // A message flagged \Deleted is being deleted by another client (or by us, in a poll that
    // stopped before UID EXPUNGE): it is neither collected nor removed, unless we delivered it.
    std::set<std::string> deliveredHere;
    if (std::any_of(listing.begin(), listing.end(), [](const auto& entry) { return entry.deleted; }))
        for (const auto& record : ledger.messages(account.name, folder, state.uidValidity))
            if (record.state == MessageState::Delivered) deliveredHere.insert(record.key.uid);
    std::vector<SourceItem> items;
    std::vector<std::string> present;
    std::size_t othersDeleting = 0;
    for (const auto& entry : listing) {
        std::string uid = std::to_string(entry.uid);
        present.push_back(uid);
        if (entry.deleted && !deliveredHere.count(uid)) {
            ++othersDeleting;
            continue;
        }
        items.push_back({entry.uid, uid, entry.size});
    }
    if (othersDeleting)
        spdlog::info("account={} folder={} {} message(s) flagged \\Deleted by another client left alone", account.name,
                     net::printable(folder), othersDeleting);
    report.listed += items.size();

    // A UIDVALIDITY we have no rows for, while rows exist under another one: the folder was
    // re-created or renumbered. Re-scan it, send only content not delivered before, delete nothing.
    std::set<std::string> deliveredBefore;
    bool known = false;
    for (const auto& record : ledger.messagesInFolder(account.name, folder)) {
        if (record.key.uidValidity == state.uidValidity)
            known = true;
        else if (record.state == MessageState::Delivered || record.state == MessageState::Deleted)
            deliveredBefore.insert(record.contentHash);
    }
    bool validityChanged = !known && !deliveredBefore.empty();
    if (validityChanged)
        spdlog::warn(
            "account={} folder={} UIDVALIDITY changed to {}: re-scanning; already delivered messages are "
            "skipped and nothing is deleted from this folder in this poll",
            account.name, net::printable(folder), state.uidValidity);
    Plan plan = planMailbox(account, ledger, mailbox, items, firstPoll && !validityChanged,
                            validityChanged ? deliveredBefore : std::set<std::string>{}, report);
    verifyEarlier(account, mailbox, plan, [&](const auto& uids, const auto& handle) { session.headers(uids, handle); });
    auto toDelete = fetchAndDeliver(
        config, account, ledger, mailbox, plan,
        [&](const auto& numbers, const auto& makeBody, const auto& handle, const auto& failed) {
            session.retrieve(numbers, makeBody, handle, failed);
        },
        control, report);

    if (deleting && !toDelete.empty() && !validityChanged && !report.ledgerFailed) {
        if (session.currentUidValidity() != state.uidValidity) {
            spdlog::warn("account={} folder={} UIDVALIDITY changed during the poll; nothing deleted", account.name,
                         net::printable(folder));
        } else if (session.deleteMessages(toDelete, trashWireName)) {
            crashPoint("after-dele");
            for (auto uid : toDelete) ledger.markDeleted(keyOf(account, mailbox, std::to_string(uid)));
            report.deleted += toDelete.size();
        } else {
            spdlog::warn(
                "account={} server offers neither UIDPLUS nor MOVE: keeping the mail, since a bare EXPUNGE "
                "would also remove other clients' deleted messages",
                account.name);
        }
    }
    if (!report.ledgerFailed) ledger.forgetAbsent(account.name, folder, state.uidValidity, present);
}

void pollImap(const config::Config& config, const config::AccountSettings& account, ledger::LedgerStore& ledger,
              const PollControl& control, PollReport& report) {
    ImapOptions options = imapOptions(account, config.collector.ioTimeout);
    options.connect.cutoff = control.cutoff;
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
    const auto folders = resolveImapFolders(account, listed);
    for (std::size_t index = 0; index < folders.size(); ++index) {
        const std::string& folder = folders[index];
        if (index > 0 && control.stopRequested()) {
            report.interrupted = true;
            report.failure = proto::FailureKind::Interrupted;
            report.error = "interrupted: stopping before the remaining folders; they are collected next time";
            break;
        }
        try {
            pollImapFolder(config, account, ledger, session, folder, trashWireName, firstPoll, control, report);
        } catch (const ImapError& e) {
            if (session.state() == ImapSession::State::LoggedOut) throw;
            // A folder that cannot be opened fails alone; the others are still collected.
            spdlog::error("account={} folder={} failed: {}", account.name, net::printable(folder), e.what());
            failures.push_back(folder + ": " + e.what());
            if (failures.size() == 1) report.failure = e.failureKind();
        }
        if (report.ledgerFailed || !report.error.empty()) break;
    }
    session.logout();
    if (!failures.empty() && report.error.empty()) report.error = failures.front();
}

}  // namespace

std::string pollResultText(const PollReport& report) {
    if (report.ok) return report.deferred ? "partial" : "ok";
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
    auto started = std::chrono::steady_clock::now();
    // At poll_timeout the poll stops fetching, like an interrupt; what it holds is delivered and
    // recorded within io_timeout more, after which all its I/O is cut off.
    const auto pollTimeout = account.pollTimeout.count() > 0 ? account.pollTimeout : config.collector.pollTimeout;
    PollControl bounded = control;
    bounded.deadline = started + pollTimeout;
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
        report.failure = e.failureKind();
        report.error = e.what();
    } catch (const std::exception& e) {
        report.error = e.what();
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
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    try {
        if (!report.ledgerFailed) ledger.recordPoll(account.name, pollResultText(report), report.error);
    } catch (const ledger::LedgerError& e) {
        report.ledgerFailed = true;
        report.ok = false;
        report.failure = proto::FailureKind::Ledger;
        report.error = std::string("ledger failure: ") + e.what();
    }
    return report;
}

CheckReport checkAccount(const config::Config& config, const config::AccountSettings& account) {
    CheckReport report{account.name, false, ""};
    std::string security = account.endpoint.tls == config::TlsMode::None ? "no TLS" : "TLS verified";
    try {
        if (account.protocol == config::SourceProtocol::Pop3) {
            Pop3Session session(pop3Options(account, config.collector.ioTimeout));
            session.open();
            auto listing = session.list();
            std::uint64_t bytes = 0;
            for (const auto& item : listing) bytes += item.size;
            session.quit();
            report.detail = std::to_string(listing.size()) + " messages, " + std::to_string(bytes) + " bytes; " +
                            security + (session.pipelining() ? "; pipelining" : "");
        } else {
            ImapSession session(imapOptions(account, config.collector.ioTimeout));
            session.open();
            auto folders = resolveImapFolders(account, session.listFolders());
            std::uint64_t messages = 0;
            for (const auto& folder : folders) messages += session.select(folder, true).exists;
            report.detail =
                std::to_string(folders.size()) + " folders, " + std::to_string(messages) + " messages; " + security +
                (session.hasCapability("IDLE") ? "; IDLE" : "") +
                (deletesAnything(account) && !session.canDelete() ? "; no UIDPLUS or MOVE: mail will be kept" : "");
            session.logout();
        }
        report.ok = true;
    } catch (const std::exception& e) {
        report.detail = e.what();
    }
    return report;
}

CheckReport checkTarget(const config::Config& config) {
    CheckReport report{"target", false, ""};
    try {
        std::string password;
        if (!config.target.username.empty())
            password = config::resolveSecret(config.target.password, "target password");
        auto target = delivery::makeTarget(config.target, password, config.collector.ioTimeout);
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
