// The shared text helpers: UTF-8 decoding and encoding, the base64 alphabets, printable.

#include <gtest/gtest.h>

#include <string>

#include "proto/AsciiText.hpp"
#include "proto/Base64.hpp"
#include "proto/SafeText.hpp"
#include "proto/Utf8.hpp"

namespace mc::proto {
namespace {

using namespace std::string_literals;

TEST(Utf8, DecodesEachLengthAndAdvances) {
    const std::string text = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";  // a é € 😀
    std::size_t pos = 0;
    EXPECT_EQ(decodeUtf8(text, pos), U'a');
    EXPECT_EQ(decodeUtf8(text, pos), U'\u00e9');
    EXPECT_EQ(decodeUtf8(text, pos), U'\u20ac');
    EXPECT_EQ(decodeUtf8(text, pos), U'\U0001F600');
    EXPECT_EQ(pos, text.size());
}

TEST(Utf8, RefusesWhatTheValidatorRefusesAndStays) {
    for (const std::string bad : {"\xff"s, "\xc0\xaf"s, "\xed\xa0\x80"s, "\xf4\x90\x80\x80"s, "\xe2\x82"s}) {
        std::size_t pos = 0;
        EXPECT_EQ(decodeUtf8(bad, pos), std::nullopt) << bad;
        EXPECT_EQ(pos, 0u);
    }
}

TEST(Utf8, EncodesWhatItDecodes) {
    for (char32_t cp : {U'\0', U'\x7f', U'\x80', U'\u07ff', U'\u0800', U'\uffff', U'\U00010000', U'\U0010FFFF'}) {
        std::string out;
        appendUtf8(out, cp);
        std::size_t pos = 0;
        EXPECT_EQ(decodeUtf8(out, pos), cp);
        EXPECT_EQ(pos, out.size());
    }
}

TEST(Base64, TheTwoAlphabetsDifferOnlyInTheLastDigit) {
    EXPECT_EQ(kBase64Standard.digit(63), '/');
    EXPECT_EQ(kBase64ImapMailbox.digit(63), ',');
    EXPECT_EQ(kBase64ImapMailbox.value('/'), -1);
    EXPECT_EQ(kBase64Standard.value(','), -1);
    for (std::uint32_t i = 0; i < 63; ++i) {
        EXPECT_EQ(kBase64Standard.digit(i), kBase64ImapMailbox.digit(i));
        EXPECT_EQ(kBase64Standard.value(kBase64Standard.digit(i)), static_cast<int>(i));
    }
    EXPECT_EQ(base64Encode("\xfb\xff"s), "+/8=");
    EXPECT_EQ(base64Decode("+/8="), "\xfb\xff"s);
    EXPECT_EQ(base64Decode("+/9="), std::nullopt) << "discarded bits must be zero";
}

TEST(Printable, EscapesEveryByteButPrintableAsciiAndCaps) {
    EXPECT_EQ(printable("OK caf\xc3\xa9\r\n\x1b"), "OK caf\\xc3\\xa9\\x0d\\x0a\\x1b");
    EXPECT_EQ(printable(std::string(300, 'a')), std::string(200, 'a') + "...");
    EXPECT_EQ(printable("abcdef", 3), "abc...");
}

TEST(AsciiText, Sha256FingerprintIs64HexDigitsColonsAllowed) {
    const std::string hex(64, 'a');
    EXPECT_TRUE(isSha256Fingerprint(hex));
    EXPECT_TRUE(isSha256Fingerprint("AB:cd:" + hex.substr(4)));
    EXPECT_FALSE(isSha256Fingerprint(hex.substr(1)));
    EXPECT_FALSE(isSha256Fingerprint(hex + "0"));
    EXPECT_FALSE(isSha256Fingerprint("g" + hex.substr(1)));
}

}  // namespace
}  // namespace mc::proto
