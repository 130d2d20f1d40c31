#pragma once
// OAuth2 access tokens for source accounts: from oauth2_token_command, or by the refresh-token
// grant against the provider's token endpoint (a rotated refresh token is written back to
// oauth2_refresh_token_file), cached per account in memory until shortly before they expire.
// Thread-safe: IDLE watchers and polls of one account share one token and one refresh.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "config/Config.hpp"

namespace mc::collector::oauth2 {

// True when the account logs in with an OAuth2 access token: auth = "xoauth2"/"oauthbearer", or
// auth = "auto" with oauth2_token_command or oauth2_refresh_token_file set.
bool usesOAuth2(const config::AccountSettings& account);

// Tokens by key with their expiry. A token is handed out until `margin` before it expires (at
// most half its lifetime), so a session never starts with one about to lapse.
class AccessTokenCache {
public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;
    explicit AccessTokenCache(
        Clock now = [] { return std::chrono::steady_clock::now(); },
        std::chrono::seconds margin = std::chrono::seconds(60));

    std::optional<std::string> find(const std::string& key) const;
    void store(const std::string& key, const std::string& token, std::chrono::seconds expiresIn);
    void forget(const std::string& key);

private:
    struct Entry {
        std::string token;
        std::chrono::steady_clock::time_point usableUntil;
    };
    Clock now_;
    std::chrono::seconds margin_;
    mutable std::mutex mutex_;
    std::map<std::string, Entry> entries_;
};

// The access token to log in with now. Source: oauth2_token_command (run every time: the
// command does its own caching), else the refresh-token grant (cached), else the account's
// password_* keys (a token kept by other means). TIMEOUT bounds the HTTPS exchange. Throws
// OAuth2Error or ConfigError naming the account and the problem, never a secret.
std::string accessToken(const config::AccountSettings& account, std::chrono::milliseconds timeout);
// Drops the cached token, e.g. after the server refused it, so the next login refreshes.
void forgetAccessToken(const config::AccountSettings& account);

}  // namespace mc::collector::oauth2
