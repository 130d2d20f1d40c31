#pragma once
// Base64 (RFC 4648) and SASL client messages (PLAIN RFC 4616, LOGIN, XOAUTH2). Pure.

#include <optional>
#include <string>
#include <string_view>

namespace mc::proto {

std::string base64Encode(std::string_view bytes);
// Strict: nullopt on characters outside the alphabet, bad padding or length.
std::optional<std::string> base64Decode(std::string_view text);

// "\0user\0password", base64-encoded.
std::string saslPlain(std::string_view user, std::string_view password);
// "user=U\x01auth=Bearer T\x01\x01", base64-encoded.
std::string saslXoauth2(std::string_view user, std::string_view accessToken);

}  // namespace mc::proto
