#include "collector/imap/GmailSource.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "proto/ModifiedUtf7.hpp"
#include "proto/Utf8.hpp"

namespace mc::collector {
namespace {

// IMAP flags and Gmail's system labels are case-insensitive ("\\All", "\\ALL").
bool equalsIgnoringCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
               return std::tolower(x) == std::tolower(y);
           });
}

}  // namespace

std::optional<std::string> gmailAllMailFolder(const config::AccountSettings& account, bool gmailServer,
                                              const std::vector<ImapFolder>& listed) {
    if (!gmailServer || account.folders != std::vector<std::string>{"*"}) return std::nullopt;
    for (const auto& folder : listed)
        if (folder.selectable() && std::any_of(folder.flags.begin(), folder.flags.end(), [](const std::string& flag) {
                return equalsIgnoringCase(flag, "\\All");
            }))
            return folder.name;
    return std::nullopt;
}

bool gmailIsDraft(const proto::ImapValue& labels) {
    return std::any_of(labels.children.begin(), labels.children.end(), [](const proto::ImapValue& value) {
        auto text = value.asString();
        return text && equalsIgnoringCase(*text, "\\Draft");
    });
}

std::vector<std::string> gmailLabelsToCarry(const proto::ImapValue& labels, bool utf8Mode) {
    std::vector<std::string> carried;
    std::size_t bytes = 0;
    for (const auto& value : labels.children) {
        auto text = value.asString();
        // Gmail's system labels start with a backslash, as an atom or quoted ("\\Important").
        if (!text || text->empty() || text->front() == '\\') continue;
        std::optional<std::string> name = utf8Mode ? std::string(*text) : proto::modifiedUtf7Decode(*text);
        if (!name || name->size() > kGmailMaxLabelBytes || !proto::isValidUtf8(*name) ||
            std::any_of(name->begin(), name->end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
            continue;
        if (std::find(carried.begin(), carried.end(), *name) != carried.end()) continue;
        if (bytes + name->size() + 2 > kGmailMostLabelBytes) break;
        bytes += name->size() + 2;  // and the separator
        carried.push_back(std::move(*name));
        if (carried.size() == kGmailMaxLabels) break;
    }
    return carried;
}

}  // namespace mc::collector
