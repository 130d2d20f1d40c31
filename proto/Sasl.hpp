#pragma once
// SASL client messages (PLAIN RFC 4616, LOGIN, XOAUTH2, OAUTHBEARER
// RFC 7628), and the OAuth error challenge servers send when they refuse a token. Pure.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "proto/Base64.hpp"

namespace mc::proto {

// How a client logs in. Login: POP3 USER/PASS (or SASL LOGIN when offered), the IMAP LOGIN command.
enum class SaslMechanism { Plain, Login, XOAuth2, OAuthBearer };
// One choice for POP3, the IMAP source and the IMAP target: the configured mechanism when there is
// one; else, with an OAuth2 token, XOAUTH2 unless the server offers only OAUTHBEARER; else PLAIN
// when offered, otherwise Login. `offered` tells whether the server announces a SASL mechanism.
SaslMechanism chooseSaslMechanism(std::optional<SaslMechanism> configured, bool oauth2,
                                  const std::function<bool(std::string_view mechanism)>& offered);

// "\0user\0password", base64-encoded.
std::string saslPlain(std::string_view user, std::string_view password);
// "user=U\x01auth=Bearer T\x01\x01", base64-encoded.
std::string saslXoauth2(std::string_view user, std::string_view accessToken);
// RFC 7628 3.1: "n,a=U,\x01host=H\x01port=P\x01auth=Bearer T\x01\x01", base64-encoded; ',' and
// '=' in the user are escaped as "=2C" and "=3D" (RFC 5801 saslname).
std::string saslOAuthBearer(std::string_view user, std::string_view host, std::uint16_t port,
                            std::string_view accessToken);

// After an OAuth error challenge the client answers this (already base64 or empty) and the server
// then fails the exchange: XOAUTH2 (Google, Microsoft) wants an empty response, OAUTHBEARER a
// single %x01 (RFC 7628 3.2.3).
std::string oauthErrorAcknowledgement(bool oauthBearer);

// What a server's OAuth error challenge (base64 JSON, RFC 7628 3.2.2; Google's XOAUTH2 sends the
// same) says. Fields are empty when absent.
struct OAuthErrorChallenge {
    std::string status;  // "invalid_token", "401", ...
    std::string scope;
    std::string schemes;
};
// nullopt when CHALLENGE is not base64 of a JSON object.
std::optional<OAuthErrorChallenge> parseOAuthErrorChallenge(std::string_view challenge);
// "status 401, scope https://mail.google.com/" (printable ASCII only, bounded), or "no details".
std::string describeOAuthError(const std::optional<OAuthErrorChallenge>& error);

}  // namespace mc::proto
