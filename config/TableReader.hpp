#pragma once
// Internal to the config module: typed, position-aware access to one TOML table. The table's keys
// are declared up front so that unknown keys are told apart: a typo then reads "unknown key", with
// the key it most likely meant.
// Every error is a ConfigError reading "FILE:LINE: KEY: problem".

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "config/Config.hpp"

namespace mc::config::detail {

// Builds the message text; line 0 means "no place in the file" and is left out.
std::string errorText(const std::string& file, int line, const std::string& key, const std::string& problem);
[[noreturn]] void failAt(const std::string& file, int line, const std::string& key, const std::string& problem);

// "a string", "an integer", ... for "expected X, found Y" messages.
std::string describeType(toml::node_type type);

int lineOf(const toml::node& node);

class TableReader {
public:
    // `prefix` is the dotted name of the table ("target", "account[2]"), empty for the root;
    // `keys` are the keys the table may hold.
    TableReader(const toml::table& table, std::string prefix, std::string file,
                std::initializer_list<std::string_view> keys);

    std::optional<std::string> string(std::string_view key) const;
    std::optional<std::int64_t> integer(std::string_view key) const;
    std::optional<bool> boolean(std::string_view key) const;
    std::optional<std::vector<std::string>> stringArray(std::string_view key) const;
    // Integer within [low, high]; the message quotes the bounds.
    std::optional<std::int64_t> integerInRange(std::string_view key, std::int64_t low, std::int64_t high) const;
    // Any node; the caller checks its type (for keys that accept a string or an integer).
    const toml::node* node(std::string_view key) const;

    // Case-insensitive match against the allowed spellings; the message lists them.
    template <typename E>
    std::optional<E> choice(std::string_view key, std::initializer_list<std::pair<std::string_view, E>> allowed) const {
        auto text = string(key);
        if (!text) return std::nullopt;
        for (const auto& [spelling, value] : allowed)
            if (equalsIgnoreCase(*text, spelling)) return value;
        std::string names;
        for (const auto& [spelling, value] : allowed) names += (names.empty() ? "" : ", ") + std::string(spelling);
        fail(key, "unknown value \"" + *text + "\"; expected one of: " + names);
    }

    // The line of the key's value, or of the table header when the key is absent.
    int line(std::string_view key) const;
    int headerLine() const { return lineOf(table_); }
    std::string name(std::string_view key) const;
    const std::string& prefix() const { return prefix_; }
    const std::string& file() const { return file_; }

    [[noreturn]] void fail(std::string_view key, const std::string& problem) const;
    [[noreturn]] void failHeader(std::string_view key, const std::string& problem) const;

    // The keys that are not among the declared keys, in file order.
    std::vector<std::string> unknownKeys() const;
    // "unknown key" (or table) for one of them, naming the closest declared key.
    [[noreturn]] void failUnknown(std::string_view key) const;
    // True when an unknown key of the table is most likely `key` misspelled: its absence is
    // said by that key's error.
    bool misspelled(std::string_view key) const;

private:
    static bool equalsIgnoreCase(std::string_view a, std::string_view b);
    const toml::node* typed(std::string_view key, toml::node_type expected) const;
    std::string suggestion(std::string_view unknown) const;

    const toml::table& table_;
    std::string prefix_;
    std::string file_;
    std::set<std::string, std::less<>> keys_;
};

}  // namespace mc::config::detail
