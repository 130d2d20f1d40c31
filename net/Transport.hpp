#pragma once
// The socket seam: a byte stream that may be upgraded to TLS in place. Sessions (POP3, SMTP/LMTP)
// speak through it; tests can substitute it. Poco types stay behind this interface.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "proto/Failure.hpp"

namespace mc::net {

enum class TransportErrorKind { Connect, Timeout, Closed, Tls, Certificate, Protocol };

class TransportError : public proto::Failure {
public:
    TransportError(TransportErrorKind kind, const std::string& what)
        : proto::Failure(failureKindOf(kind), what), kind_(kind) {}
    TransportErrorKind kind() const { return kind_; }

    static proto::FailureKind failureKindOf(TransportErrorKind kind) {
        switch (kind) {
            case TransportErrorKind::Timeout:
                return proto::FailureKind::Timeout;
            case TransportErrorKind::Tls:
            case TransportErrorKind::Certificate:
                return proto::FailureKind::Tls;
            case TransportErrorKind::Protocol:
                return proto::FailureKind::Protocol;
            default:
                return proto::FailureKind::Network;
        }
    }

private:
    TransportErrorKind kind_;
};

struct TlsPolicy {
    std::string caFile;       // extra trust anchor, added to the system store
    std::string fingerprint;  // optional sha256 pin of the server certificate (hex)
    bool systemStore = true;  // trust the system's CAs too
};

// A moment after which every read and write of a poll's connections fails at once: set when the
// poll must end (its poll_timeout, a stop request) so that it ends within io_timeout whatever the
// servers do. Thread-safe; a child also ends at its parent's cutoff (a service-wide stop).
class IoCutoff {
public:
    using Clock = std::chrono::steady_clock;
    explicit IoCutoff(std::shared_ptr<const IoCutoff> parent = nullptr) : parent_(std::move(parent)) {}
    // Keeps the earliest of the cutoffs asked for.
    void cutAt(Clock::time_point at);
    std::optional<Clock::time_point> at() const;

private:
    std::atomic<Clock::rep> at_{kNone};
    std::shared_ptr<const IoCutoff> parent_;
    static constexpr Clock::rep kNone = Clock::duration::max().count();
};

// An exchange (a command and its whole reply; a greeting) must end within the I/O timeout: bytes
// trickled one by one do not renew it. Message content may be slower than that on an honest
// link, so every byte sent, and every byte read as a stream (bodies, IMAP responses), extends it
// by the time that byte takes at this rate.
constexpr std::size_t kMinBulkBytesPerSecond = 16 * 1024;

// How a session secures its connection: TLS from the first byte, STARTTLS (required: refused
// when not offered), or none.
enum class TlsMode { Implicit, StartTls, None };

struct ConnectOptions {
    std::string host;
    std::uint16_t port = 0;
    bool implicitTls = false;
    TlsPolicy tls;
    std::chrono::milliseconds timeout{60'000};  // connect, handshake, every read and write, each exchange
    std::shared_ptr<const IoCutoff> cutoff;     // optional: ends all I/O of this connection at once
};

class Transport {
public:
    virtual ~Transport() = default;
    // Reads what is available (at most `size` bytes); throws TransportError on timeout (also when
    // the exchange ran past its deadline, or the cutoff passed) or when the peer closed the
    // connection.
    virtual std::size_t receive(char* buffer, std::size_t size) = 0;
    // The first send after a receive starts a new exchange (see kMinBulkBytesPerSecond).
    virtual void send(std::string_view bytes) = 0;
    // Starts a new exchange without sending. The exchange may take timeout() (as it is when read,
    // so a longer timeout set for a final reply applies), or else `budget`: IMAP IDLE waits for
    // news in short reads, each an exchange that may take the normal timeout.
    virtual void beginExchange() = 0;
    virtual void beginExchange(std::chrono::milliseconds budget) = 0;
    // Extends the current exchange's deadline for `bytes` of message content read.
    virtual void creditBulk(std::size_t bytes) = 0;
    // Upgrades the connection to TLS and verifies the certificate against the host name.
    virtual void startTls() = 0;
    virtual bool secure() const = 0;
    virtual void setTimeout(std::chrono::milliseconds timeout) = 0;
    virtual std::chrono::milliseconds timeout() const = 0;
    virtual void close() = 0;
};

// Connects over TCP (and TLS when implicit); TLS is always verified: chain, host name, and the
// fingerprint pin when set. Throws TransportError.
std::unique_ptr<Transport> connect(const ConnectOptions& options);

// Marks a descriptor close-on-exec, for sockets Poco creates without SOCK_CLOEXEC.
void setCloseOnExec(int fd);

}  // namespace mc::net
