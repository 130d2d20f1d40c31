#include "proto/ModifiedUtf7.hpp"

#include <array>
#include <cstdint>
#include <vector>

namespace mc::proto {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
constexpr std::int8_t kInvalid = -1;

constexpr std::array<std::int8_t, 256> makeDecodeTable() {
    std::array<std::int8_t, 256> table{};
    for (auto& entry : table) {
        entry = kInvalid;
    }
    for (int i = 0; i < 64; ++i) {
        table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
    }
    return table;
}
constexpr std::array<std::int8_t, 256> kDecodeTable = makeDecodeTable();

bool isPrintableAscii(std::uint32_t c) { return c >= 0x20 && c <= 0x7e; }

void appendUtf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
        out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
}

// Reads one code point at `pos`, advancing it; nullopt for anything but strict UTF-8.
std::optional<std::uint32_t> nextCodePoint(std::string_view text, std::size_t& pos) {
    const auto lead = static_cast<unsigned char>(text[pos]);
    std::size_t length = 0;
    std::uint32_t cp = 0;
    std::uint32_t minimum = 0;
    if (lead < 0x80) {
        ++pos;
        return lead;
    } else if ((lead & 0xe0) == 0xc0) {
        length = 2;
        cp = lead & 0x1f;
        minimum = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
        length = 3;
        cp = lead & 0x0f;
        minimum = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
        length = 4;
        cp = lead & 0x07;
        minimum = 0x10000;
    } else {
        return std::nullopt;
    }
    if (text.size() - pos < length) {
        return std::nullopt;
    }
    for (std::size_t i = 1; i < length; ++i) {
        const auto next = static_cast<unsigned char>(text[pos + i]);
        if ((next & 0xc0) != 0x80) {
            return std::nullopt;
        }
        cp = (cp << 6) | (next & 0x3f);
    }
    if (cp < minimum || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return std::nullopt;
    }
    pos += length;
    return cp;
}

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
            out.push_back(kAlphabet[(bits >> count) & 0x3f]);
        }
        bits &= (1u << count) - 1;
    }
    if (count > 0) {
        out.push_back(kAlphabet[(bits << (6 - count)) & 0x3f]);
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
            const std::int8_t value = kDecodeTable[static_cast<unsigned char>(encoded[k])];
            if (value == kInvalid) {
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
        const auto cp = nextCodePoint(utf8, pos);
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
