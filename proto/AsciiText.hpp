#pragma once
// ASCII-only text tests: case handling for protocol keywords (IMAP, SMTP, POP3 are case-insensitive in
// ASCII; locale-dependent std::toupper is not wanted on server bytes).

#include <cstddef>
#include <string>
#include <string_view>

namespace mc::proto {

inline char asciiUpper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

inline bool equalsNoCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (asciiUpper(a[i]) != asciiUpper(b[i])) return false;
    return true;
}

inline std::string asciiUpperCopy(std::string_view text) {
    std::string result(text);
    for (char& c : result) c = asciiUpper(c);
    return result;
}

// A SHA-256 fingerprint as configs write it: 64 hex digits, colons anywhere between them.
inline bool isSha256Fingerprint(std::string_view text) {
    std::size_t digits = 0;
    for (char c : text) {
        if (c == ':') continue;
        const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!hex) return false;
        ++digits;
    }
    return digits == 64;
}

}  // namespace mc::proto
