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
