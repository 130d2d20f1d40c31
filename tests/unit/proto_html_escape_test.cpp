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

TEST(HtmlEscape, NoByteOfTheResultCanOpenATagOrEndAnAttribute) {
    std::string every;
    for (int c = 0; c < 256; ++c) every += static_cast<char>(c);
    const std::string out = htmlEscape(every);
    EXPECT_EQ(out.find_first_of("<>\"'"), std::string::npos);
    EXPECT_TRUE(isValidUtf8(out));
}

}  // namespace
}  // namespace mc::proto
