#include "proto/Base64.hpp"

namespace mc::proto {

std::string base64Encode(std::string_view bytes) {
    const auto byteAt = [bytes](std::size_t i) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]));
    };
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t group = (byteAt(i) << 16) | (byteAt(i + 1) << 8) | byteAt(i + 2);
        out.push_back(kBase64Standard.digit(group >> 18));
        out.push_back(kBase64Standard.digit(group >> 12));
        out.push_back(kBase64Standard.digit(group >> 6));
        out.push_back(kBase64Standard.digit(group));
    }
    const std::size_t remaining = bytes.size() - i;
    if (remaining > 0) {
        const std::uint32_t group = (byteAt(i) << 16) | (remaining == 2 ? byteAt(i + 1) << 8 : 0);
        out.push_back(kBase64Standard.digit(group >> 18));
        out.push_back(kBase64Standard.digit(group >> 12));
        out.push_back(remaining == 2 ? kBase64Standard.digit(group >> 6) : '=');
        out.push_back('=');
    }
    return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        // Padding may only close the final group: "xx==" or "xxx=".
        std::size_t padding = 0;
        if (last && text[i + 3] == '=') {
            padding = text[i + 2] == '=' ? 2 : 1;
        }
        std::uint32_t group = 0;
        for (std::size_t j = 0; j < 4 - padding; ++j) {
            const int value = kBase64Standard.value(text[i + j]);
            if (value < 0) {
                return std::nullopt;
            }
            group |= static_cast<std::uint32_t>(value) << (18 - 6 * j);
        }
        // Strict (RFC 4648 3.5): the bits that padding discards must be zero, so every byte
        // string has exactly one accepted encoding.
        if ((padding == 1 && (group & 0xFF) != 0) || (padding == 2 && (group & 0xFFFF) != 0)) {
            return std::nullopt;
        }
        out.push_back(static_cast<char>((group >> 16) & 0xFF));
        if (padding < 2) {
            out.push_back(static_cast<char>((group >> 8) & 0xFF));
        }
        if (padding < 1) {
            out.push_back(static_cast<char>(group & 0xFF));
        }
    }
    return out;
}

}  // namespace mc::proto
