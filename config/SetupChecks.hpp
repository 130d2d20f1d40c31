#pragma once
// What `validate` checks beyond the file's own text: that the files it names (password files,
// OAuth2 secrets and tokens, CA files) exist and secrets are private, and that no two accounts
// collect the same mailbox (every message would be delivered twice).

#include <string>
#include <vector>

#include "config/Config.hpp"

namespace mc::config {

struct SetupFinding {
    bool error = true;  // false: a warning
    std::string text;   // "FILE:LINE: KEY: problem", as config errors read
};

std::vector<SetupFinding> checkSetup(const Config& config);

}  // namespace mc::config
