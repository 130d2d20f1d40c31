#pragma once
// How IMAP sources treat folders by their role (SPECIAL-USE flag or name).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mc::collector {

// What an IMAP folder holds, for `folders = ["*"]` (which skips all but None) and for the Trash
// that UID MOVE deletes into.
enum class FolderRole { None, Trash, Junk, Drafts, Virtual };
// By the folder's SPECIAL-USE flag (RFC 6154; \All and \Flagged are Virtual: copies of other
// folders' mail), else by its last hierarchy component (DELIMITER from LIST; nullopt for a flat
// namespace), so that Dovecot's "Trash", Cyrus's "INBOX/Trash" and Courier's "INBOX.Trash" are
// alike: "Trash", "Deleted Items", "Junk E-mail", "Spam", "Drafts" and common localized names.
FolderRole folderRole(const std::vector<std::string>& flags, std::string_view name, std::optional<char> delimiter);

}  // namespace mc::collector
