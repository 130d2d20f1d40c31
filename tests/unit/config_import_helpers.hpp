#pragma once
// Shared by the importer tests: the printed TOML read back by the real loader, and warning lookup.

#include <gtest/gtest.h>

#include <string>

#include "config/Config.hpp"
#include "config/Importers.hpp"

namespace mc::config::importer {

// The printed TOML parsed back by the loader (a failure is reported, and an empty Config returned).
inline Config roundTrip(const ImportResult& result) {
    EXPECT_TRUE(result.ok()) << result.errorText();
    std::string text = renderToml(result.config);
    try {
        return parseConfig(text, "/tmp/imported.toml");
    } catch (const ConfigError& error) {
        ADD_FAILURE() << error.what() << "\n" << text;
        return {};
    }
}

inline bool warned(const ImportResult& result, const std::string& needle) {
    for (const auto& warning : result.config.warnings)
        if (warning.text.find(needle) != std::string::npos) return true;
    return false;
}

}  // namespace mc::config::importer
