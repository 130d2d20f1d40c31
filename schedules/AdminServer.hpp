#pragma once
// The admin HTTP endpoint on [collector] http_listen (loopback by default):
//   GET  /metrics          Prometheus text format
//   GET  /healthz          200 "ok" while the service runs and the ledger takes a write, else 503
//   POST /poll             poll every account now (like SIGUSR1)
//   POST /poll/<account>   poll one account now: 202, or 404 for an unknown account
// Anyone who can reach it can trigger polls: keep it on loopback or behind a firewall.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "collector/ledger/LedgerStore.hpp"
#include "schedules/Clock.hpp"
#include "schedules/Metrics.hpp"
#include "schedules/Service.hpp"

namespace Poco {
class ThreadPool;
namespace Net {
class HTTPServer;
}
}  // namespace Poco

namespace mc::schedules {

// The ledger write probe behind /healthz, run at most once per `interval` whatever the request
// rate (each probe is an fsync).
class LedgerHealth {
public:
    LedgerHealth(ledger::LedgerStore& ledger, Clock& clock, Duration interval = std::chrono::seconds(5));
    // Empty when writable; else why not.
    std::string check();

private:
    ledger::LedgerStore& ledger_;
    Clock& clock_;
    Duration interval_;
    std::mutex mutex_;
    bool probed_ = false;
    TimePoint probedAt_{};
    std::string problem_;
};

class AdminServer {
public:
    // Listens on `listen` ("HOST:PORT"; port 0 picks a free one). Throws std::runtime_error when
    // it cannot.
    AdminServer(const std::string& listen, Service& service, Metrics& metrics, LedgerHealth& health);
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    std::uint16_t port() const { return port_; }
    // Stops accepting and ends open connections. Idempotent.
    void stop();

private:
    std::unique_ptr<Poco::ThreadPool> threads_;
    std::unique_ptr<Poco::Net::HTTPServer> server_;
    std::uint16_t port_ = 0;
    bool running_ = false;
};

}  // namespace mc::schedules
