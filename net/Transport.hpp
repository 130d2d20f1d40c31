#pragma once
// The socket seam: a byte stream that may be upgraded to TLS in place. Sessions (POP3, SMTP/LMTP)
// speak through it; tests can substitute it. Poco types stay behind this interface.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mc::net {

enum class TransportErrorKind { Connect, Timeout, Closed, Tls, Certificate, Protocol };

class TransportError : public std::runtime_error {
public:
    TransportError(TransportErrorKind kind, const std::string& what)
        : std::runtime_error(what), kind_(kind) {}
    TransportErrorKind kind() const { return kind_; }

private:
    TransportErrorKind kind_;
};

struct TlsPolicy {
    std::string caFile;          // extra trust anchor, added to the system store
    std::string fingerprint;     // optional sha256 pin of the server certificate (hex)
    bool systemStore = true;     // trust the system's CAs too
};

struct ConnectOptions {
    std::string host;
    std::uint16_t port = 0;
    bool implicitTls = false;
    TlsPolicy tls;
    std::chrono::milliseconds timeout{60'000};  // connect, handshake, and every read and write
};

class Transport {
public:
    virtual ~Transport() = default;
    // Reads what is available (at most `size` bytes); throws TransportError on timeout or when the
    // peer closed the connection.
    virtual std::size_t receive(char* buffer, std::size_t size) = 0;
    virtual void send(std::string_view bytes) = 0;
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
