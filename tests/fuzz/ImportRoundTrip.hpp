#pragma once
// Shared by fuzz_fetchmailrc and fuzz_getmailrc: what `mailcollector import` promises about an
// ImportResult. A failed import names its file (and line); a successful one prints TOML that
//  - toml++ parses (never a syntax error),
//  - holds exactly the enabled accounts, each string (valid UTF-8) read back unchanged,
//  - parseConfig either accepts or refuses with a ConfigError -- never another exception -- and a
//    refusal only concerns a value copied verbatim from the source file (host, username,
//    recipient, folders), never one the importer chose itself (name, port, tls, interval, ...).

#include <cstdio>
#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "config/Config.hpp"
#include "config/Importers.hpp"
#include "tests/fuzz/FuzzSupport.hpp"

namespace mc::fuzz {

inline void failWith(const std::string& why, const std::string& text) {
    std::fprintf(stderr, "%s\n--- rendered TOML ---\n%s--- end ---\n", why.c_str(), text.c_str());
    std::abort();
}

// key = value read back equals what was rendered (when it could be rendered unchanged).
inline void checkString(const toml::table& table, std::string_view key, const std::string& value,
                        const std::string& text) {
    if (!config::importer::isValidUtf8(value)) return;  // stray bytes are written as Latin-1
    const auto read = table[key].value<std::string>();
    if (!read || *read != value) failWith("value of '" + std::string(key) + "' changed in the round trip", text);
}

// The key a ConfigError names: "FILE[:LINE]: KEY: problem" -> KEY without its table prefix.
inline std::string refusedKey(const std::string& message, const std::string& path) {
    std::string rest = message.substr(path.size());
    if (!rest.empty() && rest[0] == ':' && rest.size() > 1 && rest[1] != ' ') rest = rest.substr(rest.find(':', 1));
    rest = rest.substr(2);  // ": "
    std::string key = rest.substr(0, rest.find(": "));
    return key.substr(key.rfind('.') == std::string::npos ? 0 : key.rfind('.') + 1);
}

inline void checkImport(const config::importer::ImportResult& result) {
    using namespace config::importer;
    if (!result.ok()) {
        MC_FUZZ_CHECK(!result.errorFile.empty());
        MC_FUZZ_CHECK(result.errorLine >= 0);
        return;
    }
    for (const ImportNote& warning : result.config.warnings) {
        MC_FUZZ_CHECK(!warning.file.empty());
        MC_FUZZ_CHECK(warning.line > 0);  // "a warning on stderr naming the source file and line"
    }
    const std::string text = renderToml(result.config);
    toml::table root;
    try {
        root = toml::parse(std::string_view(text), std::string_view("imported.toml"));
    } catch (const toml::parse_error& error) {
        failWith(std::string("import printed TOML that does not parse: ") + std::string(error.description()) +
                     " at line " + std::to_string(error.source().begin.line),
                 text);
    }

    const ImportedTarget& target = result.config.target;
    const toml::table* targetTable = root["target"].as_table();
    MC_FUZZ_CHECK(targetTable != nullptr);
    checkString(*targetTable, "host", target.host, text);
    checkString(*targetTable, "recipient", target.recipient, text);

    const toml::array* accounts = root["account"].as_array();
    std::size_t index = 0;
    for (const ImportedAccount& account : result.config.accounts) {
        if (account.disabled) continue;
        if (!accounts || index >= accounts->size()) failWith("an account went missing", text);
        const toml::table* table = (*accounts)[index++].as_table();
        MC_FUZZ_CHECK(table != nullptr);
        checkString(*table, "name", account.name, text);
        checkString(*table, "host", account.host, text);
        checkString(*table, "username", account.username, text);
        if (!account.password.empty()) checkString(*table, "password", account.password, text);
    }
    if ((accounts ? accounts->size() : 0) != index) failWith("an account appeared from nowhere", text);

    const std::string path = "/tmp/imported.toml";
    try {
        (void)config::parseConfig(text, path);
    } catch (const config::ConfigError& error) {
        const std::string key = refusedKey(error.what(), path);
        if (key != "host" && key != "username" && key != "recipient" && key != "folders")
            failWith(std::string("the loader refused a value the importer chose: ") + error.what(), text);
    }
}

}  // namespace mc::fuzz
