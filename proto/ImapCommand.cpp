#include "proto/ImapCommand.hpp"

#include <algorithm>

#include "proto/ModifiedUtf7.hpp"

namespace mc::proto {

namespace {

// The longest range, "4294967295:4294967295".
constexpr std::size_t kLongestRange = 21;

}  // namespace

std::optional<ImapQuoted> imapQuote(std::string_view value, ImapLiteralMode mode, bool utf8) {
    if (value.find('\0') != std::string_view::npos) {
        return std::nullopt;
    }
    bool quotable = value.size() <= kImapMaxQuotedLength && value.find_first_of("\r\n") == std::string_view::npos;
    const bool eightBit =
        std::any_of(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    if (quotable && eightBit) {
        quotable = utf8 && isValidUtf8(value);
    }
    ImapQuoted result;
    if (quotable) {
        result.token.reserve(value.size() + 2);
        result.token.push_back('"');
        for (char c : value) {
            if (c == '"' || c == '\\') {
                result.token.push_back('\\');
            }
            result.token.push_back(c);
        }
        result.token.push_back('"');
        return result;
    }
    result.literal = true;
    result.nonSynchronizing = mode == ImapLiteralMode::LiteralPlus ||
                              (mode == ImapLiteralMode::LiteralMinus && value.size() <= kImapLiteralMinusMax);
    result.token = '{' + std::to_string(value.size()) + (result.nonSynchronizing ? "+}" : "}");
    return result;
}

std::vector<std::string> imapSequenceSet(std::vector<std::uint32_t> uids, std::size_t maxLength) {
    maxLength = std::max(maxLength, kLongestRange);
    std::sort(uids.begin(), uids.end());
    uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
    if (!uids.empty() && uids.front() == 0) {
        uids.erase(uids.begin());
    }
    std::vector<std::string> sets;
    std::string current;
    for (std::size_t i = 0; i < uids.size();) {
        std::size_t j = i;
        while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) {
            ++j;
        }
        std::string range = std::to_string(uids[i]);
        if (j > i) {
            range += ':' + std::to_string(uids[j]);
        }
        const std::size_t needed = range.size() + (current.empty() ? 0 : 1);
        if (!current.empty() && current.size() + needed > maxLength) {
            sets.push_back(std::move(current));
            current.clear();
        }
        if (!current.empty()) {
            current.push_back(',');
        }
        current += range;
        i = j + 1;
    }
    if (!current.empty()) {
        sets.push_back(std::move(current));
    }
    return sets;
}

}  // namespace mc::proto
