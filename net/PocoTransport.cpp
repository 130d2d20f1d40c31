// Transport over Poco sockets. TLS contexts are cached per trust configuration: loading the
// system store costs milliseconds, and an operator polls hundreds of accounts. TLS sessions are
// cached per server and trust configuration, so that a server offering resumption is not asked
// for its certificate chain again on every poll (see TlsSessionCache).

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/Session.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/Hex.hpp"
#include "net/HostAddressCache.hpp"
#include "net/PeerCertificate.hpp"
#include "net/ProtocolTrace.hpp"
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

// OpenSSL's hash name of a certificate in a directory: "1a2b3c4d.0".
bool isHashName(const std::string& name) {
    if (name.size() < 10 || name[8] != '.') return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (i != 8 && (i < 8 ? std::isxdigit(c) : std::isdigit(c)) == 0) return false;
    }
    return true;
}

// The whole file at PATH; false when it cannot be read.
bool readWholeFile(const std::string& path, std::string& text) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return !in.bad();
}

// The base64 bodies of the PEM certificates in TEXT, whitespace removed: what tells them apart.
std::vector<std::string> pemCertificateBodies(const std::string& text) {
    static const std::string kBegin = "-----BEGIN CERTIFICATE-----", kEnd = "-----END CERTIFICATE-----";
    std::vector<std::string> bodies;
    for (std::size_t at = text.find(kBegin); at != std::string::npos; at = text.find(kBegin, at)) {
        const std::size_t end = text.find(kEnd, at);
        if (end == std::string::npos) break;
        std::string body;
        for (std::size_t i = at + kBegin.size(); i < end; ++i)
            if (std::isspace(static_cast<unsigned char>(text[i])) == 0) body += text[i];
        bodies.push_back(std::move(body));
        at = end + kEnd.size();
    }
    return bodies;
}

// True when every certificate of BUNDLE is also in DIR under a hash name, as update-ca-certificates
// keeps ca-certificates.crt and /etc/ssl/certs: then looking certificates up in DIR trusts what
// loading BUNDLE would. Reading the directory's ~150 small files costs ~1 ms; parsing the bundle,
// 20. A bundle that cannot be read counts as empty (OpenSSL skips it too).
bool directoryHoldsBundle(const std::string& dir, const std::string& bundle) {
    std::string text;
    if (!readWholeFile(bundle, text)) return true;
    const auto wanted = pemCertificateBodies(text);
    std::unordered_set<std::string> held;
    bool hashNames = false;
    std::error_code error;
    for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
        if (!isHashName(it->path().filename().string())) continue;
        hashNames = true;
        if (readWholeFile(it->path().string(), text))
            for (auto& body : pemCertificateBodies(text)) held.insert(std::move(body));
    }
    return hashNames &&
           std::all_of(wanted.begin(), wanted.end(), [&](const std::string& body) { return held.count(body) > 0; });
}

// The system's trust anchors: OpenSSL's certificate directory (SSL_CERT_DIR, else its default,
// /etc/ssl/certs on Debian) and bundle (SSL_CERT_FILE, else ca-certificates.crt). The default
// paths parse the whole bundle into every context (20 ms of CPU, half of a `run --once` that finds
// nothing new); when the directory holds every certificate of the bundle under its hash name,
// the directory alone is used, read certificate by certificate as chains need them. A bundle with
// certificates the directory lacks (one added by hand, or mounted over the file) is loaded whole.
// The directory to use alone, decided once per process (a context per trust setting asks); empty:
// load the default paths.
const std::string& systemTrustDirectory() {
    static const std::string directory = [] {
        const char* dirFromEnv = std::getenv(X509_get_default_cert_dir_env());
        const char* fileFromEnv = std::getenv(X509_get_default_cert_file_env());
        const std::string dir = dirFromEnv != nullptr ? dirFromEnv : X509_get_default_cert_dir();
        const std::string bundle = fileFromEnv != nullptr ? fileFromEnv : X509_get_default_cert_file();
        return dir.find(':') == std::string::npos && directoryHoldsBundle(dir, bundle) ? dir : std::string();
    }();
    return directory;
}

void loadSystemTrust(SSL_CTX* context) {
    const std::string& dir = systemTrustDirectory();
    if (!dir.empty() && SSL_CTX_load_verify_dir(context, dir.c_str()) == 1) return;
    if (SSL_CTX_set_default_verify_paths(context) != 1)
        throw TransportError(TransportErrorKind::Tls, "cannot load the system's trust anchors");
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
    params.loadDefaultCAs = false;  // loadSystemTrust, below
    params.verificationMode = pinned ? Poco::Net::Context::VERIFY_NONE : Poco::Net::Context::VERIFY_STRICT;
    params.verificationDepth = 9;
    params.cipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4";
    // Key exchange groups in OpenSSL's own order. Poco's default puts X448 first, so every TLS 1.3
    // handshake generated an X448 key share: 40% of a nothing-new poll's client CPU (bench/scale.sh).
    params.ecdhCurve = "X25519:P-256:X448:P-521:P-384";
    Poco::Net::Context::Ptr context;
    try {
        context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
    } catch (const Poco::Exception& e) {
        throw TransportError(TransportErrorKind::Tls,
                             "cannot load trust anchors '" + policy.caFile + "': " + e.displayText());
    }
    if (policy.systemStore && !pinned) loadSystemTrust(context->sslContext());
    context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    context->enableExtendedCertificateVerification(true);
    // Whole socket reads instead of a header read and a body read per TLS record: half the read
    // calls. Safe because every read goes through SSL_read, which drains OpenSSL's buffer before
    // it waits on the socket (nothing polls the socket while OpenSSL may hold data).
    SSL_CTX_set_read_ahead(context->sslContext(), 1);
    rememberPeerCertificates(context->sslContext());
    contexts.emplace(key, context);
    return context;
}

// The TLS session of the last verified connection to each server, to resume on the next one. A
// resumed handshake skips the server's certificate chain: parsing and verifying it is most of a
// client's CPU in a poll that finds nothing new. Verification is not weakened: a session is stored
// only from a connection that passed every check (chain and host name, or the pin), it is offered
// only to the same host name and port under the same trust settings (ca_file, system store, pin),
// so under the context it was verified with, and the pin is checked on every connection, resumed
// or not. A server that declines the session gets a full handshake, verified as always.
class TlsSessionCache {
public:
    static TlsSessionCache& instance() {
        static auto* cache = new TlsSessionCache;  // never destroyed: connections may outlive statics
        return *cache;
    }

    static std::string keyOf(const std::string& host, std::uint16_t port, const TlsPolicy& policy) {
        return host + '\n' + std::to_string(port) + '\n' + policy.caFile + '\n' + (policy.systemStore ? "1" : "0") +
               '\n' + policy.fingerprint;
    }

    // A session still within its lifetime, or null.
    Poco::Net::Session::Ptr find(const std::string& key) {
        std::lock_guard lock(mutex_);
        auto it = sessions_.find(key);
        if (it == sessions_.end()) return nullptr;
        if (!usable(it->second->sslSession())) {
            sessions_.erase(it);
            return nullptr;
        }
        return it->second;
    }

    void store(const std::string& key, Poco::Net::Session::Ptr session) {
        if (!session || !usable(session->sslSession())) return;
        std::lock_guard lock(mutex_);
        if (sessions_.size() >= kMaxSessions && !sessions_.count(key)) sessions_.clear();
        sessions_[key] = std::move(session);
    }

    void forget(const std::string& key) {
        std::lock_guard lock(mutex_);
        sessions_.erase(key);
    }

private:
    // Bounds memory for operators with many servers; past it the cache starts over.
    static constexpr std::size_t kMaxSessions = 4096;

    static bool usable(const SSL_SESSION* session) {
        if (session == nullptr || SSL_SESSION_is_resumable(session) != 1) return false;
        return std::time(nullptr) < SSL_SESSION_get_time(session) + SSL_SESSION_get_timeout(session);
    }

    std::mutex mutex_;
    std::unordered_map<std::string, Poco::Net::Session::Ptr> sessions_;
};

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
    return base::lowerHex(digest, length);
}

// OpenSSL reads a TLS record, and the handshake, inside Poco in a loop that waits afresh for each
// byte, so a peer trickling a record would outlast any socket timeout. This thread shuts down the
// socket of a TLS read, write or handshake whose deadline has passed; the blocked call then fails.
class TlsDeadlineWatchdog {
public:
    using Clock = std::chrono::steady_clock;

    static TlsDeadlineWatchdog& instance() {
        // Never destroyed: its detached thread may outlive static destruction.
        static auto* watchdog = new TlsDeadlineWatchdog;
        return *watchdog;
    }

    void arm(const void* owner, int fd, Clock::time_point end) {
        std::lock_guard lock(mutex_);
        armed_[owner] = Armed{fd, end, false};
        // Woken only for a deadline before the one it sleeps until: a wake-up per TLS read or
        // write was two context switches each.
        if (end < sleepsUntil_) changed_.notify_one();
    }

    // True when the deadline passed and the socket was shut down.
    bool disarm(const void* owner) {
        std::lock_guard lock(mutex_);
        auto it = armed_.find(owner);
        if (it == armed_.end()) return false;
        bool fired = it->second.fired;
        armed_.erase(it);
        return fired;
    }

private:
    struct Armed {
        int fd;
        Clock::time_point end;
        bool fired;
    };

    TlsDeadlineWatchdog() {
        std::thread([this] { run(); }).detach();
    }

    void run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            auto now = Clock::now();
            std::optional<Clock::time_point> earliest;
            for (auto& [owner, armed] : armed_) {
                if (armed.fired) continue;
                if (armed.end <= now) {
                    ::shutdown(armed.fd, SHUT_RDWR);  // the fd stays open until disarm()
                    armed.fired = true;
                } else if (!earliest || armed.end < *earliest) {
                    earliest = armed.end;
                }
            }
            sleepsUntil_ = earliest.value_or(Clock::time_point::max());
            if (earliest)
                changed_.wait_until(lock, *earliest);
            else
                changed_.wait(lock);
            sleepsUntil_ = Clock::time_point::min();  // awake: arm() need not wake it
        }
    }

    std::mutex mutex_;
    std::condition_variable changed_;
    Clock::time_point sleepsUntil_ = Clock::time_point::min();
    std::unordered_map<const void*, Armed> armed_;
};

constexpr std::chrono::milliseconds kGreetingTimeout{30'000};

class PocoTransport final : public Transport {
public:
    PocoTransport(const ConnectOptions& options) : options_(options) {
        auto& addresses = HostAddressCache::process();
        try {
            Poco::Net::SocketAddress address(addresses.addressOf(options.host), options.port);
            plain_.connect(address, toTimespan(greetingBudget_));
            setCloseOnExec(plain_.impl()->sockfd());
            plain_.setNoDelay(true);
            beginExchange(greetingBudget_);  // the greeting, or the TLS handshake and then the greeting
            armTimeouts();
        } catch (const Poco::TimeoutException&) {
            addresses.forget(options.host);  // the server may have moved: look it up again next time
            throw TransportError(TransportErrorKind::Timeout, "connection to " + where() + " timed out");
        } catch (const Poco::Exception& e) {
            addresses.forget(options.host);
            throw TransportError(TransportErrorKind::Connect, "cannot connect to " + where() + ": " + e.displayText());
        }
        if (options.implicitTls) startTls();
    }

    ~PocoTransport() override { close(); }

    std::size_t receive(char* buffer, std::size_t size) override {
        receivedLast_ = true;
        const Limit limit = armTimeouts();
        const std::string silence = where() + " sent nothing for " + seconds() + " s";
        int n = 0;
        {
            TlsGuard guard(*this);
            try {
                n = socket().receiveBytes(buffer, static_cast<int>(std::min<std::size_t>(size, 1 << 20)));
            } catch (const Poco::TimeoutException&) {
                throw expired(limit, silence);
            } catch (const Poco::Exception& e) {
                if (guard.fired()) throw expired(limit, silence);
                throw TransportError(TransportErrorKind::Closed,
                                     "connection to " + where() + " failed: " + e.displayText());
            }
            if (n <= 0 && guard.fired()) throw expired(limit, silence);
        }
        if (n <= 0) throw TransportError(TransportErrorKind::Closed, where() + " closed the connection");
        awaitingGreeting_ = false;
        return static_cast<std::size_t>(n);
    }

    void send(std::string_view bytes) override {
        awaitingGreeting_ = false;
        if (receivedLast_) beginExchange();
        receivedLast_ = false;
        Limit limit = Limit::Silence;
        try {
            while (!bytes.empty()) {
                std::size_t size = std::min<std::size_t>(bytes.size(), 1 << 20);
                creditBulk(size);
                limit = armTimeouts();
                TlsGuard guard(*this);
                int n = 0;
                try {
                    n = socket().sendBytes(bytes.data(), static_cast<int>(size));
                } catch (const Poco::Exception&) {
                    if (guard.fired()) throw Poco::TimeoutException();
                    throw;
                }
                if (n <= 0) throw TransportError(TransportErrorKind::Closed, where() + " stopped reading");
                bytes.remove_prefix(static_cast<std::size_t>(n));
            }
        } catch (const Poco::TimeoutException&) {
            throw expired(limit, "sending to " + where() + " stalled for " + seconds() + " s");
        } catch (const Poco::Exception& e) {
            throw TransportError(TransportErrorKind::Closed,
                                 "connection to " + where() + " failed: " + e.displayText());
        }
    }

    void beginExchange() override {
        exchangeStart_ = Clock::now();
        credit_ = Clock::duration::zero();
        exchangeBudget_.reset();
    }

    void beginExchange(std::chrono::milliseconds budget) override {
        beginExchange();
        exchangeBudget_ = budget;
    }

    void creditBulk(std::size_t bytes) override {
        credit_ += std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(static_cast<double>(bytes) / static_cast<double>(kMinBulkBytesPerSecond)));
    }

    void startTls() override {
        if (tls_) throw TransportError(TransportErrorKind::Protocol, "TLS is already active");
        awaitingGreeting_ = false;  // a handshake that stalls says so itself
        auto context = clientContext(options_.tls);
        if (!options_.implicitTls) beginExchange();  // the handshake, then the next command's exchange
        receivedLast_ = true;
        const Limit limit = armTimeouts();
        TlsGuard guard(*this, true);
        try {
            handshake(context);
        } catch (const TransportError&) {
            if (guard.fired()) throw expired(limit, "TLS handshake with " + where() + " timed out");
            throw;
        }
    }

    // The TLS handshake, offering the session of the last verified connection to this server when
    // there is one. A failed handshake drops that session: the next connection starts afresh.
    void handshake(const Poco::Net::Context::Ptr& context) {
        auto& sessions = TlsSessionCache::instance();
        const std::string sessionKey = TlsSessionCache::keyOf(options_.host, options_.port, options_.tls);
        try {
            checkedHandshake(context, sessions.find(sessionKey));
        } catch (...) {
            sessions.forget(sessionKey);
            throw;
        }
        verified_ = true;
    }

    // The TLS handshake and the checks of what it brought; every failure is a TransportError.
    void checkedHandshake(const Poco::Net::Context::Ptr& context, const Poco::Net::Session::Ptr& offered) {
        try {
            auto secure = offered ? Poco::Net::SecureStreamSocket::attach(plain_, options_.host, context, offered)
                                  : Poco::Net::SecureStreamSocket::attach(plain_, options_.host, context);
            tls_ = std::make_unique<Poco::Net::SecureStreamSocket>(secure);
            // Poco 1.11 returns from attach() without an error when the handshake hits the receive
            // timeout, and would finish it later inside a read without any host name or pin check.
            if (!tls_->havePeerCertificate())
                throw TransportError(TransportErrorKind::Timeout,
                                     "TLS handshake with " + where() + " timed out after " + seconds() + " s");
            appliedTimeout_ = std::chrono::milliseconds::zero();  // the new socket has its own
            if (!options_.tls.fingerprint.empty()) verifyPin();
            if (protocolTraceOn())
                spdlog::trace("TLS with {}: {}", where(),
                              tls_->sessionWasReused() ? "session resumed" : "full handshake");
        } catch (const TransportError&) {
            throw;
        } catch (const Poco::TimeoutException&) {
            throw TransportError(TransportErrorKind::Timeout, "TLS handshake with " + where() + " timed out");
        } catch (const Poco::Net::CertificateValidationException& e) {
            throw TransportError(
                TransportErrorKind::Certificate,
                "certificate of " + where() + " refused: " + e.displayText() + "; " + describeLastPeerCertificate());
        } catch (const Poco::Net::SSLException& e) {
            const auto kind = classifySslError(e.displayText());
            throw TransportError(
                kind,
                "TLS with " + where() + " failed: " + e.displayText() +
                    (kind == TransportErrorKind::Certificate ? "; " + describeLastPeerCertificate() : std::string()));
        } catch (const Poco::Exception& e) {
            throw TransportError(TransportErrorKind::Tls, "TLS with " + where() + " failed: " + e.displayText());
        }
    }

    bool secure() const override { return tls_ != nullptr; }

    void setTimeout(std::chrono::milliseconds timeout) override {
        options_.timeout = timeout;
        appliedTimeout_ = std::chrono::milliseconds::zero();  // applied by the next read or write
    }
    std::chrono::milliseconds timeout() const override { return options_.timeout; }

    void close() override {
        try {
            // TLS 1.3 servers send their session tickets after the handshake: by now they arrived.
            if (tls_ && verified_)
                TlsSessionCache::instance().store(TlsSessionCache::keyOf(options_.host, options_.port, options_.tls),
                                                  tls_->currentSession());
            verified_ = false;
            if (tls_)
                tls_->close();
            else
                plain_.close();
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
            throw TransportError(
                TransportErrorKind::Certificate,
                "certificate of " + where() + " does not match tls_fingerprint (sha256 " + actual + ")");
    }

    using Clock = std::chrono::steady_clock;
    // What ends the next read or write if it times out.
    enum class Limit { Silence, Exchange, Cutoff };

    // Sets the socket's timeouts to what is left of the nearest limit: the silence allowed on one
    // read or write, the exchange deadline, the cutoff. Throws when one has passed already.
    // Arms the TLS watchdog for one call (always during the handshake) and tells whether it fired.
    class TlsGuard {
    public:
        explicit TlsGuard(PocoTransport& transport, bool handshake = false)
            : armed_(transport.tls_ != nullptr || handshake), transport_(transport) {
            if (armed_)
                TlsDeadlineWatchdog::instance().arm(&transport_, transport_.plain_.impl()->sockfd(),
                                                    transport_.armedUntil_);
        }
        ~TlsGuard() { fired(); }
        bool fired() {
            if (armed_) fired_ = TlsDeadlineWatchdog::instance().disarm(&transport_) || fired_;
            armed_ = false;
            return fired_;
        }

    private:
        bool armed_;
        bool fired_ = false;
        PocoTransport& transport_;
    };

    Limit armTimeouts() {
        const auto now = Clock::now();
        Limit hardLimit = Limit::Exchange;
        armedUntil_ = exchangeStart_ + exchangeBudget_.value_or(options_.timeout) + credit_;
        if (options_.cutoff)
            if (auto at = options_.cutoff->at(); at && *at < armedUntil_) {
                armedUntil_ = *at;
                hardLimit = Limit::Cutoff;
            }
        Limit limit = Limit::Silence;
        auto left = options_.timeout;
        if (auto remaining = std::chrono::ceil<std::chrono::milliseconds>(armedUntil_ - now); remaining < left) {
            left = remaining;
            limit = hardLimit;
        }
        if (left <= std::chrono::milliseconds::zero())
            throw expired(limit, where() + " sent nothing for " + seconds() + " s");
        if (left != appliedTimeout_) {
            auto span = toTimespan(left);
            socket().setReceiveTimeout(span);
            socket().setSendTimeout(span);
            appliedTimeout_ = left;
        }
        return limit;
    }

    TransportError expired(Limit limit, const std::string& silence) const {
        if (awaitingGreeting_ && limit != Limit::Cutoff)
            return TransportError(TransportErrorKind::Timeout, where() + " sent nothing for " +
                                                                   std::to_string(greetingBudget_.count() / 1000) +
                                                                   " s after accepting the connection: no greeting");
        switch (limit) {
            case Limit::Exchange:
                return TransportError(TransportErrorKind::Timeout,
                                      "exchange with " + where() + " timed out: no complete reply within io_timeout (" +
                                          seconds() + " s) plus time for message content; data trickled or endless");
            case Limit::Cutoff:
                return TransportError(TransportErrorKind::Timeout,
                                      "connection to " + where() + " cut off: the poll is stopping");
            case Limit::Silence:
                break;
        }
        return TransportError(TransportErrorKind::Timeout, silence);
    }

    Poco::Net::StreamSocket& socket() { return tls_ ? *tls_ : plain_; }
    std::string where() const { return options_.host + ":" + std::to_string(options_.port); }
    std::string seconds() const { return std::to_string(options_.timeout.count() / 1000); }

    ConnectOptions options_;
    // A server that answers nothing at all is told early: connecting and the greeting (with an
    // implicit TLS handshake) may take at most this, however long io_timeout is.
    std::chrono::milliseconds greetingBudget_ = std::min(options_.timeout, kGreetingTimeout);
    bool awaitingGreeting_ = true;  // nothing was sent or received yet, no TLS handshake begun
    Poco::Net::StreamSocket plain_;
    std::unique_ptr<Poco::Net::SecureStreamSocket> tls_;
    bool verified_ = false;  // the TLS handshake and every check of it passed: its session may be resumed
    Clock::time_point exchangeStart_ = Clock::now();
    Clock::duration credit_{};
    bool receivedLast_ = true;  // the next send starts a new exchange
    std::chrono::milliseconds appliedTimeout_{0};
    Clock::time_point armedUntil_{};  // the exchange deadline or the cutoff, whichever is first
    // Set by beginExchange(budget); else the exchange may take the timeout, as it is when read.
    std::optional<std::chrono::milliseconds> exchangeBudget_;
};

}  // namespace

void IoCutoff::cutAt(Clock::time_point at) {
    const auto wanted = at.time_since_epoch().count();
    auto current = at_.load();
    while (wanted < current && !at_.compare_exchange_weak(current, wanted)) {
    }
}

std::optional<IoCutoff::Clock::time_point> IoCutoff::at() const {
    std::optional<Clock::time_point> earliest;
    if (auto own = at_.load(); own != kNone) earliest = Clock::time_point(Clock::duration(own));
    if (parent_)
        if (auto inherited = parent_->at(); inherited && (!earliest || *inherited < *earliest)) earliest = inherited;
    return earliest;
}

std::unique_ptr<Transport> connect(const ConnectOptions& options) { return std::make_unique<PocoTransport>(options); }

}  // namespace mc::net
