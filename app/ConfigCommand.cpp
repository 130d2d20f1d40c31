// `mailcollector config show`: the effective configuration, every default filled in and secrets
// redacted, as TOML that loads back (like `postconf` or `git config --list`).

#include <iostream>
#include <sstream>

#include "app/CommandTable.hpp"
#include "collector/ledger/LedgerStore.hpp"
#include "proto/SafeText.hpp"

namespace mc::app {
namespace {

using config::SecretSource;
using config::TlsMode;

class TomlOut {
public:
    void header(const std::string& name) { out_ << (out_.tellp() > 0 ? "\n" : "") << name << "\n"; }
    void string(const char* key, const std::string& value) { out_ << key << " = " << quoted(value) << "\n"; }
    void number(const char* key, std::uint64_t value) { out_ << key << " = " << value << "\n"; }
    void boolean(const char* key, bool value) { out_ << key << " = " << (value ? "true" : "false") << "\n"; }
    void seconds(const char* key, std::chrono::seconds value) { string(key, std::to_string(value.count()) + "s"); }
    void list(const char* key, const std::vector<std::string>& values) {
        out_ << key << " = [";
        for (std::size_t i = 0; i < values.size(); ++i) out_ << (i ? ", " : "") << quoted(values[i]);
        out_ << "]\n";
    }
    void comment(const std::string& text) { out_ << "# " << proto::terminalEscape(text, 300) << "\n"; }
    std::string text() const { return out_.str(); }

private:
    static std::string quoted(const std::string& value) { return "\"" + proto::jsonEscape(value) + "\""; }
    std::ostringstream out_;
};

const char* tlsName(TlsMode tls) {
    return tls == TlsMode::Implicit ? "implicit" : tls == TlsMode::StartTls ? "starttls" : "none";
}

void endpoint(TomlOut& out, const config::Endpoint& endpoint) {
    out.string("host", endpoint.host);
    out.number("port", endpoint.port);
    out.string("tls", tlsName(endpoint.tls));
    out.string("ca_file", endpoint.caFile);
    out.string("tls_fingerprint", endpoint.tlsFingerprint);
    out.boolean("allow_plaintext", endpoint.allowPlaintext);
}

// Where the secret comes from; an inline one is never printed.
void password(TomlOut& out, const SecretSource& source) {
    switch (source.kind) {
        case SecretSource::Kind::None:
            break;
        case SecretSource::Kind::Inline:
            out.string("password", "(redacted)");
            break;
        case SecretSource::Kind::File:
            out.string("password_file", source.reference);
            break;
        case SecretSource::Kind::Env:
            out.string("password_env", source.reference);
            break;
        case SecretSource::Kind::Command:
            out.string("password_command", source.reference);
            break;
    }
}

std::string effectiveConfig(const config::Config& config) {
    TomlOut out;
    out.comment("the effective configuration of " + config.path + ": every default filled in, secrets redacted");
    const auto& c = config.collector;
    out.header("[collector]");
    out.string("ledger", ledger::redactLocation(c.ledger));
    out.number("max_parallel", static_cast<std::uint64_t>(c.maxParallel));
    out.string("http_listen", c.httpListen);
    out.string("log_format", c.logFormat);
    out.string("quarantine_dir", c.quarantineDir);
    out.string("spool_dir", c.spoolDir);
    out.seconds("io_timeout", c.ioTimeout);
    out.seconds("lease_ttl", c.leaseTtl);
    out.seconds("poll_timeout", c.pollTimeout);

    const auto& t = config.target;
    out.header("[target]");
    out.string("protocol", t.protocol == config::TargetProtocol::Smtp   ? "smtp"
                           : t.protocol == config::TargetProtocol::Lmtp ? "lmtp"
                                                                        : "imap");
    endpoint(out, t.endpoint);
    if (!t.username.empty()) out.string("username", t.username);
    password(out, t.password);
    if (!t.recipient.empty()) out.string("recipient", t.recipient);
    out.string("envelope_from", t.envelopeFrom);
    out.string("folder", t.folder);
    out.string("label_delivery", t.labelDelivery == config::LabelDelivery::Header ? "header" : "subaddress");
    out.number("connections", static_cast<std::uint64_t>(t.connections));
    out.number("max_connections", static_cast<std::uint64_t>(t.maxConnections));

    static const char* kAuth[] = {"auto", "plain", "login", "xoauth2", "oauthbearer"};
    for (const auto& a : config.accounts) {
        out.header("[[account]]");
        out.string("name", a.name);
        if (!a.provider.empty()) out.string("provider", a.provider);  // the preset that filled in the server
        out.string("protocol", a.protocol == config::SourceProtocol::Pop3 ? "pop3" : "imap");
        endpoint(out, a.endpoint);
        out.string("username", a.username);
        password(out, a.password);
        out.string("auth", kAuth[static_cast<int>(a.auth)]);
        if (!a.oauth2Provider.empty()) out.string("oauth2_provider", a.oauth2Provider);
        if (!a.oauth2ClientId.empty()) out.string("oauth2_client_id", a.oauth2ClientId);
        if (!a.oauth2ClientSecretFile.empty()) out.string("oauth2_client_secret_file", a.oauth2ClientSecretFile);
        if (!a.oauth2RefreshTokenFile.empty()) out.string("oauth2_refresh_token_file", a.oauth2RefreshTokenFile);
        if (!a.oauth2TokenUrl.empty()) out.string("oauth2_token_url", a.oauth2TokenUrl);
        if (!a.oauth2DeviceUrl.empty()) out.string("oauth2_device_url", a.oauth2DeviceUrl);
        if (!a.oauth2TokenCommand.empty()) out.string("oauth2_token_command", a.oauth2TokenCommand);
        out.list("folders", a.folders);
        out.boolean("keep", a.keep);
        out.number("delete_after_days", static_cast<std::uint64_t>(a.deleteAfterDays));
        out.string("fetch", a.fetch == config::FetchPolicy::All ? "all" : "new");
        out.list("labels", a.labels);
        out.boolean("archive", a.archive);
        out.number("max_message_size", a.maxMessageSize);
        out.number("max_messages_per_poll", a.maxMessagesPerPoll);
        out.number("max_bytes_per_day", a.maxBytesPerDay);
        out.seconds("interval", a.interval);
        out.seconds("poll_timeout", a.pollTimeout.count() > 0 ? a.pollTimeout : c.pollTimeout);
        out.boolean("idle", a.idle);
    }
    return out.text();
}

}  // namespace

CommandSpec configCommandSpec() {
    CommandSpec spec;
    spec.name = "config";
    spec.synopsis = "config show [-c FILE]";
    spec.summary =
        "show: the effective configuration, every default filled in and secrets redacted, as\n"
        "TOML that loads back";
    spec.help =
        "show: prints the effective configuration as TOML: every key of every table with its value,\n"
        "defaults filled in (ports, TLS, timeouts, paths made absolute), an inline password as\n"
        "\"(redacted)\" and a password in the ledger URL as ***. The output loads back as it is.\n";
    spec.takesOperands = true;
    spec.needsConfig = true;
    spec.checkUsage = [](const Invocation& invocation) {
        if (invocation.operands != std::vector<std::string>{"show"}) throw UsageError("config needs show");
    };
    spec.run = [](const Invocation&, const config::Config* config) {
        std::cout << effectiveConfig(*config);
        return kExitOk;
    };
    return spec;
}

}  // namespace mc::app
