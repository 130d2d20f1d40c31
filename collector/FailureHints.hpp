#pragma once
// Errors that name their fix: a failure's text plus the account's settings give one sentence of
// what to change (a TLS mode or port that does not fit the server, the wrong protocol for the
// port, nothing listening). A small table of rules; provider-specific refusals add rules here.

#include <string>
#include <string_view>
#include <vector>

#include "config/Config.hpp"

namespace mc::collector {

// A rule returns the hint for a failure it recognises, "" otherwise.
using FailureHintRule = std::string (*)(const config::AccountSettings& account, std::string_view error);

// The rules, first match wins.
const std::vector<FailureHintRule>& failureHintRules();

// ERROR followed by " -- hint: ..." when a rule knows the fix, else ERROR unchanged.
std::string withFailureHint(const config::AccountSettings& account, const std::string& error);

}  // namespace mc::collector
