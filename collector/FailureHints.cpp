#include "collector/FailureHints.hpp"

#include "config/Providers.hpp"

namespace mc::collector {
namespace {

using config::SourceProtocol;
using config::TlsMode;

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

std::string where(const config::AccountSettings& account) {
    return account.endpoint.host + ":" + std::to_string(account.endpoint.port);
}

const char* protocolName(SourceProtocol protocol) { return protocol == SourceProtocol::Pop3 ? "pop3" : "imap"; }

// The usual ports, for "use port N" hints.
std::string usualPorts(SourceProtocol protocol) {
    return protocol == SourceProtocol::Pop3
               ? "POP3 uses port 995 with tls = \"implicit\" or 110 with tls = \"starttls\""
               : "IMAP uses port 993 with tls = \"implicit\" or 143 with tls = \"starttls\"";
}

// What a well-known port is for, or "".
std::string_view portUse(std::uint16_t port) {
    switch (port) {
        case 110:
            return "POP3 (tls = \"starttls\")";
        case 995:
            return "POP3 over TLS (tls = \"implicit\")";
        case 143:
            return "IMAP (tls = \"starttls\")";
        case 993:
            return "IMAP over TLS (tls = \"implicit\")";
        case 25:
        case 587:
            return "SMTP, for sending mail";
        case 465:
            return "SMTP over TLS, for sending mail";
        default:
            return "";
    }
}

// Implicit TLS against a port that speaks plain text first (110, 143, or a STARTTLS port).
std::string plainTextPort(const config::AccountSettings& account, std::string_view error, FailureKindSeen) {
    if (!contains(error, "wrong version number") && !contains(error, "packet length too long")) return "";
    return where(account) + " answered in plain text, not TLS: on this port use tls = \"starttls\", or the TLS port (" +
           usualPorts(account.protocol) + ")";
}

// Plain text (or STARTTLS) against a port that expects a TLS handshake first: it stays silent.
std::string tlsOnlyPort(const config::AccountSettings& account, std::string_view error, FailureKindSeen) {
    const std::uint16_t port = account.endpoint.port;
    if (account.endpoint.tls == TlsMode::Implicit || !contains(error, "sent nothing")) return "";
    if (port != 993 && port != 995 && port != 465) return "";
    return "port " + std::to_string(port) + " expects TLS from the first byte: set tls = \"implicit\"";
}

// The greeting of another protocol: the port belongs to another service.
std::string otherProtocolGreeting(const config::AccountSettings& account, std::string_view error, FailureKindSeen) {
    const bool greeting = contains(error, "reply to greeting") || contains(error, "unexpected greeting") ||
                          contains(error, "malformed response");
    if (!greeting) return "";
    std::string speaks;
    if (contains(error, ": * OK") || contains(error, ": * PREAUTH") || contains(error, "IMAP4"))
        speaks = "imap";
    else if (contains(error, ": +OK") || contains(error, "POP3") ||
             (account.protocol == SourceProtocol::Imap && contains(error, "unexpected greeting from the server: OK")))
        speaks = "pop3";
    else if (contains(error, ": 220 ") || contains(error, "ESMTP"))
        speaks = "smtp";
    if (speaks == protocolName(account.protocol)) return "";
    std::string hint = where(account) + " is ";
    if (speaks == "imap" || speaks == "pop3")
        return hint + (speaks == "imap" ? "an IMAP" : "a POP3") + " server: set protocol = \"" + speaks +
               "\", or use its " + (speaks == "imap" ? "POP3" : "IMAP") + " port (" + usualPorts(account.protocol) +
               ")";
    if (speaks == "smtp") return hint + "a mail server for sending (SMTP): " + usualPorts(account.protocol);
    std::string_view use = portUse(account.endpoint.port);
    if (use.empty()) return "";
    return "port " + std::to_string(account.endpoint.port) + " is usually " + std::string(use) + "; " +
           usualPorts(account.protocol);
}

std::string noGreeting(const config::AccountSettings& account, std::string_view error, FailureKindSeen) {
    if (!contains(error, "no greeting")) return "";
    return "the server took the connection but said nothing: is port " + std::to_string(account.endpoint.port) +
           " the right one, and does a firewall let it through? (" + usualPorts(account.protocol) + ")";
}

std::string nothingListens(const config::AccountSettings& account, std::string_view error, FailureKindSeen) {
    if (!contains(error, "Connection refused")) return "";
    return "nothing listens on port " + std::to_string(account.endpoint.port) + " of " + account.endpoint.host +
           ": check host and port (" + usualPorts(account.protocol) + ")";
}

std::string connectionLimit(const config::AccountSettings&, std::string_view error, FailureKindSeen) {
    const bool limit = contains(error, "[LIMIT]") || contains(error, "[IN-USE]") || contains(error, "[INUSE]") ||
                       contains(error, "oo many connections") || contains(error, "oo many simultaneous") ||
                       contains(error, "Maximum number of connections");
    if (!limit) return "";
    return "the server limits simultaneous connections per user: another mail client (a phone, a desktop "
           "client) or another collector holds them; close it, or let it poll less often, then try again";
}

// A provider's known refusal texts (app password needed, POP/IMAP off in its settings), else its
// setup notes when it refused the credentials.
std::string providerRefusal(const config::AccountSettings& account, std::string_view error, FailureKindSeen kind) {
    const bool authentication = kind == proto::FailureKind::Authentication;
    if (!authentication && kind != proto::FailureKind::Protocol) return "";
    return config::loginRefusalHint(config::findProvider(account.provider), error, authentication).value_or("");
}

std::string throttled(const config::AccountSettings&, std::string_view, FailureKindSeen kind) {
    if (kind != proto::FailureKind::Throttled) return "";
    return "the provider is throttling this account: it backs off, and the rest is collected later";
}

}  // namespace

const std::vector<FailureHintRule>& failureHintRules() {
    static const std::vector<FailureHintRule> rules{throttled,      providerRefusal,       plainTextPort,
                                                    tlsOnlyPort,    otherProtocolGreeting, noGreeting,
                                                    nothingListens, connectionLimit};
    return rules;
}

std::string withFailureHint(const config::AccountSettings& account, const std::string& error, FailureKindSeen kind) {
    for (FailureHintRule rule : failureHintRules()) {
        std::string hint = rule(account, error, kind);
        if (!hint.empty()) return error + " -- hint: " + hint;
    }
    return error;
}

}  // namespace mc::collector
