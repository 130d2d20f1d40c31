#include "schedules/AccountLease.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <thread>

namespace mc::schedules {

std::string makeLeaseHolder() {
    char host[HOST_NAME_MAX + 1] = {};
    if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown");
    std::random_device device;
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(device()));
    return std::string(host) + ":" + std::to_string(::getpid()) + ":" + suffix;
}

namespace {

// Renews every lease this process holds, each every ttl/3, on one thread started with the first.
class LeaseRenewer {
public:
    using Clock = std::chrono::steady_clock;

    static LeaseRenewer& instance() {
        // Never destroyed: its detached thread may outlive static destruction.
        static auto* renewer = new LeaseRenewer;
        return *renewer;
    }

    void add(AccountLease* lease) {
        std::lock_guard lock(mutex_);
        if (!started_) {
            std::thread([this] { run(); }).detach();
            started_ = true;
        }
        const auto due = Clock::now() + lease->renewEvery();
        leases_[lease] = Held{due, false};
        // Woken only when this lease is due before it would wake anyway: not twice per poll.
        if (due < sleepsUntil_) changed_.notify_all();
    }

    // Returns once LEASE is not being renewed, and never will be again.
    void remove(AccountLease* lease) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] {
            auto it = leases_.find(lease);
            return it == leases_.end() || !it->second.renewing;
        });
        leases_.erase(lease);  // the thread need not know: a wake-up for it finds nothing due
    }

private:
    struct Held {
        Clock::time_point due;
        bool renewing;
    };

    void run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            auto next = Clock::time_point::max();
            AccountLease* due = nullptr;
            for (auto& [lease, held] : leases_)
                if (!held.renewing && held.due < next) {
                    next = held.due;
                    due = lease;
                }
            if (due == nullptr || next > Clock::now()) {
                sleepsUntil_ = next;
                if (due == nullptr)
                    changed_.wait(lock);
                else
                    changed_.wait_until(lock, next);
                sleepsUntil_ = Clock::time_point::min();  // awake: add() need not wake it
                continue;
            }
            Held& held = leases_[due];
            held.renewing = true;
            lock.unlock();
            const bool keep = due->renew();  // a ledger write: never under the lock
            lock.lock();
            if (auto it = leases_.find(due); it != leases_.end()) {
                it->second.renewing = false;
                // A lost lease is not renewed again (max: never due); it stays until removed.
                it->second.due = keep ? Clock::now() + due->renewEvery() : Clock::time_point::max();
            }
            changed_.notify_all();
        }
    }

    std::mutex mutex_;
    std::condition_variable changed_;
    std::map<AccountLease*, Held> leases_;
    bool started_ = false;
    Clock::time_point sleepsUntil_ = Clock::time_point::min();  // max: until woken
};

}  // namespace

AccountLease::AccountLease(ledger::LedgerStore& ledger, std::string account, std::string holder,
                           std::chrono::milliseconds ttl)
    : ledger_(ledger), account_(std::move(account)), holder_(std::move(holder)), ttl_(ttl) {
    lease_ = ledger_.takeLease(account_, holder_, ttl_);
    if (lease_.granted) LeaseRenewer::instance().add(this);
}

AccountLease::~AccountLease() {
    if (!lease_.granted) return;
    LeaseRenewer::instance().remove(this);
    try {
        ledger_.releaseLease(account_, holder_);
    } catch (const ledger::LedgerError& e) {
        // It expires by itself; another instance takes the account over a little later.
        spdlog::warn("account={} cannot release its lease: {}", account_, e.what());
    }
}

void AccountLease::endPoll(const ledger::PollRecord& poll, const std::string& lastError) {
    if (!lease_.granted) return;
    LeaseRenewer::instance().remove(this);
    ledger_.recordPollEnd(poll, lastError, holder_);
    lease_.granted = false;  // given up with it: nothing left for the destructor
}

bool AccountLease::renew() {
    try {
        if (!ledger_.renewLease(account_, holder_, ttl_)) {
            // It expired (this process was stalled for a whole ttl) and another instance
            // took the account: both poll it now, which the ledger keeps to the crash window.
            spdlog::error("account={} lost its lease to another instance; lease_ttl may be too short", account_);
            return false;
        }
    } catch (const ledger::LedgerError& e) {
        spdlog::warn("account={} cannot renew its lease (tried again in {} ms): {}", account_, renewEvery().count(),
                     e.what());
    }
    return true;
}

}  // namespace mc::schedules
