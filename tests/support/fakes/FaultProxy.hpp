#pragma once
// A TCP proxy on 127.0.0.1 (port 0) between the collector and a real or fake server, which can
// misbehave on purpose per direction: cut the connection after N bytes, stall after N bytes for
// a while, or forward in 1-byte segments (one write, TCP_NODELAY, per byte).
//
// The plan applies to connections accepted after setPlan(); byte counts are per connection.
// Everything is bounded: the proxy thread polls in 50 ms slices and stop() (or the destructor)
// ends every connection and joins the threads.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/fakes/LoopbackListener.hpp"

namespace mc::testing {

struct FaultDirection {
    // Close both sides once this many bytes went this way (the bytes up to the limit are
    // forwarded, the rest is dropped).
    std::optional<std::size_t> cutAfter;
    // Once this many bytes went this way, forward nothing more this way for stallFor.
    std::optional<std::size_t> stallAfter;
    std::chrono::milliseconds stallFor{0};
    // Forward one byte per write (with segmentDelay between writes).
    bool oneByteSegments = false;
    std::chrono::microseconds segmentDelay{0};
};

struct FaultPlan {
    FaultDirection toServer;  // client -> server
    FaultDirection toClient;  // server -> client
    // Abortive close (RST) instead of FIN when cutting.
    bool resetOnCut = false;
};

class FaultProxy {
public:
    FaultProxy(std::string upstreamHost, std::uint16_t upstreamPort, FaultPlan plan = {});
    ~FaultProxy();
    FaultProxy(const FaultProxy&) = delete;
    FaultProxy& operator=(const FaultProxy&) = delete;

    std::string host() const { return "127.0.0.1"; }
    std::uint16_t port() const { return listener_->port(); }

    // For connections accepted from now on.
    void setPlan(FaultPlan plan);

    std::size_t connections() const;
    std::size_t cuts() const;             // connections ended by a cutAfter
    std::uint64_t bytesToServer() const;  // over all connections
    std::uint64_t bytesToClient() const;
    // Every byte clients sent to the server (all connections, in order), for protocol assertions;
    // clearSent() forgets it.
    std::string sentToServer() const;
    void clearSent();

    void stop();

private:
    void accepted(int client);  // on the listener's thread
    void relay(int client, FaultPlan plan);

    std::string upstreamHost_;
    std::uint16_t upstreamPort_;
    mutable std::mutex mutex_;
    FaultPlan plan_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> connections_{0};
    std::atomic<std::size_t> cuts_{0};
    std::atomic<std::uint64_t> bytesToServer_{0};
    std::atomic<std::uint64_t> bytesToClient_{0};
    mutable std::mutex sentMutex_;
    std::string sentToServer_;
    std::vector<std::thread> threads_;
    std::unique_ptr<LoopbackListener> listener_;  // last: stops first
};

}  // namespace mc::testing
