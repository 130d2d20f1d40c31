#include "collector/AccountPoller.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <map>
#include <unordered_map>

#include "collector/CrashPoints.hpp"
#include "collector/DeliveryPipeline.hpp"
#include "collector/pop3/Pop3Session.hpp"
#include "delivery/MessageTarget.hpp"
#include "net/LineChannel.hpp"

namespace mc::collector {
namespace {

using ledger::MessageKey;
using ledger::MessageRecord;
using ledger::MessageState;

constexpr const char* kTooBig = "larger than max_message_size";

struct Plan {
    std::vector<Pop3Listing> fetch;
    std::map<std::uint32_t, std::set<std::string>> knownHashes;  // per number: content not to resend
    std::vector<Pop3Listing> deleteEarlier;  // delivered in an earlier poll, due for deletion now
    std::set<std::uint32_t> ambiguous;       // duplicate UIDLs: never deleted
};

MessageKey keyOf(const config::AccountSettings& account, const std::string& uid) {
    return MessageKey{account.name, "", 0, uid};
}

bool deletionDue(const config::AccountSettings& account, const MessageRecord& record, std::time_t now) {
    if (!account.keep) return true;
    if (account.deleteAfterDays <= 0) return false;
    return record.deliveredAt > 0 && now - record.deliveredAt >= std::int64_t(account.deleteAfterDays) * 86400;
}

// Decides per listed message: fetch, skip, delete or nothing. Writes Skipped/Seen rows it decides.
Plan planPoll(const config::AccountSettings& account, ledger::LedgerStore& ledger,
              const std::vector<Pop3Listing>& listing, bool firstPoll, PollReport& report) {
    Plan plan;
    std::unordered_map<std::string, MessageRecord> records;
    std::set<std::string> deliveredHashes;
    for (auto& record : ledger.messages(account.name, "", 0)) {
        if (record.state == MessageState::Delivered || record.state == MessageState::Deleted)
            deliveredHashes.insert(record.contentHash);
        records.emplace(record.key.uid, std::move(record));
    }
    std::unordered_map<std::string, int> occurrences;
    for (const auto& item : listing) ++occurrences[item.uidl];

    std::time_t now = std::time(nullptr);
    for (const auto& item : listing) {
        MessageKey key = keyOf(account, item.uidl);
        if (occurrences[item.uidl] > 1) {
            // A repeated UIDL cannot identify a message: fetch it, send it only if its content is
            // new, and never delete it.
            plan.ambiguous.insert(item.number);
            plan.knownHashes[item.number] = deliveredHashes;
            plan.fetch.push_back(item);
            continue;
        }
        auto found = records.find(item.uidl);
        const MessageRecord* record = found == records.end() ? nullptr : &found->second;
        bool tooBig = item.size > account.maxMessageSize;
        if (!record) {
            if (firstPoll && account.fetch == config::FetchPolicy::New) {
                ledger.markSkipped(key, item.size, "on the server before the account was added (fetch = \"new\")");
                ++report.skipped;
            } else if (tooBig) {
                ledger.markSkipped(key, item.size, std::string(kTooBig) + " (" + std::to_string(item.size) + " bytes)");
                spdlog::warn("account={} uid={} skipped: {} bytes is {}", account.name,
                             net::printable(item.uidl), item.size, kTooBig);
                ++report.skipped;
            } else {
                plan.fetch.push_back(item);
            }
            continue;
        }
        if (record->size != item.size && record->state != MessageState::Skipped) {
            // Same UIDL, other size: a different message. Fetch it as new; never delete by UIDL.
            spdlog::warn("account={} uid={} changed size ({} -> {}); treating it as a new message",
                         account.name, net::printable(item.uidl), record->size, item.size);
            ledger.recordSeen(key, item.size);
            plan.knownHashes[item.number] = {record->contentHash};
            if (!tooBig) plan.fetch.push_back(item);
            continue;
        }
        switch (record->state) {
            case MessageState::Seen:  // left pending by an earlier poll (4xx, crash)
                if (!tooBig) plan.fetch.push_back(item);
                break;
            case MessageState::Delivered:
                if (deletionDue(account, *record, now)) plan.deleteEarlier.push_back(item);
                break;
            case MessageState::Deleted:
                // Deleted before, listed again: the server re-used the UIDL or kept the message.
                plan.knownHashes[item.number] = {record->contentHash};
                if (!tooBig) plan.fetch.push_back(item);
                break;
            case MessageState::Skipped:
                // Too big earlier but allowed now (the limit was raised): fetch it.
                if (record->lastError.rfind(kTooBig, 0) == 0 && !tooBig) plan.fetch.push_back(item);
                break;
            case MessageState::Quarantined:
                break;  // reported; an operator decides
        }
    }
    return plan;
}

Pop3Options sessionOptions(const config::AccountSettings& account, std::chrono::milliseconds timeout) {
    Pop3Options options;
    options.connect.host = account.endpoint.host;
    options.connect.port = account.endpoint.port;
    options.connect.tls.caFile = account.endpoint.caFile;
    options.connect.tls.fingerprint = account.endpoint.tlsFingerprint;
    options.connect.timeout = timeout;
    options.tls = account.endpoint.tls;
    options.username = account.username;
    options.password = config::resolveSecret(account.password, "account " + account.name + " password");
    options.auth = account.auth;
    // Room for a server's size estimate being a little off, not for an endless body.
    options.maxMessageBytes = account.maxMessageSize + account.maxMessageSize / 10 + (1 << 20);
    return options;
}

void pollPop3(const config::Config& config, const config::AccountSettings& account,
              ledger::LedgerStore& ledger, const ProgressCallback& progress, PollReport& report) {
    Pop3Session session(sessionOptions(account, config.collector.ioTimeout));
    session.open();
    auto listing = session.list();
    report.listed = listing.size();
    bool firstPoll = ledger.registerAccount(account.name);
    Plan plan = planPoll(account, ledger, listing, firstPoll, report);

    std::vector<std::uint32_t> toDelete;
    for (const auto& item : plan.deleteEarlier) toDelete.push_back(item.number);

    if (!plan.fetch.empty()) {
        std::unordered_map<std::uint32_t, const Pop3Listing*> byNumber;
        std::vector<std::uint32_t> numbers;
        for (const auto& item : plan.fetch) {
            byNumber[item.number] = &item;
            numbers.push_back(item.number);
        }
        std::string spoolDir = config.collector.spoolDir;
        DeliveryPipeline pipeline(config, account, ledger, account.endpoint.host, numbers.size());
        std::uint64_t handled = 0;
        session.retrieve(
            numbers, [&] { return delivery::MessageBody(spoolDir); },
            [&](std::uint32_t number, delivery::MessageBody body) {
                const Pop3Listing& item = *byNumber.at(number);
                ++report.fetched;
                DeliveryJob job{keyOf(account, item.uidl), number, item.size, std::move(body), {}};
                if (plan.ambiguous.count(number))
                    job.key.uid = item.uidl + "#" + job.body.sha256().substr(0, 16);
                if (auto hashes = plan.knownHashes.find(number); hashes != plan.knownHashes.end())
                    job.deliveredHashes = hashes->second;
                bool accepted = pipeline.submit(std::move(job));
                if (progress) progress(++handled, numbers.size());
                return accepted;
            });
        pipeline.finish();
        auto counts = pipeline.counts();
        report.delivered = counts.delivered;
        report.deferred = counts.deferred;
        report.quarantined = counts.quarantined;
        report.duplicates = counts.duplicates;
        report.bytes = counts.bytes;
        report.ledgerFailed = pipeline.ledgerFailed();
        if (!pipeline.fatalError().empty()) report.error = pipeline.fatalError();
        if (!report.ledgerFailed && deletionDue(account, MessageRecord{}, std::time(nullptr)))
            for (auto number : pipeline.deliveredNumbers())
                if (!plan.ambiguous.count(number)) toDelete.push_back(number);
    }

    std::vector<std::uint32_t> marked;
    if (!toDelete.empty() && !report.ledgerFailed) {
        marked = session.markDeleted(toDelete);
        crashPoint("after-dele");
    }
    crashPoint("before-quit");
    bool committed = session.quit();
    if (committed && !marked.empty()) {
        std::unordered_map<std::uint32_t, std::string> uidOf;
        for (const auto& item : listing) uidOf[item.number] = item.uidl;
        for (auto number : marked) ledger.markDeleted(keyOf(account, uidOf[number]));
        report.deleted = marked.size();
    } else if (!marked.empty()) {
        spdlog::warn("account={} server did not confirm QUIT; {} deletions may not have happened",
                     account.name, marked.size());
    }
    std::vector<std::string> present;
    present.reserve(listing.size());
    for (const auto& item : listing) present.push_back(item.uidl);
    if (!report.ledgerFailed) ledger.forgetAbsent(account.name, "", 0, present);
}

}  // namespace

PollReport pollAccount(const config::Config& config, const config::AccountSettings& account,
                       ledger::LedgerStore& ledger, const ProgressCallback& progress) {
    PollReport report;
    report.account = account.name;
    auto started = std::chrono::steady_clock::now();
    try {
        if (account.protocol != config::SourceProtocol::Pop3)
            throw std::runtime_error("IMAP sources are not available yet");
        pollPop3(config, account, ledger, progress, report);
        report.ok = report.error.empty();
    } catch (const ledger::LedgerError& e) {
        report.ledgerFailed = true;
        report.error = std::string("ledger failure: ") + e.what();
    } catch (const std::exception& e) {
        report.error = e.what();
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    try {
        if (!report.ledgerFailed)
            ledger.recordPoll(account.name, report.ok ? (report.deferred ? "partial" : "ok") : "failed",
                              report.error);
    } catch (const ledger::LedgerError& e) {
        report.ledgerFailed = true;
        report.ok = false;
        report.error = std::string("ledger failure: ") + e.what();
    }
    return report;
}

CheckReport checkAccount(const config::Config& config, const config::AccountSettings& account) {
    CheckReport report{account.name, false, ""};
    try {
        if (account.protocol != config::SourceProtocol::Pop3)
            throw std::runtime_error("IMAP sources are not available yet");
        Pop3Session session(sessionOptions(account, config.collector.ioTimeout));
        session.open();
        auto listing = session.list();
        std::uint64_t bytes = 0;
        for (const auto& item : listing) bytes += item.size;
        session.quit();
        report.ok = true;
        report.detail = std::to_string(listing.size()) + " messages, " + std::to_string(bytes) + " bytes; " +
                        (account.endpoint.tls == config::TlsMode::None ? "no TLS" : "TLS verified") +
                        (session.pipelining() ? "; pipelining" : "");
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
        target->close();
        report.ok = true;
        report.detail = config.target.endpoint.host + ":" + std::to_string(config.target.endpoint.port) +
                        " accepts connections" +
                        (config.target.endpoint.tls == config::TlsMode::None ? "" : " (TLS verified)") +
                        (config.target.username.empty() ? "" : ", credentials accepted");
    } catch (const std::exception& e) {
        report.detail = e.what();
    }
    return report;
}

}  // namespace mc::collector
