#pragma once
// Encoders for IMAP4 command arguments: strings as quoted strings or literals, and UID lists as
// compressed sequence sets. Pure: no sockets, no throws.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mc::proto {

// Which literal forms the server accepts (RFC 7888).
enum class ImapLiteralMode {
    Synchronizing,  // only "{n}": wait for the server's "+" before sending the bytes
    LiteralPlus,    // LITERAL+: "{n+}" of any size
    LiteralMinus,   // LITERAL-: "{n+}" up to 4096 bytes, "{n}" above
};

struct ImapQuoted {
    // False: `token` is the complete quoted string. True: the command line ends with `token`
    // ("{n}" or "{n+}") and CRLF, then, after the server's "+" continuation unless
    // nonSynchronizing, the caller sends the value's bytes unchanged and continues the line.
    bool literal = false;
    bool nonSynchronizing = false;  // `token` is "{n+}"
    std::string token;
};

// Strings longer than this go as literals even when they could be quoted.
constexpr std::size_t kImapMaxQuotedLength = 1024;
// LITERAL- allows non-synchronizing literals up to this size.
constexpr std::size_t kImapLiteralMinusMax = 4096;

// A quoted string when `value` is 7-bit text without CR, LF and NUL (with `utf8`, for a server
// with UTF8=ACCEPT enabled, valid UTF-8 too) and at most kImapMaxQuotedLength bytes; otherwise a
// literal. nullopt when `value` holds a NUL byte, which no IMAP string may contain.
std::optional<ImapQuoted> imapQuote(std::string_view value, ImapLiteralMode mode = ImapLiteralMode::Synchronizing,
                                    bool utf8 = false);

// Compresses UIDs (or sequence numbers) into sequence sets: sorted, duplicates and 0 (never a
// valid UID) dropped, runs as ranges, e.g. {9,1,2,3,4,5,7,10,11,12} -> "1:5,7,9:12". A set that
// would exceed `maxLength` bytes is split: several sets, each at most `maxLength` long (a
// `maxLength` below 21, the longest range, counts as 21). Empty input gives no set.
std::vector<std::string> imapSequenceSet(std::vector<std::uint32_t> uids, std::size_t maxLength = 8192);

}  // namespace mc::proto
