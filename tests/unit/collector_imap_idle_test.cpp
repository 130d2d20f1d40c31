// IMAP IDLE: ImapSession::idle and ImapIdleWatcher against a small scripted IMAP server on
// loopback (this binary links mc::collector only, so the fake lives here). Everything waits
// with bounded condition-variable waits; nothing sleeps to wait for an event.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "collector/imap/ImapIdleWatcher.hpp"
#include "collector/imap/ImapSession.hpp"
#include "config/Config.hpp"
#include "tests/support/FakeClock.hpp"

namespace mc::collector {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A fake IMAP server speaking just enough for IDLE: greeting, CAPABILITY, LOGIN, LIST,
// EXAMINE/SELECT, IDLE/DONE, NOOP, LOGOUT. Tests push untagged lines into connections that are
// in IDLE and look at what each connection received.
struct FakeIdleOptions {
    std::vector<std::string> capabilities = {"IMAP4rev1", "IDLE", "LITERAL+"};
    std::vector<std::string> list = {"* LIST (\\HasNoChildren) \"/\" INBOX"};
    std::uint32_t exists = 2;
    bool refuseLogin = false;
    std::size_t dropAfterIdle = 0;  // the first N connections are closed right after "+"
    bool endIdleByItself = false;   // answer IDLE with "+", then at once with a tagged OK
};

class FakeIdleServer {
public:
    struct Connection {
        std::vector<std::string> lines;   // received, without CRLF
        std::vector<std::string> outbox;  // to send while in IDLE
        bool idling = false;
        bool closed = false;
        Clock::time_point acceptedAt;
    };

    explicit FakeIdleServer(FakeIdleOptions options = {}) : options_(std::move(options)) {
        listenFd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int yes = 1;
        ::setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        if (::bind(listenFd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::listen(listenFd_, 16) != 0)
            throw std::runtime_error("cannot listen on loopback");
        socklen_t length = sizeof address;
        ::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&address), &length);
        port_ = ntohs(address.sin_port);
        acceptThread_ = std::thread([this] { acceptLoop(); });
    }

    ~FakeIdleServer() {
        stopping_ = true;
        acceptThread_.join();
        for (auto& thread : threads_) thread.join();
        ::close(listenFd_);
    }

    std::uint16_t port() const { return port_; }

    // Queues BYTES for every connection now in IDLE; false if none is.
    bool pushToIdling(const std::string& bytes) {
        std::lock_guard lock(mutex_);
        bool any = false;
        for (auto& connection : connections_)
            if (connection->idling && !connection->closed) connection->outbox.push_back(bytes), any = true;
        return any;
    }

    // Waits until PREDICATE (called with the mutex held) holds.
    bool waitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout = 10s) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, predicate);
    }
    std::size_t connectionsLocked() const { return connections_.size(); }
    std::size_t idlingLocked() const {
        std::size_t count = 0;
        for (const auto& connection : connections_) count += connection->idling && !connection->closed;
        return count;
    }
    // Lines starting with PREFIX after the tag ("IDLE", "EXAMINE", "LOGIN"), or equal to it ("DONE").
    std::size_t countLocked(const std::string& prefix) const {
        std::size_t count = 0;
        for (const auto& connection : connections_)
            for (const auto& line : connection->lines)
                if (line == prefix || commandOf(line).rfind(prefix, 0) == 0) ++count;
        return count;
    }

    std::size_t connections() {
        std::lock_guard lock(mutex_);
        return connections_.size();
    }
    std::size_t count(const std::string& prefix) {
        std::lock_guard lock(mutex_);
        return countLocked(prefix);
    }
    std::vector<Connection> snapshot() {
        std::lock_guard lock(mutex_);
        std::vector<Connection> copy;
        for (const auto& connection : connections_) copy.push_back(*connection);
        return copy;
    }

private:
    static std::string commandOf(const std::string& line) {
        auto space = line.find(' ');
        return space == std::string::npos ? "" : line.substr(space + 1);
    }

    void acceptLoop() {
        while (!stopping_) {
            pollfd waiting{listenFd_, POLLIN, 0};
            if (::poll(&waiting, 1, 20) <= 0) continue;
            int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            auto connection = std::make_shared<Connection>();
            connection->acceptedAt = Clock::now();
            std::size_t index;
            {
                std::lock_guard lock(mutex_);
                index = connections_.size();
                connections_.push_back(connection);
            }
            changed_.notify_all();
            threads_.emplace_back([this, fd, connection, index] {
                serve(fd, *connection, index);
                ::close(fd);
                {
                    std::lock_guard lock(mutex_);
                    connection->closed = true;
                    connection->idling = false;
                }
                changed_.notify_all();
            });
        }
    }

    bool sendAll(int fd, const std::string& bytes) {
        std::size_t done = 0;
        while (done < bytes.size()) {
            ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
            if (n <= 0) return false;
            done += static_cast<std::size_t>(n);
        }
        return true;
    }

    // The next line, or nullopt when the client closed or the server stops. While the connection
    // is in IDLE, queued pushes are sent between reads.
    std::optional<std::string> readLine(int fd, Connection& connection, std::string& buffer) {
        for (;;) {
            auto newline = buffer.find("\r\n");
            if (newline != std::string::npos) {
                std::string line = buffer.substr(0, newline);
                buffer.erase(0, newline + 2);
                {
                    std::lock_guard lock(mutex_);
                    connection.lines.push_back(line);
                }
                changed_.notify_all();
                return line;
            }
            if (stopping_) return std::nullopt;
            std::vector<std::string> outbox;
            {
                std::lock_guard lock(mutex_);
                outbox.swap(connection.outbox);
            }
            for (const auto& bytes : outbox)
                if (!sendAll(fd, bytes)) return std::nullopt;
            pollfd waiting{fd, POLLIN, 0};
            if (::poll(&waiting, 1, 20) <= 0) continue;
            char chunk[4096];
            ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) return std::nullopt;
            buffer.append(chunk, static_cast<std::size_t>(n));
        }
    }

    void setIdling(Connection& connection, bool idling) {
        {
            std::lock_guard lock(mutex_);
            connection.idling = idling;
        }
        changed_.notify_all();
    }

    void serve(int fd, Connection& connection, std::size_t index) {
        std::string caps;
        for (const auto& capability : options_.capabilities) caps += " " + capability;
        if (!sendAll(fd, "* OK [CAPABILITY" + caps + "] fake IMAP ready\r\n")) return;
        std::string buffer;
        std::string idleTag;
        while (auto line = readLine(fd, connection, buffer)) {
            if (!idleTag.empty()) {
                if (*line != "DONE") return;  // anything but DONE during IDLE is a protocol error
                setIdling(connection, false);
                if (!sendAll(fd, idleTag + " OK Idle completed\r\n")) return;
                idleTag.clear();
                continue;
            }
            auto space = line->find(' ');
            std::string tag = line->substr(0, space);
            std::string command = space == std::string::npos ? "" : line->substr(space + 1);
            std::string verb = command.substr(0, command.find(' '));
            std::string reply;
            if (verb == "CAPABILITY") {
                reply = "* CAPABILITY" + caps + "\r\n" + tag + " OK done\r\n";
            } else if (verb == "LOGIN") {
                reply = options_.refuseLogin ? tag + " NO [AUTHENTICATIONFAILED] no\r\n" : tag + " OK logged in\r\n";
            } else if (verb == "LIST") {
                for (const auto& entry : options_.list) reply += entry + "\r\n";
                reply += tag + " OK listed\r\n";
            } else if (verb == "EXAMINE" || verb == "SELECT") {
                reply = "* " + std::to_string(options_.exists) +
                        " EXISTS\r\n* 0 RECENT\r\n"
                        "* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 10] next\r\n" +
                        tag + " OK [READ-ONLY] done\r\n";
            } else if (verb == "IDLE") {
                // In IDLE before the "+" goes out, so a push made as soon as the client sees the
                // "+" is queued, and sent after it.
                bool staying = index >= options_.dropAfterIdle && !options_.endIdleByItself;
                if (staying) {
                    idleTag = tag;
                    setIdling(connection, true);
                }
                if (!sendAll(fd, "+ idling\r\n")) return;
                if (index < options_.dropAfterIdle) return;
                if (options_.endIdleByItself) reply = tag + " OK IDLE ended by the server\r\n";
            } else if (verb == "NOOP") {
                reply = tag + " OK\r\n";
            } else if (verb == "LOGOUT") {
                sendAll(fd, "* BYE bye\r\n" + tag + " OK bye\r\n");
                return;
            } else {
                reply = tag + " BAD unknown command\r\n";
            }
            if (!reply.empty() && !sendAll(fd, reply)) return;
        }
    }

    FakeIdleOptions options_;
    int listenFd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::shared_ptr<Connection>> connections_;
    std::vector<std::thread> threads_;
    std::thread acceptThread_;
};

config::AccountSettings accountFor(const FakeIdleServer& server, std::vector<std::string> folders = {"INBOX"}) {
    config::AccountSettings account;
    account.name = "acct";
    account.protocol = config::SourceProtocol::Imap;
    account.endpoint.host = "127.0.0.1";
    account.endpoint.port = server.port();
    account.endpoint.tls = config::TlsMode::None;
    account.username = "alice";
    account.password = {config::SecretSource::Kind::Inline, "imap-secret"};
    account.auth = config::AuthMethod::Login;
    account.folders = std::move(folders);
    return account;
}

config::Config configWith(const config::AccountSettings& account) {
    config::Config config;
    config.collector.ioTimeout = std::chrono::seconds(5);
    config.accounts.push_back(account);
    return config;
}

// Records the callback's calls.
class Recorder {
public:
    ImapIdleWatcher::NewMailCallback callback() {
        return [this](const std::string& account, const std::string& folder) {
            {
                std::lock_guard lock(mutex_);
                calls_.emplace_back(account, folder);
            }
            changed_.notify_all();
        };
    }
    bool waitFor(std::size_t count, std::chrono::milliseconds timeout = 10s) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return calls_.size() >= count; });
    }
    std::vector<std::pair<std::string, std::string>> calls() {
        std::lock_guard lock(mutex_);
        return calls_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::pair<std::string, std::string>> calls_;
};

ImapIdleOptions fastOptions() {
    ImapIdleOptions options;
    options.checkEvery = 50ms;
    options.backoffInitial = 50ms;
    options.backoffMax = 200ms;
    options.notifyOnConnect = false;
    return options;
}

// ---- ImapSession::idle ----------------------------------------------------------------------

ImapOptions sessionOptions(const FakeIdleServer& server) {
    ImapOptions options;
    options.connect.host = "127.0.0.1";
    options.connect.port = server.port();
    options.connect.timeout = 5s;
    options.tls = net::TlsMode::None;
    options.username = "alice";
    options.password = "imap-secret";
    options.sasl = proto::SaslMechanism::Login;
    return options;
}

TEST(ImapSessionIdle, PassesUntaggedResponsesAndSendsDoneOnStop) {
    FakeIdleServer server;
    ImapSession session(sessionOptions(server));
    session.open();
    EXPECT_EQ(session.select("INBOX", true).exists, 2u);
    std::atomic<bool> stop{false};
    std::vector<std::string> seen;
    ImapIdleControl control;
    control.checkEvery = 50ms;
    control.stopRequested = [&] { return stop.load(); };
    bool pushed = false;
    control.onIdling = [&] { pushed = server.pushToIdling("* 3 EXISTS\r\n* 1 RECENT\r\n"); };
    auto end = session.idle(
        [&](const proto::ImapResponse& response) {
            seen.push_back(response.keyword());
            if (seen.size() == 2) stop = true;
            return true;
        },
        control);
    EXPECT_TRUE(pushed);
    EXPECT_EQ(end, ImapIdleEnd::Stopped);
    EXPECT_EQ(seen, (std::vector<std::string>{"EXISTS", "RECENT"}));
    EXPECT_EQ(session.mailbox().exists, 3u);
    EXPECT_EQ(session.state(), ImapSession::State::Selected) << "the session is usable after DONE";
    EXPECT_TRUE(server.waitFor([&] { return server.countLocked("DONE") == 1; }));
    session.logout();
}

TEST(ImapSessionIdle, EndsAtTheDeadlineWithDoneAndCanBeReissued) {
    FakeIdleServer server;
    ImapSession session(sessionOptions(server));
    session.open();
    session.select("INBOX", true);
    ImapIdleControl control;
    control.checkEvery = 1s;  // the deadline, not the check interval, ends this wait
    for (int i = 0; i < 2; ++i) {
        auto started = Clock::now();
        control.until = started + 100ms;
        EXPECT_EQ(session.idle({}, control), ImapIdleEnd::Deadline);
        EXPECT_LT(Clock::now() - started, 900ms);
    }
    EXPECT_EQ(server.count("IDLE"), 2u);
    EXPECT_EQ(server.count("DONE"), 2u);
    session.logout();
}

TEST(ImapSessionIdle, HandlerCanEndTheIdle) {
    FakeIdleServer server;
    ImapSession session(sessionOptions(server));
    session.open();
    session.select("INBOX", true);
    ImapIdleControl control;
    control.checkEvery = 50ms;
    control.onIdling = [&] { server.pushToIdling("* 5 EXISTS\r\n"); };
    EXPECT_EQ(session.idle([](const proto::ImapResponse& response) { return !response.exists(); }, control),
              ImapIdleEnd::Handler);
    EXPECT_EQ(server.count("DONE"), 1u);
}

TEST(ImapSessionIdle, ServerEndingTheIdleIsReported) {
    FakeIdleOptions options;
    options.endIdleByItself = true;
    FakeIdleServer server(options);
    ImapSession session(sessionOptions(server));
    session.open();
    session.select("INBOX", true);
    EXPECT_EQ(session.idle({}, {}), ImapIdleEnd::Server);
    EXPECT_EQ(server.count("DONE"), 0u);
    EXPECT_EQ(session.state(), ImapSession::State::Selected);
}

TEST(ImapSessionIdle, WithoutIdleCapabilityIsRefusedBeforeSendingIt) {
    FakeIdleOptions options;
    options.capabilities = {"IMAP4rev1"};
    FakeIdleServer server(options);
    ImapSession session(sessionOptions(server));
    session.open();
    session.select("INBOX", true);
    EXPECT_THROW(session.idle({}, {}), ImapError);
    EXPECT_EQ(server.count("IDLE"), 0u);
}

// ---- ImapIdleWatcher ------------------------------------------------------------------------

TEST(ImapIdleWatcher, ExistsDuringIdleCallsBackAndStopSendsDoneAndLogout) {
    FakeIdleServer server;
    auto account = accountFor(server);
    Recorder recorder;
    ImapIdleWatcher watcher(configWith(account), account, recorder.callback(), fastOptions());
    watcher.start();
    ASSERT_TRUE(watcher.waitUntilIdling(1, 10s));
    EXPECT_EQ(watcher.folders(), std::vector<std::string>{"INBOX"});
    ASSERT_TRUE(server.pushToIdling("* 3 EXISTS\r\n"));
    ASSERT_TRUE(recorder.waitFor(1));
    EXPECT_EQ(recorder.calls().front(), (std::pair<std::string, std::string>{"acct", "INBOX"}));

    auto stopping = Clock::now();
    watcher.stop();
    EXPECT_LT(Clock::now() - stopping, 2s) << "stop() is honoured within about checkEvery";
    EXPECT_EQ(server.count("DONE"), 1u);
    EXPECT_EQ(server.count("LOGOUT"), 2u);  // the folder listing's connection and the IDLE one
    EXPECT_EQ(server.count("EXAMINE \"INBOX\""), 1u) << "EXAMINE: watching changes nothing";
    EXPECT_EQ(server.count("SELECT"), 0u);
    EXPECT_EQ(watcher.status(), ImapIdleWatcher::Status::Stopped);
    EXPECT_EQ(recorder.calls().size(), 1u);
}

TEST(ImapIdleWatcher, OnlyARiseInExistsIsNewMail) {
    FakeIdleServer server;  // the folder starts with 2 messages
    auto account = accountFor(server);
    Recorder recorder;
    ImapIdleWatcher watcher(configWith(account), account, recorder.callback(), fastOptions());
    watcher.start();
    ASSERT_TRUE(watcher.waitUntilIdling(1, 10s));
    // Another client expunges one and the server repeats the count: nothing new. Then one
    // arrives (EXISTS back at 2, with RECENT): one call. A lone RECENT rise is new mail too.
    ASSERT_TRUE(server.pushToIdling("* 2 EXISTS\r\n* 1 EXPUNGE\r\n* 1 EXISTS\r\n* 2 EXISTS\r\n* 1 RECENT\r\n"));
    ASSERT_TRUE(recorder.waitFor(1));
    ASSERT_TRUE(server.pushToIdling("* 2 RECENT\r\n"));
    ASSERT_TRUE(recorder.waitFor(2));
    watcher.stop();
    EXPECT_EQ(recorder.calls().size(), 2u);
}

TEST(ImapIdleWatcher, ReissuesIdleOnTheSameConnection) {
    FakeIdleServer server;
    auto account = accountFor(server);
    auto options = fastOptions();
    options.reissueEvery = 100ms;
    ImapIdleWatcher watcher(configWith(account), account, {}, options);
    watcher.start();
    ASSERT_TRUE(server.waitFor([&] { return server.countLocked("IDLE") >= 3; }));
    watcher.stop();
    EXPECT_EQ(server.connections(), 2u) << "one listing connection, one IDLE connection";
    EXPECT_EQ(server.count("DONE"), server.count("IDLE"));
}

TEST(ImapIdleWatcher, ReconnectsWithBackoffAndReportsTheCatchUp) {
    FakeIdleOptions serverOptions;
    serverOptions.dropAfterIdle = 3;  // the listing connection and two IDLE connections drop
    FakeIdleServer server(serverOptions);
    auto account = accountFor(server);
    auto options = fastOptions();
    options.backoffInitial = 100ms;
    options.backoffMax = 150ms;
    options.notifyOnConnect = true;
    Recorder recorder;
    ImapIdleWatcher watcher(configWith(account), account, recorder.callback(), options);
    watcher.start();
    // The resolver connection does no IDLE; connections 1 and 2 are dropped after "+".
    ASSERT_TRUE(server.waitFor([&] { return server.idlingLocked() == 1; }));
    ASSERT_TRUE(watcher.waitUntilIdling(1, 10s));
    auto connections = server.snapshot();
    ASSERT_EQ(connections.size(), 4u);
    // Reconnects wait: the first 100 ms, the next (doubled, capped) 150 ms.
    EXPECT_GE(connections[2].acceptedAt - connections[1].acceptedAt, 100ms);
    EXPECT_GE(connections[3].acceptedAt - connections[2].acceptedAt, 150ms);
    // Each established IDLE reports once: mail may have come while nobody watched.
    ASSERT_TRUE(recorder.waitFor(3));
    watcher.stop();
}

TEST(ImapIdleWatcher, ServerWithoutIdleIsReportedAndTheWatcherStops) {
    FakeIdleOptions serverOptions;
    serverOptions.capabilities = {"IMAP4rev1"};
    FakeIdleServer server(serverOptions);
    auto account = accountFor(server);
    Recorder recorder;
    ImapIdleWatcher watcher(configWith(account), account, recorder.callback(), fastOptions());
    watcher.start();
    ASSERT_TRUE(watcher.waitUntilNotRunning(10s));
    EXPECT_EQ(watcher.status(), ImapIdleWatcher::Status::Unsupported);
    watcher.stop();
    EXPECT_EQ(watcher.status(), ImapIdleWatcher::Status::Unsupported);
    EXPECT_EQ(server.connections(), 1u);
    EXPECT_EQ(server.count("EXAMINE"), 0u);
    EXPECT_EQ(server.count("IDLE"), 0u);
    EXPECT_TRUE(recorder.calls().empty());
}

TEST(ImapIdleWatcher, StarWatchesEverySelectableFolderButTrashJunkAndDrafts) {
    FakeIdleOptions serverOptions;
    serverOptions.list = {
        "* LIST (\\HasNoChildren) \"/\" INBOX",           "* LIST (\\Noselect \\HasChildren) \"/\" Work",
        "* LIST (\\HasNoChildren) \"/\" Work/2019",       "* LIST (\\HasNoChildren) \"/\" \"B&APw-cher\"",
        "* LIST (\\HasNoChildren \\Trash) \"/\" Trash",   "* LIST (\\HasNoChildren) \"/\" Junk",
        "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts",
    };
    FakeIdleServer server(serverOptions);
    auto account = accountFor(server, {"*"});
    ImapIdleWatcher watcher(configWith(account), account, {}, fastOptions());
    watcher.start();
    ASSERT_TRUE(watcher.waitUntilIdling(3, 10s));
    EXPECT_EQ(watcher.folders(), (std::vector<std::string>{"INBOX", "Work/2019", "Bücher"}));
    watcher.stop();
    EXPECT_EQ(server.count("EXAMINE"), 3u);
    EXPECT_EQ(server.count("EXAMINE \"B&APw-cher\""), 1u) << "folder names go out in modified UTF-7";
    EXPECT_EQ(server.count("EXAMINE \"Trash\"") + server.count("EXAMINE \"Junk\"") + server.count("EXAMINE \"Drafts\""),
              0u);
}

TEST(ImapIdleWatcher, StarOnGmailWatchesAllMailAloneAsThePollsCollectIt) {
    // Gmail (X-GM-EXT-1) shows each message in INBOX, in each label's folder and in All Mail; the
    // polls of "*" collect All Mail alone, so one connection watches it (Gmail allows 15).
    FakeIdleOptions serverOptions;
    serverOptions.capabilities = {"IMAP4rev1", "IDLE", "LITERAL+", "X-GM-EXT-1"};
    serverOptions.list = {
        "* LIST (\\HasNoChildren) \"/\" INBOX",
        "* LIST (\\HasNoChildren) \"/\" Work",
        "* LIST (\\HasNoChildren) \"/\" Family",
        "* LIST (\\HasChildren \\Noselect) \"/\" \"[Gmail]\"",
        "* LIST (\\All \\HasNoChildren) \"/\" \"[Gmail]/All Mail\"",
        "* LIST (\\HasNoChildren \\Sent) \"/\" \"[Gmail]/Sent Mail\"",
        "* LIST (\\HasNoChildren \\Junk) \"/\" \"[Gmail]/Spam\"",
    };
    FakeIdleServer server(serverOptions);
    auto account = accountFor(server, {"*"});
    ImapIdleWatcher watcher(configWith(account), account, {}, fastOptions());
    watcher.start();
    ASSERT_TRUE(watcher.waitUntilIdling(1, 10s));
    EXPECT_EQ(watcher.folders(), (std::vector<std::string>{"[Gmail]/All Mail"}));
    watcher.stop();
    EXPECT_EQ(server.count("EXAMINE"), 1u);
    EXPECT_EQ(server.count("EXAMINE \"[Gmail]/All Mail\""), 1u);
    EXPECT_EQ(server.connections(), 2u) << "the listing's connection and All Mail's";
}

TEST(ImapIdleWatcher, WatchesAtMostMaxFolders) {
    FakeIdleServer server;
    auto account = accountFor(server, {"INBOX", "A", "B", "C"});
    auto options = fastOptions();
    options.maxFolders = 2;
    ImapIdleWatcher watcher(configWith(account), account, {}, options);
    watcher.start();
    ASSERT_TRUE(watcher.waitUntilIdling(2, 10s));
    EXPECT_EQ(watcher.folders(), (std::vector<std::string>{"INBOX", "A"}));
    watcher.stop();
    EXPECT_EQ(server.count("EXAMINE"), 2u);
}

TEST(ImapIdleWatcher, StopIsPromptWhileBackingOff) {
    FakeIdleOptions serverOptions;
    serverOptions.refuseLogin = true;
    FakeIdleServer server(serverOptions);
    auto account = accountFor(server);
    auto options = fastOptions();
    options.backoffInitial = 30s;
    ImapIdleWatcher watcher(configWith(account), account, {}, options);
    watcher.start();
    ASSERT_TRUE(server.waitFor([&] { return server.countLocked("LOGIN") == 1; }));
    auto stopping = Clock::now();
    watcher.stop();
    EXPECT_LT(Clock::now() - stopping, 2s);
    EXPECT_EQ(server.count("LOGIN"), 1u) << "no retry before the backoff";
}

TEST(ImapIdleWatcher, BackoffWaitsOnTheInjectedClock) {
    FakeIdleOptions serverOptions;
    serverOptions.refuseLogin = true;
    FakeIdleServer server(serverOptions);
    auto account = accountFor(server);
    auto options = fastOptions();
    options.backoffInitial = 30s;
    testing::FakeClock clock;
    ImapIdleWatcher watcher(configWith(account), account, {}, options, clock);
    watcher.start();
    ASSERT_TRUE(watcher.waitUntil([](const ImapIdleStats& stats) { return stats.failures == 1; }, 10s));
    // 30 s of the injected clock end the backoff; on the machine's clock it would last 30 s. The
    // watcher may not yet wait when time first moves: advance until it reconnects.
    for (int i = 0; i < 50 && server.count("LOGIN") < 2; ++i) {
        clock.advance(30s);
        server.waitFor([&] { return server.countLocked("LOGIN") >= 2; }, 200ms);
    }
    EXPECT_EQ(server.count("LOGIN"), 2u);
    watcher.stop();
}

TEST(ImapIdleWatcher, RefusesAPop3Account) {
    FakeIdleServer server;
    auto account = accountFor(server);
    account.protocol = config::SourceProtocol::Pop3;
    EXPECT_THROW(ImapIdleWatcher(configWith(account), account, {}), std::invalid_argument);
}

}  // namespace
}  // namespace mc::collector
