#pragma once
// Server-controlled text (folder names, replies, alerts, Message-IDs, errors quoting them) made
// safe for where it is shown: a terminal or text log, a JSON string. The one JSON string escaper
// of the program (UTF-8 itself: proto/Utf8). Pure, never throws.

#include <cstddef>
#include <string>
#include <string_view>

#include "proto/Utf8.hpp"

namespace mc::proto {

// JSON string body (without the quotes) for any bytes: quote, backslash, and the characters
// terminalEscape shows as \xNN written as \uNNNN (the same text to a JSON reader, inert on a
// terminal), each byte that is not part of valid UTF-8 replaced by U+FFFD, so the result is always
// valid UTF-8 and valid JSON whatever a server sent.
std::string jsonEscape(std::string_view text);

// Code points that change how the text around them is shown rather than showing themselves: C0
// and C1 controls (ESC, CR, LF, CSI ...) and DEL; Unicode's bidirectional formatting characters
// (ALM, LRM, RLM, LRE..RLO, LRI..PDI), which reorder the rest of a line ("Trojan Source"); LINE
// and PARAGRAPH SEPARATOR, which some terminals break a line at.
bool movesText(char32_t cp);

// Text for a terminal or a text log line: valid printable UTF-8 kept; C0 and C1 control
// characters (ESC, CR, LF, BEL, CSI ...), DEL, Unicode's bidirectional controls (U+061C, U+200E,
// U+200F, U+202A..U+202E, U+2066..U+2069), LINE and PARAGRAPH SEPARATOR (U+2028, U+2029) and bytes
// that are not valid UTF-8 shown as \xNN (each byte of their UTF-8), so server text cannot move
// the cursor, retitle the window, forge a line or reorder the line it is in. Cut to about
// `maxBytes` bytes (then "...").
std::string terminalEscape(std::string_view text, std::size_t maxBytes = std::string_view::npos);

// Text for an error message or protocol log: printable ASCII kept, every other byte shown as
// \xNN (so also UTF-8, which terminalEscape keeps). Cut to `maxLength` bytes (then "...").
std::string printable(std::string_view text, std::size_t maxLength = 200);

}  // namespace mc::proto
