#pragma once
// A message's identity for deletion in a later session: the hash of its header block, taken at
// delivery from the fetched message and later from POP3 TOP n 0 or IMAP BODY.PEEK[HEADER]. Both
// go through the same normalisation, so line-ending differences between the two never count.

#include <string>
#include <string_view>

namespace mc::collector {

// The header block of MESSAGE (up to the first empty line, or all of it) with each line's
// trailing CRs removed, other CRs as spaces and "\n" after each line; at most 32 KiB of it, so
// that a fetched message's first 64 KiB always suffice.
std::string canonicalHeaderBlock(std::string_view message);
// sha256 hex of canonicalHeaderBlock(MESSAGE).
std::string headerFingerprint(std::string_view message);

}  // namespace mc::collector
