#pragma once
// The admin HTTP endpoint on [collector] http_listen (loopback by default):
//   GET  /metrics          Prometheus text format
//   GET  /healthz          200 "ok" while the service runs and the ledger takes a write, else 503
//   POST /poll             poll every account now (like SIGUSR1): 202 at once
//   POST /poll/<account>   poll one account now: 202, or 404 for an unknown account
//   POST /poll?wait=1[&account=NAME]...  poll every (or each named) account now, wait for the
//                          polls to end, and answer 200 with one line per account:
//                          "ok|failed|ledger-failed<TAB>account=NAME poll ..." (what `mailcollector
//                          poll` prints); 404 naming the known accounts for an unknown one
//   GET  /                 the status page (StatusPage.hpp); /account/<name> an account's history
//                          and quarantine; /status.json what the page polls for live updates
//   POST /ui/poll, /ui/quarantine  the page's buttons (a form with the page's CSRF token)
//   GET|POST /login, POST /logout  with http_token_file: the token as a cookie for browsers
// Every POST with an Origin (or Sec-Fetch-Site) of another site is refused (403), so a web page
// cannot make a browser poll or retry. Without a token the page answers only requests whose Host
// is a loopback name or the listen address (no DNS rebinding); with one, every request needs it
// (`Authorization: Bearer TOKEN`, or the cookie set by /login).
//
// Slow or many clients cannot make it stop answering: one thread multiplexes every connection
// and never waits for a client; a request must arrive whole within requestDeadline (trickled
// bytes do not extend it); when maxConnections are open, the oldest one still sending its request
// is closed for the newcomer. Replies are computed by `workers` threads (a ledger probe may take an
// fsync), waiting polls by a thread each (at most maxWaitingPolls). One request per connection.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "base/Clock.hpp"
#include "collector/ledger/LedgerStore.hpp"
#include "schedules/Metrics.hpp"
#include "schedules/PollProgress.hpp"
#include "schedules/Service.hpp"

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

struct AdminLimits {
    std::chrono::milliseconds requestDeadline{5000};  // to receive a whole request, and to send its reply
    int maxConnections = 256;
    int workers = 2;
    int maxWaitingPolls = 16;
    std::size_t maxRequestBytes = 16 * 1024;  // request line, header fields and body
};

// The status page's sources, and the access token.
struct AdminPage {
    ledger::LedgerStore* ledger = nullptr;  // null: no status page (GET / is 404)
    PollProgress* progress = nullptr;       // null: no live progress shown
    std::string token;                      // http_token_file's content; empty: no token needed
};

class AdminServer {
public:
    // Listens on `listen` ("HOST:PORT"; port 0 picks a free one). Throws std::runtime_error when
    // it cannot. Warns when `listen` is not a loopback address and no token is set.
    AdminServer(const std::string& listen, Service& service, Metrics& metrics, LedgerHealth& health,
                AdminLimits limits = {}, AdminPage page = {});
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    std::uint16_t port() const;
    // Stops accepting and ends open connections (waiting polls are answered with what has
    // finished). Idempotent.
    void stop();

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mc::schedules
