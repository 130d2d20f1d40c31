#pragma once
// What every source session (POP3, IMAP, IDLE) takes from an account's settings.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/Config.hpp"
#include "net/Transport.hpp"
#include "proto/Sasl.hpp"

namespace mc::collector {

// Host, port, trust anchors, pin and the I/O timeout of an account's server.
net::ConnectOptions sourceConnectOptions(const config::AccountSettings& account, std::chrono::milliseconds timeout);
// The account's password, resolved now; errors name the account, never the secret.
std::string accountPassword(const config::AccountSettings& account);

// What a session logs in with: the password, or an OAuth2 access token (oauth2 set; `refused`
// drops the cached token when the server turns it down, so the next login gets a fresh one).
struct SourceLogin {
    std::string secret;
    bool oauth2 = false;
    std::function<void()> refused;
};
// Resolved now; TIMEOUT bounds a token refresh. Errors name the account, never the secret.
SourceLogin sourceLogin(const config::AccountSettings& account, std::chrono::milliseconds timeout);

// The account's `auth` as a SASL mechanism; nullopt for "auto" (proto::chooseSaslMechanism picks).
std::optional<proto::SaslMechanism> configuredSasl(config::AuthMethod method);

// What an IMAP folder holds, for `folders = ["*"]` (which skips all but None) and for the Trash
// that UID MOVE deletes into.
enum class FolderRole { None, Trash, Junk, Drafts, Virtual };
// By the folder's SPECIAL-USE flag (RFC 6154; \All and \Flagged are Virtual: copies of other
// folders' mail), else by its last hierarchy component (DELIMITER from LIST; nullopt for a flat
// namespace), so that Dovecot's "Trash", Cyrus's "INBOX/Trash" and Courier's "INBOX.Trash" are
// alike: "Trash", "Deleted Items", "Junk E-mail", "Spam", "Drafts" and common localized names.
FolderRole folderRole(const std::vector<std::string>& flags, std::string_view name, std::optional<char> delimiter);

}  // namespace mc::collector
