#pragma once
// The delivery half of one account's poll: fetched messages go into a bounded queue and several
// workers, each with its own target connection, deliver them and record the outcome in the
// ledger. Fetching runs ahead of delivery; the queue bounds memory. Every connection takes a slot
// of the process-wide TargetConnectionBudget ([target] max_connections); an idle one gives it up
// when another account waits for a slot.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/Clock.hpp"
#include "collector/Quarantine.hpp"
#include "collector/ledger/LedgerStore.hpp"
#include "config/Config.hpp"
#include "delivery/MessageBody.hpp"
#include "delivery/MessageTarget.hpp"
#include "net/Transport.hpp"

namespace mc::collector {

struct DeliveryJob {
    ledger::MessageKey key;
    std::uint32_t number = 0;      // POP3 message number in this session
    std::uint64_t listedSize = 0;  // what the source listed; the ledger's size check uses it
    delivery::MessageBody body;
    // Whether this content (sha256 hex) was delivered before (Plan::notToResend): such content is
    // recorded, not sent again. Empty: nothing to compare with.
    std::function<bool(const std::string& contentHash)> deliveredBefore;
    // The source's own labels for this message (Gmail's X-GM-LABELS), after the account's labels.
    std::vector<std::string> sourceLabels;
};

struct DeliveryCounts {
    std::uint64_t delivered = 0, deferred = 0, quarantined = 0, duplicates = 0, bytes = 0;
    std::uint64_t loneCrs = 0;  // lone CRs sent as spaces in the delivered messages
    // Not sent: the same message came through first, by its Message-ID ([collector] dedupe =
    // "message-id"), through another account or under another UID.
    std::uint64_t dedupedAcrossAccounts = 0;
};

class DeliveryPipeline {
public:
    DeliveryPipeline(const config::Config& config, const config::AccountSettings& account, ledger::LedgerStore& ledger,
                     std::string sourceHost, std::size_t expectedJobs, Clock& clock,
                     std::shared_ptr<const net::IoCutoff> cutoff = nullptr);
    ~DeliveryPipeline();

    // Queues a message; blocks while the queue is full. False once the pipeline has stopped.
    bool submit(DeliveryJob job);
    // Waits until every queued message was handled.
    void finish();
    // Takes no further message (the source failed): those being delivered end, recorded; those
    // queued stay pending. Waits for the workers, so counts() is final. Also done on destruction.
    void abandon();

    // Numbers of the messages the target accepted and the ledger recorded (safe to delete).
    std::vector<std::uint32_t> deliveredNumbers() const;
    DeliveryCounts counts() const;
    // Why the pipeline stopped early (target unusable, ledger failure); empty when it did not.
    std::string fatalError() const;
    // The reply with which the target refused every message handled, when it refused them all
    // alike (a mistyped recipient, a missing folder); empty otherwise.
    std::string commonRejection() const;
    proto::FailureKind fatalKind() const;  // meaningful when fatalError() is not empty
    bool ledgerFailed() const { return ledgerFailed_; }

private:
    void work();
    std::time_t wallSeconds() const;  // the clock's wall time, for what people read
    void handle(class WorkerContext& context, DeliveryJob& job);
    // [collector] dedupe: true when the job is not to be sent (a duplicate, recorded as such, or
    // held while another account's copy is pending).
    bool settledByDedupe(const DeliveryJob& job, const std::string& messageId, const std::string& headerHash);
    // The job's message with its trace headers, recipient (subaddressed by label when so
    // configured) and envelope sender (the Return-Path, or the configured address).
    delivery::OutgoingMessage envelope(const DeliveryJob& job, const std::string& head) const;
    // Takes a budget slot and logs in to the target; false when the worker should end (the
    // pipeline stopped, or the job was handed back to a connected sibling).
    bool connect(WorkerContext& context, DeliveryJob& job);
    void disconnect(WorkerContext& context);
    // Puts a job back at the head of the queue (another worker takes it).
    void handBack(DeliveryJob job);
    // Hands the job to the other workers and ends this one, when another worker is still active
    // and one is connected; false (job kept) otherwise.
    bool retireInFavourOfSiblings(DeliveryJob& job);
    void stop(const std::string& why, proto::FailureKind kind);
    // Stops the pipeline because `job` could not be delivered at all; records it as pending.
    void stopFor(const DeliveryJob& job, const std::string& why, proto::FailureKind kind);
    std::optional<DeliveryJob> next(WorkerContext& context);

    const config::Config& config_;
    const config::AccountSettings& account_;
    ledger::LedgerStore& ledger_;
    std::string sourceHost_;
    Clock& clock_;                           // trace header and quarantine times, the busy back-off and idle checks
    delivery::TargetOptions targetOptions_;  // the password resolved once per poll
    std::shared_ptr<const net::IoCutoff> cutoff_;  // the poll's: target connections stop with it
    Quarantine quarantine_;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<DeliveryJob> queue_;
    std::size_t capacity_;
    bool closed_ = false;
    bool stopped_ = false;
    std::string fatalError_;
    proto::FailureKind fatalKind_ = proto::FailureKind::TargetTransient;
    std::atomic<bool> ledgerFailed_{false};
    std::vector<std::uint32_t> delivered_;
    DeliveryCounts counts_;
    std::atomic<int> connectedWorkers_{0};
    std::size_t activeWorkers_ = 0;  // workers that will still take jobs (guarded by mutex_)
    std::string firstRejection_;     // the first refusal's reply
    bool rejectionsDiffer_ = false;
    std::vector<std::thread> workers_;
};

}  // namespace mc::collector
