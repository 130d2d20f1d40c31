#include <gtest/gtest.h>

#include <string>

#include "proto/ModifiedUtf7.hpp"

namespace mc::proto {
namespace {

using namespace std::string_literals;

void expectRoundTrip(const std::string& utf8, const std::string& encoded) {
    EXPECT_EQ(modifiedUtf7Encode(utf8), encoded) << utf8;
    EXPECT_EQ(modifiedUtf7Decode(encoded), utf8) << encoded;
}

TEST(ModifiedUtf7, AsciiIsItself) {
    expectRoundTrip("", "");
    expectRoundTrip("INBOX", "INBOX");
    expectRoundTrip("Sent Items/2024 ~x", "Sent Items/2024 ~x");
    expectRoundTrip("[Gmail]/All Mail", "[Gmail]/All Mail");
}

TEST(ModifiedUtf7, Ampersand) {
    expectRoundTrip("&", "&-");
    expectRoundTrip("Tom & Jerry", "Tom &- Jerry");
    expectRoundTrip("&&", "&-&-");
}

TEST(ModifiedUtf7, GermanAndJapanese) {
    expectRoundTrip("Entw\xc3\xbcrfe", "Entw&APw-rfe");
    expectRoundTrip("Gel\xc3\xb6schte Elemente", "Gel&APY-schte Elemente");
    expectRoundTrip("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "&ZeVnLIqe-");
    expectRoundTrip(
        "\xd0\x9e\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xbd"
        "\xd0\xbd\xd1\x8b\xd0\xb5",
        "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-");  // Отправленные: ',' for '/'
}

TEST(ModifiedUtf7, Rfc3501Examples) {
    // RFC 3501 5.1.3: "~peter/mail/台北/日本語".
    expectRoundTrip("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
                    "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
    // RFC 2152-style sequences with '&' and characters outside the BMP.
    expectRoundTrip("\xf0\x9f\x93\xa7 Mail", "&2D3c5w- Mail");  // U+1F4E7 as a surrogate pair
    expectRoundTrip("a\xc3\xa9&\xc3\xa9", "a&AOk-&-&AOk-");
    // Control characters are not printable, so they go in base64.
    expectRoundTrip("a\tb", "a&AAk-b");
}

TEST(ModifiedUtf7, RejectsMalformedEncodings) {
    for (const std::string& bad : {
             "&"s,                // not closed
             "Entw&APw"s,         // not closed
             "&APw-&APw-"s,       // two shifts in a row: one would do
             "&AGE-"s,            // "a" must represent itself
             "&ACY-"s,            // "&" must be "&-"
             "&APx-"s,            // non-zero padding bits
             "&APwA-"s,           // a surplus character
             "&AP-"s,             // too short for one UTF-16 unit
             "&AP/8-"s,           // '/' is not modified base64
             "&AP=8-"s,           // no padding in modified base64
             "&2D0-"s,            // a lone high surrogate
             "&3OcAZQ-"s,         // a lone low surrogate
             "&2D3YPQ-"s,         // high surrogate followed by high surrogate
             "Entw\xc3\xbcrfe"s,  // raw 8-bit
             "tab\there"s,        // raw control character
             "del\x7f"s,
         }) {
        EXPECT_FALSE(modifiedUtf7Decode(bad)) << bad;
    }
}

TEST(ModifiedUtf7, EncodeRejectsInvalidUtf8) {
    for (const std::string& bad : {
             "\xff"s,
             "\xc3"s,              // truncated
             "\xc0\xaf"s,          // overlong '/'
             "\xe0\x80\xaf"s,      // overlong
             "\xed\xa0\x80"s,      // UTF-16 surrogate
             "\xf4\x90\x80\x80"s,  // above U+10FFFF
             "a\x80"s,             // stray continuation byte
         }) {
        EXPECT_FALSE(modifiedUtf7Encode(bad)) << bad;
        EXPECT_FALSE(isValidUtf8(bad)) << bad;
    }
    EXPECT_TRUE(isValidUtf8("Entw\xc3\xbcrfe \xf0\x9f\x93\xa7"));
}

TEST(ModifiedUtf7, NulRoundTrips) { expectRoundTrip("a\0b"s, "a&AAA-b"); }

}  // namespace
}  // namespace mc::proto
