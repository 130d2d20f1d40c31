#pragma once
// A Clock for tests of the scheduler, the collector and the IDLE watcher: time moves only when the test calls
// advance(), which wakes every thread waiting in waitUntil so it re-checks its deadline against the new time.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>
#include <vector>

#include "base/Clock.hpp"

namespace mc::testing {

class FakeClock final : public Clock {
public:
    // `wallStart`: the wall time it starts at (a fixed date by default; the machine's time for a
    // test whose ledger stamps rows with the real time).
    explicit FakeClock(WallTime wallStart = WallTime(std::chrono::seconds(1'700'000'000)))
        : now_(TimePoint(std::chrono::hours(1000))), wallStart_(wallStart) {}

    TimePoint now() const override {
        std::lock_guard lock(mutex_);
        return now_;
    }
    WallTime wallNow() const override {
        std::lock_guard lock(mutex_);
        return wallStart_ + std::chrono::duration_cast<WallTime::duration>(now_ - TimePoint(std::chrono::hours(1000)));
    }

    // Registers the waiter under our mutex while the caller still holds its own, so an advance()
    // racing with it either happened before the deadline check or finds the waiter registered and
    // must take the caller's mutex (released only inside cv.wait) before notifying: no lost wake-up.
    void waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, TimePoint deadline) override {
        const Waiter waiter{lock.mutex(), &cv};
        {
            std::lock_guard guard(mutex_);
            if (deadline != kNever && now_ >= deadline) return;
            waiters_.push_back(waiter);
        }
        cv.wait(lock);
        std::lock_guard guard(mutex_);
        auto it = std::find(waiters_.begin(), waiters_.end(), waiter);
        if (it != waiters_.end()) waiters_.erase(it);
    }

    // Moves time forward. The waiters' owners (Service objects) must outlive this call.
    void advance(Duration by) {
        std::vector<Waiter> waiters;
        {
            std::lock_guard guard(mutex_);
            now_ += by;
            waiters = waiters_;
        }
        for (const Waiter& waiter : waiters) {
            std::lock_guard guard(*waiter.mutex);
            waiter.cv->notify_all();
        }
    }

private:
    struct Waiter {
        std::mutex* mutex;
        std::condition_variable* cv;
        bool operator==(const Waiter&) const = default;
    };

    mutable std::mutex mutex_;
    TimePoint now_;
    WallTime wallStart_;
    std::vector<Waiter> waiters_;
};

}  // namespace mc::testing
