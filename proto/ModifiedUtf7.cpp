#include "proto/ModifiedUtf7.hpp"

#include <array>
#include <cstdint>
#include <vector>

#include "proto/Base64.hpp"
#include "proto/Utf8.hpp"

namespace mc::proto {

namespace {

bool isPrintableAscii(std::uint32_t c) { return c >= 0x20 && c <= 0x7e; }

// "&" + modified base64 of the UTF-16BE units, no padding, + "-".
void appendShift(std::string& out, const std::vector<std::uint16_t>& units) {
    out.push_back('&');
    std::uint32_t bits = 0;
    int count = 0;
    for (std::uint16_t unit : units) {
        bits = (bits << 16) | unit;
        count += 16;
        while (count >= 6) {
            count -= 6;
            out.push_back(kBase64ImapMailbox.digit(bits >> count));
        }
        bits &= (1u << count) - 1;
    }
    if (count > 0) {
        out.push_back(kBase64ImapMailbox.digit(bits << (6 - count)));
    }
    out.push_back('-');
}

}  // namespace

std::optional<std::string> modifiedUtf7Decode(std::string_view encoded) {
    std::string out;
    bool afterShift = false;  // the previous item was a base64 shift
    std::size_t i = 0;
    while (i < encoded.size()) {
        const auto c = static_cast<unsigned char>(encoded[i]);
        if (c != '&') {
            if (!isPrintableAscii(c)) {
                return std::nullopt;
            }
            out.push_back(static_cast<char>(c));
            afterShift = false;
            ++i;
            continue;
        }
        const std::size_t end = encoded.find('-', i + 1);
        if (end == std::string_view::npos) {
            return std::nullopt;
        }
        if (end == i + 1) {  // "&-" is "&"
            out.push_back('&');
            afterShift = false;
            i = end + 1;
            continue;
        }
        if (afterShift) {
            return std::nullopt;  // "&...-&...-" is not minimal: one shift would do
        }
        std::vector<std::uint16_t> units;
        std::uint32_t bits = 0;
        int count = 0;
        for (std::size_t k = i + 1; k < end; ++k) {
            const int value = kBase64ImapMailbox.value(encoded[k]);
            if (value < 0) {
                return std::nullopt;
            }
            bits = (bits << 6) | static_cast<std::uint32_t>(value);
            count += 6;
            if (count >= 16) {
                count -= 16;
                units.push_back(static_cast<std::uint16_t>(bits >> count));
                bits &= (1u << count) - 1;
            }
        }
        // Fewer than 6 bits may be left over, and they must be zero.
        if (count >= 6 || bits != 0 || units.empty()) {
            return std::nullopt;
        }
        for (std::size_t k = 0; k < units.size(); ++k) {
            std::uint32_t cp = units[k];
            if (cp >= 0xdc00 && cp <= 0xdfff) {
                return std::nullopt;  // a low surrogate without its high half
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (k + 1 >= units.size() || units[k + 1] < 0xdc00 || units[k + 1] > 0xdfff) {
                    return std::nullopt;
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (units[k + 1] - 0xdc00);
                ++k;
            }
            if (isPrintableAscii(cp)) {
                return std::nullopt;  // printable US-ASCII must represent itself
            }
            appendUtf8(out, cp);
        }
        afterShift = true;
        i = end + 1;
    }
    return out;
}

std::optional<std::string> modifiedUtf7Encode(std::string_view utf8) {
    std::string out;
    std::vector<std::uint16_t> pending;
    std::size_t pos = 0;
    while (pos < utf8.size()) {
        const auto cp = decodeUtf8(utf8, pos);
        if (!cp) {
            return std::nullopt;
        }
        if (isPrintableAscii(*cp)) {
            if (!pending.empty()) {
                appendShift(out, pending);
                pending.clear();
            }
            if (*cp == '&') {
                out += "&-";
            } else {
                out.push_back(static_cast<char>(*cp));
            }
        } else if (*cp >= 0x10000) {
            const std::uint32_t v = *cp - 0x10000;
            pending.push_back(static_cast<std::uint16_t>(0xd800 + (v >> 10)));
            pending.push_back(static_cast<std::uint16_t>(0xdc00 + (v & 0x3ff)));
        } else {
            pending.push_back(static_cast<std::uint16_t>(*cp));
        }
    }
    if (!pending.empty()) {
        appendShift(out, pending);
    }
    return out;
}

}  // namespace mc::proto
