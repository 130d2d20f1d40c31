#pragma once
// The configuration as plain structs: what the TOML file says, validated, with defaults applied.
// Secrets are kept as references (SecretSource) and resolved only when a connection needs them.

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "proto/Failure.hpp"

namespace mc::config {

enum class SourceProtocol { Pop3, Imap };
enum class TargetProtocol { Smtp, Lmtp, Imap };
enum class TlsMode { Implicit, StartTls, None };
enum class AuthMethod { Auto, Plain, Login, XOAuth2, OAuthBearer };
enum class FetchPolicy { All, New };
enum class LabelDelivery { Header, Subaddress };

// Where a secret comes from; the value itself is never stored in the config structs.
struct SecretSource {
    enum class Kind { None, Inline, File, Env, Command };
    Kind kind = Kind::None;
    std::string reference;  // the inline value, file path, variable name or command line
};

// TLS and endpoint settings shared by sources and the target.
struct Endpoint {
    std::string host;
    std::uint16_t port = 0;  // 0 until defaults are applied
    TlsMode tls = TlsMode::Implicit;
    std::string caFile;          // extra trust anchor; empty: system store
    std::string tlsFingerprint;  // optional sha256 pin (hex, colons allowed)
    bool allowPlaintext = false;
};

struct CollectorSettings {
    std::string ledger;  // SQLite path (absolute after loading) or postgresql:// URL
    int maxParallel = 8;
    std::string httpListen = "127.0.0.1:9780";
    // The token every request to http_listen needs (status page, /metrics, /poll); None: no token.
    SecretSource httpToken;
    std::string logFormat = "text";          // text | json
    std::string quarantineDir;               // absolute after loading
    std::string spoolDir;                    // big messages are spooled here; default: <quarantineDir>/../spool
    std::chrono::seconds ioTimeout{120};     // a server silent this long on a read or write fails
    std::chrono::seconds pollTimeout{3600};  // a poll running this long stops (sized for a big first import)
    // dedupe = "message-id": a message that arrives through several accounts (same Message-ID and
    // body) is delivered once; the others are recorded as its duplicates. Off by default.
    bool dedupeByMessageId = false;
    std::chrono::seconds leaseTtl{120};  // shared ledgers: an account's lease outlives a dead holder this long
};

struct TargetSettings {
    TargetProtocol protocol = TargetProtocol::Smtp;
    Endpoint endpoint;
    std::string username;  // empty: no AUTH
    SecretSource password;
    std::string recipient;
    std::string envelopeFrom = "original";  // "original" or an address
    std::string folder = "INBOX";
    LabelDelivery labelDelivery = LabelDelivery::Header;
    int connections = 4;  // parallel delivery connections per account being collected
    // Connections (logins) to the target at once, across all accounts of the process: Dovecot
    // allows 10 per user and IP, Gmail 15.
    int maxConnections = 8;
};

struct AccountSettings {
    std::string name;
    // The provider preset in use ("gmail"; "" none): from `provider`, else the username's domain
    // when `host` is omitted, else the preset whose server `host` names. It supplies host, port
    // and TLS (serverFromPreset), the OAuth2 provider, max_bytes_per_day and login refusal hints.
    std::string provider;
    bool serverFromPreset = false;
    SourceProtocol protocol = SourceProtocol::Pop3;
    Endpoint endpoint;
    std::string username;
    SecretSource password;
    AuthMethod auth = AuthMethod::Auto;
    std::string oauth2Provider;
    std::string oauth2ClientId;
    std::string oauth2ClientSecretFile;
    std::string oauth2RefreshTokenFile;
    std::string oauth2TokenUrl;
    std::string oauth2DeviceUrl;  // device authorization endpoint (RFC 8628) for `oauth2 authorize`
    std::string oauth2TokenCommand;
    std::vector<std::string> folders{"INBOX"};
    bool keep = true;
    int deleteAfterDays = 0;
    FetchPolicy fetch = FetchPolicy::All;
    std::vector<std::string> labels;
    bool archive = false;
    std::uint64_t maxMessageSize = 50ull * 1000 * 1000;
    std::uint64_t maxMessagesPerPoll = 0;  // 0: no limit; the rest waits for the next poll
    std::uint64_t maxBytesPerDay = 0;      // 0: no limit; counted over the last 24 hours
    std::chrono::seconds interval{300};
    std::chrono::seconds pollTimeout{0};  // 0: [collector] poll_timeout
    bool idle = true;
    int line = 0;  // line of the [[account]] header, for messages
};

struct Config {
    std::string path;  // the file it was loaded from
    CollectorSettings collector;
    TargetSettings target;
    std::vector<AccountSettings> accounts;

    const AccountSettings* findAccount(const std::string& name) const;
};

// Any problem with the configuration. what() reads "FILE:LINE: KEY: problem" (LINE omitted when
// the problem has no place in the file, e.g. a missing file).
class ConfigError : public proto::Failure {
public:
    explicit ConfigError(const std::string& what) : proto::Failure(proto::FailureKind::Config, what) {}
};

// The keys a table ("collector", "target", "account") may hold, as the loader accepts them.
std::vector<std::string_view> acceptedKeys(std::string_view table);

// Parses and validates the file; throws ConfigError naming file, line and key.
Config loadConfig(const std::string& path);

// Parses TOML text as if read from `path` (for tests; no file-permission checks).
Config parseConfig(const std::string& text, const std::string& path);

// Resolves a secret: reads the file (trailing newline stripped), the variable, or runs the command
// (first line of its output). Throws ConfigError without ever including the secret in the message.
std::string resolveSecret(const SecretSource& source, const std::string& what);

// Parses sizes like "50MB", "512k", "1GiB", "1000"; returns nullopt when malformed.
std::optional<std::uint64_t> parseSize(const std::string& input);
// Parses durations like "5m", "30s", "1h", "2d", "90"; returns nullopt when malformed.
std::optional<std::chrono::seconds> parseDuration(const std::string& input);

}  // namespace mc::config
