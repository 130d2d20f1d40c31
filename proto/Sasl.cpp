#include "proto/Sasl.hpp"

#include <array>
#include <cstdint>

#include "proto/Json.hpp"

namespace mc::proto {

SaslMechanism chooseSaslMechanism(std::optional<SaslMechanism> configured, bool oauth2,
                                  const std::function<bool(std::string_view mechanism)>& offered) {
    if (configured) return *configured;
    if (oauth2)
        return !offered("XOAUTH2") && offered("OAUTHBEARER") ? SaslMechanism::OAuthBearer : SaslMechanism::XOAuth2;
    return offered("PLAIN") ? SaslMechanism::Plain : SaslMechanism::Login;
}

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::int8_t kInvalid = -1;

constexpr std::array<std::int8_t, 256> makeDecodeTable() {
    std::array<std::int8_t, 256> table{};
    for (auto& entry : table) {
        entry = kInvalid;
    }
    for (int i = 0; i < 64; ++i) {
        table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
    }
    return table;
}

constexpr std::array<std::int8_t, 256> kDecodeTable = makeDecodeTable();

int sextet(char c) { return kDecodeTable[static_cast<unsigned char>(c)]; }

}  // namespace

std::string base64Encode(std::string_view bytes) {
    const auto byteAt = [bytes](std::size_t i) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]));
    };
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t group = (byteAt(i) << 16) | (byteAt(i + 1) << 8) | byteAt(i + 2);
        out.push_back(kAlphabet[(group >> 18) & 0x3F]);
        out.push_back(kAlphabet[(group >> 12) & 0x3F]);
        out.push_back(kAlphabet[(group >> 6) & 0x3F]);
        out.push_back(kAlphabet[group & 0x3F]);
    }
    const std::size_t remaining = bytes.size() - i;
    if (remaining > 0) {
        const std::uint32_t group = (byteAt(i) << 16) | (remaining == 2 ? byteAt(i + 1) << 8 : 0);
        out.push_back(kAlphabet[(group >> 18) & 0x3F]);
        out.push_back(kAlphabet[(group >> 12) & 0x3F]);
        out.push_back(remaining == 2 ? kAlphabet[(group >> 6) & 0x3F] : '=');
        out.push_back('=');
    }
    return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        // Padding may only close the final group: "xx==" or "xxx=".
        std::size_t padding = 0;
        if (last && text[i + 3] == '=') {
            padding = text[i + 2] == '=' ? 2 : 1;
        }
        std::uint32_t group = 0;
        for (std::size_t j = 0; j < 4 - padding; ++j) {
            const int value = sextet(text[i + j]);
            if (value < 0) {
                return std::nullopt;
            }
            group |= static_cast<std::uint32_t>(value) << (18 - 6 * j);
        }
        // Strict (RFC 4648 3.5): the bits that padding discards must be zero, so every byte
        // string has exactly one accepted encoding.
        if ((padding == 1 && (group & 0xFF) != 0) || (padding == 2 && (group & 0xFFFF) != 0)) {
            return std::nullopt;
        }
        out.push_back(static_cast<char>((group >> 16) & 0xFF));
        if (padding < 2) {
            out.push_back(static_cast<char>((group >> 8) & 0xFF));
        }
        if (padding < 1) {
            out.push_back(static_cast<char>(group & 0xFF));
        }
    }
    return out;
}

std::string saslPlain(std::string_view user, std::string_view password) {
    // Empty authorization identity: act as the authenticated user.
    std::string message;
    message.reserve(user.size() + password.size() + 2);
    message.push_back('\0');
    message.append(user);
    message.push_back('\0');
    message.append(password);
    return base64Encode(message);
}

std::string saslXoauth2(std::string_view user, std::string_view accessToken) {
    std::string message;
    message.reserve(user.size() + accessToken.size() + 24);
    message.append("user=");
    message.append(user);
    message.append("\001auth=Bearer ");
    message.append(accessToken);
    message.append("\001\001");
    return base64Encode(message);
}

std::string saslOAuthBearer(std::string_view user, std::string_view host, std::uint16_t port,
                            std::string_view accessToken) {
    std::string message = "n,a=";
    for (char c : user) {
        if (c == ',')
            message.append("=2C");
        else if (c == '=')
            message.append("=3D");
        else
            message.push_back(c);
    }
    message.append(",\001host=");
    message.append(host);
    message.append("\001port=");
    message.append(std::to_string(port));
    message.append("\001auth=Bearer ");
    message.append(accessToken);
    message.append("\001\001");
    return base64Encode(message);
}

std::string oauthErrorAcknowledgement(bool oauthBearer) { return oauthBearer ? base64Encode("\001") : ""; }

std::optional<OAuthErrorChallenge> parseOAuthErrorChallenge(std::string_view challenge) {
    auto json = base64Decode(challenge);
    if (!json) return std::nullopt;
    auto members = parseJsonObjectScalars(*json);
    if (!members) return std::nullopt;
    OAuthErrorChallenge error;
    auto take = [&](const char* name, std::string& into) {
        if (auto it = members->find(name); it != members->end()) into = it->second;
    };
    take("status", error.status);
    take("scope", error.scope);
    take("schemes", error.schemes);
    return error;
}

std::string describeOAuthError(const std::optional<OAuthErrorChallenge>& error) {
    auto clean = [](const std::string& text) {
        std::string out;
        for (char c : text.substr(0, 120)) out.push_back(c >= 0x20 && c < 0x7F ? c : '?');
        return out;
    };
    std::string text;
    if (error && !error->status.empty()) text = "status " + clean(error->status);
    if (error && !error->scope.empty())
        text += (text.empty() ? "" : ", ") + std::string("scope ") + clean(error->scope);
    return text.empty() ? "no details" : text;
}

}  // namespace mc::proto
