#pragma once
// A fake OAuth2 provider over HTTPS (Poco HTTPServer on a SecureServerSocket with a test-CA
// certificate, 127.0.0.1, port 0): the token endpoint (/token: refresh_token and device_code
// grants) and the device authorization endpoint (/device, RFC 8628). It checks every form field
// against its options and answers as Google does, including errors (invalid_grant,
// authorization_pending). Every request is recorded (path and decoded form) for assertions.
//
// Also the SASL side of OAuth2 for the POP3 and IMAP fakes: what a valid XOAUTH2 / OAUTHBEARER
// initial response is, and the error challenge a server sends for a wrong token.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mc::testing {

struct FakeOAuth2Options {
    std::string certFile, keyFile;
    std::string clientId = "client-id-42.apps.example";
    std::string clientSecret = "client-Secret-9Zt";
    // refresh_token grant: this refresh token is accepted and answered with accessToken.
    std::string refreshToken = "refresh-Token-1Ab";
    std::string accessToken = "access-Token-5Yw";
    int expiresIn = 3600;
    // When set, the first successful refresh also returns this refresh token and accepts only it
    // from then on (rotation).
    std::string rotatedRefreshToken;
    // Every refresh is refused with 400 invalid_grant (a revoked grant).
    bool revoked = false;
    // Device flow.
    std::string scope = "https://mail.google.com/";
    std::string deviceCode = "device-Code-3Mn";
    std::string userCode = "WDJB-MJHT";
    int interval = 1;
    int pendingPolls = 2;  // answered authorization_pending before the grant
    bool denied = false;   // answer access_denied instead of the grant
    std::string deviceRefreshToken = "device-Refresh-8Qr";
};

struct FakeOAuth2Request {
    std::string path;
    std::map<std::string, std::string> form;
};

class FakeOAuth2Server {
public:
    explicit FakeOAuth2Server(FakeOAuth2Options options);
    ~FakeOAuth2Server();

    std::uint16_t port() const;
    std::string tokenUrl() const;   // https://127.0.0.1:PORT/token
    std::string deviceUrl() const;  // https://127.0.0.1:PORT/device

    std::vector<FakeOAuth2Request> requests() const;
    std::size_t count(const std::string& grantTypeOrPath) const;  // by grant_type, or "/device"
    // Form fields that did not match (wrong client_id, secret, scope...), for EXPECT_TRUE(empty).
    std::vector<std::string> failures() const;

    struct Shared;

private:
    std::shared_ptr<Shared> shared_;
    struct Server;
    std::unique_ptr<Server> server_;
};

// True when DECODED is the XOAUTH2 ("user=U\1auth=Bearer T\1\1") or OAUTHBEARER
// ("n,a=U,\1host=...\1port=...\1auth=Bearer T\1\1") initial response for USER and TOKEN.
bool validOAuthResponse(const std::string& decoded, const std::string& user, const std::string& token);
// The base64 JSON error challenge Google sends for a refused token.
std::string oauthErrorChallenge();
std::string base64EncodeForTest(const std::string& bytes);

}  // namespace mc::testing
