#pragma once
// The one place config types become the plain options that sessions (POP3, IMAP, IDLE) and
// targets (SMTP, LMTP, IMAP APPEND) take. Secrets are resolved when the options are made.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "collector/imap/ImapSession.hpp"
#include "collector/pop3/Pop3Session.hpp"
#include "config/Config.hpp"
#include "delivery/MessageTarget.hpp"
#include "net/Transport.hpp"
#include "proto/Sasl.hpp"

namespace mc::collector {

net::TlsMode tlsMode(config::TlsMode mode);
// The account's `auth` as a SASL mechanism; nullopt for "auto" (proto::chooseSaslMechanism picks).
std::optional<proto::SaslMechanism> configuredSasl(config::AuthMethod method);

// The largest body a session accepts for the account: max_message_size plus room for a server's
// size estimate being a little off, not for an endless body.
std::uint64_t bodyCap(const config::AccountSettings& account);

// Endpoint, TLS policy, credentials (the password or an OAuth2 access token, resolved now, so a
// password_command runs per connection; TIMEOUT also bounds a token refresh) and bodyCap().
// Errors name the account, never the secret.
Pop3Options pop3Options(const config::AccountSettings& account, std::chrono::milliseconds timeout);
ImapOptions imapOptions(const config::AccountSettings& account, std::chrono::milliseconds timeout);

// The target's password ("" without a username); errors say "target password", never the secret.
std::string targetPassword(const config::TargetSettings& target);
// `cutoff` (optional) ends the target's I/O when the poll that delivers must stop.
delivery::TargetOptions targetOptions(const config::TargetSettings& target, std::string password,
                                      std::chrono::milliseconds timeout,
                                      std::shared_ptr<const net::IoCutoff> cutoff = nullptr);

}  // namespace mc::collector
