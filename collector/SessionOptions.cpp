#include "collector/SessionOptions.hpp"

#include "collector/oauth2/AccessTokens.hpp"

namespace mc::collector {
namespace {

net::ConnectOptions connectOptions(const config::Endpoint& endpoint, std::chrono::milliseconds timeout) {
    net::ConnectOptions options;
    options.host = endpoint.host;
    options.port = endpoint.port;
    options.implicitTls = endpoint.tls == config::TlsMode::Implicit;
    options.tls.caFile = endpoint.caFile;
    options.tls.fingerprint = endpoint.tlsFingerprint;
    options.timeout = timeout;
    return options;
}

// What both source sessions share; Options is Pop3Options or ImapOptions.
template <typename Options>
Options sourceOptions(const config::AccountSettings& account, std::chrono::milliseconds timeout) {
    Options options;
    options.connect = connectOptions(account.endpoint, timeout);
    options.tls = tlsMode(account.endpoint.tls);
    options.username = account.username;
    if (oauth2::usesOAuth2(account)) {
        options.password = oauth2::accessToken(account, timeout);
        options.oauth2 = true;
        // The server turned the token down: drop the cached one, so the next login gets a fresh one.
        options.credentialRefused = [account] { oauth2::forgetAccessToken(account); };
    } else {
        options.password = config::resolveSecret(account.password, "account " + account.name + " password");
    }
    options.sasl = configuredSasl(account.auth);
    options.maxMessageBytes = bodyCap(account);
    return options;
}

}  // namespace

net::TlsMode tlsMode(config::TlsMode mode) {
    switch (mode) {
        case config::TlsMode::Implicit:
            return net::TlsMode::Implicit;
        case config::TlsMode::StartTls:
            return net::TlsMode::StartTls;
        case config::TlsMode::None:
            return net::TlsMode::None;
    }
    return net::TlsMode::Implicit;
}

std::optional<proto::SaslMechanism> configuredSasl(config::AuthMethod method) {
    switch (method) {
        case config::AuthMethod::Auto:
            return std::nullopt;
        case config::AuthMethod::Plain:
            return proto::SaslMechanism::Plain;
        case config::AuthMethod::Login:
            return proto::SaslMechanism::Login;
        case config::AuthMethod::XOAuth2:
            return proto::SaslMechanism::XOAuth2;
        case config::AuthMethod::OAuthBearer:
            return proto::SaslMechanism::OAuthBearer;
    }
    return std::nullopt;
}

std::uint64_t bodyCap(const config::AccountSettings& account) {
    return account.maxMessageSize + account.maxMessageSize / 10 + (1 << 20);
}

Pop3Options pop3Options(const config::AccountSettings& account, std::chrono::milliseconds timeout) {
    return sourceOptions<Pop3Options>(account, timeout);
}

ImapOptions imapOptions(const config::AccountSettings& account, std::chrono::milliseconds timeout) {
    return sourceOptions<ImapOptions>(account, timeout);
}

std::string targetPassword(const config::TargetSettings& target) {
    if (target.username.empty()) return {};
    return config::resolveSecret(target.password, "target password");
}

delivery::TargetOptions targetOptions(const config::TargetSettings& target, std::string password,
                                      std::chrono::milliseconds timeout, std::shared_ptr<const net::IoCutoff> cutoff) {
    delivery::TargetOptions options;
    switch (target.protocol) {
        case config::TargetProtocol::Smtp:
            options.protocol = delivery::TargetProtocol::Smtp;
            break;
        case config::TargetProtocol::Lmtp:
            options.protocol = delivery::TargetProtocol::Lmtp;
            break;
        case config::TargetProtocol::Imap:
            options.protocol = delivery::TargetProtocol::Imap;
            break;
    }
    options.connect = connectOptions(target.endpoint, timeout);
    options.connect.cutoff = std::move(cutoff);
    options.tls = tlsMode(target.endpoint.tls);
    options.username = target.username;
    options.password = std::move(password);
    options.recipient = target.recipient;
    options.envelopeFrom = target.envelopeFrom;
    options.folder = target.folder;
    return options;
}

}  // namespace mc::collector
