#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "proto/Sasl.hpp"

namespace mc::proto {
namespace {

using namespace std::string_literals;

TEST(Base64, Rfc4648Vectors) {
    const std::pair<std::string, std::string> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        SCOPED_TRACE(plain);
        EXPECT_EQ(base64Encode(plain), encoded);
        EXPECT_EQ(base64Decode(encoded), plain);
    }
}

TEST(Base64, BinaryBytes) {
    const std::string bytes = "\0\xff\xfe\x80\n"s;
    EXPECT_EQ(base64Encode(bytes), "AP/+gAo=");
    EXPECT_EQ(base64Decode("AP/+gAo="), bytes);
}

TEST(Base64, DecodeIsStrict) {
    for (std::string_view text : {"Zg=", "Zg", "Z", "Zm9", "Zm9v ", " Zm9v", "Zm 9v", "Zm9v\r\n", "Zg==Zg==", "Z===",
                                  "====", "Zm=v", "Zm9v=", "Zm9-", "Zm9_", "Zh==", "Zm9=", "Zm8=Zm8="}) {
        SCOPED_TRACE(std::string(text));
        EXPECT_EQ(base64Decode(text), std::nullopt);
    }
    EXPECT_EQ(base64Decode("Zm8="), "fo");
    EXPECT_EQ(base64Decode("Zg=="), "f");
}

TEST(Base64, RandomRoundTrip) {
    std::mt19937 rng(4648);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<std::size_t> length(0, 64);
    for (int i = 0; i < 2000; ++i) {
        std::string bytes(length(rng), '\0');
        for (char& c : bytes) {
            c = static_cast<char>(byte(rng));
        }
        const std::string encoded = base64Encode(bytes);
        ASSERT_EQ(encoded.size(), (bytes.size() + 2) / 3 * 4);
        ASSERT_EQ(base64Decode(encoded), bytes);
    }
}

TEST(Sasl, PlainRfc4616Example) {
    EXPECT_EQ(saslPlain("tim", "tanstaaftanstaaf"), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
    EXPECT_EQ(base64Decode(saslPlain("tim", "tanstaaftanstaaf")), "\0tim\0tanstaaftanstaaf"s);
}

TEST(Sasl, PlainWithNonAsciiPassword) {
    EXPECT_EQ(base64Decode(saslPlain("u@example.org", "p\xc3\xa4ss")), "\0u@example.org\0p\xc3\xa4ss"s);
}

TEST(Sasl, Xoauth2DocumentedExample) {
    EXPECT_EQ(saslXoauth2("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"),
              "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbG"
              "NrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
    EXPECT_EQ(base64Decode(saslXoauth2("u", "t")), "user=u\001auth=Bearer t\001\001"s);
}

// The one mechanism choice of POP3, the IMAP source and the IMAP target.
TEST(SaslChoice, ConfiguredWinsElsePlainWhenOfferedElseLogin) {
    auto offering = [](std::vector<std::string> names) {
        return [names](std::string_view name) { return std::find(names.begin(), names.end(), name) != names.end(); };
    };
    EXPECT_EQ(chooseSaslMechanism(SaslMechanism::Login, false, offering({"PLAIN"})), SaslMechanism::Login);
    EXPECT_EQ(chooseSaslMechanism(std::nullopt, false, offering({"PLAIN", "LOGIN"})), SaslMechanism::Plain);
    EXPECT_EQ(chooseSaslMechanism(std::nullopt, false, offering({"LOGIN"})), SaslMechanism::Login);
    EXPECT_EQ(chooseSaslMechanism(std::nullopt, false, offering({})), SaslMechanism::Login);
}

TEST(SaslChoice, OAuth2TokenPrefersXoauth2UnlessOnlyOauthbearerIsOffered) {
    auto offering = [](std::vector<std::string> names) {
        return [names](std::string_view name) { return std::find(names.begin(), names.end(), name) != names.end(); };
    };
    EXPECT_EQ(chooseSaslMechanism(std::nullopt, true, offering({"PLAIN", "XOAUTH2", "OAUTHBEARER"})),
              SaslMechanism::XOAuth2);
    EXPECT_EQ(chooseSaslMechanism(std::nullopt, true, offering({"PLAIN", "OAUTHBEARER"})), SaslMechanism::OAuthBearer);
    EXPECT_EQ(chooseSaslMechanism(std::nullopt, true, offering({"PLAIN"})), SaslMechanism::XOAuth2);
}

}  // namespace
}  // namespace mc::proto
