#pragma once
// `mailcollector oauth2 authorize`: the OAuth 2.0 device authorization grant (RFC 8628). Asks the
// provider for a user code, shows where to enter it, polls the token endpoint until the user
// consented, and stores the refresh token in oauth2_refresh_token_file (mode 0600).

#include <chrono>
#include <functional>
#include <ostream>
#include <string>

#include "config/Config.hpp"

namespace mc::collector::oauth2 {

// What one poll of the token endpoint means (RFC 8628 3.5).
enum class DevicePoll { Granted, Pending, SlowDown, Failed };
// From the reply's "error" member ("" when the reply has none).
DevicePoll classifyDevicePoll(const std::string& error);

struct DeviceFlowHooks {
    std::function<void(std::chrono::seconds)> sleep;  // between polls
    std::chrono::milliseconds timeout{60'000};        // each HTTPS exchange
};

// Runs the grant for ACCOUNT, printing instructions to OUT. Throws OAuth2Error when the provider
// has no device endpoint, the user denied, or the code expired.
void authorizeDevice(const config::AccountSettings& account, std::ostream& out, const DeviceFlowHooks& hooks);

}  // namespace mc::collector::oauth2
