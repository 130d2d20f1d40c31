#pragma once
// The accept loop of the socket-level fakes (ScriptedServer, FaultProxy): a listening socket on
// 127.0.0.1 at a port the kernel picks, and a thread handing each accepted client to a callback.

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

namespace mc::testing {

class LoopbackListener {
public:
    // Called on the accept thread with each client socket (non-blocking, TCP_NODELAY, close-on-
    // exec), which it then owns.
    using OnClient = std::function<void(int fd)>;

    // Listens and starts accepting; throws std::runtime_error when it cannot listen. Also makes
    // writes to a client that hung up fail with EPIPE rather than kill the test process.
    explicit LoopbackListener(OnClient onClient);
    ~LoopbackListener();
    LoopbackListener(const LoopbackListener&) = delete;
    LoopbackListener& operator=(const LoopbackListener&) = delete;

    std::uint16_t port() const { return port_; }
    // Stops accepting (within about 50 ms) and closes the socket: the callback is not called
    // afterwards. Idempotent.
    void stop();

private:
    void acceptLoop();

    OnClient onClient_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace mc::testing
