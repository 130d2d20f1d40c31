// Every file in examples/ must parse: they are what people copy from.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/Config.hpp"

namespace mc::config {
namespace {

namespace fs = std::filesystem;

fs::path examplesDir() { return fs::path(MC_SOURCE_DIR) / "examples"; }

std::vector<fs::path> exampleFiles() {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(examplesDir()))
        if (entry.path().extension() == ".toml") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

std::string readFile(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST(ConfigExamples, AllExamplesParse) {
    std::vector<fs::path> files = exampleFiles();
    ASSERT_GE(files.size(), 3u) << "no examples found in " << examplesDir();
    for (const fs::path& file : files) {
        SCOPED_TRACE(file.string());
        EXPECT_NO_THROW({
            try {
                parseConfig(readFile(file), file.string());
            } catch (const ConfigError& error) {
                ADD_FAILURE() << error.what();
                throw;
            }
        });
    }
}

TEST(ConfigExamples, SingleUserHasFiveMixedAccounts) {
    Config config =
        parseConfig(readFile(examplesDir() / "single-user.toml"), (examplesDir() / "single-user.toml").string());
    ASSERT_EQ(config.accounts.size(), 5u);
    auto pop3 = std::count_if(config.accounts.begin(), config.accounts.end(),
                              [](const auto& a) { return a.protocol == SourceProtocol::Pop3; });
    EXPECT_GT(pop3, 0);
    EXPECT_LT(pop3, 5);
}

// The examples model good practice: no inline passwords anywhere.
TEST(ConfigExamples, NoInlinePasswords) {
    for (const fs::path& file : exampleFiles()) {
        Config config = parseConfig(readFile(file), file.string());
        EXPECT_NE(config.target.password.kind, SecretSource::Kind::Inline) << file;
        for (const auto& account : config.accounts)
            EXPECT_NE(account.password.kind, SecretSource::Kind::Inline) << file << " " << account.name;
    }
}

}  // namespace
}  // namespace mc::config
