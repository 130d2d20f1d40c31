// The one HTML escaper: markup, quotes, entities, control characters and broken UTF-8 from a
// server become text that cannot leave an element or an attribute.

#include <gtest/gtest.h>

#include "proto/HtmlEscape.hpp"
#include "proto/SafeText.hpp"

namespace mc::proto {
namespace {

TEST(HtmlEscape, MarkupAndQuotesBecomeEntities) {
    EXPECT_EQ(htmlEscape("<img src=x onerror=\"alert('1')\">&amp;"),
              "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;amp;");
}

TEST(HtmlEscape, PlainTextAndUtf8StayAsTheyAre) {
    EXPECT_EQ(htmlEscape("Entwürfe / Входящие\tline\n"), "Entwürfe / Входящие\tline\n");
    EXPECT_EQ(htmlEscape(""), "");
}

TEST(HtmlEscape, ControlCharactersAndBrokenUtf8BecomeReplacementCharacters) {
    const std::string out = htmlEscape(std::string("a\x1b[31m\r\x7f\xc2\x85\xff\xe2\x82 z\0", 16));
    const std::string r = "\xEF\xBF\xBD";
    EXPECT_EQ(out, "a" + r + "[31m" + r + r + r + r + r + r + " z" + r);
    EXPECT_TRUE(isValidUtf8(out));
}

TEST(HtmlEscape, BidiControlsCannotReorderThePage) {
    // "Invoices<RLO>fdp.exe" would show as "Invoicesexe.pdf"; LRM, FSI and a line separator too.
    const std::string r = "\xEF\xBF\xBD";
    EXPECT_EQ(htmlEscape("Invoices\xE2\x80\xAE"
                         "fdp.exe"),
              "Invoices" + r + "fdp.exe");
    EXPECT_EQ(htmlEscape("a\xE2\x80\x8E"
                         "b\xE2\x81\xA8"
                         "c\xE2\x80\xA8"
                         "d\xD8\x9C"
                         "e"),
              "a" + r + "b" + r + "c" + r + "d" + r + "e");
    EXPECT_EQ(htmlEscape("\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x93\xAC"),
              "\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x93\xAC")
        << "other non-ASCII text is kept";
}

TEST(HtmlEscape, NoByteOfTheResultCanOpenATagOrEndAnAttribute) {
    std::string every;
    for (int c = 0; c < 256; ++c) every += static_cast<char>(c);
    const std::string out = htmlEscape(every);
    EXPECT_EQ(out.find_first_of("<>\"'"), std::string::npos);
    EXPECT_TRUE(isValidUtf8(out));
}

}  // namespace
}  // namespace mc::proto
