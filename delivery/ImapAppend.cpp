#include "delivery/ImapAppend.hpp"

#include <algorithm>

#include "proto/AsciiText.hpp"
#include "proto/ModifiedUtf7.hpp"

namespace mc::delivery {
namespace {

// "INBOX" is case-insensitive (RFC 3501 5.1); other names are not.
bool sameFolder(const std::string& a, const std::string& b) {
    return a == b || (proto::equalsNoCase(a, "INBOX") && proto::equalsNoCase(b, "INBOX"));
}

void addOnce(std::vector<std::string>& names, const std::string& name) {
    if (std::none_of(names.begin(), names.end(), [&](const std::string& n) { return sameFolder(n, name); }))
        names.push_back(name);
}

}  // namespace

AppendPlan planAppends(const std::string& folder, const std::vector<std::string>& labels, bool archive, bool gmail,
                       const std::string& allMail) {
    AppendPlan plan;
    bool intoFolder = !archive || labels.empty();
    if (gmail) {
        plan.folders.push_back(intoFolder ? folder : allMail);
        for (const auto& label : labels) addOnce(plan.gmailLabels, label);
        return plan;
    }
    for (const auto& label : labels)
        if (!sameFolder(label, folder)) addOnce(plan.folders, label);
    if (intoFolder || plan.folders.empty()) plan.folders.push_back(folder);
    return plan;
}

std::optional<std::string> imapMailboxArgument(std::string_view utf8Name) {
    auto wire = proto::modifiedUtf7Encode(utf8Name);
    if (!wire) return std::nullopt;
    auto quoted = proto::imapQuote(*wire);
    if (!quoted || quoted->literal) return std::nullopt;
    return quoted->token;
}

std::optional<std::string> gmailLabelList(const std::vector<std::string>& labels) {
    std::string list = "(";
    for (const auto& label : labels) {
        auto argument = imapMailboxArgument(label);
        if (!argument) return std::nullopt;
        if (list.size() > 1) list += ' ';
        list += *argument;
    }
    return list + ")";
}

std::string appendLiteral(std::uint64_t size, proto::ImapLiteralMode mode) {
    bool nonSynchronizing = mode == proto::ImapLiteralMode::LiteralPlus ||
                            (mode == proto::ImapLiteralMode::LiteralMinus && size <= proto::kImapLiteralMinusMax);
    return "{" + std::to_string(size) + (nonSynchronizing ? "+}" : "}");
}

ImapReplyKind classifyImapReply(const proto::ImapResponse& tagged) {
    if (tagged.status == proto::ImapStatus::Ok) return ImapReplyKind::Ok;
    if (tagged.status == proto::ImapStatus::No && tagged.code) {
        if (tagged.code->is("TRYCREATE")) return ImapReplyKind::TryCreate;
        for (const char* code : {"OVERQUOTA", "INUSE", "UNAVAILABLE", "LIMIT", "SERVERBUG"})
            if (tagged.code->is(code)) return ImapReplyKind::Transient;
    }
    return ImapReplyKind::Permanent;
}

}  // namespace mc::delivery
