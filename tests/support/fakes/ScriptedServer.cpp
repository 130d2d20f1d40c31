#include "tests/support/fakes/ScriptedServer.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <regex>
#include <stdexcept>

namespace mc::testing {

struct ConnectionState {
    std::size_t index = 0;
    ConnectionRecord record;
    std::vector<std::string> failures;
};

namespace {

using Clock = std::chrono::steady_clock;

constexpr Millis kPollSlice{50};
constexpr std::size_t kMaxBuffered = 64u << 20;
// How long a graceful close keeps reading what the client still sends.
constexpr Millis kCloseDrain{300};
// After the last step: keep reading until the client closes (the server's stop ends it sooner).
constexpr Millis kTrailingDrain{600'000};

std::string opensslErrors() {
    std::string text;
    while (unsigned long code = ERR_get_error()) {
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof buffer);
        if (!text.empty()) text += "; ";
        text += buffer;
    }
    return text.empty() ? "no OpenSSL error queued" : text;
}

// Server contexts, one per certificate/key pair, for the whole test process.
SSL_CTX* serverContext(const std::string& certFile, const std::string& keyFile) {
    static std::mutex mutex;
    static std::map<std::pair<std::string, std::string>, SSL_CTX*> contexts;
    std::lock_guard lock(mutex);
    auto key = std::make_pair(certFile, keyFile);
    if (auto it = contexts.find(key); it != contexts.end()) return it->second;
    SSL_CTX* context = SSL_CTX_new(TLS_server_method());
    if (!context) throw std::runtime_error("SSL_CTX_new: " + opensslErrors());
    if (SSL_CTX_use_certificate_chain_file(context, certFile.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(context, keyFile.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(context) != 1) {
        std::string error = opensslErrors();
        SSL_CTX_free(context);
        throw std::runtime_error("cannot load " + certFile + " / " + keyFile + ": " + error);
    }
    SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    contexts.emplace(key, context);
    return context;
}

std::string stripEnding(std::string line) {
    if (!line.empty() && line.back() == '\n') line.pop_back();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

}  // namespace

// ---- helpers ------------------------------------------------------------------------------

bool startsWithNoCase(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(text[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
            return false;
    return true;
}

std::string dotStuff(std::string_view message) {
    std::string out;
    out.reserve(message.size() + message.size() / 50 + 4);
    bool lineStart = true;
    for (char c : message) {
        if (lineStart && c == '.') out += '.';
        out += c;
        lineStart = c == '\n';
    }
    return out;
}

std::string crlf(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 40 + 2);
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '\r') {
            out += "\r\n";
            if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
        } else if (c == '\n') {
            out += "\r\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string escapeBytes(std::string_view text, std::size_t maxLength) {
    std::string out;
    for (unsigned char c : text) {
        if (out.size() >= maxLength) {
            out += "...(" + std::to_string(text.size()) + " bytes)";
            break;
        }
        if (c == '\\') {
            out += "\\\\";
        } else if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
            out += escaped;
        }
    }
    return out;
}

// ---- Script -------------------------------------------------------------------------------

Script& Script::send(std::string bytes) {
    steps_.push_back([bytes = std::move(bytes)](ScriptedConnection& c) { c.send(bytes); });
    return *this;
}

Script& Script::sendLine(std::string line) { return send(std::move(line) + "\r\n"); }

Script& Script::expectLine(std::string prefix) {
    steps_.push_back([prefix = std::move(prefix)](ScriptedConnection& c) {
        auto line = c.readLine();
        if (!line) {
            if (!c.stopping())
                c.fail("expected a line starting with '" + escapeBytes(prefix) +
                       "' but the client closed or sent nothing");
            return;
        }
        if (line->compare(0, prefix.size(), prefix) != 0)
            c.fail("expected a line starting with '" + escapeBytes(prefix) + "', got '" + escapeBytes(*line) + "'");
    });
    return *this;
}

Script& Script::expectMatch(std::string pattern) {
    steps_.push_back([pattern = std::move(pattern)](ScriptedConnection& c) {
        auto line = c.readLine();
        if (!line) {
            if (!c.stopping())
                c.fail("expected a line matching /" + escapeBytes(pattern) + "/ but the client closed or sent nothing");
            return;
        }
        if (!std::regex_match(*line, std::regex(pattern)))
            c.fail("expected a line matching /" + escapeBytes(pattern) + "/, got '" + escapeBytes(*line) + "'");
    });
    return *this;
}

Script& Script::startTls(std::string certFile, std::string keyFile) {
    steps_.push_back([certFile = std::move(certFile), keyFile = std::move(keyFile)](ScriptedConnection& c) {
        c.startTls(certFile, keyFile);
    });
    return *this;
}

Script& Script::stall(Millis duration) {
    steps_.push_back([duration](ScriptedConnection& c) { c.stall(duration); });
    return *this;
}

Script& Script::close() {
    steps_.push_back([](ScriptedConnection& c) { c.close(); });
    return *this;
}

Script& Script::reset() {
    steps_.push_back([](ScriptedConnection& c) { c.reset(); });
    return *this;
}

Script& Script::sendAndClose(std::string bytes) {
    steps_.push_back([bytes = std::move(bytes)](ScriptedConnection& c) {
        c.send(bytes);
        c.close();
    });
    return *this;
}

Script& Script::run(Step step) {
    steps_.push_back(std::move(step));
    return *this;
}

Script& Script::onEachLine(LineHandler handler) {
    steps_.push_back([handler = std::move(handler)](ScriptedConnection& c) {
        while (c.open() && !c.stopping()) {
            auto line = c.readLine(kTrailingDrain);
            if (!line) return;
            if (!handler(c, *line)) return;
        }
    });
    return *this;
}

// ---- ScriptedConnection -------------------------------------------------------------------

ScriptedConnection::ScriptedConnection(ScriptedServer& server, std::shared_ptr<ConnectionState> state, int fd)
    : server_(server), state_(std::move(state)), fd_(fd) {}

ScriptedConnection::~ScriptedConnection() { release(); }

std::size_t ScriptedConnection::index() const { return state_->index; }

bool ScriptedConnection::stopping() const { return server_.stopping_.load(); }

void ScriptedConnection::note(const std::string& text) {
    std::lock_guard lock(server_.mutex_);
    state_->record.transcript += "-- " + text + "\n";
}

void ScriptedConnection::fail(const std::string& why) {
    {
        std::lock_guard lock(server_.mutex_);
        state_->failures.push_back(why);
        state_->record.transcript += "!! " + why + "\n";
    }
    close();
}

bool ScriptedConnection::waitFor(short events, Clock::time_point deadline) {
    for (;;) {
        if (stopping() || fd_ < 0) return false;
        auto now = Clock::now();
        if (now >= deadline) return false;
        auto slice = std::min<Clock::duration>(deadline - now, kPollSlice);
        pollfd entry{fd_, events, 0};
        int timeoutMs = static_cast<int>(std::chrono::ceil<Millis>(slice).count());
        int n = ::poll(&entry, 1, timeoutMs);
        if (n > 0) return true;  // ready, or an error/hangup the next call will report
        if (n < 0 && errno != EINTR) return false;
    }
}

ScriptedConnection::Fill ScriptedConnection::fill(Clock::time_point deadline) {
    char chunk[65536];
    for (;;) {
        if (stopping()) return Fill::Stopped;
        if (fd_ < 0) return Fill::Closed;
        long n;
        bool wantWrite = false;
        if (ssl_) {
            ERR_clear_error();
            n = SSL_read(ssl_, chunk, sizeof chunk);
            if (n <= 0) {
                int error = SSL_get_error(ssl_, static_cast<int>(n));
                if (error == SSL_ERROR_WANT_WRITE)
                    wantWrite = true;
                else if (error != SSL_ERROR_WANT_READ)
                    return Fill::Closed;
            }
        } else {
            n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n == 0) return Fill::Closed;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return Fill::Closed;
        }
        if (n > 0) {
            std::string_view bytes(chunk, static_cast<std::size_t>(n));
            buffer_.append(bytes);
            std::lock_guard lock(server_.mutex_);
            if (state_->record.received.size() < kMaxBuffered) state_->record.received.append(bytes);
            return Fill::Data;
        }
        if (!waitFor(wantWrite ? POLLOUT : POLLIN, deadline))
            return stopping() ? Fill::Stopped : (fd_ < 0 ? Fill::Closed : Fill::Timeout);
    }
}

std::optional<std::string> ScriptedConnection::takeLine(bool keepEnding, Millis timeout) {
    auto deadline = Clock::now() + timeout;
    std::size_t searched = 0;
    for (;;) {
        auto lf = buffer_.find('\n', searched);
        if (lf != std::string::npos) {
            std::string raw = buffer_.substr(0, lf + 1);
            buffer_.erase(0, lf + 1);
            std::string line = stripEnding(raw);
            {
                std::lock_guard lock(server_.mutex_);
                state_->record.lines.push_back(line);
                state_->record.transcript += "C: " + escapeBytes(line) + "\n";
            }
            return keepEnding ? raw : line;
        }
        searched = buffer_.size();
        if (buffer_.size() > kMaxBuffered) {
            fail("the client sent more than 64 MiB without a line end");
            return std::nullopt;
        }
        switch (fill(deadline)) {
            case Fill::Data:
                break;
            case Fill::Closed:
                note("client closed the connection");
                release();
                return std::nullopt;
            case Fill::Timeout:
                note("no line within " + std::to_string(timeout.count()) + " ms");
                return std::nullopt;
            case Fill::Stopped:
                return std::nullopt;
        }
    }
}

std::optional<std::string> ScriptedConnection::readLine(Millis timeout) { return takeLine(false, timeout); }

std::optional<std::string> ScriptedConnection::readRawLine(Millis timeout) { return takeLine(true, timeout); }

bool ScriptedConnection::send(std::string_view bytes, Millis timeout) {
    if (fd_ < 0) return false;
    {
        std::lock_guard lock(server_.mutex_);
        state_->record.transcript += "S: " + escapeBytes(bytes) + "\n";
    }
    auto deadline = Clock::now() + timeout;
    while (!bytes.empty()) {
        if (stopping() || fd_ < 0) return false;
        long n;
        short waitEvents = POLLOUT;
        if (ssl_) {
            ERR_clear_error();
            n = SSL_write(ssl_, bytes.data(), static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 20)));
            if (n <= 0) {
                int error = SSL_get_error(ssl_, static_cast<int>(n));
                if (error == SSL_ERROR_WANT_READ)
                    waitEvents = POLLIN;
                else if (error != SSL_ERROR_WANT_WRITE) {
                    note("send failed: the client is gone");
                    return false;
                }
            }
        } else {
            n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                note(std::string("send failed: ") + std::strerror(errno));
                return false;
            }
        }
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (!waitFor(waitEvents, deadline)) {
            if (!stopping()) note("send stalled: the client does not read");
            return false;
        }
    }
    return true;
}

bool ScriptedConnection::startTls(const std::string& certFile, const std::string& keyFile, Millis timeout) {
    if (fd_ < 0) return false;
    SSL_CTX* context = nullptr;
    try {
        context = serverContext(certFile, keyFile);
    } catch (const std::exception& e) {
        fail(e.what());
        return false;
    }
    if (!buffer_.empty()) {
        note("client sent " + std::to_string(buffer_.size()) + " bytes before the handshake; dropped");
        buffer_.clear();
    }
    ssl_ = SSL_new(context);
    SSL_set_fd(ssl_, fd_);
    note("TLS handshake (server side)");
    auto deadline = Clock::now() + timeout;
    for (;;) {
        ERR_clear_error();
        int result = SSL_accept(ssl_);
        if (result == 1) {
            std::lock_guard lock(server_.mutex_);
            state_->record.tlsEstablished = true;
            state_->record.tlsResumed = SSL_session_reused(ssl_) == 1;
            state_->record.transcript += std::string("-- TLS established: ") + SSL_get_version(ssl_) +
                                         (state_->record.tlsResumed ? " (resumed)" : "") + "\n";
            return true;
        }
        int error = SSL_get_error(ssl_, result);
        std::string why;
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
            if (waitFor(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) continue;
            why = stopping() ? "server stopping" : "timed out";
        } else {
            why = error == SSL_ERROR_SYSCALL ? "the client closed the connection" : opensslErrors();
        }
        {
            std::lock_guard lock(server_.mutex_);
            state_->record.tlsFailed = true;
            state_->record.transcript += "-- TLS handshake failed: " + why + "\n";
        }
        SSL_free(ssl_);
        ssl_ = nullptr;
        release();
        return false;
    }
}

void ScriptedConnection::stall(Millis duration) {
    note("stalling " + std::to_string(duration.count()) + " ms");
    server_.sleepUnlessStopping(duration);
}

void ScriptedConnection::close() {
    if (fd_ < 0) return;
    note("closing");
    if (ssl_) {
        ERR_clear_error();
        SSL_shutdown(ssl_);  // sends close_notify; not waiting for the client's
    }
    ::shutdown(fd_, SHUT_WR);
    // Read what the client still sends, so that nothing unread makes the kernel answer with RST
    // (which could destroy our last reply before the client read it), and so that it is recorded.
    auto deadline = Clock::now() + kCloseDrain;
    while (fd_ >= 0 && Clock::now() < deadline) {
        auto fillResult = fill(deadline);
        if (fillResult != Fill::Data) break;
        buffer_.clear();
    }
    release();
}

void ScriptedConnection::reset() {
    if (fd_ < 0) return;
    note("resetting (RST)");
    linger option{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof option);
    release();
}

void ScriptedConnection::drain(Millis timeout) {
    auto deadline = Clock::now() + timeout;
    while (fd_ >= 0 && !stopping()) {
        auto now = Clock::now();
        if (now >= deadline) return;
        if (!takeLine(false, std::chrono::duration_cast<Millis>(deadline - now))) return;
    }
}

void ScriptedConnection::release() {
    if (ssl_) {
        SSL_free(ssl_);
        ssl_ = nullptr;
    }
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

// ---- ScriptedServer -----------------------------------------------------------------------

ScriptedServer::ScriptedServer(Script script)
    : ScriptedServer(ScriptFor([script = std::move(script)](std::size_t) { return script; })) {}

ScriptedServer::ScriptedServer(std::vector<Script> scripts)
    : ScriptedServer(ScriptFor([scripts = std::move(scripts)](std::size_t index) {
          if (scripts.empty()) return Script();
          return scripts[std::min(index, scripts.size() - 1)];
      })) {}

ScriptedServer::ScriptedServer(ScriptFor scriptFor) : scriptFor_(std::move(scriptFor)) {
    listener_ = std::make_unique<LoopbackListener>([this](int fd) { accepted(fd); });
}

ScriptedServer::~ScriptedServer() { stop(); }

void ScriptedServer::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    if (listener_) listener_->stop();
    // The accept thread is gone: threads_ no longer grows.
    for (auto& thread : threads_)
        if (thread.joinable()) thread.join();
}

bool ScriptedServer::sleepUnlessStopping(Millis duration) {
    std::unique_lock lock(mutex_);
    return !changed_.wait_for(lock, duration, [&] { return stopping_.load(); });
}

void ScriptedServer::accepted(int fd) {
    auto state = std::make_shared<ConnectionState>();
    Script script;
    {
        std::lock_guard lock(mutex_);
        state->index = states_.size();
        states_.push_back(state);
    }
    try {
        script = scriptFor_(state->index);
    } catch (const std::exception& e) {
        std::lock_guard lock(mutex_);
        state->failures.push_back(std::string("making the script failed: ") + e.what());
    }
    std::lock_guard lock(mutex_);
    threads_.emplace_back(
        [this, fd, state, script = std::move(script)]() mutable { serve(fd, std::move(state), std::move(script)); });
    changed_.notify_all();
}

void ScriptedServer::serve(int fd, std::shared_ptr<ConnectionState> state, Script script) {
    {
        ScriptedConnection connection(*this, state, fd);
        connection.note("accepted");
        for (const auto& step : script.steps()) {
            if (!connection.open() || connection.stopping()) break;
            try {
                step(connection);
            } catch (const std::exception& e) {
                connection.fail(std::string("script step threw: ") + e.what());
            }
        }
        if (connection.open() && !connection.stopping()) connection.drain(kTrailingDrain);
        connection.note("connection ended");
    }
    std::lock_guard lock(mutex_);
    state->record.closed = true;
    changed_.notify_all();
}

std::size_t ScriptedServer::connectionCount() const {
    std::lock_guard lock(mutex_);
    return states_.size();
}

bool ScriptedServer::waitForConnections(std::size_t count, Millis timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return states_.size() >= count; });
}

bool ScriptedServer::waitUntilIdle(Millis timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
        return std::all_of(states_.begin(), states_.end(), [](const auto& s) { return s->record.closed; });
    });
}

std::vector<ConnectionRecord> ScriptedServer::connections() const {
    std::lock_guard lock(mutex_);
    std::vector<ConnectionRecord> records;
    for (const auto& state : states_) records.push_back(state->record);
    return records;
}

std::string ScriptedServer::received() const {
    std::lock_guard lock(mutex_);
    std::string all;
    for (const auto& state : states_) all += state->record.received;
    return all;
}

std::vector<std::string> ScriptedServer::lines() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> all;
    for (const auto& state : states_) all.insert(all.end(), state->record.lines.begin(), state->record.lines.end());
    return all;
}

bool ScriptedServer::receivedContains(std::string_view needle) const {
    return received().find(needle) != std::string::npos;
}

bool ScriptedServer::sawLine(std::string_view prefix) const { return countLines(prefix) > 0; }

std::size_t ScriptedServer::countLines(std::string_view prefix) const {
    std::size_t count = 0;
    for (const auto& line : lines())
        if (startsWithNoCase(line, prefix)) ++count;
    return count;
}

std::vector<std::string> ScriptedServer::failures() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> all;
    for (const auto& state : states_)
        for (const auto& failure : state->failures)
            all.push_back("connection " + std::to_string(state->index) + ": " + failure);
    return all;
}

std::size_t ScriptedServer::tlsEstablished() const {
    std::lock_guard lock(mutex_);
    return std::count_if(states_.begin(), states_.end(), [](const auto& s) { return s->record.tlsEstablished; });
}

std::size_t ScriptedServer::tlsFailures() const {
    std::lock_guard lock(mutex_);
    return std::count_if(states_.begin(), states_.end(), [](const auto& s) { return s->record.tlsFailed; });
}

std::string ScriptedServer::transcript() const {
    std::lock_guard lock(mutex_);
    std::string all;
    for (const auto& state : states_)
        all += "=== connection " + std::to_string(state->index) + " (127.0.0.1:" + std::to_string(port()) + ")\n" +
               state->record.transcript;
    if (all.empty()) all = "(no connections to 127.0.0.1:" + std::to_string(port()) + ")\n";
    return all;
}

}  // namespace mc::testing
