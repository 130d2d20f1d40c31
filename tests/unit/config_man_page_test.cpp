// mailcollector.toml(5) documents exactly the keys the loader accepts, table by table.

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "config/Config.hpp"

namespace mc::config {
namespace {

// The ".TP" / ".B key" entries under ".SS [table]" (or ".SS [[table]]").
std::set<std::string> documentedKeys(const std::string& table) {
    std::ifstream in(std::string(MC_SOURCE_DIR) + "/man/mailcollector.toml.5");
    EXPECT_TRUE(in) << "man/mailcollector.toml.5 is missing";
    std::set<std::string> keys;
    std::string line, previous;
    bool inside = false;
    while (std::getline(in, line)) {
        if (line.rfind(".SS ", 0) == 0 || line.rfind(".SH ", 0) == 0)
            inside = line == ".SS [" + table + "]" || line == ".SS [[" + table + "]]";
        else if (inside && previous == ".TP" && line.rfind(".B ", 0) == 0)
            keys.insert(line.substr(3));
        previous = line;
    }
    return keys;
}

TEST(ManPage, DocumentsEveryKeyTheLoaderAcceptsAndNoOther) {
    for (const std::string table : {"collector", "target", "account"}) {
        std::set<std::string> accepted;
        for (auto key : acceptedKeys(table)) accepted.insert(std::string(key));
        ASSERT_FALSE(accepted.empty()) << table;
        const auto documented = documentedKeys(table);
        for (const auto& key : accepted)
            EXPECT_TRUE(documented.count(key)) << "[" << table << "] " << key << " is not in mailcollector.toml(5)";
        for (const auto& key : documented)
            EXPECT_TRUE(accepted.count(key))
                << "mailcollector.toml(5) documents [" << table << "] " << key << ", which the loader refuses";
    }
}

}  // namespace
}  // namespace mc::config
