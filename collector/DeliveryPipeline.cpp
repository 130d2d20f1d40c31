#include "collector/DeliveryPipeline.hpp"

#include "collector/BodyFingerprint.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "collector/CrashPoints.hpp"
#include "collector/HeaderFingerprint.hpp"
#include "collector/SessionOptions.hpp"
#include "delivery/MessageTarget.hpp"
#include "delivery/TargetConnectionBudget.hpp"
#include "delivery/TraceHeaders.hpp"
#include "net/LineChannel.hpp"
#include "net/Transport.hpp"
#include "proto/MessageHeaders.hpp"

namespace mc::collector {
namespace {

// Dedupe keys a message by its Message-ID: a longer one (over a mail line's length) is no real
// one, and would not fit PostgreSQL's index; such a message is delivered without dedupe.
constexpr std::size_t kMostDedupeMessageIdBytes = 998;
// A target that drops the connection this many times in a row is treated as down for this poll.
constexpr int kMaxConsecutiveConnectionFailures = 3;
// A busy target (too many connections) is asked again after this, doubling up to the maximum;
// the waiting ends after io_timeout.
constexpr std::chrono::milliseconds kBusyFirstBackoff{500};
constexpr std::chrono::milliseconds kBusyMaxBackoff{15'000};
// How often an idle connected worker checks whether another account waits for its slot.
constexpr std::chrono::milliseconds kIdleCheck{200};
// A target that turns a logged-in connection away as busy this often in a row stops the poll.
constexpr int kMaxBusyAfterLogin = 3;

// "local@domain" -> "local+label@domain" (Dovecot, Postfix and Gmail file by the detail).
std::string subaddress(const std::string& recipient, const std::string& label) {
    auto at = recipient.rfind('@');
    std::string local = at == std::string::npos ? recipient : recipient.substr(0, at);
    std::string domain = at == std::string::npos ? "" : recipient.substr(at);
    return local + "+" + label + domain;
}

}  // namespace

// One worker's target connection and whether it holds a slot of the connection budget.
class WorkerContext {
public:
    std::unique_ptr<delivery::MessageTarget> target;
    bool holdsSlot = false;
    int consecutiveConnectionFailures = 0;
    int busyAfterLogin = 0;
};

DeliveryPipeline::DeliveryPipeline(const config::Config& config, const config::AccountSettings& account,
                                   ledger::LedgerStore& ledger, std::string sourceHost, std::size_t expectedJobs,
                                   Clock& clock, std::shared_ptr<const net::IoCutoff> cutoff)
    : config_(config),
      account_(account),
      ledger_(ledger),
      sourceHost_(std::move(sourceHost)),
      clock_(clock),
      cutoff_(std::move(cutoff)),
      quarantine_(ledger, config.collector.quarantineDir) {
    std::size_t connections = std::clamp<std::size_t>(
        expectedJobs, 1, std::max(1, std::min(config.target.connections, config.target.maxConnections)));
    delivery::TargetConnectionBudget::processWide().setCapacity(config.target.maxConnections);
    capacity_ = connections * 4;
    targetOptions_ = targetOptions(config.target, targetPassword(config.target), config.collector.ioTimeout, cutoff_);
    activeWorkers_ = connections;
    for (std::size_t i = 0; i < connections; ++i) workers_.emplace_back([this] { work(); });
}

DeliveryPipeline::~DeliveryPipeline() { abandon(); }

void DeliveryPipeline::abandon() {
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
        stopped_ = true;
    }
    changed_.notify_all();
    for (auto& worker : workers_)
        if (worker.joinable()) worker.join();
}

bool DeliveryPipeline::submit(DeliveryJob job) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return stopped_ || queue_.size() < capacity_; });
    if (stopped_) return false;
    queue_.push_back(std::move(job));
    changed_.notify_all();
    return true;
}

void DeliveryPipeline::finish() {
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
    }
    changed_.notify_all();
    for (auto& worker : workers_)
        if (worker.joinable()) worker.join();
}

std::optional<DeliveryJob> DeliveryPipeline::next(WorkerContext& context) {
    std::unique_lock lock(mutex_);
    auto ready = [&] { return stopped_ || closed_ || !queue_.empty(); };
    while (!ready()) {
        if (!context.holdsSlot) {
            changed_.wait(lock, ready);
            break;
        }
        // Fetching is behind: a connection that waits idle while another account waits for a
        // slot is given up (and made again when there is work and a slot).
        const TimePoint checkAt = clock_.now() + kIdleCheck;
        while (!ready() && clock_.now() < checkAt) clock_.waitUntil(lock, changed_, checkAt);
        if (ready()) break;
        if (delivery::TargetConnectionBudget::processWide().contended()) {
            lock.unlock();
            disconnect(context);
            lock.lock();
        }
    }
    if (stopped_ || queue_.empty()) {
        --activeWorkers_;
        return std::nullopt;
    }
    DeliveryJob job = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
    return job;
}

bool DeliveryPipeline::retireInFavourOfSiblings(DeliveryJob& job) {
    {
        std::lock_guard lock(mutex_);
        if (stopped_ || activeWorkers_ < 2 || connectedWorkers_ == 0) return false;
        --activeWorkers_;
        queue_.push_front(std::move(job));
    }
    changed_.notify_all();
    return true;
}

void DeliveryPipeline::handBack(DeliveryJob job) {
    {
        std::lock_guard lock(mutex_);
        if (stopped_) return;  // not delivered: stays on the source, collected next time
        queue_.push_front(std::move(job));
    }
    changed_.notify_all();
}

void DeliveryPipeline::disconnect(WorkerContext& context) {
    if (context.target) {
        context.target->close();
        context.target.reset();
        --connectedWorkers_;
    }
    if (context.holdsSlot) delivery::TargetConnectionBudget::processWide().release();
    context.holdsSlot = false;
}

bool DeliveryPipeline::connect(WorkerContext& context, DeliveryJob& job) {
    auto& budget = delivery::TargetConnectionBudget::processWide();
    auto stopped = [this] {
        std::lock_guard lock(mutex_);
        return stopped_;
    };
    const TimePoint giveUpAt = clock_.now() + config_.collector.ioTimeout;
    std::chrono::milliseconds backoff = kBusyFirstBackoff;
    for (;;) {
        if (!budget.acquire(stopped)) return false;
        context.holdsSlot = true;
        try {
            context.target = delivery::makeTarget(targetOptions_);
            ++connectedWorkers_;
            context.target->open();
            return true;
        } catch (const delivery::TargetBusyError& e) {
            disconnect(context);
            // A sibling is connected: the target allows fewer connections than we have workers,
            // so this one ends and the others deliver its job.
            if (retireInFavourOfSiblings(job)) {
                spdlog::debug("account={} {}; one delivery connection fewer", account_.name, e.what());
                return false;
            }
            const TimePoint retryAt = clock_.now() + backoff;
            if (retryAt > giveUpAt) throw;
            spdlog::warn("account={} {}; connecting again in {} ms", account_.name, e.what(), backoff.count());
            std::unique_lock lock(mutex_);
            while (!stopped_ && clock_.now() < retryAt) clock_.waitUntil(lock, changed_, retryAt);
            if (stopped_) return false;
            backoff = std::min(backoff * 2, kBusyMaxBackoff);
        } catch (...) {
            disconnect(context);
            throw;
        }
    }
}

void DeliveryPipeline::stop(const std::string& why, proto::FailureKind kind) {
    {
        std::lock_guard lock(mutex_);
        if (!stopped_) {
            fatalError_ = why;
            fatalKind_ = kind;
        }
        stopped_ = true;
        queue_.clear();  // undelivered messages stay pending in the ledger and on the source
    }
    if (kind == proto::FailureKind::Ledger) ledgerFailed_ = true;
    changed_.notify_all();
}

void DeliveryPipeline::stopFor(const DeliveryJob& job, const std::string& why, proto::FailureKind kind) {
    try {
        ledger_.recordFailure(job.key, job.listedSize, why);  // shows as pending in `status`
    } catch (const ledger::LedgerError& e) {
        stop(std::string("ledger failure: ") + e.what(), proto::FailureKind::Ledger);
        return;
    }
    stop(why, kind);
}

void DeliveryPipeline::work() {
    WorkerContext context;
    while (auto job = next(context)) {
        try {
            if (!context.target && !connect(context, *job)) break;
            handle(context, *job);
            context.busyAfterLogin = 0;
        } catch (const ledger::LedgerError& e) {
            stop(std::string("ledger failure: ") + e.what(), proto::FailureKind::Ledger);
        } catch (const delivery::TargetBusyError& e) {
            bool connected = context.target != nullptr;
            disconnect(context);
            if (connected && ++context.busyAfterLogin < kMaxBusyAfterLogin) {
                handBack(std::move(*job));  // turned away after the login: connect again
                continue;
            }
            stopFor(*job, e.what(), e.failureKind());
        } catch (const delivery::TargetError& e) {
            stopFor(*job, std::string("target unusable: ") + e.what(), e.failureKind());
        } catch (const net::TransportError& e) {
            // The target's network or TLS trouble is the target's: the source is fine.
            stopFor(*job, std::string("target unreachable: ") + e.what(),
                    e.failureKind() == proto::FailureKind::Tls ? proto::FailureKind::TargetPermanent
                                                               : proto::FailureKind::TargetTransient);
        } catch (const std::exception& e) {
            stopFor(*job, std::string("delivery failed: ") + e.what(), proto::FailureKind::TargetTransient);
        }
    }
    disconnect(context);
}

std::time_t DeliveryPipeline::wallSeconds() const { return std::chrono::system_clock::to_time_t(clock_.wallNow()); }

delivery::OutgoingMessage DeliveryPipeline::envelope(const DeliveryJob& job, const std::string& head) const {
    std::vector<std::string> labels = account_.labels;
    for (const auto& label : job.sourceLabels)
        if (std::find(labels.begin(), labels.end(), label) == labels.end()) labels.push_back(label);
    delivery::OutgoingMessage message;
    message.headerPrefix = delivery::traceHeaders({sourceHost_, account_.name, labels, wallSeconds()});
    message.body = &job.body;
    message.recipient = config_.target.recipient;
    message.account = account_.name;
    message.labels = labels;
    message.archive = account_.archive;
    // The account's own label only: a Gmail label is server text, and often no valid address part.
    if (config_.target.labelDelivery == config::LabelDelivery::Subaddress && !account_.labels.empty())
        message.recipient = subaddress(config_.target.recipient, account_.labels.front());
    if (config_.target.envelopeFrom == "original") {
        auto returnPath = proto::findHeader(head, "Return-Path");
        auto sender = returnPath ? proto::parseReturnPath(*returnPath) : std::nullopt;
        // No usable Return-Path: the target's own address (the recipient) stands in.
        message.envelopeFrom = sender.value_or(config_.target.recipient);
    } else {
        message.envelopeFrom = config_.target.envelopeFrom;
    }
    return message;
}

bool DeliveryPipeline::settledByDedupe(const DeliveryJob& job, const std::string& messageId,
                                       const std::string& headerHash) {
    const ledger::DedupeDecision decision = ledger_.claimMessage(
        job.key, job.listedSize, messageId, bodyFingerprint(job.body), job.body.sha256(), headerHash);
    if (decision.claim == ledger::DedupeClaim::Claimed) return false;
    if (decision.claim == ledger::DedupeClaim::HeldByPending)
        ledger_.recordFailure(
            job.key, job.listedSize,
            "held: account " + decision.first.account + " has the same message and has not delivered it yet");
    std::lock_guard lock(mutex_);
    if (decision.claim == ledger::DedupeClaim::Duplicate) {
        spdlog::info("account={} uid={} not sent: the same message came through account={} first", account_.name,
                     net::printable(job.key.uid), decision.first.account);
        ++counts_.dedupedAcrossAccounts;
        delivered_.push_back(job.number);  // handled: as deletable as a delivered one
        return true;
    }
    // Pending until the account that claimed it first delivers it (or gives it up).
    spdlog::info("account={} uid={} held: account={} has the same message and has not delivered it yet", account_.name,
                 net::printable(job.key.uid), decision.first.account);
    ++counts_.deferred;
    return true;
}

void DeliveryPipeline::handle(WorkerContext& context, DeliveryJob& job) {
    crashPoint("after-fetch");
    std::string head = job.body.head();
    std::string messageId = proto::findHeader(head, "Message-ID").value_or("");
    std::string headerHash = headerFingerprint(head);
    if (job.deliveredBefore && job.deliveredBefore(job.body.sha256())) {
        // The same content was delivered before (moved, renumbered, a repeated UIDL): record, do
        // not send twice.
        ledger_.markDelivered(job.key, job.listedSize, job.body.sha256(), messageId, headerHash);
        std::lock_guard lock(mutex_);
        ++counts_.duplicates;
        delivered_.push_back(job.number);
        return;
    }

    if (config_.collector.dedupeByMessageId && !messageId.empty() && messageId.size() <= kMostDedupeMessageIdBytes &&
        settledByDedupe(job, messageId, headerHash))
        return;

    delivery::OutgoingMessage message = envelope(job, head);
    delivery::DeliveryResult result = context.target->deliver(message);
    switch (result.outcome) {
        case delivery::DeliveryOutcome::Accepted: {
            crashPoint("after-accept");
            ledger_.markDelivered(job.key, job.listedSize, job.body.sha256(), messageId, headerHash);
            crashPoint("after-commit");
            context.consecutiveConnectionFailures = 0;
            std::lock_guard lock(mutex_);
            ++counts_.delivered;
            counts_.bytes += job.body.size();
            counts_.loneCrs += job.body.loneCrs();
            delivered_.push_back(job.number);
            return;
        }
        case delivery::DeliveryOutcome::Deferred: {
            spdlog::warn("account={} uid={} delivery deferred: {}", account_.name, net::printable(job.key.uid),
                         result.reply);
            ledger_.recordFailure(job.key, job.listedSize, result.reply);
            {
                std::lock_guard lock(mutex_);
                ++counts_.deferred;
            }
            if (result.connectionLost && ++context.consecutiveConnectionFailures >= kMaxConsecutiveConnectionFailures)
                stop("target keeps failing: " + result.reply, proto::FailureKind::TargetTransient);
            return;
        }
        case delivery::DeliveryOutcome::Rejected: {
            std::string path = quarantine_.store(job.key, job.listedSize, job.body, result.reply, wallSeconds());
            spdlog::error("account={} uid={} rejected by the target ({}); quarantined in {}", account_.name,
                          net::printable(job.key.uid), result.reply, path);
            std::lock_guard lock(mutex_);
            ++counts_.quarantined;
            if (firstRejection_.empty())
                firstRejection_ = result.reply;
            else if (firstRejection_ != result.reply)
                rejectionsDiffer_ = true;
            return;
        }
    }
}

std::vector<std::uint32_t> DeliveryPipeline::deliveredNumbers() const {
    std::lock_guard lock(mutex_);
    return delivered_;
}

DeliveryCounts DeliveryPipeline::counts() const {
    std::lock_guard lock(mutex_);
    return counts_;
}

std::string DeliveryPipeline::commonRejection() const {
    std::lock_guard lock(mutex_);
    bool allRefused = counts_.quarantined > 0 && counts_.delivered == 0 && counts_.deferred == 0 &&
                      counts_.duplicates == 0 && !rejectionsDiffer_;
    return allRefused ? firstRejection_ : std::string();
}

std::string DeliveryPipeline::fatalError() const {
    std::lock_guard lock(mutex_);
    return fatalError_;
}

proto::FailureKind DeliveryPipeline::fatalKind() const {
    std::lock_guard lock(mutex_);
    return fatalKind_;
}

}  // namespace mc::collector
