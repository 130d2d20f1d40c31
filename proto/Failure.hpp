#pragma once
// Why something failed, as a small fixed set, and whether trying again can help. Exceptions
// that carry it (Failure) are raised where the cause is known -- transport, TLS, a session, the
// target, the ledger, the config -- and the kind travels as a value to the scheduler (backoff),
// the metrics and `status`, so nothing downstream has to read error text.

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mc::proto {

enum class FailureKind {
    Network,          // cannot connect, connection dropped
    Tls,              // handshake, certificate, STARTTLS missing or refused
    Authentication,   // the source refused the credentials or token
    Protocol,         // the server said something wrong or refused a command
    Limit,            // the server went past a budget (sizes, counts, bytes)
    Timeout,          // the server went silent or too slow
    TargetTransient,  // the target cannot take mail now (4xx, unreachable)
    TargetPermanent,  // the target refuses for good (5xx, bad credentials)
    Ledger,           // the ledger cannot be read or written
    Interrupted,      // stopped on request (SIGTERM, reload)
    Config,           // a secret cannot be read, a setting cannot work
    Unsupported,      // the server lacks something this program needs
    Throttled,        // the provider asks us to slow down ([THROTTLED], bandwidth limits)
};

// Now: try again at once; Later: back off and retry (TLS too: certificates get renewed); Never:
// waits for a fix (credentials, config), so it is retried only at the longest backoff.
enum class RetryClass { Now, Later, Never };

// "network", "tls", "authentication", "protocol", "limit", "timeout", "target-transient",
// "target-permanent", "ledger", "interrupted", "config", "unsupported", "throttled".
std::string_view failureKindName(FailureKind kind);
std::optional<FailureKind> parseFailureKind(std::string_view name);
RetryClass retryClassOf(FailureKind kind);
std::string_view retryClassName(RetryClass retry);  // "now", "later", "never"

class Failure : public std::runtime_error {
public:
    Failure(FailureKind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
    FailureKind failureKind() const { return kind_; }
    RetryClass retry() const { return retryClassOf(kind_); }

private:
    FailureKind kind_;
};

}  // namespace mc::proto
