#pragma once
// The one HTML escaper of the program: any bytes (server text from the ledger: folder names,
// replies, subjects) made into HTML text or a quoted attribute value that shows them as text and
// can never open a tag, close an attribute or start an entity. Pure, never throws.

#include <string>
#include <string_view>

namespace mc::proto {

// & < > " ' become entities; C0/C1 control characters (except tab and line feed), DEL, Unicode's
// bidirectional controls and LINE/PARAGRAPH SEPARATOR (see movesText) and each byte that is not
// part of valid UTF-8 become U+FFFD, so the result is valid UTF-8 text that cannot reorder a page.
std::string htmlEscape(std::string_view text);

}  // namespace mc::proto
