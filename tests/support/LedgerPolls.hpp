#pragma once
// A poll's end as tests that only need an account's last result record it: no counts, no lease.

#include <string>

#include "collector/ledger/LedgerStore.hpp"

namespace mc::testing {

inline void recordLastPoll(ledger::LedgerStore& store, const std::string& account, const std::string& result,
                           const std::string& error) {
    ledger::PollRecord poll;
    poll.account = account;
    poll.result = result;
    poll.error = error;
    store.recordPollEnd(poll, error, "");
}

}  // namespace mc::testing
