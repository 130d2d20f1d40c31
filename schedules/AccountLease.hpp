#pragma once
// An account's lease in a shared ledger, held for one poll: taken when constructed, renewed every
// ttl/3 by its own thread while the poll runs, released when destroyed. With a ledger on one
// machine (SQLite) it is always granted and costs nothing.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "collector/ledger/LedgerStore.hpp"

namespace mc::schedules {

// This instance's name in leases: "hostname:pid:random".
std::string makeLeaseHolder();

class AccountLease {
public:
    // Throws ledger::LedgerError when the lease cannot be asked for.
    AccountLease(ledger::LedgerStore& ledger, std::string account, std::string holder, std::chrono::milliseconds ttl);
    ~AccountLease();
    AccountLease(const AccountLease&) = delete;
    AccountLease& operator=(const AccountLease&) = delete;

    bool granted() const { return lease_.granted; }
    // Granted: ours; refused: the instance holding it.
    const std::string& holder() const { return lease_.holder; }

private:
    void renewLoop();

    ledger::LedgerStore& ledger_;
    std::string account_;
    std::string holder_;
    std::chrono::milliseconds ttl_;
    ledger::Lease lease_;
    std::mutex mutex_;
    std::condition_variable stopped_;
    bool stop_ = false;
    std::thread renewer_;
};

}  // namespace mc::schedules
