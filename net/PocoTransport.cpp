// Transport over Poco sockets. TLS contexts are cached per trust configuration: loading the
// system store costs milliseconds, and an operator polls hundreds of accounts.

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <Poco/Net/Context.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Exception.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <tuple>
#include <mutex>

#include "net/Transport.hpp"

namespace mc::net {
namespace {

Poco::Timespan toTimespan(std::chrono::milliseconds ms) {
    return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(ms.count()) * 1000);
}

void initializeSslOnce() {
    static std::once_flag once;
    std::call_once(once, [] { Poco::Net::initializeSSL(); });
}

// With a fingerprint pin the pin is the trust anchor (a self-signed certificate is the usual
// case), so the chain is not checked; the pin itself is always checked after the handshake.
Poco::Net::Context::Ptr clientContext(const TlsPolicy& policy) {
    static std::mutex mutex;
    static std::map<std::tuple<std::string, bool, bool>, Poco::Net::Context::Ptr> contexts;
    initializeSslOnce();
    std::lock_guard lock(mutex);
    bool pinned = !policy.fingerprint.empty();
    auto key = std::make_tuple(policy.caFile, policy.systemStore, pinned);
    if (auto it = contexts.find(key); it != contexts.end()) return it->second;
    Poco::Net::Context::Params params;
    params.caLocation = pinned ? "" : policy.caFile;
    params.loadDefaultCAs = policy.systemStore && !pinned;
    params.verificationMode = pinned ? Poco::Net::Context::VERIFY_NONE : Poco::Net::Context::VERIFY_STRICT;
    params.verificationDepth = 9;
    params.cipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4";
    Poco::Net::Context::Ptr context;
    try {
        context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
    } catch (const Poco::Exception& e) {
        throw TransportError(TransportErrorKind::Tls,
                             "cannot load trust anchors '" + policy.caFile + "': " + e.displayText());
    }
    context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    context->enableExtendedCertificateVerification(true);
    contexts.emplace(key, context);
    return context;
}

}  // namespace

void setCloseOnExec(int fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) == 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

namespace {

std::string normalizedFingerprint(const std::string& text) {
    std::string hex;
    for (char c : text)
        if (std::isxdigit(static_cast<unsigned char>(c)))
            hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return hex;
}

std::string sha256Hex(const X509* certificate) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (!X509_digest(certificate, EVP_sha256(), digest, &length)) return {};
    static const char* kHex = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
        hex += kHex[digest[i] >> 4];
        hex += kHex[digest[i] & 15];
    }
    return hex;
}

class PocoTransport final : public Transport {
public:
    PocoTransport(const ConnectOptions& options) : options_(options) {
        try {
            Poco::Net::SocketAddress address(options.host, options.port);
            plain_.connect(address, toTimespan(options.timeout));
            setCloseOnExec(plain_.impl()->sockfd());
            plain_.setNoDelay(true);
            applyTimeout();
        } catch (const Poco::TimeoutException&) {
            throw TransportError(TransportErrorKind::Timeout, "connection to " + where() + " timed out");
        } catch (const Poco::Exception& e) {
            throw TransportError(TransportErrorKind::Connect,
                                 "cannot connect to " + where() + ": " + e.displayText());
        }
        if (options.implicitTls) startTls();
    }

    ~PocoTransport() override { close(); }

    std::size_t receive(char* buffer, std::size_t size) override {
        int n = 0;
        try {
            n = socket().receiveBytes(buffer, static_cast<int>(std::min<std::size_t>(size, 1 << 20)));
        } catch (const Poco::TimeoutException&) {
            throw TransportError(TransportErrorKind::Timeout,
                                 where() + " sent nothing for " + seconds() + " s");
        } catch (const Poco::Exception& e) {
            throw TransportError(TransportErrorKind::Closed,
                                 "connection to " + where() + " failed: " + e.displayText());
        }
        if (n <= 0) throw TransportError(TransportErrorKind::Closed, where() + " closed the connection");
        return static_cast<std::size_t>(n);
    }

    void send(std::string_view bytes) override {
        try {
            while (!bytes.empty()) {
                int n = socket().sendBytes(bytes.data(),
                                           static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 20)));
                if (n <= 0) throw TransportError(TransportErrorKind::Closed, where() + " stopped reading");
                bytes.remove_prefix(static_cast<std::size_t>(n));
            }
        } catch (const Poco::TimeoutException&) {
            throw TransportError(TransportErrorKind::Timeout,
                                 "sending to " + where() + " stalled for " + seconds() + " s");
        } catch (const Poco::Exception& e) {
            throw TransportError(TransportErrorKind::Closed,
                                 "connection to " + where() + " failed: " + e.displayText());
        }
    }

    void startTls() override {
        if (tls_) throw TransportError(TransportErrorKind::Protocol, "TLS is already active");
        auto context = clientContext(options_.tls);
        try {
            auto secure = Poco::Net::SecureStreamSocket::attach(plain_, options_.host, context);
            tls_ = std::make_unique<Poco::Net::SecureStreamSocket>(secure);
            // Poco 1.11 returns from attach() without an error when the handshake hits the receive
            // timeout, and would finish it later inside a read without any host name or pin check.
            if (!tls_->havePeerCertificate())
                throw TransportError(TransportErrorKind::Timeout,
                                     "TLS handshake with " + where() + " timed out after " + seconds() + " s");
            applyTimeout();
            if (!options_.tls.fingerprint.empty()) verifyPin();
        } catch (const TransportError&) {
            throw;
        } catch (const Poco::TimeoutException&) {
            throw TransportError(TransportErrorKind::Timeout, "TLS handshake with " + where() + " timed out");
        } catch (const Poco::Net::CertificateValidationException& e) {
            throw TransportError(TransportErrorKind::Certificate,
                                 "certificate of " + where() + " refused: " + e.displayText());
        } catch (const Poco::Net::SSLException& e) {
            throw TransportError(classifySslError(e.displayText()),
                                 "TLS with " + where() + " failed: " + e.displayText());
        } catch (const Poco::Exception& e) {
            throw TransportError(TransportErrorKind::Tls,
                                 "TLS with " + where() + " failed: " + e.displayText());
        }
    }

    bool secure() const override { return tls_ != nullptr; }

    void setTimeout(std::chrono::milliseconds timeout) override {
        options_.timeout = timeout;
        applyTimeout();
    }
    std::chrono::milliseconds timeout() const override { return options_.timeout; }

    void close() override {
        try {
            if (tls_) tls_->close();
            else plain_.close();
        } catch (...) {
        }
    }

private:
    static TransportErrorKind classifySslError(const std::string& text) {
        return text.find("certificate") != std::string::npos ? TransportErrorKind::Certificate
                                                             : TransportErrorKind::Tls;
    }

    void verifyPin() {
        auto certificate = tls_->peerCertificate();
        std::string actual = sha256Hex(certificate.certificate());
        if (actual != normalizedFingerprint(options_.tls.fingerprint))
            throw TransportError(TransportErrorKind::Certificate,
                                 "certificate of " + where() + " does not match tls_fingerprint (sha256 " +
                                     actual + ")");
    }

    void applyTimeout() {
        auto span = toTimespan(options_.timeout);
        socket().setReceiveTimeout(span);
        socket().setSendTimeout(span);
    }

    Poco::Net::StreamSocket& socket() { return tls_ ? *tls_ : plain_; }
    std::string where() const { return options_.host + ":" + std::to_string(options_.port); }
    std::string seconds() const { return std::to_string(options_.timeout.count() / 1000); }

    ConnectOptions options_;
    Poco::Net::StreamSocket plain_;
    std::unique_ptr<Poco::Net::SecureStreamSocket> tls_;
};

}  // namespace

std::unique_ptr<Transport> connect(const ConnectOptions& options) {
    return std::make_unique<PocoTransport>(options);
}

}  // namespace mc::net
