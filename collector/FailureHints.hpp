#pragma once
// Errors that name their fix: a failure's text plus the account's settings give one sentence of
// what to change (a TLS mode or port that does not fit the server, the wrong protocol for the
// port, nothing listening). A small table of rules; provider-specific refusals add rules here.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/Config.hpp"
#include "proto/Failure.hpp"

namespace mc::collector {

// The failure's kind when it was a typed failure (proto::Failure), else nullopt.
using FailureKindSeen = std::optional<proto::FailureKind>;

// A rule returns the hint for a failure it recognises, "" otherwise.
using FailureHintRule = std::string (*)(const config::AccountSettings& account, std::string_view error,
                                        FailureKindSeen kind);

// The rules, first match wins.
const std::vector<FailureHintRule>& failureHintRules();

// ERROR followed by " -- hint: ..." when a rule knows the fix, else ERROR unchanged.
std::string withFailureHint(const config::AccountSettings& account, const std::string& error,
                            FailureKindSeen kind = std::nullopt);

}  // namespace mc::collector
