#pragma once
// The little JSON this program reads: OAuth2 token and device-code replies and SASL error
// challenges, all flat objects. Pure.

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mc::proto {

// The top-level members of one JSON object (RFC 8259) whose values are scalars: strings decoded
// (escapes, \u with surrogate pairs to UTF-8), numbers, true, false and null as their literal
// text. Nested objects and arrays are checked and skipped (nesting is bounded). A later duplicate
// member wins. nullopt when TEXT is not exactly one JSON object (whitespace around allowed).
std::optional<std::map<std::string, std::string>> parseJsonObjectScalars(std::string_view text);

}  // namespace mc::proto
