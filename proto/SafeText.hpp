#pragma once
// Server-controlled text (folder names, replies, alerts, Message-IDs, errors quoting them) made
// safe for where it is shown: a terminal or text log, a JSON string. The one UTF-8 validator and
// the one JSON string escaper of the program. Pure, never throws.

#include <cstddef>
#include <string>
#include <string_view>

namespace mc::proto {

// Length of the valid UTF-8 sequence at text[i] (1 for ASCII), or 0 when there is none: a stray
// continuation byte, a truncated sequence, an overlong form, a surrogate, above U+10FFFF.
std::size_t utf8SequenceLength(std::string_view text, std::size_t i);

bool isValidUtf8(std::string_view text);

// JSON string body (without the quotes) for any bytes: quote, backslash and control characters
// escaped, each byte that is not part of valid UTF-8 replaced by U+FFFD, so the result is always
// valid UTF-8 and valid JSON whatever a server sent.
std::string jsonEscape(std::string_view text);

// Text for a terminal or a text log line: valid printable UTF-8 kept; C0 and C1 control
// characters (ESC, CR, LF, BEL, CSI ...), DEL and bytes that are not valid UTF-8 shown as \xNN,
// so server text cannot move the cursor, retitle the window or forge a line. Cut to about
// `maxBytes` bytes (then "...").
std::string terminalEscape(std::string_view text, std::size_t maxBytes = std::string_view::npos);

}  // namespace mc::proto
