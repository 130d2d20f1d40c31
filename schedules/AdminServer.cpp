#include "schedules/AdminServer.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/SocketAddress.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include <Poco/SHA2Engine.h>

#include <ctime>
#include <random>

#include "collector/Quarantine.hpp"
#include "proto/Http.hpp"
#include "proto/UniqueFd.hpp"
#include "schedules/StatusPage.hpp"

namespace mc::schedules {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;
constexpr const char* kPollPrefix = "/poll/";
constexpr int kListenBacklog = 128;
constexpr int kAcceptsPerTurn = 64;  // then the connections already open get their turn

struct Reply {
    Reply(int status, std::string body, std::string contentType = "text/plain; charset=utf-8")
        : status(status), body(std::move(body)), contentType(std::move(contentType)) {}
    int status;
    std::string body;
    std::string contentType;
    std::vector<std::pair<std::string, std::string>> headers;  // more header fields (Allow, Location ...)
};

Reply redirect(const std::string& location) {
    Reply reply{303, "see " + location + "\n"};
    reply.headers.emplace_back("Location", location);
    return reply;
}

std::string render(const Reply& reply, bool head) {
    std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " " + proto::httpReasonPhrase(reply.status) +
                      "\r\nContent-Type: " + reply.contentType +
                      "\r\nContent-Length: " + std::to_string(reply.body.size()) +
                      "\r\nCache-Control: no-store\r\nConnection: close\r\nServer: mailcollector\r\n";
    for (const auto& [name, value] : reply.headers) out += name + ": " + value + "\r\n";
    out += "\r\n";
    if (!head) out += reply.body;
    return out;
}

// An account name as the config allows them, so that it can be echoed; anything else is not.
bool isAccountName(const std::string& name) {
    return !name.empty() && name.size() <= 200 && std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '_' || c == '-';
    });
}

std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
    return out.empty() ? "(none)" : out;
}

const char* resultWord(const collector::PollReport& report) {
    if (report.ledgerFailed) return "ledger-failed";
    return report.ok ? "ok" : "failed";
}

using FileDescriptor = proto::UniqueFd;

constexpr const char* kSessionCookie = "mc_session";
constexpr std::int64_t kDaySeconds = 86400;
constexpr int kChartDays = 30;

std::string randomHex(std::size_t bytes) {
    static const char* kHex = "0123456789abcdef";
    std::random_device device;
    std::string out;
    for (std::size_t i = 0; i < bytes; ++i) {
        const unsigned value = device() & 0xff;
        out += kHex[value >> 4];
        out += kHex[value & 15];
    }
    return out;
}

// Compares a secret in time independent of where it differs.
bool sameSecret(std::string_view given, std::string_view secret) {
    if (secret.empty() || given.size() != secret.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < secret.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ secret[i]);
    return diff == 0;
}

// The cookie a browser holds after /login: derived from the token, so the token itself is never
// stored in the browser.
std::string sessionValue(const std::string& token) {
    Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
    sha.update("mailcollector status page session\n" + token);
    return Poco::DigestEngine::digestToHex(sha.digest());
}

std::string header(const proto::HttpRequest& request, const std::string& name) {
    auto it = request.headers.find(name);
    return it == request.headers.end() ? std::string() : it->second;
}

std::string cookie(const proto::HttpRequest& request, std::string_view name) {
    std::string_view all = request.headers.count("cookie") ? std::string_view(request.headers.at("cookie")) : "";
    while (!all.empty()) {
        const std::size_t semicolon = all.find(';');
        std::string_view item = all.substr(0, semicolon);
        all = semicolon == std::string_view::npos ? std::string_view() : all.substr(semicolon + 1);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        if (item.size() > name.size() && item.substr(0, name.size()) == name && item[name.size()] == '=')
            return std::string(item.substr(name.size() + 1));
    }
    return "";
}

std::string field(const proto::FormFields& fields, const std::string& name) {
    for (const auto& [key, value] : fields)
        if (key == name) return value;
    return "";
}

// HOST of "HOST:PORT", "[V6]:PORT" or "HOST", lower-cased, brackets kept.
std::string hostOf(std::string_view authority) {
    std::string host;
    if (!authority.empty() && authority.front() == '[') {
        host = std::string(authority.substr(0, authority.find(']') + 1));
    } else {
        host = std::string(authority.substr(0, authority.find(':')));
    }
    std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
    return host;
}

bool isLoopbackHost(const std::string& host) {
    return host == "localhost" || host == "[::1]" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::int64_t unixNow() { return static_cast<std::int64_t>(std::time(nullptr)); }
std::int64_t unixNowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

class AdminServer::Impl {
public:
    Impl(const std::string& listen, Service& service, Metrics& metrics, LedgerHealth& health, AdminLimits limits,
         AdminPage page)
        : service_(service),
          metrics_(metrics),
          health_(health),
          limits_(limits),
          page_(std::move(page)),
          listenHost_(hostOf(listen)),
          csrfToken_(randomHex(16)) {
        listenOn(listen);
        if (page_.token.empty() && !isLoopbackHost(listenHost_))
            spdlog::warn(
                "http_listen {} is not a loopback address and http_token_file is not set: anyone who can reach it "
                "sees the status page and can trigger polls; set http_token_file, or listen on 127.0.0.1 and use "
                "ssh -L or a reverse proxy with TLS",
                listen);
        wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
        if (wake_.get() < 0) throw std::runtime_error("cannot listen on " + listen + ": eventfd failed");
        for (int i = 0; i < std::max(1, limits_.workers); ++i) workers_.emplace_back([this] { work(); });
        loop_ = std::thread([this] { loop(); });
    }
    ~Impl() { stop(); }

    std::uint16_t port() const { return port_; }

    void stop() {
        if (stopped_.exchange(true)) return;
        // Waiting polls first: they answer with what has finished, then the loop sends it.
        cancelled_ = true;
        service_.wakeWaiters();
        {
            std::lock_guard lock(waitersMutex_);
            for (auto& waiter : waiters_) waiter.thread.join();
            waiters_.clear();
        }
        {
            std::lock_guard lock(jobsMutex_);
            stopping_ = true;
        }
        jobsChanged_.notify_all();
        for (auto& worker : workers_) worker.join();
        wakeLoop();
        loop_.join();
    }

private:
    enum class Phase { Reading, Working, Writing };
    struct Connection {
        FileDescriptor fd;
        Phase phase = Phase::Reading;
        std::string in;
        std::string out;
        std::size_t written = 0;
        SteadyTime deadline;
    };
    struct Job {
        std::uint64_t connection;
        proto::HttpRequest request;
    };
    struct Waiter {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };

    void listenOn(const std::string& listen) {
        try {
            const Poco::Net::SocketAddress address(listen);
            listener_.reset(::socket(address.family() == Poco::Net::SocketAddress::IPv6 ? AF_INET6 : AF_INET,
                                     SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
            if (listener_.get() < 0) throw std::runtime_error(std::strerror(errno));
            // SO_REUSEADDR for quick restarts, never SO_REUSEPORT: a second instance must fail to
            // listen, not share the port.
            const int on = 1;
            ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
            if (::bind(listener_.get(), address.addr(), address.length()) != 0 ||
                ::listen(listener_.get(), kListenBacklog) != 0)
                throw std::runtime_error(std::strerror(errno));
            sockaddr_storage bound{};
            socklen_t length = sizeof bound;
            ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&bound), &length);
            port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                      : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
        } catch (const Poco::Exception& e) {
            throw std::runtime_error("cannot listen on " + listen + ": " + e.displayText());
        } catch (const std::runtime_error& e) {
            throw std::runtime_error("cannot listen on " + listen + ": " + e.what());
        }
    }

    void wakeLoop() {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto written = ::write(wake_.get(), &one, sizeof one);
    }

    // Hands a reply to the loop, which sends it.
    void post(std::uint64_t connection, std::string bytes) {
        {
            std::lock_guard lock(repliesMutex_);
            replies_.emplace_back(connection, std::move(bytes));
        }
        wakeLoop();
    }

    // --- the loop: all socket I/O, never blocking -------------------------------------------

    void loop() {
        SteadyTime acceptPausedUntil{};
        std::vector<pollfd> fds;
        std::vector<std::uint64_t> ids;
        for (;;) {
            const SteadyTime now = std::chrono::steady_clock::now();
            fds.clear();
            ids.clear();
            fds.push_back({wake_.get(), POLLIN, 0});
            const bool accepting = now >= acceptPausedUntil;
            fds.push_back({accepting ? listener_.get() : -1, POLLIN, 0});
            std::optional<SteadyTime> nextDeadline;
            if (!accepting) nextDeadline = acceptPausedUntil;
            for (auto& [id, connection] : connections_) {
                if (connection.phase == Phase::Working) continue;
                fds.push_back({connection.fd.get(), short(connection.phase == Phase::Reading ? POLLIN : POLLOUT), 0});
                ids.push_back(id);
                if (!nextDeadline || connection.deadline < *nextDeadline) nextDeadline = connection.deadline;
            }
            int timeout = -1;
            if (nextDeadline) {
                const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*nextDeadline - now).count();
                timeout = static_cast<int>(std::clamp<long long>(wait, 0, 60'000));
            }
            if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
                spdlog::error("admin http: poll failed: {}", std::strerror(errno));
                break;
            }
            if (fds[0].revents & POLLIN) {
                std::uint64_t count = 0;
                [[maybe_unused]] const auto read = ::read(wake_.get(), &count, sizeof count);
            }
            takeReplies();
            if (stopped_ && workersDone()) break;
            for (std::size_t i = 0; i < ids.size(); ++i) {
                const short events = fds[i + 2].revents;
                if (events == 0) continue;
                auto it = connections_.find(ids[i]);
                if (it == connections_.end()) continue;
                if (it->second.phase == Phase::Reading)
                    readFrom(it->first, it->second);
                else if (it->second.phase == Phase::Writing)
                    writeTo(it->first, it->second);
            }
            if (fds[1].revents & POLLIN) acceptPausedUntil = acceptNew();
            expire();
        }
        // Last replies (waiting polls answered at stop) get one try; then everything closes.
        takeReplies();
        connections_.clear();
        listener_.reset();
    }

    bool workersDone() {
        std::lock_guard lock(jobsMutex_);
        return stopping_;
    }

    // Accepts what is waiting; returns until when to stop accepting (out of descriptors).
    SteadyTime acceptNew() {
        for (int i = 0; i < kAcceptsPerTurn; ++i) {
            const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE) {
                    // Out of descriptors: make room from the slow end, else wait a little.
                    if (!evictOldestReading()) return std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
                    continue;
                }
                return {};  // EAGAIN, or an error of that one connection
            }
            if (static_cast<int>(connections_.size()) >= limits_.maxConnections && !evictOldestReading()) {
                ::close(fd);  // every connection is being answered: this one must wait its turn
                continue;
            }
            Connection connection;
            connection.fd.reset(fd);
            connection.deadline = std::chrono::steady_clock::now() + limits_.requestDeadline;
            connections_.emplace(nextId_++, std::move(connection));
        }
        return {};
    }

    // The connection that has been sending its request the longest makes room for a new one.
    bool evictOldestReading() {
        for (auto it = connections_.begin(); it != connections_.end(); ++it) {
            if (it->second.phase != Phase::Reading) continue;
            connections_.erase(it);
            return true;
        }
        return false;
    }

    void readFrom(std::uint64_t id, Connection& connection) {
        char buffer[4096];
        bool ended = false;  // the client has sent all it will (a request may still be whole)
        for (;;) {
            const ssize_t got = ::recv(connection.fd.get(), buffer, sizeof buffer, 0);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            if (got <= 0) {
                ended = true;
                break;
            }
            connection.in.append(buffer, static_cast<std::size_t>(got));
            if (connection.in.size() > limits_.maxRequestBytes) {
                return answer(connection, Reply{431, "request too large\n"}, false);
            }
        }
        proto::HttpRequest request;
        switch (proto::parseHttpRequest(connection.in, request)) {
            case proto::HttpParse::Incomplete:
                if (ended) connections_.erase(id);
                return;
            case proto::HttpParse::Malformed:
                return answer(connection, Reply{400, "malformed request\n"}, false);
            case proto::HttpParse::Complete:
                break;
        }
        connection.phase = Phase::Working;
        connection.in.clear();
        {
            std::lock_guard lock(jobsMutex_);
            jobs_.push_back(Job{id, std::move(request)});
        }
        jobsChanged_.notify_one();
    }

    void answer(Connection& connection, const Reply& reply, bool head) {
        connection.phase = Phase::Writing;
        connection.out = render(reply, head);
        connection.written = 0;
        connection.deadline = std::chrono::steady_clock::now() + limits_.requestDeadline;
    }

    void writeTo(std::uint64_t id, Connection& connection) {
        while (connection.written < connection.out.size()) {
            const ssize_t sent = ::send(connection.fd.get(), connection.out.data() + connection.written,
                                        connection.out.size() - connection.written, MSG_NOSIGNAL);
            if (sent < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) return;
                break;
            }
            connection.written += static_cast<std::size_t>(sent);
        }
        connections_.erase(id);
    }

    void takeReplies() {
        std::vector<std::pair<std::uint64_t, std::string>> replies;
        {
            std::lock_guard lock(repliesMutex_);
            replies.swap(replies_);
        }
        for (auto& [id, bytes] : replies) {
            auto it = connections_.find(id);
            if (it == connections_.end()) continue;
            it->second.phase = Phase::Writing;
            it->second.out = std::move(bytes);
            it->second.written = 0;
            it->second.deadline = std::chrono::steady_clock::now() + limits_.requestDeadline;
            writeTo(id, it->second);
        }
    }

    // A request that has not arrived whole, or a reply not taken, within the deadline: the
    // connection ends (with 408 when the client is still sending, if its socket takes it).
    void expire() {
        const SteadyTime now = std::chrono::steady_clock::now();
        for (auto it = connections_.begin(); it != connections_.end();) {
            Connection& connection = it->second;
            if (connection.phase == Phase::Working || now < connection.deadline) {
                ++it;
                continue;
            }
            if (connection.phase == Phase::Reading) {
                const std::string timeout = render(Reply{408, "request not received in time\n"}, false);
                [[maybe_unused]] const auto sent =
                    ::send(connection.fd.get(), timeout.data(), timeout.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            }
            it = connections_.erase(it);
        }
    }

    // --- workers: compute replies -----------------------------------------------------------

    void work() {
        for (;;) {
            Job job;
            {
                std::unique_lock lock(jobsMutex_);
                jobsChanged_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
                if (stopping_) return;
                job = std::move(jobs_.front());
                jobs_.pop_front();
            }
            const bool head = job.request.method == "HEAD";
            try {
                if (auto reply = route(job.connection, job.request)) post(job.connection, render(*reply, head));
            } catch (const std::exception& e) {
                spdlog::warn("admin http: {} request failed: {}", job.request.method, e.what());
                post(job.connection, render(Reply{500, "internal error\n"}, head));
            }
        }
    }

    // The reply, or nullopt when a waiting poll answers later.
    std::optional<Reply> route(std::uint64_t connection, const proto::HttpRequest& request) {
        const std::string& path = request.path;
        const std::string& method = request.method;
        const bool get = method == "GET" || method == "HEAD";
        if (method == "POST" && !sameOrigin(request))
            return Reply{403, "refused: a cross-site request (Origin is not this server)\n"};
        if (path == "/login") return login(request);
        const bool pageRoute = path == "/" || path == "/status.json" || path.rfind("/account/", 0) == 0 ||
                               path.rfind("/ui/", 0) == 0 || path == "/logout";
        if (!page_.token.empty() && !authorized(request)) {
            if (get && pageRoute && path != "/status.json") {
                const PageContext context = pageContext();
                return htmlPage(401, renderLoginPage(context, false), context);
            }
            Reply reply{401, "the token of http_token_file is needed (Authorization: Bearer TOKEN)\n"};
            reply.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"mailcollector\"");
            return reply;
        }
        if (pageRoute && page_.ledger != nullptr) {
            if (page_.token.empty() && !hostAllowed(request))
                return Reply{403,
                             "refused: Host is not a loopback name or the listen address; set http_token_file to "
                             "reach the page under another name\n"};
            return pageRequest(request);
        }
        if (path == "/metrics" || path == "/healthz") {
            if (!get) return methodNotAllowed("GET, HEAD");
            if (path == "/metrics") return Reply{200, metrics_.render(), "text/plain; version=0.0.4; charset=utf-8"};
            return healthz();
        }
        if (path == "/poll" || path.rfind(kPollPrefix, 0) == 0) {
            if (method != "POST") return methodNotAllowed("POST");
            return poll(connection, request);
        }
        return Reply{404, "not found; try /, /metrics, /healthz or POST /poll/<account>\n"};
    }

    // --- the status page ----------------------------------------------------------------------

    PageContext pageContext() const { return PageContext{csrfToken_, randomHex(12), !page_.token.empty()}; }

    static Reply withPageHeaders(Reply reply, const std::string& nonce) {
        reply.headers.emplace_back("Content-Security-Policy", contentSecurityPolicy(nonce));
        reply.headers.emplace_back("X-Content-Type-Options", "nosniff");
        // Not no-referrer: under it browsers send "Origin: null" with forms, which the Origin check refuses.
        reply.headers.emplace_back("Referrer-Policy", "same-origin");
        reply.headers.emplace_back("X-Frame-Options", "DENY");
        return reply;
    }

    Reply htmlPage(int status, const std::string& body, const PageContext& context) const {
        return withPageHeaders(Reply{status, body, "text/html; charset=utf-8"}, context.nonce);
    }

    bool authorized(const proto::HttpRequest& request) const {
        const std::string authorization = header(request, "authorization");
        if (authorization.rfind("Bearer ", 0) == 0 && sameSecret(authorization.substr(7), page_.token)) return true;
        const std::string session = cookie(request, kSessionCookie);
        return !session.empty() && sameSecret(session, sessionValue(page_.token));
    }

    // A browser says where a request comes from (Origin; Sec-Fetch-Site); tools send neither.
    static bool sameOrigin(const proto::HttpRequest& request) {
        const std::string site = header(request, "sec-fetch-site");
        if (!site.empty() && site != "same-origin" && site != "none") return false;
        const std::string origin = header(request, "origin");
        if (origin.empty()) return true;
        const std::size_t scheme = origin.find("://");
        if (scheme == std::string::npos) return false;  // "null" (sandboxed, file:) included
        std::string host = origin.substr(scheme + 3);
        std::string expected = header(request, "host");
        auto lower = [](std::string text) {
            std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
            return text;
        };
        return !expected.empty() && lower(host) == lower(expected);
    }

    bool hostAllowed(const proto::HttpRequest& request) const {
        const std::string host = hostOf(header(request, "host"));
        if (isLoopbackHost(host) || host == listenHost_) return true;
        return listenHost_ == "0.0.0.0" || listenHost_ == "[::]";  // warned about at start
    }

    Reply login(const proto::HttpRequest& request) {
        const PageContext context = pageContext();
        if (page_.token.empty()) return redirect("/");
        if (request.method == "GET" || request.method == "HEAD")
            return htmlPage(200, renderLoginPage(context, false), context);
        if (request.method != "POST") return methodNotAllowed("GET, HEAD, POST");
        const auto form = proto::parseFormUrlEncoded(request.body);
        if (!form || !sameSecret(field(*form, "token"), page_.token)) {
            spdlog::warn("status page: a login with a wrong token was refused");
            return htmlPage(401, renderLoginPage(context, true), context);
        }
        Reply reply = redirect("/");
        reply.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) + "=" + sessionValue(page_.token) +
                                                     "; Path=/; HttpOnly; SameSite=Strict");
        return reply;
    }

    Reply pageRequest(const proto::HttpRequest& request) {
        const std::string& path = request.path;
        const bool get = request.method == "GET" || request.method == "HEAD";
        if (path == "/" || path == "/status.json" || path.rfind("/account/", 0) == 0) {
            if (!get) return methodNotAllowed("GET, HEAD");
            const auto config = service_.config();
            const StatusModel model = statusModel(*config);
            if (path == "/status.json") return Reply{200, renderStatusJson(model), "application/json"};
            const PageContext context = pageContext();
            const std::int64_t firstDay = unixNow() / kDaySeconds * kDaySeconds - (kChartDays - 1) * kDaySeconds;
            if (path == "/") {
                std::vector<ChartSeries> series;
                for (const auto& account : model.accounts) series.push_back(chartSeries(account.name, firstDay));
                return htmlPage(200, renderStatusPage(model, renderDailyChart(series, firstDay), context), context);
            }
            const std::string name = path.substr(std::string("/account/").size());
            auto account = std::find_if(model.accounts.begin(), model.accounts.end(),
                                        [&](const AccountStatus& a) { return a.name == name; });
            if (account == model.accounts.end()) return Reply{404, "no such account\n"};
            AccountHistory history;
            history.status = *account;
            history.polls = page_.ledger->pollHistory(name, ledger::kPollHistoryKept);
            history.days = page_.ledger->pollDays(name, 0);
            history.quarantined = collector::Quarantine(*page_.ledger, config->collector.quarantineDir).list(name);
            const std::string chart = renderDailyChart(
                {ChartSeries{name, deliveredPerDay(history.polls, history.days, firstDay, kChartDays)}}, firstDay);
            return htmlPage(200, renderAccountPage(history, model.now, chart, context), context);
        }
        if (request.method != "POST") return methodNotAllowed("POST");
        const auto form = proto::parseFormUrlEncoded(request.body);
        if (!form || !sameSecret(field(*form, "csrf"), csrfToken_))
            return Reply{403, "refused: the form's CSRF token is missing or stale; reload the page\n"};
        if (path == "/logout") {
            Reply reply = redirect("/login");
            reply.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) + "=; Path=/; Max-Age=0");
            return reply;
        }
        const std::string account = field(*form, "account");
        const bool fromScript = header(request, "x-requested-with") == "fetch";
        if (path == "/ui/poll") {
            const PollRequest result = account.empty() ? service_.pollAllNow() : service_.pollNow(account);
            if (result == PollRequest::UnknownAccount) return Reply{404, "no such account\n"};
            if (result == PollRequest::NotRunning) return Reply{503, "service is stopping\n"};
            if (account.empty())
                spdlog::info("poll of every account requested on the status page");
            else
                spdlog::info("account={} poll requested on the status page", account);
            if (fromScript) return Reply{202, "polling\n"};
            return redirect(account.empty() ? "/" : "/account/" + accountPath(account));
        }
        if (path == "/ui/quarantine") {
            const auto config = service_.config();
            if (account.empty() || config->findAccount(account) == nullptr) return Reply{404, "no such account\n"};
            const std::string action = field(*form, "action");
            if (action != "retry" && action != "drop") return Reply{400, "action must be retry or drop\n"};
            std::vector<std::string> ids;
            if (const std::string id = field(*form, "id"); !id.empty()) ids.push_back(id);
            collector::Quarantine quarantine(*page_.ledger, config->collector.quarantineDir);
            try {
                const auto done = action == "retry" ? quarantine.retry(account, ids) : quarantine.drop(account, ids);
                spdlog::info("account={} quarantine {} of {} messages on the status page", account, action,
                             done.size());
            } catch (const collector::UnknownQuarantineIds&) {
                return Reply{404, "no such quarantined message (already retried or dropped?)\n"};
            }
            return redirect("/account/" + accountPath(account));
        }
        return Reply{404, "not found\n"};
    }

    StatusModel statusModel(const config::Config& config) {
        StatusInputs inputs;
        inputs.now = unixNow();
        inputs.nowMs = unixNowMs();
        const auto names = service_.accountNames();
        for (const auto& name : names)
            if (const auto* account = config.findAccount(name)) inputs.accounts.push_back(account);
        inputs.views = service_.accounts();
        inputs.records = page_.ledger->accounts();
        // From memory and two ledger reads whatever the number of accounts: the page asks every
        // few seconds.
        inputs.lastPolls = service_.lastReports();
        inputs.quarantined = page_.ledger->quarantined("");
        if (page_.progress != nullptr) inputs.progress = page_.progress->snapshot();
        return buildStatusModel(inputs);
    }

    ChartSeries chartSeries(const std::string& account, std::int64_t firstDay) {
        return ChartSeries{account, deliveredPerDay(page_.ledger->pollHistory(account, ledger::kPollHistoryKept),
                                                    page_.ledger->pollDays(account, firstDay), firstDay, kChartDays)};
    }

    Reply healthz() {
        const ServiceState state = service_.state();
        if (state != ServiceState::Running) return Reply{503, std::string("service ") + toString(state) + "\n"};
        if (std::string problem = health_.check(); !problem.empty())
            return Reply{503, "ledger not writable: " + problem + "\n"};
        return Reply{200, "ok\n"};
    }

    std::optional<Reply> poll(std::uint64_t connection, const proto::HttpRequest& request) {
        const bool all = request.path == "/poll" || request.path == kPollPrefix;
        std::vector<std::string> names;
        if (!all) names.push_back(request.path.substr(std::string(kPollPrefix).size()));
        bool wait = false;
        for (const auto& [key, value] : request.query) {
            if (key == "wait") wait = value != "0";
            if (key == "account") names.push_back(value);
        }
        if (!wait) {
            const PollRequest result = all ? service_.pollAllNow() : service_.pollNow(names.front());
            switch (result) {
                case PollRequest::Accepted:
                    if (all)
                        spdlog::info("poll of every account requested over http");
                    else
                        spdlog::info("account={} poll requested over http", names.front());
                    return Reply{202, all ? "polling every account\n" : "polling " + names.front() + "\n"};
                case PollRequest::UnknownAccount:
                    // Not echoed: the path is whatever the client sent.
                    return Reply{404, "no such account\n"};
                case PollRequest::NotRunning:
                    return Reply{503, "service is stopping\n"};
            }
        }
        return waitingPoll(connection, names);
    }

    std::optional<Reply> waitingPoll(std::uint64_t connection, const std::vector<std::string>& names) {
        std::lock_guard lock(waitersMutex_);
        if (stopped_) return Reply{503, "service is stopping\n"};  // stop() joins no waiter started now
        // Finished waiters are joined here, so that their number stays bounded.
        for (auto it = waiters_.begin(); it != waiters_.end();) {
            if (!*it->done) {
                ++it;
                continue;
            }
            it->thread.join();
            it = waiters_.erase(it);
        }
        if (static_cast<int>(waiters_.size()) >= limits_.maxWaitingPolls)
            return Reply{503, "too many poll requests waiting; try again when they have finished\n"};
        PollTicket ticket;
        switch (service_.requestPolls(names, ticket)) {
            case PollRequest::Accepted:
                break;
            case PollRequest::UnknownAccount: {
                std::string unknown;
                for (const auto& name : names) {
                    const auto known = service_.accountNames();
                    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
                    unknown = isAccountName(name) ? "no account named '" + name + "'" : "no such account";
                    break;
                }
                return Reply{404, unknown + "; the service's accounts: " + joined(service_.accountNames()) + "\n"};
            }
            case PollRequest::NotRunning:
                return Reply{503, "service is stopping\n"};
        }
        std::vector<std::string> polled;
        for (const auto& [name, before] : ticket.accounts) polled.push_back(name);
        spdlog::info("poll of {} requested over http (waiting for the results)", joined(polled));
        auto done = std::make_shared<std::atomic<bool>>(false);
        waiters_.push_back(Waiter{std::thread([this, connection, ticket, done] {
                                      std::string body;
                                      for (const auto& report : service_.waitForPolls(ticket, cancelled_))
                                          body += std::string(resultWord(report)) + "\t" + describePoll(report) + "\n";
                                      post(connection, render(Reply{200, body}, false));
                                      *done = true;
                                  }),
                                  done});
        return std::nullopt;
    }

    static Reply methodNotAllowed(const char* allowed) {
        Reply reply{405, std::string("use ") + allowed + "\n"};
        reply.headers.emplace_back("Allow", allowed);
        return reply;
    }

    Service& service_;
    Metrics& metrics_;
    LedgerHealth& health_;
    const AdminLimits limits_;
    const AdminPage page_;
    const std::string listenHost_;
    const std::string csrfToken_;  // this process's: in every form of the page
    FileDescriptor listener_;
    FileDescriptor wake_;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopped_{false};
    std::atomic<bool> cancelled_{false};

    // Owned by the loop thread.
    std::map<std::uint64_t, Connection> connections_;  // by id: oldest first
    std::uint64_t nextId_ = 1;

    std::mutex jobsMutex_;  // guards jobs_ and stopping_
    std::condition_variable jobsChanged_;
    std::deque<Job> jobs_;
    bool stopping_ = false;

    std::mutex repliesMutex_;
    std::vector<std::pair<std::uint64_t, std::string>> replies_;

    std::mutex waitersMutex_;
    std::list<Waiter> waiters_;

    std::vector<std::thread> workers_;
    std::thread loop_;
};

LedgerHealth::LedgerHealth(ledger::LedgerStore& ledger, Clock& clock, Duration interval)
    : ledger_(ledger), clock_(clock), interval_(interval) {}

std::string LedgerHealth::check() {
    std::lock_guard lock(mutex_);
    const TimePoint now = clock_.now();
    if (probed_ && now - probedAt_ < interval_) return problem_;
    try {
        ledger_.probeWrite();
        problem_.clear();
    } catch (const std::exception& e) {
        if (problem_.empty()) spdlog::error("ledger write probe failed: {}", e.what());
        problem_ = e.what();
    }
    probed_ = true;
    probedAt_ = clock_.now();
    return problem_;
}

AdminServer::AdminServer(const std::string& listen, Service& service, Metrics& metrics, LedgerHealth& health,
                         AdminLimits limits, AdminPage page)
    : impl_(std::make_unique<Impl>(listen, service, metrics, health, limits, std::move(page))) {}

AdminServer::~AdminServer() { stop(); }

std::uint16_t AdminServer::port() const { return impl_->port(); }

void AdminServer::stop() { impl_->stop(); }

}  // namespace mc::schedules
