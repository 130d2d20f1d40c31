#pragma once
// How far each running poll is, for the status page: the poll's progress callback reports
// (done, total) here, the page reads a snapshot. Thread-safe.

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "schedules/StatusPage.hpp"

namespace mc::schedules {

class PollProgress {
public:
    void begin(const std::string& account) {
        std::lock_guard lock(mutex_);
        running_[account] = PollProgressEntry{0, 0, nowMs(), nowMs()};
    }
    void update(const std::string& account, std::uint64_t done, std::uint64_t total) {
        std::lock_guard lock(mutex_);
        auto& entry = running_[account];
        if (entry.startedAtMs == 0) entry.startedAtMs = nowMs();
        entry.done = done;
        entry.total = total;
        entry.updatedAtMs = nowMs();
    }
    void end(const std::string& account) {
        std::lock_guard lock(mutex_);
        running_.erase(account);
    }
    std::map<std::string, PollProgressEntry> snapshot() const {
        std::lock_guard lock(mutex_);
        return running_;
    }

private:
    static std::int64_t nowMs() {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
    mutable std::mutex mutex_;
    std::map<std::string, PollProgressEntry> running_;
};

}  // namespace mc::schedules
