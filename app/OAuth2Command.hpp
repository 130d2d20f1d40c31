#pragma once
// `mailcollector oauth2 authorize -c FILE --account NAME`.

#include <string>

#include "config/Config.hpp"

namespace mc::app {

// Runs the device authorization grant for the account and stores its refresh token. Returns the
// exit code: 0 stored, 1 the provider refused or the flow failed, 2 no such account.
int oauth2AuthorizeCommand(const config::Config& config, const std::string& account);

}  // namespace mc::app
