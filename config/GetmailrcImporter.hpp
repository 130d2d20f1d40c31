#pragma once
// The getmail6 rc format: INI as Python's configparser reads it (sections, `key = value` or
// `key: value`, case-insensitive keys, indented continuation lines, full-line # and ; comments),
// with Python tuple literals for lists (mailboxes = ("INBOX", 'Sent'), password_command). Pure,
// never throws. The mapping to mailcollector settings is importGetmailrc (Importers.hpp).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mc::config::importer {

struct IniValue {
    std::string key;  // lowercased
    std::string value;
    int line = 0;
};

struct IniSection {
    std::string name;
    int line = 0;
    std::vector<IniValue> values;

    const IniValue* find(std::string_view key) const;
};

struct IniFile {
    std::vector<IniSection> sections;
    int errorLine = 0;
    std::string error;  // empty: parsed

    const IniSection* find(std::string_view name) const;
};

IniFile parseIni(const std::string& text);

// A Python tuple of string literals: ("a", 'b\n',) or (). nullopt when it is anything else.
std::optional<std::vector<std::string>> parsePythonStrings(std::string_view text);

}  // namespace mc::config::importer
