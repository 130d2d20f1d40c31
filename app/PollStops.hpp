#pragma once
// Stops polls in flight: every one (SIGTERM), or one account's (a reload removed it). A stopped
// poll fetches no further message, and io_timeout later every read and write of it is cut off,
// whatever the servers do.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "net/LineChannel.hpp"

namespace mc::app {

class PollStops {
public:
    struct Handle {
        std::atomic<bool> stop{false};
        std::shared_ptr<net::IoCutoff> cutoff;
    };

    std::shared_ptr<Handle> begin(const std::string& account);
    void end(const std::string& account, const std::shared_ptr<Handle>& handle);
    void stopAll(std::chrono::seconds grace);
    // True when a poll of `account` was running.
    bool stop(const std::string& account, std::chrono::seconds grace);

private:
    std::mutex mutex_;
    std::shared_ptr<net::IoCutoff> all_ = std::make_shared<net::IoCutoff>();
    bool allStopped_ = false;
    std::multimap<std::string, std::shared_ptr<Handle>> running_;
};

}  // namespace mc::app
