#include "collector/oauth2/AccessTokens.hpp"

#include <spdlog/spdlog.h>

#include <memory>

#include "collector/oauth2/TokenEndpoint.hpp"

namespace mc::collector::oauth2 {
namespace {

std::string cacheKey(const config::AccountSettings& account) {
    return account.name + "\n" + account.oauth2RefreshTokenFile;
}

AccessTokenCache& processCache() {
    static AccessTokenCache cache;
    return cache;
}

// One refresh at a time per account: concurrent IDLE connections wait for the first one's token.
std::shared_ptr<std::mutex> refreshLock(const std::string& key) {
    static std::mutex mutex;
    static std::map<std::string, std::shared_ptr<std::mutex>> locks;
    std::lock_guard lock(mutex);
    auto& slot = locks[key];
    if (!slot) slot = std::make_shared<std::mutex>();
    return slot;
}

std::string refreshAccessToken(const config::AccountSettings& account, std::chrono::milliseconds timeout) {
    const std::string prefix = "account " + account.name + " OAuth2: ";
    try {
        ProviderEndpoints endpoints = providerEndpoints(account);
        if (account.oauth2ClientId.empty()) throw OAuth2Error("oauth2_client_id is not set");
        std::string refreshToken = readSecretFile(account.oauth2RefreshTokenFile, "oauth2_refresh_token_file");
        proto::FormFields fields{
            {"grant_type", "refresh_token"}, {"client_id", account.oauth2ClientId}, {"refresh_token", refreshToken}};
        if (!account.oauth2ClientSecretFile.empty())
            fields.emplace_back("client_secret",
                                readSecretFile(account.oauth2ClientSecretFile, "oauth2_client_secret_file"));
        JsonReply reply =
            postForm(endpoints.tokenUrl, fields, net::TlsPolicy{account.endpoint.caFile, "", true}, timeout);
        auto grant = parseTokenGrant(reply);
        if (!grant) {
            std::string problem = "the token endpoint refused the refresh token: " + describeError(reply);
            if (reply.members.count("error") && reply.members.at("error") == "invalid_grant")
                problem += "; run `mailcollector oauth2 authorize --account " + account.name + "` again";
            throw OAuth2Error(problem);
        }
        if (!grant->refreshToken.empty() && grant->refreshToken != refreshToken) {
            // The access token is good either way; failing to keep the new refresh token only
            // matters once the old one stops working, so it is an error in the log, not a failed poll.
            try {
                writeSecretFile(account.oauth2RefreshTokenFile, grant->refreshToken, "oauth2_refresh_token_file");
                spdlog::info("account={} OAuth2: the provider rotated the refresh token; {} updated", account.name,
                             account.oauth2RefreshTokenFile);
            } catch (const OAuth2Error& e) {
                spdlog::error("account={} OAuth2: cannot keep the rotated refresh token: {}", account.name, e.what());
            }
        }
        processCache().store(cacheKey(account), grant->accessToken, grant->expiresIn);
        return grant->accessToken;
    } catch (const OAuth2Error& e) {
        throw OAuth2Error(prefix + e.what());
    }
}

}  // namespace

bool usesOAuth2(const config::AccountSettings& account) {
    using config::AuthMethod;
    if (account.auth == AuthMethod::XOAuth2 || account.auth == AuthMethod::OAuthBearer) return true;
    return account.auth == AuthMethod::Auto &&
           (!account.oauth2TokenCommand.empty() || !account.oauth2RefreshTokenFile.empty());
}

AccessTokenCache::AccessTokenCache(Clock now, std::chrono::seconds margin) : now_(std::move(now)), margin_(margin) {}

std::optional<std::string> AccessTokenCache::find(const std::string& key) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end() || now_() >= it->second.usableUntil) return std::nullopt;
    return it->second.token;
}

void AccessTokenCache::store(const std::string& key, const std::string& token, std::chrono::seconds expiresIn) {
    auto margin = std::min(margin_, expiresIn / 2);
    std::lock_guard lock(mutex_);
    entries_[key] = Entry{token, now_() + expiresIn - margin};
}

void AccessTokenCache::forget(const std::string& key) {
    std::lock_guard lock(mutex_);
    entries_.erase(key);
}

std::string accessToken(const config::AccountSettings& account, std::chrono::milliseconds timeout) {
    if (!account.oauth2TokenCommand.empty())
        return config::resolveSecret({config::SecretSource::Kind::Command, account.oauth2TokenCommand},
                                     "account " + account.name + " oauth2_token_command");
    if (account.oauth2RefreshTokenFile.empty())
        return config::resolveSecret(account.password, "account " + account.name + " OAuth2 access token");
    const std::string key = cacheKey(account);
    if (auto cached = processCache().find(key)) return *cached;
    auto lock = refreshLock(key);
    std::lock_guard guard(*lock);
    if (auto cached = processCache().find(key)) return *cached;  // another thread just refreshed
    return refreshAccessToken(account, timeout);
}

void forgetAccessToken(const config::AccountSettings& account) { processCache().forget(cacheKey(account)); }

}  // namespace mc::collector::oauth2
