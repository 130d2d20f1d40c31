#pragma once
// Gmail over IMAP (X-GM-EXT-1): Gmail shows a message once per label (INBOX, each label's folder,
// [Gmail]/All Mail). With folders = ["*"] an account collects All Mail alone -- each message once;
// Spam and Trash are never in All Mail -- and carries each message's Gmail labels (X-GM-LABELS)
// into its labels, so a target gets the same folders or labels back.

#include <optional>
#include <string>
#include <vector>

#include "collector/imap/ImapSession.hpp"
#include "config/Config.hpp"
#include "proto/ImapResponse.hpp"

namespace mc::collector {

inline constexpr std::size_t kGmailMaxLabels = 20;        // labels carried per message
inline constexpr std::size_t kGmailMaxLabelBytes = 200;   // as for labels in the config
inline constexpr std::size_t kGmailMostLabelBytes = 900;  // all of them: one header line (998)

// The folder to collect instead of "*" on a Gmail server (`gmailServer`: it offers X-GM-EXT-1):
// All Mail, as LIST marks it \All (in any case: IMAP flags are case-insensitive; its name is
// localised); nullopt when the account does not ask for "*", the server is not Gmail, or it lists
// no \All folder.
std::optional<std::string> gmailAllMailFolder(const config::AccountSettings& account, bool gmailServer,
                                              const std::vector<ImapFolder>& listed);

// The labels worth carrying from an X-GM-LABELS list: user labels as UTF-8 names (decoded from
// modified UTF-7 unless `utf8Mode`). Gmail's system labels (\Inbox, \Important, \Starred, \Sent,
// \Draft) are left out; so are labels a header cannot carry (control characters, over 200 bytes).
std::vector<std::string> gmailLabelsToCarry(const proto::ImapValue& labels, bool utf8Mode);

// Whether an X-GM-LABELS list marks a draft (\Draft, as an atom or quoted, in any case). All
// Mail holds drafts, and every re-save of one is a new message with a new X-GM-MSGID: a poll
// leaves such messages out (neither fetched nor recorded).
bool gmailIsDraft(const proto::ImapValue& labels);

}  // namespace mc::collector
