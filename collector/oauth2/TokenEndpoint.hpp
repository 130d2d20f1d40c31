#pragma once
// Talking to an OAuth2 provider (RFC 6749): where its token and device-code endpoints are, one
// form POST over a verified TLS connection, and what a token reply says. Error messages name the
// provider's error code and description, never a token, client secret or form body.

#include <chrono>
#include <map>
#include <stdexcept>
#include <string>

#include "config/Config.hpp"
#include "net/Transport.hpp"
#include "proto/Http.hpp"

namespace mc::collector::oauth2 {

// The token cannot be had: the provider refused it or cannot be used as configured.
class OAuth2Error : public proto::Failure {
public:
    explicit OAuth2Error(const std::string& what) : proto::Failure(proto::FailureKind::Authentication, what) {}
};

struct ProviderEndpoints {
    std::string tokenUrl;
    std::string deviceUrl;  // empty: no device authorization grant known for the provider
    std::string scope;      // what `oauth2 authorize` asks for
};
// google, microsoft, or custom (oauth2_token_url and oauth2_device_url, which also override the
// built-in ones).
// Throws OAuth2Error for an unknown provider or a custom one without oauth2_token_url.
ProviderEndpoints providerEndpoints(const config::AccountSettings& account);

struct JsonReply {
    int status = 0;
    std::map<std::string, std::string> members;  // top-level scalars of the JSON body
};
// POSTs FIELDS to URL (https only; TLS verified against the system store plus TLS.caFile) and
// parses the JSON reply, whatever its HTTP status. Throws OAuth2Error naming the host.
JsonReply postForm(const std::string& url, const proto::FormFields& fields, const net::TlsPolicy& tls,
                   std::chrono::milliseconds timeout);

struct TokenGrant {
    std::string accessToken;
    std::chrono::seconds expiresIn{3600};  // the default when the provider does not say
    std::string refreshToken;              // set when the provider issued (or rotated) one
};
// The successful token reply (RFC 6749 5.1); nullopt when it carries an "error" (see
// describeError) or no access_token.
std::optional<TokenGrant> parseTokenGrant(const JsonReply& reply);
// "invalid_grant (Token has been expired or revoked.)"; bounded, printable ASCII only.
std::string describeError(const JsonReply& reply);

// The first line of a small file holding a secret (a client secret, a refresh token). WHAT names it
// in errors ("oauth2_refresh_token_file").
std::string readSecretFile(const std::string& path, const std::string& what);
// Replaces PATH atomically (temporary file, fsync, rename) with CONTENT and a newline, mode 0600.
// Refuses when PATH is a symbolic link.
void writeSecretFile(const std::string& path, const std::string& content, const std::string& what);

}  // namespace mc::collector::oauth2
