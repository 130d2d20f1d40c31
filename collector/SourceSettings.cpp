#include "collector/SourceSettings.hpp"

#include "collector/oauth2/AccessTokens.hpp"

namespace mc::collector {

net::ConnectOptions sourceConnectOptions(const config::AccountSettings& account, std::chrono::milliseconds timeout) {
    net::ConnectOptions options;
    options.host = account.endpoint.host;
    options.port = account.endpoint.port;
    options.tls.caFile = account.endpoint.caFile;
    options.tls.fingerprint = account.endpoint.tlsFingerprint;
    options.timeout = timeout;
    return options;
}

std::string accountPassword(const config::AccountSettings& account) {
    return config::resolveSecret(account.password, "account " + account.name + " password");
}

SourceLogin sourceLogin(const config::AccountSettings& account, std::chrono::milliseconds timeout) {
    if (!oauth2::usesOAuth2(account)) return {accountPassword(account), false, {}};
    return {oauth2::accessToken(account, timeout), true, [account] { oauth2::forgetAccessToken(account); }};
}

std::optional<proto::SaslMechanism> configuredSasl(config::AuthMethod method) {
    switch (method) {
        case config::AuthMethod::Auto: return std::nullopt;
        case config::AuthMethod::Plain: return proto::SaslMechanism::Plain;
        case config::AuthMethod::Login: return proto::SaslMechanism::Login;
        case config::AuthMethod::XOAuth2: return proto::SaslMechanism::XOAuth2;
        case config::AuthMethod::OAuthBearer: return proto::SaslMechanism::OAuthBearer;
    }
    return std::nullopt;
}

}  // namespace mc::collector
