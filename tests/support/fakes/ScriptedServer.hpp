#pragma once
// A scripted fake server for the misbehaviour real servers will not show: it listens on
// 127.0.0.1 (port 0, so the kernel picks a free one), accepts connections on its own thread and
// runs a script of steps per connection on a thread of that connection.
//
// A script is a list of steps: send bytes, expect a line (prefix or regex), start server-side
// TLS on the same socket (OpenSSL), stall, close, send-and-close, or run a callback (for
// dynamic replies: onEachLine calls a handler per received line). Everything the client sent is
// recorded per connection -- raw bytes (decrypted after TLS) and the lines read -- so tests can
// assert that a password was NOT sent. What the server sent is recorded too (transcript()).
//
// Bounded everywhere: every read, write and handshake has a deadline and wakes up at least every
// 50 ms to check for stop(); the destructor stops and joins every thread. After its last step a
// connection keeps reading (and recording) until the client closes or the server stops, so a
// client that sends something after the scripted part is still caught.
//
// A failed expectation is recorded in failures() (tests assert it is empty) and ends that
// connection. A TLS handshake the client aborts (certificate refused) is not a failure: it is
// counted in tlsFailures() and noted in the transcript.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/support/fakes/LoopbackListener.hpp"

struct ssl_st;  // OpenSSL's SSL, kept out of this header

namespace mc::testing {

using Millis = std::chrono::milliseconds;

// The default deadline of one step (one read, one write, one handshake).
inline constexpr Millis kStepTimeout{10'000};

class ScriptedServer;
struct ConnectionState;

// One accepted connection, as a script step sees it. Calls return false/nullopt when the peer
// closed, the deadline passed or the server is stopping; they never throw for network reasons.
class ScriptedConnection {
public:
    ScriptedConnection(ScriptedServer& server, std::shared_ptr<ConnectionState> state, int fd);
    ~ScriptedConnection();
    ScriptedConnection(const ScriptedConnection&) = delete;
    ScriptedConnection& operator=(const ScriptedConnection&) = delete;

    std::size_t index() const;  // 0 for the first connection the server accepted

    // The next line without its line ending (CRLF or bare LF), recorded in lines().
    std::optional<std::string> readLine(Millis timeout = kStepTimeout);
    // The next line with its line ending as received (for DATA), recorded like readLine.
    std::optional<std::string> readRawLine(Millis timeout = kStepTimeout);
    // Sends all of BYTES (over TLS once started); false when the peer is gone.
    bool send(std::string_view bytes, Millis timeout = kStepTimeout);
    // Server-side TLS handshake on this socket. False (and the connection closed) when the client
    // aborts it, e.g. because it refused the certificate.
    bool startTls(const std::string& certFile, const std::string& keyFile, Millis timeout = kStepTimeout);
    // Sleeps, waking early when the server stops.
    void stall(Millis duration);
    // Graceful close: TLS close_notify, FIN, a short drain of what the client still sends.
    void close();
    // Abortive close (RST), as a crashed server would.
    void reset();
    // Reads and records until the client closes, TIMEOUT passes or the server stops.
    void drain(Millis timeout);

    bool open() const { return fd_ >= 0; }
    bool secure() const { return ssl_ != nullptr; }
    bool stopping() const;
    // Records a script failure (shown in failures()) and closes the connection.
    void fail(const std::string& why);
    // Adds a note to the transcript.
    void note(const std::string& text);

private:
    enum class Fill { Data, Closed, Timeout, Stopped };
    Fill fill(std::chrono::steady_clock::time_point deadline);
    bool waitFor(short events, std::chrono::steady_clock::time_point deadline);
    std::optional<std::string> takeLine(bool keepEnding, Millis timeout);
    void release();

    ScriptedServer& server_;
    std::shared_ptr<ConnectionState> state_;
    int fd_;
    ::ssl_st* ssl_ = nullptr;
    std::string buffer_;  // received, not yet returned as a line
};

using Step = std::function<void(ScriptedConnection&)>;
// Called per received line; return false to go on with the next step.
using LineHandler = std::function<bool(ScriptedConnection&, const std::string& line)>;

class Script {
public:
    Script& send(std::string bytes);
    Script& sendLine(std::string line);  // appends CRLF
    // The next line must start with PREFIX (case-sensitive).
    Script& expectLine(std::string prefix);
    // The next line must match REGEX (ECMAScript, whole line).
    Script& expectMatch(std::string regex);
    Script& startTls(std::string certFile, std::string keyFile);
    Script& stall(Millis duration);
    Script& close();
    Script& reset();
    Script& sendAndClose(std::string bytes);
    // Arbitrary code with the connection.
    Script& run(Step step);
    // Calls HANDLER for each line until it returns false, the client closes or the server stops.
    Script& onEachLine(LineHandler handler);

    const std::vector<Step>& steps() const { return steps_; }

private:
    std::vector<Step> steps_;
};

// What one connection saw.
struct ConnectionRecord {
    std::string received;            // every byte the client sent (decrypted after TLS)
    std::vector<std::string> lines;  // lines read by the script, without line endings
    std::string transcript;          // "C: ..." / "S: ..." / "-- note", printable
    bool tlsEstablished = false;
    bool tlsResumed = false;  // the client resumed an earlier TLS session (abbreviated handshake)
    bool tlsFailed = false;
    bool closed = false;  // the connection has ended
};

class ScriptedServer {
public:
    using ScriptFor = std::function<Script(std::size_t connectionIndex)>;

    // Every connection runs SCRIPT.
    explicit ScriptedServer(Script script);
    // Connection i runs scripts[i]; later ones run the last script.
    explicit ScriptedServer(std::vector<Script> scripts);
    explicit ScriptedServer(ScriptFor scriptFor);
    ~ScriptedServer();
    ScriptedServer(const ScriptedServer&) = delete;
    ScriptedServer& operator=(const ScriptedServer&) = delete;

    std::string host() const { return "127.0.0.1"; }
    std::uint16_t port() const { return listener_->port(); }

    std::size_t connectionCount() const;
    bool waitForConnections(std::size_t count, Millis timeout = kStepTimeout) const;
    // Waits until every connection accepted so far has ended.
    bool waitUntilIdle(Millis timeout = kStepTimeout) const;

    std::vector<ConnectionRecord> connections() const;
    std::string received() const;  // every connection's bytes, in connection order
    std::vector<std::string> lines() const;
    bool receivedContains(std::string_view needle) const;
    // Any received line starting with PREFIX, ignoring ASCII case ("USER", "AUTH", "DELE").
    bool sawLine(std::string_view prefix) const;
    std::size_t countLines(std::string_view prefix) const;
    std::vector<std::string> failures() const;
    std::size_t tlsEstablished() const;
    std::size_t tlsFailures() const;
    // Every connection's transcript, for assertion messages.
    std::string transcript() const;

    // Stops accepting, wakes and joins every connection. Idempotent; bounded (about 100 ms plus
    // whatever a running callback step takes to return).
    void stop();

private:
    friend class ScriptedConnection;
    void accepted(int fd);  // on the listener's thread
    void serve(int fd, std::shared_ptr<ConnectionState> state, Script script);
    bool sleepUnlessStopping(Millis duration);

    ScriptFor scriptFor_;
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::atomic<bool> stopping_{false};
    std::vector<std::shared_ptr<ConnectionState>> states_;
    std::vector<std::thread> threads_;
    std::unique_ptr<LoopbackListener> listener_;  // last: stops first
};

// Case-insensitive ASCII prefix test.
bool startsWithNoCase(std::string_view text, std::string_view prefix);
// Dot-stuffs a message for a POP3 RETR / SMTP DATA body: a '.' is doubled at the start of every
// line (after CRLF or bare LF); line endings are kept as they are. Adds no terminator.
std::string dotStuff(std::string_view message);
// CRLF for every CRLF, bare LF or bare CR.
std::string crlf(std::string_view text);
// Control characters and non-ASCII escaped as \xNN, for transcripts.
std::string escapeBytes(std::string_view text, std::size_t maxLength = 300);

}  // namespace mc::testing
