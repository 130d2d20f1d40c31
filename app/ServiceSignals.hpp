#pragma once
// Signals are taken by one thread with sigwait, so handling them may lock, log and reload
// freely. They must be blocked before any other thread starts (threads inherit the mask).

#include <atomic>
#include <functional>
#include <thread>

namespace mc::app {

// Ignores SIGPIPE and blocks HUP, INT, TERM, USR1 and USR2 in this thread (and so in every thread
// started after it), for a SignalThread to take.
void blockServiceSignals();

class SignalThread {
public:
    explicit SignalThread(std::function<void(int)> handle);
    ~SignalThread();
    SignalThread(const SignalThread&) = delete;
    SignalThread& operator=(const SignalThread&) = delete;

private:
    void loop();

    std::function<void(int)> handle_;
    std::atomic<bool> quit_{false};
    std::thread thread_;
};

}  // namespace mc::app
