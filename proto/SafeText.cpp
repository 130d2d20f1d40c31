#include "proto/SafeText.hpp"

#include <cstdio>
#include <optional>

namespace mc::proto {
namespace {

void appendHexEscape(std::string& out, const char* format, unsigned value) {
    char escaped[8];
    std::snprintf(escaped, sizeof escaped, format, value);
    out += escaped;
}

}  // namespace

bool movesText(char32_t cp) {
    return cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
           (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

std::string jsonEscape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 8);
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            switch (c) {
                case '"':
                    out += "\\\"";
                    break;
                case '\\':
                    out += "\\\\";
                    break;
                case '\n':
                    out += "\\n";
                    break;
                case '\r':
                    out += "\\r";
                    break;
                case '\t':
                    out += "\\t";
                    break;
                default:
                    if (movesText(c))
                        appendHexEscape(out, "\\u%04x", c);
                    else
                        out += static_cast<char>(c);
            }
            ++i;
            continue;
        }
        std::size_t next = i;
        const std::optional<char32_t> cp = decodeUtf8(text, next);
        if (!cp) {
            out += "\\ufffd";
            ++i;
        } else {
            if (movesText(*cp))
                appendHexEscape(out, "\\u%04x", static_cast<unsigned>(*cp));
            else
                out.append(text.substr(i, next - i));
            i = next;
        }
    }
    return out;
}

std::string terminalEscape(std::string_view text, std::size_t maxBytes) {
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        if (out.size() >= maxBytes) {
            out += "...";
            break;
        }
        std::size_t next = i;
        const std::optional<char32_t> cp = decodeUtf8(text, next);
        if (!cp) next = i + 1;  // not UTF-8: this byte alone
        const std::string_view bytes = text.substr(i, next - i);
        if (!cp || movesText(*cp))
            for (unsigned char c : bytes) appendHexEscape(out, "\\x%02x", c);
        else
            out.append(bytes);
        i = next;
    }
    return out;
}

std::string printable(std::string_view text, std::size_t maxLength) {
    std::string out;
    for (unsigned char c : text) {
        if (out.size() >= maxLength) {
            out += "...";
            break;
        }
        if (c >= 0x20 && c < 0x7f)
            out += static_cast<char>(c);
        else
            appendHexEscape(out, "\\x%02x", c);
    }
    return out;
}

}  // namespace mc::proto
