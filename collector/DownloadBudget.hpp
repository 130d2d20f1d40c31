#pragma once
// How much one poll of an account may download: `max_messages_per_poll` messages, and within
// `max_bytes_per_day` over the last 24 hours (what earlier polls downloaded, as the ledger
// recorded it per hour, plus this poll). What does not fit is left for a later poll, oldest first taken, so a 20 GB
// first import spreads over days without tripping the provider's lock-out.

#include <cstdint>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "config/Config.hpp"

namespace mc::collector {

class DownloadBudget {
public:
    // `downloadedInLastDay` is asked once, when a poll first has something to fetch.
    DownloadBudget(const config::AccountSettings& account, std::function<std::uint64_t()> downloadedInLastDay);

    // How many of these messages (their listed sizes, in the order they would be fetched) this
    // poll may fetch; charges them. The rest is counted as left for later.
    std::size_t take(const std::vector<std::uint64_t>& sizes);

    std::uint64_t leftMessages() const { return leftMessages_; }
    std::uint64_t takenBytes() const { return takenBytes_; }  // listed sizes of what this poll fetched
    // "1500 messages (3000000000 bytes) left for later polls (max_messages_per_poll = 500); about 3
    // more polls" -- for the poll line and `status`; empty when nothing was left.
    std::string describe() const;

private:
    std::uint64_t maxMessages_;
    std::uint64_t maxBytesPerDay_;
    std::function<std::uint64_t()> downloadedInLastDay_;
    bool dayKnown_ = false;
    std::uint64_t bytesToday_ = 0;  // downloaded in the last 24 hours, this poll's fetches included
    std::uint64_t takenMessages_ = 0, takenBytes_ = 0;
    std::uint64_t leftMessages_ = 0, leftBytes_ = 0;
    bool stoppedByBytes_ = false;
};

}  // namespace mc::collector
