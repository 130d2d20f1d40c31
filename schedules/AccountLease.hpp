#pragma once
// An account's lease in a shared ledger, held for one poll: taken when constructed, renewed every
// ttl/3 while the poll runs (by one renewing thread for all the process's leases: a poll starts no
// thread), released when destroyed. With a ledger on one machine (SQLite) it is always granted.

#include <chrono>
#include <string>

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

    // Records the end of the poll it was taken for and gives it up, in one ledger write
    // (LedgerStore::recordPollEnd). Throws ledger::LedgerError; the lease is then released (or
    // expires) as if this had not been called.
    void endPoll(const ledger::PollRecord& poll, const std::string& lastError);

    // Renews it once (the renewing thread calls this); false when it was lost to another instance,
    // and need not be renewed again.
    bool renew();
    std::chrono::milliseconds renewEvery() const { return ttl_ / 3; }

private:
    ledger::LedgerStore& ledger_;
    std::string account_;
    std::string holder_;
    std::chrono::milliseconds ttl_;
    ledger::Lease lease_;
};

}  // namespace mc::schedules
