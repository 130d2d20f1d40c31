// TOML text -> validated Config. Each table is read by one function; defaults that depend on
// other settings (ports, the spool directory) are applied right after the settings they depend on.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>

#include "config/Config.hpp"
#include "config/Providers.hpp"
#include "config/TableReader.hpp"
#include "proto/AsciiText.hpp"

namespace mc::config {

namespace {

namespace fs = std::filesystem;
using detail::failAt;
using detail::lineOf;
using detail::TableReader;

constexpr const char* kDefaultLedger = "/var/lib/mailcollector/ledger.db";
constexpr const char* kDefaultQuarantineDir = "/var/lib/mailcollector/quarantine";

// The errors of a whole file: every bad key of every table, thrown as one, in file order.
class ErrorList {
public:
    // Runs `read`; a ConfigError it throws is kept. False when it threw one.
    template <typename Read>
    bool collect(Read read) {
        try {
            read();
            return true;
        } catch (const ConfigError& e) {
            problems_.push_back(e.what());
            return false;
        }
    }
    // `file`: the prefix of every message ("FILE:LINE: ..."), by whose line they are ordered.
    void throwIfAny(const std::string& file) {
        if (problems_.empty()) return;
        auto line = [&](const std::string& problem) {
            if (problem.compare(0, file.size() + 1, file + ":") != 0) return 0L;
            return std::strtol(problem.c_str() + file.size() + 1, nullptr, 10);
        };
        std::stable_sort(problems_.begin(), problems_.end(),
                         [&](const std::string& a, const std::string& b) { return line(a) < line(b); });
        std::string text;
        for (const auto& problem : problems_) text += (text.empty() ? "" : "\n") + problem;
        throw ConfigError(text);
    }

private:
    std::vector<std::string> problems_;
};

// One table's reads: a read that fails is recorded and the next one still runs, so that one pass
// reports every bad key; a check across keys runs only when every read before it went well (a
// bad value would make it report a mistake that is not there).
class TableSteps {
public:
    explicit TableSteps(ErrorList& errors) : errors_(errors) {}
    template <typename Read>
    void read(Read read) {
        if (!errors_.collect(read)) failed_ = true;
    }
    template <typename Check>
    void check(Check check) {
        if (!failed_) read(check);
    }

private:
    ErrorList& errors_;
    bool failed_ = false;
};

// What reading needs besides the current table. loadConfig uses the inline-password place to
// refuse an inline password in a file others can read; parseConfig ignores it.

struct Context {
    ErrorList errors;
    std::string file;
    fs::path baseDir;  // relative paths in the file are relative to the file's directory
    int inlinePasswordLine = 0;
    std::string inlinePasswordKey;
    int ledgerPasswordLine = 0;  // the ledger URL holds a password
    std::string ledgerKey;
};

// ---- the keys of each table ----------------------------------------------------------------

const std::initializer_list<std::string_view> kCollectorKeys{
    "ledger",     "max_parallel", "http_listen",  "log_format",      "quarantine_dir", "spool_dir",
    "io_timeout", "lease_ttl",    "poll_timeout", "http_token_file", "dedupe"};
const std::initializer_list<std::string_view> kTargetKeys{"protocol",
                                                          "host",
                                                          "port",
                                                          "tls",
                                                          "username",
                                                          "password",
                                                          "password_file",
                                                          "password_env",
                                                          "password_command",
                                                          "recipient",
                                                          "envelope_from",
                                                          "folder",
                                                          "label_delivery",
                                                          "connections",
                                                          "max_connections",
                                                          "ca_file",
                                                          "tls_fingerprint",
                                                          "allow_plaintext"};
const std::initializer_list<std::string_view> kAccountKeys{"name",
                                                           "provider",
                                                           "protocol",
                                                           "host",
                                                           "port",
                                                           "tls",
                                                           "username",
                                                           "password",
                                                           "password_file",
                                                           "password_env",
                                                           "password_command",
                                                           "auth",
                                                           "oauth2_provider",
                                                           "oauth2_client_id",
                                                           "oauth2_client_secret_file",
                                                           "oauth2_refresh_token_file",
                                                           "oauth2_token_url",
                                                           "oauth2_device_url",
                                                           "oauth2_token_command",
                                                           "folders",
                                                           "keep",
                                                           "delete_after_days",
                                                           "fetch",
                                                           "labels",
                                                           "archive",
                                                           "max_message_size",
                                                           "max_messages_per_poll",
                                                           "max_bytes_per_day",
                                                           "interval",
                                                           "poll_timeout",
                                                           "idle",
                                                           "ca_file",
                                                           "tls_fingerprint",
                                                           "allow_plaintext"};

// ---- small value checks -------------------------------------------------------------------

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

bool isPostgresUrl(const std::string& value) {
    return value.rfind("postgresql://", 0) == 0 || value.rfind("postgres://", 0) == 0;
}

// "postgresql://user:SECRET@host/db" or "...?password=SECRET": a secret kept in the config file.
bool urlHoldsPassword(const std::string& url) {
    const std::size_t authority = url.find("://") + 3;
    const std::size_t end = url.find_first_of("/?#", authority);
    const std::string userInfo = url.substr(authority, end == std::string::npos ? std::string::npos : end - authority);
    const std::size_t at = userInfo.rfind('@');
    if (at != std::string::npos && userInfo.substr(0, at).find(':') != std::string::npos) return true;
    const std::size_t query = url.find('?');
    if (query == std::string::npos) return false;
    const std::string parameters = "&" + lowercase(url.substr(query + 1));
    return parameters.find("&password=") != std::string::npos;
}

bool isLoopbackAddress(const std::string& host) {
    in_addr v4{};
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6{};
    if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return false;
    return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
}

// Plaintext is tolerable only when the traffic never leaves the machine.
bool isLoopbackHost(std::string host) {
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    host = lowercase(host);
    if (!host.empty() && host.back() == '.') host.pop_back();
    return host == "localhost" || isLoopbackAddress(host);
}

bool isAccountName(const std::string& name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '_' || c == '-';
    });
}

bool hasSpaceOrControl(const std::string& text) {
    return std::any_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c) || std::iscntrl(c); });
}

bool hasControl(const std::string& text) {
    return std::any_of(text.begin(), text.end(), [](unsigned char c) { return std::iscntrl(c) != 0; });
}

// "host:port" or "[v6]:port".
bool isListenAddress(const std::string& text) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) return false;
    std::string host = text.substr(0, colon);
    std::string port = text.substr(colon + 1);
    if (host.find(':') != std::string::npos && (host.front() != '[' || host.back() != ']')) return false;
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }))
        return false;
    int number = std::stoi(port);
    return number >= 1 && number <= 65535;
}

std::string resolvePath(const std::string& value, const Context& context) {
    if (value.empty() || fs::path(value).is_absolute()) return value;
    return (context.baseDir / value).lexically_normal().string();
}

// ---- shared readers -----------------------------------------------------------------------

const toml::table& asTable(const toml::node& node, const std::string& key, const Context& context) {
    if (!node.is_table())
        failAt(context.file, lineOf(node), key, "expected a table, found " + detail::describeType(node.type()));
    return *node.as_table();
}

// "" only when absent and misspelled (the misspelling is the error reported).
std::string requiredString(const TableReader& reader, std::string_view key) {
    auto value = reader.string(key);
    if (!value && reader.misspelled(key)) return "";
    if (!value) reader.failHeader(key, "missing required key");
    if (value->empty()) reader.fail(key, "must not be empty");
    return *value;
}

std::optional<std::string> nonEmptyString(const TableReader& reader, std::string_view key) {
    auto value = reader.string(key);
    if (value && value->empty()) reader.fail(key, "must not be empty");
    return value;
}

std::string pathValue(const TableReader& reader, std::string_view key, const Context& context) {
    return resolvePath(reader.string(key).value_or(""), context);
}

std::string readHost(const TableReader& reader) {
    std::string host = requiredString(reader, "host");
    if (hasSpaceOrControl(host)) reader.fail("host", "must not contain spaces");
    return host;
}

void checkPlaintext(const TableReader& reader, const Endpoint& endpoint) {
    if (endpoint.tls != TlsMode::None || endpoint.allowPlaintext || isLoopbackHost(endpoint.host)) return;
    reader.fail("tls", "\"none\" would send mail and passwords unencrypted to " + endpoint.host +
                           "; use \"implicit\" or \"starttls\", or set allow_plaintext = true");
}

// Host, port (0 when not given: the caller knows the default), TLS and pinning. `preset`: the
// server to use when `host` is omitted (its port and TLS unless given).
Endpoint readEndpoint(const TableReader& reader, TlsMode defaultTls, const Context& context, TableSteps& steps,
                      const PresetServer* preset = nullptr) {
    Endpoint endpoint;
    const bool fromPreset = preset && !reader.node("host");
    endpoint.tls = fromPreset ? preset->tls : defaultTls;
    steps.read([&] { endpoint.host = fromPreset ? std::string(preset->host) : readHost(reader); });
    steps.read([&] {
        endpoint.port = static_cast<std::uint16_t>(
            reader.integerInRange("port", 1, 65535).value_or(fromPreset && !reader.node("tls") ? preset->port : 0));
    });
    steps.read([&] {
        endpoint.tls =
            reader
                .choice<TlsMode>(
                    "tls", {{"implicit", TlsMode::Implicit}, {"starttls", TlsMode::StartTls}, {"none", TlsMode::None}})
                .value_or(fromPreset ? preset->tls : defaultTls);
    });
    steps.read([&] { endpoint.caFile = pathValue(reader, "ca_file", context); });
    steps.read([&] {
        endpoint.tlsFingerprint = reader.string("tls_fingerprint").value_or("");
        if (!endpoint.tlsFingerprint.empty() && !proto::isSha256Fingerprint(endpoint.tlsFingerprint))
            reader.fail("tls_fingerprint", "expected a SHA-256 fingerprint: 64 hex digits, colons allowed");
    });
    steps.read([&] { endpoint.allowPlaintext = reader.boolean("allow_plaintext").value_or(false); });
    steps.check([&] { checkPlaintext(reader, endpoint); });
    return endpoint;
}

// Every key of the table that is not one of its keys. `misplaced` names a known key of another
// table written here (an [[account]]'s [collector] key) with where it belongs, else "".
void reportUnknownKeys(const TableReader& reader, TableSteps& steps,
                       const std::function<std::string(std::string_view)>& misplaced = {}) {
    for (const std::string& key : reader.unknownKeys())
        steps.read([&] {
            const std::string problem = misplaced ? misplaced(key) : "";
            if (!problem.empty()) reader.fail(key, problem);
            reader.failUnknown(key);
        });
}

struct PasswordKey {
    std::string_view key;
    SecretSource::Kind kind;
};
constexpr PasswordKey kPasswordKeys[] = {
    {"password", SecretSource::Kind::Inline},
    {"password_file", SecretSource::Kind::File},
    {"password_env", SecretSource::Kind::Env},
    {"password_command", SecretSource::Kind::Command},
};

void noteInlinePassword(const TableReader& reader, Context& context) {
    int line = reader.line("password");
    if (context.inlinePasswordLine != 0 && context.inlinePasswordLine < line) return;
    context.inlinePasswordLine = line;
    context.inlinePasswordKey = reader.name("password");
}

// At most one of the four password keys. The second one in file order is the one reported.
SecretSource readPassword(const TableReader& reader, Context& context) {
    const PasswordKey* chosen = nullptr;
    for (const PasswordKey& candidate : kPasswordKeys) {
        if (!reader.node(candidate.key)) continue;
        if (chosen) {
            bool later = reader.line(candidate.key) >= reader.line(chosen->key);
            reader.fail(later ? candidate.key : chosen->key,
                        "set only one of password, password_file, password_env, "
                        "password_command");
        }
        chosen = &candidate;
    }
    if (!chosen) return {};
    // The value is never quoted back: for "password" it is the secret itself.
    SecretSource source{chosen->kind, *nonEmptyString(reader, chosen->key)};
    if (source.kind == SecretSource::Kind::File) source.reference = resolvePath(source.reference, context);
    if (source.kind == SecretSource::Kind::Inline) noteInlinePassword(reader, context);
    return source;
}

// ---- [collector] --------------------------------------------------------------------------

std::string readLedger(const TableReader& reader, Context& context) {
    std::string ledger = nonEmptyString(reader, "ledger").value_or(kDefaultLedger);
    if (isPostgresUrl(ledger) && urlHoldsPassword(ledger)) {
        context.ledgerPasswordLine = reader.line("ledger");
        context.ledgerKey = reader.name("ledger");
    }
    return isPostgresUrl(ledger) ? ledger : resolvePath(ledger, context);
}

std::string defaultSpoolDir(const std::string& quarantineDir) {
    fs::path quarantine = fs::path(quarantineDir).lexically_normal();
    if (!quarantine.has_filename()) quarantine = quarantine.parent_path();  // trailing slash
    return (quarantine.parent_path() / "spool").string();
}

std::chrono::seconds readDuration(const TableReader& reader, const char* key, std::chrono::seconds fallback,
                                  std::chrono::seconds minimum) {
    const toml::node* node = reader.node(key);
    if (!node) return fallback;
    std::optional<std::chrono::seconds> duration;
    if (auto integer = node->value_exact<std::int64_t>())
        duration = std::chrono::seconds(*integer);
    else if (auto text = node->value_exact<std::string>())
        duration = parseDuration(*text);
    else
        reader.fail(key, "expected a string or an integer, found " + detail::describeType(node->type()));
    if (!duration)
        reader.fail(key,
                    "expected a duration like \"30s\", \"5m\", \"1h\", \"2d\" or a "
                    "number of seconds");
    if (*duration < minimum) reader.fail(key, "must be at least " + std::to_string(minimum.count()) + "s");
    return *duration;
}

void readCollectorTable(const TableReader& reader, CollectorSettings& settings, Context& context, TableSteps& steps) {
    steps.read([&] { settings.ledger = readLedger(reader, context); });
    steps.read([&] {
        settings.maxParallel =
            static_cast<int>(reader.integerInRange("max_parallel", 1, 1024).value_or(settings.maxParallel));
    });
    steps.read([&] {
        settings.httpListen = reader.string("http_listen").value_or(settings.httpListen);
        if (!settings.httpListen.empty() && !isListenAddress(settings.httpListen))
            reader.fail("http_listen", "expected HOST:PORT like \"127.0.0.1:9780\", or \"\" to turn it off");
    });
    steps.read([&] {
        if (auto tokenFile = nonEmptyString(reader, "http_token_file"))
            settings.httpToken = SecretSource{SecretSource::Kind::File, resolvePath(*tokenFile, context)};
    });
    steps.read([&] {
        settings.logFormat =
            reader.choice<std::string>("log_format", {{"text", "text"}, {"json", "json"}}).value_or(settings.logFormat);
    });
    steps.read([&] {
        if (auto quarantine = nonEmptyString(reader, "quarantine_dir"))
            settings.quarantineDir = resolvePath(*quarantine, context);
    });
    steps.read([&] {
        if (auto spool = nonEmptyString(reader, "spool_dir")) settings.spoolDir = resolvePath(*spool, context);
    });
    steps.read(
        [&] { settings.ioTimeout = readDuration(reader, "io_timeout", settings.ioTimeout, std::chrono::seconds(1)); });
    steps.read(
        [&] { settings.leaseTtl = readDuration(reader, "lease_ttl", settings.leaseTtl, std::chrono::seconds(3)); });
    steps.read([&] {
        if (auto dedupe = reader.string("dedupe")) {
            if (*dedupe != "off" && *dedupe != "message-id")
                reader.fail("dedupe",
                            "must be \"message-id\" (one copy of a message that arrives through several "
                            "accounts) or \"off\" (the default)");
            settings.dedupeByMessageId = *dedupe == "message-id";
        }
    });
    steps.read([&] {
        settings.pollTimeout = readDuration(reader, "poll_timeout", settings.pollTimeout, std::chrono::seconds(1));
    });
}

CollectorSettings readCollector(const toml::node* node, Context& context) {
    CollectorSettings settings;
    settings.ledger = kDefaultLedger;
    settings.quarantineDir = kDefaultQuarantineDir;
    if (node) {
        TableReader reader(asTable(*node, "collector", context), "collector", context.file, kCollectorKeys);
        TableSteps steps(context.errors);
        reportUnknownKeys(reader, steps);
        readCollectorTable(reader, settings, context, steps);
    }
    if (settings.spoolDir.empty()) settings.spoolDir = defaultSpoolDir(settings.quarantineDir);
    return settings;
}

// ---- [target] -----------------------------------------------------------------------------

std::uint16_t defaultTargetPort(const TargetSettings& target) {
    switch (target.protocol) {
        case TargetProtocol::Smtp:
            if (target.endpoint.tls == TlsMode::Implicit) return 465;
            return target.username.empty() ? 25 : 587;  // 587: submission, where AUTH lives
        case TargetProtocol::Lmtp:
            return 24;
        case TargetProtocol::Imap:
            return target.endpoint.tls == TlsMode::Implicit ? 993 : 143;
    }
    return 0;
}

std::string readEnvelopeFrom(const TableReader& reader) {
    std::string value = nonEmptyString(reader, "envelope_from").value_or("original");
    if (value != "original" && (value.find('@') == std::string::npos || hasSpaceOrControl(value) ||
                                value.find_first_of("<>") != std::string::npos))
        reader.fail("envelope_from", "expected \"original\" or an address like me@example.org");
    return value;
}

void checkTargetCredentials(const TableReader& reader, const TargetSettings& target) {
    if (target.protocol == TargetProtocol::Imap && target.username.empty())
        reader.failHeader("username", "missing required key (an imap target needs a login)");
    if (target.username.empty() && target.password.kind != SecretSource::Kind::None)
        reader.failHeader("username", "missing required key (a password is set)");
    if (!target.username.empty() && target.password.kind == SecretSource::Kind::None)
        reader.fail("username",
                    "is set but no password is: add password_file, password_env, "
                    "password_command or password");
    if (target.protocol != TargetProtocol::Imap && target.recipient.empty())
        reader.failHeader("recipient", "missing required key (smtp and lmtp targets need it)");
}

// Labels and the target folder become IMAP folder names (modified UTF-7 grows non-ASCII text up
// to about 8/3, and a quoted name must fit IMAP's quoted-string limit): checked here, not found
// out at the first delivery.
constexpr std::size_t kMaxFolderNameBytes = 200;

// `folder` is where an imap target APPENDs (smtp and lmtp ignore it); labels become folders there,
// so subaddressing has no meaning for it.
void checkImapTargetKeys(const TableReader& reader, const TargetSettings& target) {
    if (hasControl(target.folder)) reader.fail("folder", "must be free of control characters");
    if (target.folder.size() > kMaxFolderNameBytes)
        reader.fail("folder", "may have at most " + std::to_string(kMaxFolderNameBytes) + " bytes");
    if (target.protocol == TargetProtocol::Imap && target.labelDelivery == LabelDelivery::Subaddress)
        reader.fail("label_delivery",
                    "\"subaddress\" is for smtp and lmtp targets; an imap target files labels into folders");
}

void readTargetTable(const TableReader& reader, TargetSettings& target, Context& context, TableSteps& steps) {
    target.protocol = TargetProtocol::Smtp;
    steps.read([&] {
        target.protocol = reader
                              .choice<TargetProtocol>("protocol", {{"smtp", TargetProtocol::Smtp},
                                                                   {"lmtp", TargetProtocol::Lmtp},
                                                                   {"imap", TargetProtocol::Imap}})
                              .value_or(TargetProtocol::Smtp);
    });
    TlsMode defaultTls = target.protocol == TargetProtocol::Imap ? TlsMode::Implicit : TlsMode::StartTls;
    target.endpoint = readEndpoint(reader, defaultTls, context, steps);
    steps.read([&] { target.username = nonEmptyString(reader, "username").value_or(""); });
    steps.read([&] { target.password = readPassword(reader, context); });
    steps.read([&] { target.recipient = nonEmptyString(reader, "recipient").value_or(""); });
    steps.read([&] { target.envelopeFrom = readEnvelopeFrom(reader); });
    steps.read([&] { target.folder = nonEmptyString(reader, "folder").value_or(target.folder); });
    steps.read([&] {
        target.labelDelivery = reader
                                   .choice<LabelDelivery>("label_delivery", {{"header", LabelDelivery::Header},
                                                                             {"subaddress", LabelDelivery::Subaddress}})
                                   .value_or(target.labelDelivery);
    });
    steps.read([&] {
        target.connections = static_cast<int>(reader.integerInRange("connections", 1, 32).value_or(target.connections));
    });
    steps.read([&] {
        target.maxConnections =
            static_cast<int>(reader.integerInRange("max_connections", 1, 256).value_or(target.maxConnections));
    });
    steps.check([&] { checkTargetCredentials(reader, target); });
    steps.check([&] { checkImapTargetKeys(reader, target); });
    if (target.endpoint.port == 0) target.endpoint.port = defaultTargetPort(target);
}

TargetSettings readTarget(const toml::node* node, Context& context) {
    if (!node) failAt(context.file, 0, "target", "required table [target] is missing");
    TableReader reader(asTable(*node, "target", context), "target", context.file, kTargetKeys);
    TableSteps steps(context.errors);
    reportUnknownKeys(reader, steps);
    TargetSettings target;
    readTargetTable(reader, target, context, steps);
    return target;
}

// ---- [[account]] --------------------------------------------------------------------------

std::uint16_t defaultAccountPort(const AccountSettings& account) {
    bool implicit = account.endpoint.tls == TlsMode::Implicit;
    if (account.protocol == SourceProtocol::Pop3) return implicit ? 995 : 110;
    return implicit ? 993 : 143;
}

void checkFolders(const TableReader& reader, const AccountSettings& account) {
    if (account.protocol == SourceProtocol::Pop3) {
        if (account.folders.size() != 1 || lowercase(account.folders[0]) != "inbox")
            reader.fail("folders", "pop3 has only the INBOX; folders is for imap accounts");
        return;
    }
    if (account.folders.empty()) reader.fail("folders", "must list at least one folder");
    for (std::size_t i = 0; i < account.folders.size(); ++i) {
        if (account.folders[i].empty()) reader.fail("folders", "folder names must not be empty");
        if (std::find(account.folders.begin(), account.folders.begin() + i, account.folders[i]) !=
            account.folders.begin() + i)
            reader.fail("folders", "\"" + account.folders[i] + "\" is listed twice");
    }
}

// Labels end up in a header or an address, so line breaks would let them inject headers.
void checkLabels(const TableReader& reader, const std::vector<std::string>& labels) {
    for (const auto& label : labels) {
        if (label.empty() || hasControl(label))
            reader.fail("labels", "labels must be non-empty and free of control characters");
        if (label.size() > kMaxFolderNameBytes)
            reader.fail("labels", "a label may have at most " + std::to_string(kMaxFolderNameBytes) + " bytes");
    }
}

// A size as "50MB", "512KiB" or a number of bytes; `zeroAllowed`: 0 (or "") means no limit.
std::uint64_t readSize(const TableReader& reader, std::string_view key, std::uint64_t fallback, bool zeroAllowed) {
    const toml::node* node = reader.node(key);
    if (!node) return fallback;
    std::optional<std::uint64_t> size;
    if (auto integer = node->value_exact<std::int64_t>())
        size = *integer >= 0 ? std::optional<std::uint64_t>(*integer) : std::nullopt;
    else if (auto text = node->value_exact<std::string>())
        size = zeroAllowed && text->empty() ? 0 : parseSize(*text);
    else
        reader.fail(key, "expected a string or an integer, found " + detail::describeType(node->type()));
    if (!size || (*size == 0 && !zeroAllowed))
        reader.fail(key, std::string("expected a size like \"50MB\", \"512KiB\" or a number of bytes") +
                             (zeroAllowed ? " (0: no limit)" : ""));
    return *size;
}

void readOAuth2(const TableReader& reader, AccountSettings& account, const Context& context, TableSteps& steps) {
    steps.read([&] { account.oauth2Provider = reader.string("oauth2_provider").value_or(""); });
    steps.read([&] { account.oauth2ClientId = reader.string("oauth2_client_id").value_or(""); });
    steps.read([&] { account.oauth2ClientSecretFile = pathValue(reader, "oauth2_client_secret_file", context); });
    steps.read([&] { account.oauth2RefreshTokenFile = pathValue(reader, "oauth2_refresh_token_file", context); });
    steps.read([&] { account.oauth2TokenUrl = reader.string("oauth2_token_url").value_or(""); });
    steps.read([&] { account.oauth2DeviceUrl = reader.string("oauth2_device_url").value_or(""); });
    steps.read([&] { account.oauth2TokenCommand = reader.string("oauth2_token_command").value_or(""); });
}

// Password logins need a password; OAuth2 logins need a token source (a password_* may supply
// the access token directly).
void checkAccountCredentials(const TableReader& reader, const AccountSettings& account) {
    if (account.password.kind != SecretSource::Kind::None) return;
    bool oauth = account.auth == AuthMethod::XOAuth2 || account.auth == AuthMethod::OAuthBearer;
    bool tokenSource = !account.oauth2TokenCommand.empty() || !account.oauth2RefreshTokenFile.empty();
    if (tokenSource && account.auth != AuthMethod::Plain && account.auth != AuthMethod::Login) return;
    reader.failHeader("password", oauth ? "no token source: set oauth2_refresh_token_file, "
                                          "oauth2_token_command or one of the password keys"
                                        : "missing: set password_file, password_env, password_command or "
                                          "password");
}

// `provider = "..."`; else, without `host`, the preset of the username's domain; else the preset
// whose server is `host` (hints and limits for hand-typed settings).
const ProviderPreset* readProvider(const TableReader& reader, const std::string& username) {
    if (auto id = nonEmptyString(reader, "provider")) {
        if (const ProviderPreset* preset = findProvider(*id)) return preset;
        reader.fail("provider", "unknown provider \"" + *id + "\"; known: " + providerIds() +
                                    "; or leave provider out and set host, port and tls");
    }
    if (!reader.node("host")) return providerForAddress(username);
    if (auto host = reader.string("host")) return providerForHost(*host);
    return nullptr;
}

// The server of the preset when `host` is omitted; the error says what to write instead.
const PresetServer* presetServerFor(const TableReader& reader, const AccountSettings& account,
                                    const ProviderPreset* preset) {
    if (reader.node("host")) return nullptr;
    if (!preset && reader.misspelled("host")) return nullptr;  // the unknown key is the error to fix
    if (!preset)
        reader.failHeader("host", "missing required key; no provider preset is known for \"" + account.username +
                                      "\": set host (and port, tls), or provider = one of: " + providerIds());
    const PresetServer& server = presetServer(*preset, account.protocol);
    if (server.host.empty())
        reader.fail("protocol", std::string(preset->name) + " offers no " +
                                    (account.protocol == SourceProtocol::Pop3 ? "POP3" : "IMAP") +
                                    "; set protocol = \"" +
                                    (account.protocol == SourceProtocol::Pop3 ? "imap" : "pop3") + "\"");
    return &server;
}

void readConnection(const TableReader& reader, AccountSettings& account, Context& context, TableSteps& steps) {
    steps.read([&] {
        account.protocol =
            reader.choice<SourceProtocol>("protocol", {{"pop3", SourceProtocol::Pop3}, {"imap", SourceProtocol::Imap}})
                .value_or(SourceProtocol::Pop3);
    });
    steps.read([&] { account.username = requiredString(reader, "username"); });
    const ProviderPreset* preset = nullptr;
    const PresetServer* server = nullptr;
    steps.read([&] { preset = readProvider(reader, account.username); });
    steps.read([&] { server = presetServerFor(reader, account, preset); });
    account.endpoint = readEndpoint(reader, TlsMode::Implicit, context, steps, server);
    if (account.endpoint.port == 0) account.endpoint.port = defaultAccountPort(account);
    account.serverFromPreset = server != nullptr;
    if (preset) {
        account.provider = std::string(preset->id);
        account.maxBytesPerDay = presetBytesPerDay(*preset, account.protocol);
    }
    steps.read([&] { account.password = readPassword(reader, context); });
    steps.read([&] {
        account.auth = reader
                           .choice<AuthMethod>("auth", {{"auto", AuthMethod::Auto},
                                                        {"plain", AuthMethod::Plain},
                                                        {"login", AuthMethod::Login},
                                                        {"xoauth2", AuthMethod::XOAuth2},
                                                        {"oauthbearer", AuthMethod::OAuthBearer}})
                           .value_or(AuthMethod::Auto);
    });
    readOAuth2(reader, account, context, steps);
    if (preset && account.oauth2Provider.empty()) account.oauth2Provider = std::string(preset->oauth2Provider);
    steps.check([&] { checkAccountCredentials(reader, account); });
}

void readPolicy(const TableReader& reader, AccountSettings& account, TableSteps& steps) {
    steps.read([&] { account.folders = reader.stringArray("folders").value_or(account.folders); });
    steps.check([&] { checkFolders(reader, account); });
    steps.read([&] { account.keep = reader.boolean("keep").value_or(account.keep); });
    steps.read([&] {
        account.deleteAfterDays = static_cast<int>(
            reader.integerInRange("delete_after_days", 0, std::numeric_limits<int>::max()).value_or(0));
    });
    steps.read([&] {
        account.fetch = reader.choice<FetchPolicy>("fetch", {{"all", FetchPolicy::All}, {"new", FetchPolicy::New}})
                            .value_or(account.fetch);
    });
    steps.read([&] {
        account.labels = reader.stringArray("labels").value_or(account.labels);
        checkLabels(reader, account.labels);
    });
    steps.read([&] { account.archive = reader.boolean("archive").value_or(account.archive); });
    steps.read([&] { account.maxMessageSize = readSize(reader, "max_message_size", account.maxMessageSize, false); });
    steps.read([&] {
        account.maxMessagesPerPoll = static_cast<std::uint64_t>(
            reader.integerInRange("max_messages_per_poll", 0, std::numeric_limits<std::int32_t>::max()).value_or(0));
    });
    steps.read([&] { account.maxBytesPerDay = readSize(reader, "max_bytes_per_day", account.maxBytesPerDay, true); });
    steps.read(
        [&] { account.interval = readDuration(reader, "interval", account.interval, std::chrono::seconds(10)); });
    steps.read([&] {
        account.pollTimeout = readDuration(reader, "poll_timeout", account.pollTimeout, std::chrono::seconds(1));
    });
    steps.read([&] { account.idle = reader.boolean("idle").value_or(account.idle); });
}

// "account[old-yandex]" once the table has a usable name, else "account[2]" (its position).
std::string accountPrefix(const toml::table& table, std::size_t index) {
    const toml::node* name = table.get("name");
    if (name && name->is_string() && isAccountName(name->as_string()->get()))
        return "account[" + name->as_string()->get() + "]";
    return "account[" + std::to_string(index) + "]";
}

// A [collector] or [target] key written after an [[account]] header belongs to that account
// in TOML: say where it goes instead of only "unknown key" ("" for other keys).
std::string misplacedAccountKey(std::string_view key) {
    auto in = [](const std::initializer_list<std::string_view>& keys, std::string_view name) {
        return std::find(keys.begin(), keys.end(), name) != keys.end();
    };
    const char* owner = in(kCollectorKeys, key) ? "collector" : in(kTargetKeys, key) ? "target" : nullptr;
    if (!owner) return "";
    return std::string("unknown key: it is a [") + owner +
           "] key, and every key after an [[account]] header belongs to that account; move it under [" + owner +
           "], above the first [[account]]";
}

// The account as far as it reads; its errors are recorded in `context`.
AccountSettings readAccount(const toml::table& table, std::size_t index, Context& context) {
    TableReader reader(table, accountPrefix(table, index), context.file, kAccountKeys);
    TableSteps steps(context.errors);
    reportUnknownKeys(reader, steps, misplacedAccountKey);
    AccountSettings account;
    account.line = reader.headerLine();
    steps.read([&] {
        account.name = requiredString(reader, "name");
        if (!isAccountName(account.name)) reader.fail("name", "may contain only letters, digits, '.', '_' and '-'");
    });
    readConnection(reader, account, context, steps);
    readPolicy(reader, account, steps);
    return account;
}

std::vector<AccountSettings> readAccounts(const toml::node* node, Context& context) {
    std::vector<AccountSettings> accounts;
    if (!node || (node->is_array() && node->as_array()->empty())) return accounts;
    if (!node->is_array_of_tables())
        failAt(context.file, lineOf(*node), "account",
               "expected [[account]] tables, found " + detail::describeType(node->type()));
    std::map<std::string, int> firstLine;  // name -> line of its first definition
    std::size_t index = 0;
    for (const toml::node& element : *node->as_array()) {
        const std::size_t position = index++;
        context.errors.collect([&] {
            AccountSettings account = readAccount(*element.as_table(), position, context);
            if (account.name.empty()) return;  // said already
            int nameLine = lineOf(*element.as_table()->get("name"));
            auto [existing, inserted] = firstLine.emplace(account.name, nameLine);
            if (!inserted)
                failAt(context.file, nameLine, "account[" + std::to_string(position) + "].name",
                       "duplicate account name \"" + account.name + "\" (first used on line " +
                           std::to_string(existing->second) + ")");
            accounts.push_back(std::move(account));
        });
    }
    return accounts;
}

// ---- the document -------------------------------------------------------------------------

std::string lineText(const std::string& text, std::size_t line) {
    std::size_t begin = 0;
    for (std::size_t i = 1; i < line && begin != std::string::npos; ++i) {
        begin = text.find('\n', begin);
        if (begin != std::string::npos) ++begin;
    }
    if (begin == std::string::npos) return "";
    return text.substr(begin, text.find('\n', begin) - begin);
}

bool holdsInlinePassword(const std::string& line) {
    std::string key = line.substr(0, line.find('='));
    key.erase(
        std::remove_if(key.begin(), key.end(), [](char c) { return c == ' ' || c == '\t' || c == '"' || c == '\''; }),
        key.end());
    return key.size() >= 8 && key.compare(key.size() - 8, 8, "password") == 0;
}

// toml++ quotes the offending character ("saw 'h'"); on a password line that is a piece of the
// password, so quoted text is masked there.
std::string maskQuoted(std::string description) {
    std::size_t open = 0;
    while ((open = description.find('\'', open)) != std::string::npos) {
        std::size_t close = description.find('\'', open + 1);
        if (close == std::string::npos) break;
        description.replace(open + 1, close - open - 1, "...");
        open += 5;
    }
    return description;
}

// toml++'s words for the usual slips, in plain words with the fix; "" when not one of them.
std::string plainSyntaxProblem(const std::string& description) {
    auto says = [&](const char* words) { return description.find(words) != std::string::npos; };
    if (says("could not determine value type"))
        return "the value is not one TOML knows: write text in double quotes (\"...\"), yes/no as true/false, a "
               "list as [\"a\", \"b\"]";
    if (says("while parsing string") || says("unterminated"))
        return "a string is not closed: end it with a \" on the same line";
    if (says("expected digit") || says("while parsing decimal integer") || says("while parsing floating-point"))
        return "not a number: write only digits, or put the value in double quotes if it is text";
    if (says("expected '='")) return "expected KEY = VALUE";
    if (says("redefin")) return "this key or table is defined twice";
    return "";
}

toml::table parseToml(const std::string& text, const std::string& path) {
    try {
        return toml::parse(std::string_view(text), std::string_view(path));
    } catch (const toml::parse_error& error) {
        std::size_t line = error.source().begin.line;
        std::string description(error.description());
        const std::string source = lineText(text, line);
        const bool secret = holdsInlinePassword(source);
        if (secret) description = maskQuoted(description);
        const std::string plain = plainSyntaxProblem(description);
        std::string shown;  // the line itself, unless it holds a password
        if (!secret && !source.empty() && source.size() <= 200 &&
            std::none_of(source.begin(), source.end(), [](unsigned char c) { return c < 0x20 && c != '\t'; }))
            shown = " in `" + source + "`";
        if (plain.empty()) failAt(path, static_cast<int>(line), "", "TOML syntax error" + shown + ": " + description);
        failAt(path, static_cast<int>(line), "",
               "TOML syntax error" + shown + ": " + plain + " (the parser said: " + description + ")");
    }
}

Config parseWithContext(const std::string& text, const std::string& path, Context& context) {
    toml::table root = parseToml(text, path);
    TableReader reader(root, "", path, {"collector", "target", "account"});
    TableSteps steps(context.errors);
    reportUnknownKeys(reader, steps);
    Config config;
    config.path = path;
    // Each table is read on its own, and each key of it, so that one pass reports every error.
    steps.read([&] { config.collector = readCollector(reader.node("collector"), context); });
    steps.read([&] { config.target = readTarget(reader.node("target"), context); });
    steps.read([&] { config.accounts = readAccounts(reader.node("account"), context); });
    context.errors.throwIfAny(path);
    return config;
}

Context makeContext(const std::string& path) {
    std::error_code error;
    fs::path absolute = fs::absolute(path, error);
    Context context;
    context.file = path;
    if (!error) context.baseDir = absolute.parent_path();
    return context;
}

std::string modeText(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

// Reads through one descriptor so that the mode checked is that of the bytes parsed.
std::string readConfigFile(const std::string& path, struct stat& status) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) failAt(path, 0, "", std::string("cannot open: ") + std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    if (::fstat(fd, &status) != 0) failAt(path, 0, "", std::string("cannot read: ") + std::strerror(errno));
    if (!S_ISREG(status.st_mode)) failAt(path, 0, "", "not a regular file");
    std::string text;
    char buffer[65536];
    for (;;) {
        ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) failAt(path, 0, "", std::string("cannot read: ") + std::strerror(errno));
        if (got == 0) return text;
        text.append(buffer, static_cast<std::size_t>(got));
    }
}

}  // namespace

std::vector<std::string_view> acceptedKeys(std::string_view table) {
    if (table == "collector") return kCollectorKeys;
    if (table == "target") return kTargetKeys;
    if (table == "account") return kAccountKeys;
    return {};
}

Config parseConfig(const std::string& text, const std::string& path) {
    Context context = makeContext(path);
    return parseWithContext(text, path, context);
}

Config loadConfig(const std::string& path) {
    struct stat status {};
    std::string text = readConfigFile(path, status);
    Context context = makeContext(path);
    Config config = parseWithContext(text, path, context);
    if (context.inlinePasswordLine != 0 && (status.st_mode & 044) != 0)
        failAt(path, context.inlinePasswordLine, context.inlinePasswordKey,
               "inline password in a file readable by group or others (mode " + modeText(status.st_mode) +
                   "); run chmod 600 " + path + ", or use password_file or password_env instead");
    if (context.ledgerPasswordLine != 0 && (status.st_mode & 044) != 0)
        failAt(path, context.ledgerPasswordLine, context.ledgerKey,
               "password inside the ledger URL in a file readable by group or others (mode " +
                   modeText(status.st_mode) + "); run chmod 600 " + path +
                   ", or leave the password out of the URL (PGPASSFILE, ~/.pgpass)");
    // Whoever can edit a file that runs commands runs commands as this user; one holding
    // secrets can redirect them to another server.
    bool runsCommands = config.target.password.kind == SecretSource::Kind::Command;
    for (const auto& account : config.accounts)
        runsCommands =
            runsCommands || account.password.kind == SecretSource::Kind::Command || !account.oauth2TokenCommand.empty();
    const bool holdsSecrets = context.inlinePasswordLine != 0 || context.ledgerPasswordLine != 0;
    if ((status.st_mode & 022) != 0 && (runsCommands || holdsSecrets))
        failAt(path, 0, "",
               std::string("writable by group or others (mode ") + modeText(status.st_mode) + ") and it " +
                   (runsCommands ? "runs commands (password_command, oauth2_token_command)" : "holds passwords") +
                   "; run chmod go-w " + path);
    return config;
}

}  // namespace mc::config
