#pragma once
// Reads header fields from the start of a message (RFC 5322), unfolding continuation lines.
// Only the header block is examined; bodies are never scanned. Pure.

#include <optional>
#include <string>
#include <string_view>

namespace mc::proto {

// The value of the first field with this name (case-insensitive), unfolded and trimmed.
std::optional<std::string> findHeader(std::string_view message, std::string_view name);

// The address inside a Return-Path value: "<a@b>" -> "a@b", "<>" -> "" (null sender).
// nullopt when the value is malformed (no angle brackets, spaces or control characters inside).
std::optional<std::string> parseReturnPath(std::string_view value);

}  // namespace mc::proto
