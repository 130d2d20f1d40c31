#pragma once
// Base64 (RFC 4648): the one alphabet table of the program, for SASL's standard base64 and IMAP's
// modified base64 of mailbox names (RFC 3501 5.1.3: ',' for '/', no padding). Pure.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mc::proto {

class Base64Alphabet {
public:
    // CHARS: the 64 digits in value order.
    constexpr explicit Base64Alphabet(const char (&chars)[65]) {
        for (auto& entry : values_) entry = -1;
        for (int i = 0; i < 64; ++i) {
            digits_[i] = chars[i];
            values_[static_cast<unsigned char>(chars[i])] = static_cast<std::int8_t>(i);
        }
    }
    // The digit for the low six bits of SEXTET.
    constexpr char digit(std::uint32_t sextet) const { return digits_[sextet & 0x3F]; }
    // The value of digit C, or -1 when C is not one.
    constexpr int value(char c) const { return values_[static_cast<unsigned char>(c)]; }

private:
    std::array<char, 64> digits_{};
    std::array<std::int8_t, 256> values_{};
};

inline constexpr Base64Alphabet kBase64Standard{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"};
inline constexpr Base64Alphabet kBase64ImapMailbox{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"};

// Standard base64 with padding.
std::string base64Encode(std::string_view bytes);
// Strict: nullopt on characters outside the alphabet, bad padding or length, or nonzero bits
// that padding discards (so every byte string has exactly one accepted encoding).
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace mc::proto
