#include "collector/oauth2/DeviceAuthorization.hpp"

#include "collector/oauth2/AccessTokens.hpp"
#include "collector/oauth2/TokenEndpoint.hpp"

namespace mc::collector::oauth2 {
namespace {

constexpr std::chrono::seconds kDefaultInterval{5};  // RFC 8628 3.2
constexpr std::chrono::seconds kSlowDownStep{5};     // RFC 8628 3.5

std::chrono::seconds secondsMember(const JsonReply& reply, const char* name, std::chrono::seconds fallback) {
    auto it = reply.members.find(name);
    if (it == reply.members.end()) return fallback;
    try {
        std::size_t used = 0;
        long long value = std::stoll(it->second, &used);
        if (used == it->second.size() && value >= 0 && value < 86400) return std::chrono::seconds(value);
    } catch (const std::exception&) {
    }
    return fallback;
}

std::string member(const JsonReply& reply, const char* name) {
    auto it = reply.members.find(name);
    return it == reply.members.end() ? "" : it->second;
}

}  // namespace

DevicePoll classifyDevicePoll(const std::string& error) {
    if (error.empty()) return DevicePoll::Granted;
    if (error == "authorization_pending") return DevicePoll::Pending;
    if (error == "slow_down") return DevicePoll::SlowDown;
    return DevicePoll::Failed;  // access_denied, expired_token, invalid_client, ...
}

void authorizeDevice(const config::AccountSettings& account, std::ostream& out, const DeviceFlowHooks& hooks) {
    ProviderEndpoints endpoints = providerEndpoints(account);
    if (endpoints.deviceUrl.empty())
        throw OAuth2Error(
            "no device authorization endpoint is known for this provider: set oauth2_device_url, "
            "use oauth2_token_command, or prepare oauth2_refresh_token_file by other means");
    if (account.oauth2ClientId.empty()) throw OAuth2Error("oauth2_client_id is not set");
    if (account.oauth2RefreshTokenFile.empty())
        throw OAuth2Error("oauth2_refresh_token_file is not set: there is nowhere to store the refresh token");
    std::string clientSecret;
    if (!account.oauth2ClientSecretFile.empty())
        clientSecret = readSecretFile(account.oauth2ClientSecretFile, "oauth2_client_secret_file");
    const net::TlsPolicy tls{account.endpoint.caFile, "", true};

    proto::FormFields request{{"client_id", account.oauth2ClientId}};
    if (!endpoints.scope.empty()) request.emplace_back("scope", endpoints.scope);
    JsonReply device = postForm(endpoints.deviceUrl, request, tls, hooks.timeout);
    std::string deviceCode = member(device, "device_code");
    std::string userCode = member(device, "user_code");
    // RFC 8628 says verification_uri; Google sends verification_url.
    std::string verification = member(device, "verification_uri");
    if (verification.empty()) verification = member(device, "verification_url");
    if (device.status / 100 != 2 || deviceCode.empty() || userCode.empty() || verification.empty())
        throw OAuth2Error("the device authorization endpoint refused: " + describeError(device));
    auto interval = secondsMember(device, "interval", kDefaultInterval);
    auto lifetime = secondsMember(device, "expires_in", std::chrono::seconds(1800));

    out << "To authorize account " << account.name << ", open\n\n    " << verification
        << "\n\nand enter the code\n\n    " << userCode << "\n\nWaiting (the code expires in " << lifetime.count() / 60
        << " minutes)...\n"
        << std::flush;

    proto::FormFields poll{{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
                           {"device_code", deviceCode},
                           {"client_id", account.oauth2ClientId}};
    if (!clientSecret.empty()) poll.emplace_back("client_secret", clientSecret);
    for (;;) {
        hooks.sleep(interval);
        JsonReply reply = postForm(endpoints.tokenUrl, poll, tls, hooks.timeout);
        std::string error = member(reply, "error");
        if (error.empty() && reply.status / 100 != 2) error = "HTTP " + std::to_string(reply.status);
        switch (classifyDevicePoll(error)) {
            case DevicePoll::Pending:
                continue;
            case DevicePoll::SlowDown:
                interval += kSlowDownStep;
                continue;
            case DevicePoll::Failed:
                if (error == "access_denied") throw OAuth2Error("the authorization was denied");
                if (error == "expired_token")
                    throw OAuth2Error("the code expired before it was entered; run the command again");
                throw OAuth2Error("the token endpoint refused: " + describeError(reply));
            case DevicePoll::Granted:
                break;
        }
        auto grant = parseTokenGrant(reply);
        if (!grant) throw OAuth2Error("the token endpoint sent no access token: " + describeError(reply));
        if (grant->refreshToken.empty())
            throw OAuth2Error(
                "the provider granted access but issued no refresh token (for Microsoft, the scope "
                "needs offline_access)");
        writeSecretFile(account.oauth2RefreshTokenFile, grant->refreshToken, "oauth2_refresh_token_file");
        forgetAccessToken(account);
        out << "Authorized. The refresh token is stored in " << account.oauth2RefreshTokenFile << " (mode 0600).\n";
        return;
    }
}

}  // namespace mc::collector::oauth2
