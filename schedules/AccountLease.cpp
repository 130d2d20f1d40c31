#include "schedules/AccountLease.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <random>

namespace mc::schedules {

std::string makeLeaseHolder() {
    char host[HOST_NAME_MAX + 1] = {};
    if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown");
    std::random_device device;
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(device()));
    return std::string(host) + ":" + std::to_string(::getpid()) + ":" + suffix;
}

AccountLease::AccountLease(ledger::LedgerStore& ledger, std::string account, std::string holder,
                           std::chrono::milliseconds ttl)
    : ledger_(ledger), account_(std::move(account)), holder_(std::move(holder)), ttl_(ttl) {
    lease_ = ledger_.takeLease(account_, holder_, ttl_);
    if (lease_.granted) renewer_ = std::thread([this] { renewLoop(); });
}

AccountLease::~AccountLease() {
    if (!lease_.granted) return;
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    stopped_.notify_all();
    renewer_.join();
    try {
        ledger_.releaseLease(account_, holder_);
    } catch (const ledger::LedgerError& e) {
        // It expires by itself; another instance takes the account over a little later.
        spdlog::warn("account={} cannot release its lease: {}", account_, e.what());
    }
}

void AccountLease::renewLoop() {
    std::unique_lock lock(mutex_);
    while (!stopped_.wait_for(lock, ttl_ / 3, [this] { return stop_; })) {
        lock.unlock();
        try {
            if (!ledger_.renewLease(account_, holder_, ttl_)) {
                // It expired (this process was stalled for a whole ttl) and another instance
                // took the account: both poll it now, which the ledger keeps to the crash window.
                spdlog::error("account={} lost its lease to another instance; lease_ttl may be too short", account_);
                return;
            }
        } catch (const ledger::LedgerError& e) {
            spdlog::warn("account={} cannot renew its lease (tried again in {} ms): {}", account_, (ttl_ / 3).count(),
                         e.what());
        }
        lock.lock();
    }
}

}  // namespace mc::schedules
