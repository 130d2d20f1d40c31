#pragma once
// IMAP modified UTF-7 (RFC 3501 section 5.1.3), the encoding of mailbox names, to and from UTF-8.
// Pure: no throws.

#include <optional>
#include <string>
#include <string_view>

#include "proto/Utf8.hpp"  // isValidUtf8

namespace mc::proto {

// Decodes a mailbox name as servers send it. Strict: nullopt unless the input is the one
// canonical encoding of its text, i.e. for bytes outside printable US-ASCII, an "&" not closed by
// "-", characters outside the modified base64 alphabet (A-Z a-z 0-9 + ,), non-zero or surplus
// padding bits, a partial or lone UTF-16 surrogate, printable US-ASCII (or "&") inside a shift,
// or two shifts in a row (they would be one). So modifiedUtf7Encode(*decoded) == encoded.
std::optional<std::string> modifiedUtf7Decode(std::string_view encoded);

// Encodes UTF-8 text; nullopt when it is not valid UTF-8 (overlong forms, surrogates, code
// points above U+10FFFF, truncated sequences).
std::optional<std::string> modifiedUtf7Encode(std::string_view utf8);

}  // namespace mc::proto
