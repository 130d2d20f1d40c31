#pragma once
// UTF-8 (RFC 3629): the one validator and decoder of the program, and the encoder. Strict: no
// overlong forms, surrogates, code points above U+10FFFF or truncated sequences. Pure.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mc::proto {

// Length of the valid UTF-8 sequence at text[i] (1 for ASCII), or 0 when there is none: a stray
// continuation byte, a truncated sequence, an overlong form, a surrogate, above U+10FFFF.
std::size_t utf8SequenceLength(std::string_view text, std::size_t i);

bool isValidUtf8(std::string_view text);

// The code point at text[pos], advancing pos past it; nullopt (pos unchanged) when
// utf8SequenceLength() finds none there.
std::optional<char32_t> decodeUtf8(std::string_view text, std::size_t& pos);

// Appends code point CP in UTF-8's bit layout; whether CP is a scalar value (not a surrogate, at
// most U+10FFFF) is the caller's to check.
void appendUtf8(std::string& out, char32_t cp);

}  // namespace mc::proto
