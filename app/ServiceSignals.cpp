#include "app/ServiceSignals.hpp"

#include <pthread.h>
#include <signal.h>

namespace mc::app {
namespace {

sigset_t serviceSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2}) sigaddset(&set, sig);
    return set;
}

// Never runs while the signals are blocked in every thread; it only makes them non-default.
void onServiceSignal(int) {}

}  // namespace

void blockServiceSignals() {
    ::signal(SIGPIPE, SIG_IGN);
    // A handler as well as the mask: as PID 1 (a container) the kernel drops signals whose
    // disposition is the default, so sigwait would never see `docker stop`'s SIGTERM.
    for (int sig : {SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2}) ::signal(sig, onServiceSignal);
    const sigset_t signals = serviceSignals();
    ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

SignalThread::SignalThread(std::function<void(int)> handle) : handle_(std::move(handle)), thread_([this] { loop(); }) {}

SignalThread::~SignalThread() {
    quit_ = true;
    ::pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
}

void SignalThread::loop() {
    const sigset_t set = serviceSignals();
    for (;;) {
        int sig = 0;
        if (::sigwait(&set, &sig) != 0) continue;
        if (quit_) return;
        handle_(sig);
    }
}

}  // namespace mc::app
