#pragma once
// The pure half of the IMAP APPEND target: which folders a message goes to, how folder names,
// labels and literals are written, and what a tagged reply means. No sockets, no throws.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/ImapCommand.hpp"
#include "proto/ImapResponse.hpp"

namespace mc::delivery {

// Where one message goes on an IMAP target.
struct AppendPlan {
    std::vector<std::string> folders;      // UTF-8 names, APPENDed in this order
    std::vector<std::string> gmailLabels;  // Gmail: set with UID STORE +X-GM-LABELS afterwards
};

// Plain IMAP: one APPEND per label folder, then one into `folder` unless `archive` is set and
// there are labels (so `folder` always comes last). A label naming `folder` or repeating another
// is appended once. Gmail (X-GM-EXT-1): one APPEND into `folder` -- with `archive` and labels
// into `allMail` instead -- and the labels as Gmail labels.
AppendPlan planAppends(const std::string& folder, const std::vector<std::string>& labels, bool archive, bool gmail,
                       const std::string& allMail);

// A folder name or Gmail label from the config (UTF-8) as an IMAP argument: modified UTF-7 in
// a quoted string. nullopt when that is impossible (not UTF-8, or longer than a quoted string).
std::optional<std::string> imapMailboxArgument(std::string_view utf8Name);

// Gmail's label list for STORE, e.g. ("Work/2019" "Entw&APw-rfe"); nullopt as above.
std::optional<std::string> gmailLabelList(const std::vector<std::string>& labels);

// The literal announcing APPEND's message: "{n+}" when the server takes it without a "+"
// continuation (LITERAL+, or LITERAL- up to 4096 bytes), else "{n}".
std::string appendLiteral(std::uint64_t size, proto::ImapLiteralMode mode);

enum class ImapReplyKind {
    Ok,
    TryCreate,  // NO [TRYCREATE]: the folder does not exist yet
    Transient,  // NO [OVERQUOTA], [INUSE], [UNAVAILABLE], [LIMIT] or [SERVERBUG]: retry later
    Permanent,  // any other NO, and BAD
};
// What a tagged reply to APPEND, CREATE or STORE means for the message.
ImapReplyKind classifyImapReply(const proto::ImapResponse& tagged);

}  // namespace mc::delivery
