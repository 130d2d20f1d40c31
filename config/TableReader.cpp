#include "config/TableReader.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace mc::config::detail {

std::string errorText(const std::string& file, int line, const std::string& key, const std::string& problem) {
    std::string text = file;
    if (line > 0) text += ":" + std::to_string(line);
    if (!key.empty()) text += ": " + key;
    return text + ": " + problem;
}

void failAt(const std::string& file, int line, const std::string& key, const std::string& problem) {
    throw ConfigError(errorText(file, line, key, problem));
}

std::string describeType(toml::node_type type) {
    switch (type) {
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a floating-point number";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

int lineOf(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

TableReader::TableReader(const toml::table& table, std::string prefix, std::string file,
                         std::initializer_list<std::string_view> keys)
    : table_(table), prefix_(std::move(prefix)), file_(std::move(file)) {
    for (std::string_view key : keys) keys_.emplace(key);
}

const toml::node* TableReader::node(std::string_view key) const { return table_.get(key); }

const toml::node* TableReader::typed(std::string_view key, toml::node_type expected) const {
    const toml::node* found = node(key);
    if (found && found->type() != expected)
        fail(key, "expected " + describeType(expected) + ", found " + describeType(found->type()));
    return found;
}

std::optional<std::string> TableReader::string(std::string_view key) const {
    const toml::node* found = typed(key, toml::node_type::string);
    if (!found) return std::nullopt;
    return found->as_string()->get();
}

std::optional<std::int64_t> TableReader::integer(std::string_view key) const {
    const toml::node* found = typed(key, toml::node_type::integer);
    if (!found) return std::nullopt;
    return found->as_integer()->get();
}

std::optional<bool> TableReader::boolean(std::string_view key) const {
    const toml::node* found = typed(key, toml::node_type::boolean);
    if (!found) return std::nullopt;
    return found->as_boolean()->get();
}

std::optional<std::vector<std::string>> TableReader::stringArray(std::string_view key) const {
    const toml::node* found = typed(key, toml::node_type::array);
    if (!found) return std::nullopt;
    std::vector<std::string> values;
    for (const toml::node& element : *found->as_array()) {
        if (!element.is_string())
            failAt(file_, lineOf(element), name(key),
                   "expected an array of strings, found " + describeType(element.type()) + " in it");
        values.push_back(element.as_string()->get());
    }
    return values;
}

std::optional<std::int64_t> TableReader::integerInRange(std::string_view key, std::int64_t low,
                                                        std::int64_t high) const {
    auto value = integer(key);
    if (value && (*value < low || *value > high))
        fail(key, "must be between " + std::to_string(low) + " and " + std::to_string(high) + ", found " +
                      std::to_string(*value));
    return value;
}

int TableReader::line(std::string_view key) const {
    const toml::node* found = table_.get(key);
    return found ? lineOf(*found) : headerLine();
}

std::string TableReader::name(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
}

void TableReader::fail(std::string_view key, const std::string& problem) const {
    failAt(file_, line(key), name(key), problem);
}

void TableReader::failHeader(std::string_view key, const std::string& problem) const {
    failAt(file_, headerLine(), name(key), problem);
}

std::vector<std::string> TableReader::unknownKeys() const {
    // toml::table iterates in key order; file order instead, so that fixing errors top to bottom works.
    std::vector<const toml::key*> unknown;
    for (const auto& [key, value] : table_)
        if (!keys_.count(key.str())) unknown.push_back(&key);
    std::sort(unknown.begin(), unknown.end(),
              [](const toml::key* a, const toml::key* b) { return a->source().begin < b->source().begin; });
    std::vector<std::string> names;
    names.reserve(unknown.size());
    for (const toml::key* key : unknown) names.emplace_back(key->str());
    return names;
}

bool TableReader::misspelled(std::string_view key) const {
    const std::string meant = " (did you mean \"" + std::string(key) + "\"?)";
    for (const std::string& unknown : unknownKeys())
        if (suggestion(unknown) == meant) return true;
    return false;
}

void TableReader::failUnknown(std::string_view key) const {
    const toml::node* value = node(key);
    std::string what = value && value->is_table() ? "unknown table" : "unknown key";
    fail(key, what + suggestion(key));
}

bool TableReader::equalsIgnoreCase(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    });
}

namespace {

std::size_t editDistance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

}  // namespace

// Typos are the usual cause of unknown keys, so name the closest known key when there is one.
std::string TableReader::suggestion(std::string_view unknown) const {
    std::string best;
    std::size_t bestDistance = std::numeric_limits<std::size_t>::max();
    for (const auto& candidate : keys_) {
        std::size_t distance = editDistance(unknown, candidate);
        if (distance < bestDistance) {
            bestDistance = distance;
            best = candidate;
        }
    }
    if (best.empty() || bestDistance > 2 || bestDistance >= unknown.size()) return "";
    return " (did you mean \"" + best + "\"?)";
}

}  // namespace mc::config::detail
