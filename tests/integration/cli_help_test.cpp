// The command line as a user meets it: `help`, `help CMD`, `CMD --help`, `--version`, and usage
// errors that name the mistake (exit 2).

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/Process.hpp"

namespace mc::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

ProcessResult mc(std::vector<std::string> args) {
    args.insert(args.begin(), MC_BINARY);
    return runProcess(args);
}

TEST(CliHelp, HelpListsEveryCommand) {
    auto help = mc({"help"});
    ASSERT_TRUE(help.ok()) << help.describe();
    for (const char* command :
         {"run", "poll", "check", "validate", "status", "oauth2", "quarantine", "import", "ledger"})
        EXPECT_THAT(help.out, HasSubstr("  mailcollector " + std::string(command) + " ")) << command;
    EXPECT_EQ(mc({"--help"}).out, help.out);
    EXPECT_EQ(mc({"-h"}).out, help.out);
}

TEST(CliHelp, HelpCommandAndCommandHelpShowTheCommandsOwnPage) {
    auto page = mc({"help", "run"});
    ASSERT_TRUE(page.ok()) << page.describe();
    EXPECT_THAT(page.out, StartsWith("usage:\n  mailcollector run -c FILE"));
    EXPECT_THAT(page.out, HasSubstr("--once"));
    EXPECT_THAT(page.out, Not(HasSubstr("mailcollector import")));
    EXPECT_EQ(mc({"run", "--help"}).out, page.out);
    EXPECT_EQ(mc({"--help", "run"}).out, page.out);
    auto quarantine = mc({"quarantine", "list", "-h"});
    ASSERT_TRUE(quarantine.ok()) << quarantine.describe();
    EXPECT_THAT(quarantine.out, HasSubstr("quarantine retry|drop"));
}

TEST(CliHelp, HelpForAnUnknownCommandSaysSo) {
    auto page = mc({"help", "fetch"});
    EXPECT_EQ(page.exitCode, 2) << page.describe();
    EXPECT_THAT(page.err, HasSubstr("no command 'fetch'"));
}

TEST(CliHelp, VersionPrintsTheVersion) {
    auto version = mc({"--version"});
    ASSERT_TRUE(version.ok()) << version.describe();
    EXPECT_THAT(version.out, MatchesRegex("mailcollector [0-9]+\\.[0-9]+\\.[0-9]+\n"));
}

TEST(CliHelp, UsageErrorsNameTheMistake) {
    struct Case {
        std::vector<std::string> args;
        std::string says;
    };
    for (const auto& [args, says] : std::vector<Case>{
             {{}, "no command given"},
             {{"fetch"}, "unknown command 'fetch'"},
             {{"run", "-c", "x.toml", "extra"}, "unexpected argument 'extra'"},
             {{"status", "-c", "x.toml", "--once"}, "unexpected argument '--once'"},
             {{"run", "-c"}, "-c needs a value"},
             {{"quarantine", "-c", "x.toml"}, "quarantine needs list, retry or drop"},
             {{"ledger", "migrate", "--from", "a.db"}, "ledger needs migrate --from FILE.db --to postgresql://"},
             {{"import", "mbox", "x"}, "import needs fetchmailrc FILE or getmailrc FILE..."},
         }) {
        auto result = mc(args);
        EXPECT_EQ(result.exitCode, 2) << result.describe();
        EXPECT_THAT(result.err, HasSubstr(says)) << result.describe();
    }
}

// mailcollector(1) documents exactly the commands the binary knows (its usage page lists them).
TEST(CliHelp, TheManPageDocumentsEveryCommandAndRenders) {
    auto help = mc({"help"});
    ASSERT_TRUE(help.ok()) << help.describe();
    std::set<std::string> known;
    std::istringstream usage(help.out);
    for (std::string line; std::getline(usage, line);)
        if (line.rfind("  mailcollector ", 0) == 0) {
            std::string command = line.substr(16, line.find(' ', 16) - 16);
            if (command != "help" && command[0] != '-') known.insert(command);
        }
    ASSERT_GE(known.size(), 9u) << help.out;

    const std::string page = std::string(MC_SOURCE_DIR) + "/man/mailcollector.1";
    std::ifstream in(page);
    ASSERT_TRUE(in) << page;
    std::set<std::string> documented;
    std::string line, previous;
    bool commands = false;
    while (std::getline(in, line)) {
        if (line.rfind(".SH ", 0) == 0) commands = line == ".SH COMMANDS";
        if (commands && previous == ".TP" && line.rfind(".B ", 0) == 0) {
            std::string command =
                line.substr(3, line.find(' ', 3) == std::string::npos ? std::string::npos : line.find(' ', 3) - 3);
            if (command != "help") documented.insert(command);
        }
        previous = line;
    }
    EXPECT_EQ(documented, known);

    for (const std::string file : {"mailcollector.1", "mailcollector.toml.5"}) {
        auto rendered = runProcess({"man", "-l", std::string(MC_SOURCE_DIR) + "/man/" + file},
                                   {{"MANPAGER", "cat"}, {"MANWIDTH", "80"}});
        ASSERT_TRUE(rendered.ok()) << rendered.describe();
        EXPECT_THAT(rendered.out, HasSubstr("NAME")) << file;
        EXPECT_THAT(rendered.out, HasSubstr("mailcollector")) << file;
    }
}

}  // namespace
}  // namespace mc::testing
