#pragma once
// Time, injected into the scheduler, the collector and the IDLE watcher so tests drive them with a
// fake clock (tests/support/FakeClock.hpp) and never sleep. Deadlines use the monotonic clock;
// the wall clock is only for what people read (status, metrics, logs, quarantine file names).

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace mc {

using TimePoint = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;
using WallTime = std::chrono::system_clock::time_point;

// "No deadline" for Clock::waitUntil.
constexpr TimePoint kNever = TimePoint::max();

class Clock {
public:
    virtual ~Clock() = default;
    virtual TimePoint now() const = 0;
    virtual WallTime wallNow() const = 0;
    // Waits on `cv` (its mutex held by `lock`) until notified or this clock reaches `deadline`.
    // May return early (spurious wake-ups): callers re-check their state.
    virtual void waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, TimePoint deadline) = 0;

    // The wall-clock time of a steady time point (for "next poll at 14:05"); kNever: epoch.
    WallTime toWall(TimePoint at) const {
        if (at == kNever) return WallTime{};
        return wallNow() + std::chrono::duration_cast<WallTime::duration>(at - now());
    }
};

// The machine's clocks; systemClock() is the one instance for code that is not given another.
class SystemClock final : public Clock {
public:
    TimePoint now() const override { return std::chrono::steady_clock::now(); }
    WallTime wallNow() const override { return std::chrono::system_clock::now(); }
    void waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, TimePoint deadline) override {
        if (deadline == kNever)
            cv.wait(lock);
        else
            cv.wait_until(lock, deadline);
    }
};

inline Clock& systemClock() {
    static SystemClock clock;
    return clock;
}

}  // namespace mc
