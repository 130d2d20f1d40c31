#include "proto/HtmlEscape.hpp"

#include "proto/SafeText.hpp"
#include "proto/Utf8.hpp"

namespace mc::proto {

std::string htmlEscape(std::string_view text) {
    static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
    std::string out;
    out.reserve(text.size() + 16);
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        const std::size_t length = utf8SequenceLength(text, i);
        if (length == 0) {
            out += kReplacement;
            ++i;
            continue;
        }
        if (length > 1) {
            std::size_t next = i;
            const auto cp = decodeUtf8(text, next);
            if (cp && movesText(*cp)) {  // C1 controls, bidi controls (they reorder a page's text too)
                out += kReplacement;
                i += length;
                continue;
            }
            out.append(text.substr(i, length));
            i += length;
            continue;
        }
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            case '\t':
            case '\n':
                out += static_cast<char>(c);
                break;
            default:
                if (c < 0x20 || c == 0x7F)
                    out += kReplacement;
                else
                    out += static_cast<char>(c);
        }
        ++i;
    }
    return out;
}

}  // namespace mc::proto
