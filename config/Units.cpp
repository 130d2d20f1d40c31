// Sizes and durations as people write them in a config file.

#include <array>
#include <limits>
#include <string_view>
#include <utility>

#include "config/Config.hpp"

namespace mc::config {

namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// Consumes leading decimal digits; nullopt when there are none or the number overflows.
std::optional<std::uint64_t> takeNumber(std::string_view& text) {
    std::uint64_t value = 0;
    std::size_t used = 0;
    for (; used < text.size() && text[used] >= '0' && text[used] <= '9'; ++used) {
        unsigned digit = static_cast<unsigned>(text[used] - '0');
        if (value > (kMax - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
    }
    if (used == 0) return std::nullopt;
    text.remove_prefix(used);
    return value;
}

std::optional<std::uint64_t> multiply(std::uint64_t value, std::uint64_t factor) {
    if (factor != 0 && value > kMax / factor) return std::nullopt;
    return value * factor;
}

// The spellings are case-sensitive on purpose: "MB" is 1000-based while "M" and "MiB" are
// 1024-based, and guessing at "mb" would hide the difference.
std::optional<std::uint64_t> sizeFactor(std::string_view unit) {
    constexpr std::uint64_t kB = 1000, KiB = 1024;
    static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 16> kUnits{{
        {"", 1},
        {"B", 1},
        {"KB", kB},
        {"kB", kB},
        {"MB", kB * kB},
        {"GB", kB * kB * kB},
        {"TB", kB * kB * kB * kB},
        {"KiB", KiB},
        {"MiB", KiB * KiB},
        {"GiB", KiB * KiB * KiB},
        {"TiB", KiB * KiB * KiB * KiB},
        {"k", KiB},
        {"K", KiB},
        {"M", KiB * KiB},
        {"G", KiB * KiB * KiB},
        {"T", KiB * KiB * KiB * KiB},
    }};
    for (const auto& [spelling, factor] : kUnits)
        if (spelling == unit) return factor;
    return std::nullopt;
}

std::optional<std::uint64_t> durationFactor(char unit) {
    switch (unit) {
        case 's':
            return 1;
        case 'm':
            return 60;
        case 'h':
            return 3600;
        case 'd':
            return 86400;
        case 'w':
            return 7 * 86400;
        default:
            return std::nullopt;
    }
}

}  // namespace

std::optional<std::uint64_t> parseSize(const std::string& input) {
    std::string_view text = trim(input);
    auto number = takeNumber(text);
    if (!number) return std::nullopt;
    auto factor = sizeFactor(trim(text));
    if (!factor) return std::nullopt;
    return multiply(*number, *factor);
}

// Accepts a bare number of seconds or one or more "<number><unit>" parts ("1h30m").
std::optional<std::chrono::seconds> parseDuration(const std::string& input) {
    std::string_view text = trim(input);
    if (text.empty()) return std::nullopt;
    std::uint64_t total = 0;
    bool first = true;
    while (!text.empty()) {
        auto number = takeNumber(text);
        if (!number) return std::nullopt;
        std::optional<std::uint64_t> factor = 1;  // a bare number is seconds
        if (!(text.empty() && first)) {
            factor = text.empty() ? std::nullopt : durationFactor(text.front());
            if (!factor) return std::nullopt;
            text.remove_prefix(1);
        }
        auto part = multiply(*number, *factor);
        if (!part || *part > kMax - total) return std::nullopt;
        total += *part;
        text = trim(text);
        first = false;
    }
    // std::chrono::seconds is signed; refuse what it cannot hold.
    if (total > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return std::chrono::seconds(static_cast<std::int64_t>(total));
}

}  // namespace mc::config
