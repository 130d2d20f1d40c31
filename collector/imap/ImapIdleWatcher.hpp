#pragma once
// IMAP IDLE (RFC 2177) push for one account: one connection per watched folder, each EXAMINE +
// IDLE, re-issued before the server's 30-minute limit, reconnecting with exponential backoff.
// When a folder gets new mail (EXISTS above what the connection knew, or RECENT), the callback
// says so; the caller then polls the account (the watcher fetches nothing itself, so the poll's
// ledger rules apply unchanged). With notifyOnConnect, the first round (every folder's first
// connection in IDLE or failed, or the server found without IDLE) is said once, with folder "",
// so that the caller can start its first poll then: nothing arrives unseen between that poll's
// listing and the watch, and no second poll follows. Each later reconnect is said per folder.
//
// Threads: start() runs a short-lived thread that resolves the folders (LIST when the account
// names "*"; the folders the polls collect, so on Gmail All Mail alone), then one thread per
// folder. Each thread holds one connection with small parser caps (an IDLE connection never
// fetches a body) and waits in reads of at most `checkEvery`, so stop() takes about that long --
// or up to io_timeout while a connection is being (re)opened to a server that does not answer. A
// server without IDLE is reported once and the watcher stops: polling covers that account.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/Clock.hpp"
#include "collector/imap/ImapSession.hpp"
#include "config/Config.hpp"

namespace mc::collector {

struct ImapIdleOptions {
    // DONE + IDLE after this long (RFC 2177: servers may end an IDLE after 30 minutes).
    std::chrono::milliseconds reissueEvery = std::chrono::minutes(25);
    // Reconnect delay after a failure: doubles from `backoffInitial` up to `backoffMax`.
    std::chrono::milliseconds backoffInitial = std::chrono::seconds(1);
    std::chrono::milliseconds backoffMax = std::chrono::minutes(5);
    // A connection that stayed up this long resets the backoff; a server that accepts and drops
    // every connection at once is thus retried ever more slowly.
    std::chrono::milliseconds stableAfter = std::chrono::minutes(1);
    // How often a waiting connection checks for stop().
    std::chrono::milliseconds checkEvery = std::chrono::seconds(1);
    // At most this many folders get a connection (servers limit connections per user and
    // address, e.g. Dovecot to 10, and the polls need one too); the rest are left to polling.
    std::size_t maxFolders = 8;
    // Also report the first round (once, folder "") and each folder's IDLE re-established after
    // an outage: mail that arrived while no connection watched would otherwise wait for the
    // poll interval.
    bool notifyOnConnect = true;
};

// Counters of one watcher, for diagnostics, metrics and tests.
struct ImapIdleStats {
    std::size_t idling = 0;           // connections now in IDLE
    std::uint64_t connections = 0;    // connections opened (the folder listing's included)
    std::uint64_t idleCommands = 0;   // IDLE commands the server confirmed ("+")
    std::uint64_t failures = 0;       // connections that failed (each followed by a backoff)
    std::uint64_t notifications = 0;  // calls of the new-mail callback
};

class ImapIdleWatcher {
public:
    // Called from the watcher's threads, possibly concurrently; should return quickly (schedule
    // a poll, do not run it here).
    using NewMailCallback = std::function<void(const std::string& account, const std::string& folder)>;

    enum class Status {
        Stopped,      // not started, or stopped
        Running,      // resolving folders or watching them
        Unsupported,  // the server offers no IDLE: the watcher stopped by itself
    };

    // Copies what it needs of the settings: the caller's config may be replaced (reload) while
    // the watcher runs. CLOCK times the backoff waits (it must outlive the watcher).
    ImapIdleWatcher(const config::Config& config, const config::AccountSettings& account, NewMailCallback onNewMail,
                    ImapIdleOptions options = {}, Clock& clock = systemClock());
    ~ImapIdleWatcher();
    ImapIdleWatcher(const ImapIdleWatcher&) = delete;
    ImapIdleWatcher& operator=(const ImapIdleWatcher&) = delete;

    // Starts watching; returns at once. Only once per watcher (create a new one after stop()).
    void start();
    // Asks every connection to end (DONE, LOGOUT); returns at once.
    void requestStop();
    // requestStop(), then waits for every thread. Idempotent; not from the callback.
    void stop();

    const std::string& account() const { return account_.name; }
    Status status() const;
    // The folders being watched (UTF-8), once resolved.
    std::vector<std::string> folders() const;
    // Connections currently in IDLE.
    std::size_t idling() const;
    ImapIdleStats stats() const;
    // Waits until `done(stats())` holds (tests, diagnostics); false on timeout.
    bool waitUntil(const std::function<bool(const ImapIdleStats&)>& done, std::chrono::milliseconds timeout) const;
    // Waits until at least `count` connections are in IDLE.
    bool waitUntilIdling(std::size_t count, std::chrono::milliseconds timeout) const;
    // Waits until status() is not Running.
    bool waitUntilNotRunning(std::chrono::milliseconds timeout) const;

private:
    void resolveAndSpawn();
    void watchFolder(const std::string& folder);
    // Sleeps until `deadline` or a stop request; false when stopping.
    bool sleepUnlessStopping(TimePoint deadline);
    // Connects and logs in; nullptr (the watcher then Unsupported) when the server has no IDLE.
    std::unique_ptr<ImapSession> openSession();
    bool stopping() const;
    void notify(const std::string& folder);
    // Counts one first connection (or the folder listing) as settled, in IDLE or failed; the
    // last one of the first round reports it. False when the first round was over already.
    bool settleFirstRound();
    void count(std::uint64_t ImapIdleStats::*counter);
    void markUnsupported();

    config::AccountSettings account_;
    std::chrono::milliseconds ioTimeout_;
    NewMailCallback onNewMail_;
    ImapIdleOptions options_;
    Clock& clock_;

    std::mutex stopMutex_;  // serializes stop(): joining a thread twice is undefined
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    bool started_ = false;
    bool stopping_ = false;
    Status status_ = Status::Stopped;
    std::vector<std::string> folders_;
    std::size_t firstRoundLeft_ = 1;  // the folder listing, then each folder's first connection
    ImapIdleStats stats_;
    std::thread resolver_;
    std::vector<std::thread> watchers_;
};

}  // namespace mc::collector
