#pragma once
// What every source session (POP3, IMAP, IDLE) takes from an account's settings.

#include <chrono>
#include <string>

#include "config/Config.hpp"
#include "net/Transport.hpp"

namespace mc::collector {

// Host, port, trust anchors, pin and the I/O timeout of an account's server.
net::ConnectOptions sourceConnectOptions(const config::AccountSettings& account, std::chrono::milliseconds timeout);
// The account's password, resolved now; errors name the account, never the secret.
std::string accountPassword(const config::AccountSettings& account);

}  // namespace mc::collector
