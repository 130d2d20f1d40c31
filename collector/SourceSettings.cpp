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

}  // namespace mc::collector
