#include "collector/imap/ImapIdleWatcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "collector/SessionOptions.hpp"
#include "collector/imap/GmailSource.hpp"
#include "collector/imap/ImapSession.hpp"
#include "net/LineChannel.hpp"

namespace mc::collector {
namespace {

// An IDLE connection never fetches a body: whatever the server sends fits in small caps.
constexpr std::uint64_t kIdleLiteralCap = 64 * 1024;
constexpr std::uint64_t kIdleResponseCap = 1 << 20;

double seconds(std::chrono::milliseconds duration) { return static_cast<double>(duration.count()) / 1000.0; }

}  // namespace

ImapIdleWatcher::ImapIdleWatcher(const config::Config& config, const config::AccountSettings& account,
                                 NewMailCallback onNewMail, ImapIdleOptions options, Clock& clock)
    : account_(account),
      ioTimeout_(std::chrono::duration_cast<std::chrono::milliseconds>(config.collector.ioTimeout)),
      onNewMail_(std::move(onNewMail)),
      options_(options),
      clock_(clock) {
    if (account_.protocol != config::SourceProtocol::Imap)
        throw std::invalid_argument("account " + account_.name + " is not an IMAP account");
    options_.backoffInitial = std::max(options_.backoffInitial, std::chrono::milliseconds(1));
    options_.backoffMax = std::max(options_.backoffMax, options_.backoffInitial);
    options_.checkEvery = std::max(options_.checkEvery, std::chrono::milliseconds(1));
    options_.maxFolders = std::max<std::size_t>(options_.maxFolders, 1);
}

ImapIdleWatcher::~ImapIdleWatcher() { stop(); }

void ImapIdleWatcher::start() {
    std::lock_guard lock(mutex_);
    if (started_) throw std::logic_error("ImapIdleWatcher::start() called twice");
    started_ = true;
    status_ = Status::Running;
    resolver_ = std::thread([this] { resolveAndSpawn(); });
}

void ImapIdleWatcher::requestStop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
}

void ImapIdleWatcher::stop() {
    std::lock_guard serialized(stopMutex_);
    requestStop();
    if (resolver_.joinable()) resolver_.join();
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(mutex_);
        threads.swap(watchers_);  // the resolver has ended: no thread is added any more
    }
    for (auto& thread : threads) thread.join();
    std::lock_guard lock(mutex_);
    if (status_ == Status::Running) status_ = Status::Stopped;
    changed_.notify_all();
}

ImapIdleWatcher::Status ImapIdleWatcher::status() const {
    std::lock_guard lock(mutex_);
    return status_;
}

std::vector<std::string> ImapIdleWatcher::folders() const {
    std::lock_guard lock(mutex_);
    return folders_;
}

std::size_t ImapIdleWatcher::idling() const {
    std::lock_guard lock(mutex_);
    return stats_.idling;
}

ImapIdleStats ImapIdleWatcher::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

bool ImapIdleWatcher::waitUntil(const std::function<bool(const ImapIdleStats&)>& done,
                                std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return done(stats_); });
}

bool ImapIdleWatcher::waitUntilIdling(std::size_t count, std::chrono::milliseconds timeout) const {
    return waitUntil([count](const ImapIdleStats& stats) { return stats.idling >= count; }, timeout);
}

void ImapIdleWatcher::count(std::uint64_t ImapIdleStats::*counter) {
    {
        std::lock_guard lock(mutex_);
        ++(stats_.*counter);
    }
    changed_.notify_all();
}

bool ImapIdleWatcher::waitUntilNotRunning(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return status_ != Status::Running; });
}

bool ImapIdleWatcher::stopping() const {
    std::lock_guard lock(mutex_);
    return stopping_;
}

bool ImapIdleWatcher::sleepUnlessStopping(TimePoint deadline) {
    std::unique_lock lock(mutex_);
    while (!stopping_ && clock_.now() < deadline) clock_.waitUntil(lock, changed_, deadline);
    return !stopping_;
}

void ImapIdleWatcher::markUnsupported() {
    spdlog::warn("account={} server does not offer IDLE; new mail is collected every {} s (interval)", account_.name,
                 account_.interval.count());
    {
        std::lock_guard lock(mutex_);
        status_ = Status::Unsupported;
        stopping_ = true;  // every folder's thread ends: polling covers the account
    }
    changed_.notify_all();
}

void ImapIdleWatcher::notify(const std::string& folder) {
    count(&ImapIdleStats::notifications);
    if (!onNewMail_) return;
    try {
        onNewMail_(account_.name, folder);
    } catch (const std::exception& e) {
        spdlog::error("account={} folder={} new-mail callback failed: {}", account_.name, net::printable(folder),
                      e.what());
    }
}

std::unique_ptr<ImapSession> ImapIdleWatcher::openSession() {
    // The small caps of a connection that never fetches a body.
    ImapOptions options = imapOptions(account_, ioTimeout_);
    options.maxMessageBytes = kIdleLiteralCap;
    options.maxResponseBytes = kIdleResponseCap;
    auto session = std::make_unique<ImapSession>(std::move(options));
    count(&ImapIdleStats::connections);
    session->open();
    if (!session->hasCapability("IDLE")) {
        session->logout();
        markUnsupported();
        return nullptr;
    }
    return session;
}

bool ImapIdleWatcher::settleFirstRound() {
    bool last = false;
    {
        std::lock_guard lock(mutex_);
        if (firstRoundLeft_ == 0) return false;
        last = --firstRoundLeft_ == 0;
    }
    if (last && options_.notifyOnConnect) notify("");
    return true;
}

void ImapIdleWatcher::resolveAndSpawn() {
    auto backoff = options_.backoffInitial;
    std::vector<std::string> folders;
    for (;;) {
        if (stopping()) return;
        try {
            auto session = openSession();
            if (!session) {
                settleFirstRound();
                return;
            }
            std::vector<ImapFolder> listed;
            if (imapFoldersNeedList(account_)) listed = session->listFolders();
            // The folders the polls collect: on Gmail "*" is All Mail alone (every message is in
            // it), not INBOX and each label's folder, which would take a connection each.
            const auto allMail = gmailAllMailFolder(account_, session->hasCapability("X-GM-EXT-1"), listed);
            folders = allMail ? std::vector<std::string>{*allMail} : resolveImapFolders(account_, listed);
            session->logout();
            break;
        } catch (const std::exception& e) {
            count(&ImapIdleStats::failures);
            spdlog::warn("account={} IDLE: cannot list the folders to watch: {}; retrying in {:.1f} s", account_.name,
                         e.what(), seconds(backoff));
            settleFirstRound();  // the caller polls now, and sees the error
        }
        if (!sleepUnlessStopping(clock_.now() + backoff)) return;
        backoff = std::min(backoff * 2, options_.backoffMax);
    }
    if (folders.size() > options_.maxFolders) {
        std::string rest;
        for (std::size_t i = options_.maxFolders; i < folders.size(); ++i)
            rest += (rest.empty() ? "" : ", ") + net::printable(folders[i]);
        spdlog::warn("account={} IDLE watches the first {} folders; polled every {} s only: {}", account_.name,
                     options_.maxFolders, account_.interval.count(), rest);
        folders.resize(options_.maxFolders);
    }
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        folders_ = folders;
        if (firstRoundLeft_ > 0) firstRoundLeft_ = folders.size() + 1;  // and the listing, settled below
        for (const auto& folder : folders) watchers_.emplace_back([this, folder] { watchFolder(folder); });
    }
    settleFirstRound();
}

void ImapIdleWatcher::watchFolder(const std::string& folder) {
    const std::string shownFolder = net::printable(folder);
    auto backoff = options_.backoffInitial;
    bool firstConnection = true;
    // The first connection settles the first round; a later one (or one after the round was
    // over) may have missed mail, and says so.
    auto connected = [&] {
        const bool counted = firstConnection && settleFirstRound();
        firstConnection = false;
        if (!counted && options_.notifyOnConnect) notify(folder);
    };
    auto failed = [&] {
        if (firstConnection) settleFirstRound();
        firstConnection = false;
    };
    while (!stopping()) {
        auto connectedAt = clock_.now();
        bool counted = false;
        auto uncount = [&] {
            if (!counted) return;
            counted = false;
            {
                std::lock_guard lock(mutex_);
                --stats_.idling;
            }
            changed_.notify_all();
        };
        try {
            auto session = openSession();
            if (!session) {
                failed();
                return;
            }
            ImapMailboxState state = session->select(folder, true);  // EXAMINE: changes nothing
            // New mail is an EXISTS above what this connection knew (EXPUNGEs lower it), or a
            // RECENT rise from a server that sends no EXISTS with it.
            std::uint32_t known = state.exists;
            std::uint32_t recent = state.recent;
            bool existsJustRose = false;
            auto onUntagged = [&](const proto::ImapResponse& response) {
                bool rose = false;
                if (auto exists = response.exists()) {
                    rose = *exists > known;
                    known = *exists;
                    if (rose) notify(folder);
                } else if (response.expunge()) {
                    if (known > 0) --known;
                } else if (auto count = response.recent()) {
                    if (*count > recent && !existsJustRose) notify(folder);
                    recent = *count;
                }
                existsJustRose = rose;
                return true;
            };
            bool first = true;
            ImapIdleControl control;
            control.stopRequested = [this] { return stopping(); };
            control.checkEvery = options_.checkEvery;
            control.onIdling = [&] {
                count(&ImapIdleStats::idleCommands);
                if (first) {
                    spdlog::info("account={} folder={} idling", account_.name, shownFolder);
                    {
                        std::lock_guard lock(mutex_);
                        ++stats_.idling;
                        counted = true;
                    }
                    changed_.notify_all();
                    connected();
                } else {
                    spdlog::debug("account={} folder={} IDLE re-issued", account_.name, shownFolder);
                }
                first = false;
            };
            for (;;) {
                // The session's own I/O deadline: measured on the machine's clock, like its reads.
                control.until = std::chrono::steady_clock::now() + options_.reissueEvery;
                if (session->idle(onUntagged, control) == ImapIdleEnd::Stopped || stopping()) break;
            }
            uncount();
            session->logout();
        } catch (const ImapError& e) {
            uncount();
            failed();
            count(&ImapIdleStats::failures);
            if (e.authentication())
                spdlog::error("account={} folder={} IDLE: {}", account_.name, shownFolder, e.what());
            else
                spdlog::warn("account={} folder={} IDLE connection failed: {}", account_.name, shownFolder, e.what());
        } catch (const std::exception& e) {
            uncount();
            failed();
            count(&ImapIdleStats::failures);
            spdlog::warn("account={} folder={} IDLE connection failed: {}", account_.name, shownFolder, e.what());
        }
        if (stopping()) break;
        if (clock_.now() - connectedAt >= options_.stableAfter) backoff = options_.backoffInitial;
        spdlog::info("account={} folder={} IDLE reconnecting in {:.1f} s", account_.name, shownFolder,
                     seconds(backoff));
        if (!sleepUnlessStopping(clock_.now() + backoff)) break;
        backoff = std::min(backoff * 2, options_.backoffMax);
    }
}

}  // namespace mc::collector
