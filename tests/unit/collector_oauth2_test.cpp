// The OAuth2 token client's pure parts: token replies, the expiry cache (with an injected clock),
// device-flow poll outcomes, provider endpoints, and the refresh-token file (0600, no symlinks).

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "collector/oauth2/AccessTokens.hpp"
#include "collector/oauth2/DeviceAuthorization.hpp"
#include "collector/oauth2/TokenEndpoint.hpp"

namespace mc::collector::oauth2 {
namespace {

using namespace std::chrono_literals;

TEST(OAuth2TokenReply, GrantWithRotationAndDefaults) {
    auto grant = parseTokenGrant(
        {200,
         {{"access_token", "ya29.x"}, {"expires_in", "3599"}, {"refresh_token", "1//new"}, {"token_type", "Bearer"}}});
    ASSERT_TRUE(grant);
    EXPECT_EQ(grant->accessToken, "ya29.x");
    EXPECT_EQ(grant->expiresIn, 3599s);
    EXPECT_EQ(grant->refreshToken, "1//new");
    auto plain = parseTokenGrant({200, {{"access_token", "t"}, {"expires_in", "soon"}}});
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->expiresIn, 3600s);
    EXPECT_TRUE(plain->refreshToken.empty());
}

TEST(OAuth2TokenReply, ErrorsAreDescribedWithoutTheRequest) {
    JsonReply revoked{400, {{"error", "invalid_grant"}, {"error_description", "Token has been expired or revoked."}}};
    EXPECT_FALSE(parseTokenGrant(revoked));
    EXPECT_EQ(describeError(revoked), "invalid_grant (Token has been expired or revoked.)");
    EXPECT_FALSE(parseTokenGrant({200, {{"token_type", "Bearer"}}}));
    EXPECT_EQ(describeError({200, {}}), "no access_token in the reply");
    EXPECT_FALSE(parseTokenGrant({500, {{"access_token", "t"}}}));
    EXPECT_EQ(describeError({503, {}}), "HTTP 503");
    EXPECT_EQ(describeError({400, {{"error", "x\ny"}}}), "x?y");
}

TEST(OAuth2Cache, TokensLapseBeforeTheyExpire) {
    auto now = std::chrono::steady_clock::time_point{} + 1000s;
    AccessTokenCache cache([&] { return now; }, 60s);
    cache.store("a", "token-a", 3600s);
    EXPECT_EQ(cache.find("a"), "token-a");
    EXPECT_FALSE(cache.find("b"));
    now += 3539s;
    EXPECT_EQ(cache.find("a"), "token-a");
    now += 1s;  // 60 s before expiry
    EXPECT_FALSE(cache.find("a"));
    cache.store("short", "token-s", 10s);  // margin at most half the lifetime
    now += 4s;
    EXPECT_EQ(cache.find("short"), "token-s");
    now += 1s;
    EXPECT_FALSE(cache.find("short"));
    cache.store("a", "token-a2", 3600s);
    cache.forget("a");
    EXPECT_FALSE(cache.find("a"));
}

TEST(OAuth2DeviceFlow, PollOutcomes) {
    EXPECT_EQ(classifyDevicePoll(""), DevicePoll::Granted);
    EXPECT_EQ(classifyDevicePoll("authorization_pending"), DevicePoll::Pending);
    EXPECT_EQ(classifyDevicePoll("slow_down"), DevicePoll::SlowDown);
    EXPECT_EQ(classifyDevicePoll("access_denied"), DevicePoll::Failed);
    EXPECT_EQ(classifyDevicePoll("expired_token"), DevicePoll::Failed);
}

TEST(OAuth2Providers, EndpointsAndOverrides) {
    config::AccountSettings account;
    account.oauth2Provider = "google";
    auto google = providerEndpoints(account);
    EXPECT_EQ(google.tokenUrl, "https://oauth2.googleapis.com/token");
    EXPECT_EQ(google.deviceUrl, "https://oauth2.googleapis.com/device/code");
    EXPECT_EQ(google.scope, "https://mail.google.com/");
    account.oauth2Provider = "microsoft";
    auto microsoft = providerEndpoints(account);
    EXPECT_EQ(microsoft.tokenUrl, "https://login.microsoftonline.com/common/oauth2/v2.0/token");
    EXPECT_NE(microsoft.scope.find("offline_access"), std::string::npos);
    account.oauth2Provider = "custom";
    EXPECT_THROW(providerEndpoints(account), OAuth2Error);
    account.oauth2TokenUrl = "https://idp.example/token";
    auto custom = providerEndpoints(account);
    EXPECT_EQ(custom.tokenUrl, "https://idp.example/token");
    EXPECT_TRUE(custom.deviceUrl.empty());
    account.oauth2Provider = "yahoo";
    EXPECT_THROW(providerEndpoints(account), OAuth2Error);
}

TEST(OAuth2Providers, AutoUsesOAuthOnlyWithATokenSource) {
    config::AccountSettings account;
    EXPECT_FALSE(usesOAuth2(account));
    account.oauth2Provider = "google";  // settings alone are not a token source
    EXPECT_FALSE(usesOAuth2(account));
    account.oauth2RefreshTokenFile = "/x";
    EXPECT_TRUE(usesOAuth2(account));
    account.auth = config::AuthMethod::Plain;
    EXPECT_FALSE(usesOAuth2(account));
    account = {};
    account.oauth2TokenCommand = "print-token";
    EXPECT_TRUE(usesOAuth2(account));
    account = {};
    account.auth = config::AuthMethod::OAuthBearer;
    EXPECT_TRUE(usesOAuth2(account));
}

class OAuth2Files : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/mc-oauth2-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::filesystem::path dir_;
};

TEST_F(OAuth2Files, WritesAtomicallyWithMode0600) {
    auto path = (dir_ / "refresh").string();
    { std::ofstream(path) << "old\n"; }
    ::chmod(path.c_str(), 0644);
    writeSecretFile(path, "1//new-token", "oauth2_refresh_token_file");
    struct stat info {};
    ASSERT_EQ(::stat(path.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    EXPECT_EQ(readSecretFile(path, "oauth2_refresh_token_file"), "1//new-token");
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), std::filesystem::directory_iterator()), 1);
}

TEST_F(OAuth2Files, RefusesSymlinksAndReportsWithoutContent) {
    auto target = (dir_ / "elsewhere").string();
    { std::ofstream(target) << "keep\n"; }
    auto link = (dir_ / "refresh").string();
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    EXPECT_THROW(writeSecretFile(link, "secret-value", "oauth2_refresh_token_file"), OAuth2Error);
    EXPECT_EQ(readSecretFile(target, "x"), "keep");
    try {
        readSecretFile((dir_ / "missing").string(), "oauth2_client_secret_file");
        FAIL();
    } catch (const OAuth2Error& e) {
        EXPECT_NE(std::string(e.what()).find("oauth2_client_secret_file"), std::string::npos);
    }
    auto empty = (dir_ / "empty").string();
    { std::ofstream(empty) << "\n"; }
    EXPECT_THROW(readSecretFile(empty, "x"), OAuth2Error);
}

}  // namespace
}  // namespace mc::collector::oauth2
