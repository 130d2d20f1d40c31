// Server text made safe for the terminal and for JSON: one UTF-8 validator, one escaper each.

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "proto/SafeText.hpp"

namespace mc::proto {
namespace {

TEST(SafeText, Utf8Validity) {
    EXPECT_TRUE(isValidUtf8("plain"));
    EXPECT_TRUE(isValidUtf8("Grüße €½ 😀"));
    EXPECT_FALSE(isValidUtf8("\xff"));
    EXPECT_FALSE(isValidUtf8("\xc0\xaf")) << "overlong";
    EXPECT_FALSE(isValidUtf8("\xed\xa0\x80")) << "surrogate";
    EXPECT_FALSE(isValidUtf8("\xf4\x90\x80\x80")) << "above U+10FFFF";
    EXPECT_FALSE(isValidUtf8("\xe2\x82")) << "truncated";
    EXPECT_EQ(utf8SequenceLength("a\xe2\x82\xac", 1), 3u);
}

TEST(SafeText, TerminalEscapeKeepsTextAndDefusesControls) {
    EXPECT_EQ(terminalEscape("INBOX/Stra\xc3\x9f"
                             "e"),
              "INBOX/Stra\xc3\x9f"
              "e");
    EXPECT_EQ(terminalEscape("a\x1b]0;title\x07"
                             "b"),
              "a\\x1b]0;title\\x07b");
    EXPECT_EQ(terminalEscape("line\r\nforged"), "line\\x0d\\x0aforged");
    EXPECT_EQ(terminalEscape("del\x7f"), "del\\x7f");
    EXPECT_EQ(terminalEscape("csi\xc2\x9b"
                             "2J"),
              "csi\\xc2\\x9b2J")
        << "C1 controls as code points";
    EXPECT_EQ(terminalEscape("bad\xff\xfe"), "bad\\xff\\xfe");
    EXPECT_EQ(terminalEscape("\xe2\x82"), "\\xe2\\x82");
    EXPECT_EQ(terminalEscape("abcdef", 3), "abc...");
}

// "Trojan Source": a folder or error text carrying U+202E RIGHT-TO-LEFT OVERRIDE shows the rest of
// the line reversed ("exe.txt" reads "txt.exe"); LINE SEPARATOR breaks a line on some terminals.
TEST(SafeText, BidiControlsAndLineSeparatorsAreEscapedLikeControls) {
    const char32_t moving[] = {0x061C, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A, 0x202B,
                               0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069};
    for (char32_t cp : moving) {
        std::string text = "a";
        appendUtf8(text, cp);
        text += "b";
        std::string hex;
        for (unsigned char c : text.substr(1, text.size() - 2)) {
            char byte[5];
            std::snprintf(byte, sizeof byte, "\\x%02x", c);
            hex += byte;
        }
        char unicode[7];
        std::snprintf(unicode, sizeof unicode, "\\u%04x", static_cast<unsigned>(cp));
        EXPECT_EQ(terminalEscape(text), "a" + hex + "b") << unicode;
        EXPECT_EQ(jsonEscape(text), "a" + std::string(unicode) + "b");
    }
    EXPECT_EQ(terminalEscape("Invoice \xe2\x80\xae"
                             "fdp.exe"),
              "Invoice \\xe2\\x80\\xae"
              "fdp.exe");
    // Their neighbours are text: an Arabic semicolon, ZWJ (emoji), U+2027, U+202F, U+2070.
    for (std::string kept : {"\xd8\x9b", "\xe2\x80\x8d", "\xe2\x80\xa7", "\xe2\x80\xaf", "\xe2\x81\xb0"}) {
        EXPECT_EQ(terminalEscape(kept), kept);
        EXPECT_EQ(jsonEscape(kept), kept);
    }
}

TEST(SafeText, JsonEscapeIsAlwaysValidUtf8) {
    EXPECT_EQ(jsonEscape("a \"q\" \\ b"), "a \\\"q\\\" \\\\ b");
    EXPECT_EQ(jsonEscape("\x1b[2J\r\n"), "\\u001b[2J\\r\\n");
    EXPECT_EQ(jsonEscape("bad \xff end"), "bad \\ufffd end");
    EXPECT_EQ(jsonEscape("Grüße"), "Grüße");
    std::string every;
    for (int c = 0; c < 256; ++c) every += static_cast<char>(c);
    EXPECT_TRUE(isValidUtf8(jsonEscape(every)));
    EXPECT_TRUE(isValidUtf8(terminalEscape(every)));
    for (unsigned char c : terminalEscape(every)) EXPECT_FALSE(c < 0x20 || c == 0x7f);
}

}  // namespace
}  // namespace mc::proto
