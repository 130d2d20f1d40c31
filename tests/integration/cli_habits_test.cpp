// The habits of Unix mail tools: a default config path, -v/-q and MC_LOG_LEVEL, --trace with
// credentials left out, and `config show`.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/Process.hpp"
#include "tests/support/TempDir.hpp"
#include "tests/support/fakes/CollectorHarness.hpp"
#include "tests/support/fakes/ScriptedServer.hpp"

namespace mc::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

// A remote target without TLS, allowed: validate warns about it (a warning to see or hide).
constexpr const char* kConfig = R"([collector]
ledger = "state/ledger.db"
quarantine_dir = "state/quarantine"

[target]
protocol = "smtp"
host = "mx.example.org"
tls = "none"
allow_plaintext = true
recipient = "me@example.org"

[[account]]
name = "old-isp"
host = "pop.example.net"
username = "me@example.net"
password = "Inline-Secret-42"
)";

class CliHabits : public ::testing::Test {
protected:
    TempDir dir_{"mc-cli-habits"};
};

TEST_F(CliHabits, WithoutDashCTheXdgConfigIsUsed) {
    dir_.writeFile("xdg/mailcollector/config.toml", kConfig, 0600);
    auto result = runProcess({MC_BINARY, "validate"}, {{"XDG_CONFIG_HOME", (dir_.path() / "xdg").string()}});
    EXPECT_TRUE(result.ok()) << result.describe();
    EXPECT_THAT(result.out, HasSubstr((dir_.path() / "xdg/mailcollector/config.toml").string() + ": ok (1 accounts)"));
}

TEST_F(CliHabits, WithoutAnyConfigTheErrorNamesWhereItLooked) {
    if (::access("/etc/mailcollector/config.toml", F_OK) == 0) GTEST_SKIP() << "this machine has a system config";
    auto result = runProcess({MC_BINARY, "check"}, {{"XDG_CONFIG_HOME", (dir_.path() / "none").string()}});
    EXPECT_EQ(result.exitCode, 2) << result.describe();
    EXPECT_THAT(result.err, HasSubstr("check needs a config: give -c FILE, or create " +
                                      (dir_.path() / "none/mailcollector/config.toml").string() +
                                      " or /etc/mailcollector/config.toml"));
}

TEST_F(CliHabits, QuietVerboseAndMcLogLevelChooseWhatIsLogged) {
    const std::string config = dir_.writeFile("c.toml", kConfig, 0600).string();
    const std::string warning = "target uses tls = \"none\"";
    EXPECT_THAT(runProcess({MC_BINARY, "validate", "-c", config}).err, HasSubstr(warning));
    EXPECT_THAT(runProcess({MC_BINARY, "validate", "-q", "-c", config}).err, HasSubstr(warning));
    EXPECT_THAT(runProcess({MC_BINARY, "validate", "-c", config}, {{"MC_LOG_LEVEL", "error"}}).err,
                Not(HasSubstr(warning)));
    EXPECT_THAT(runProcess({MC_BINARY, "validate", "-v", "-c", config}, {{"MC_LOG_LEVEL", "error"}}).err,
                HasSubstr(warning));
    // A typo in MC_LOG_LEVEL used to turn logging off altogether.
    auto typo = runProcess({MC_BINARY, "validate", "-c", config}, {{"MC_LOG_LEVEL", "verbose"}});
    EXPECT_TRUE(typo.ok()) << typo.describe();
    EXPECT_THAT(typo.err, HasSubstr("MC_LOG_LEVEL=verbose is not a level"));
    EXPECT_THAT(typo.err, HasSubstr(warning));
}

TEST_F(CliHabits, ConfigShowPrintsEveryDefaultRedactsSecretsAndLoadsBack) {
    const std::string config = dir_.writeFile("c.toml", kConfig, 0600).string();
    auto shown = runProcess({MC_BINARY, "config", "show", "-c", config});
    ASSERT_TRUE(shown.ok()) << shown.describe();
    EXPECT_THAT(shown.out, Not(HasSubstr("Inline-Secret-42")));
    EXPECT_THAT(shown.out, HasSubstr("password = \"(redacted)\""));
    EXPECT_THAT(shown.out, HasSubstr("ledger = \"" + (dir_.path() / "state/ledger.db").string() + "\""));
    EXPECT_THAT(shown.out, HasSubstr("io_timeout = \"120s\""));
    EXPECT_THAT(shown.out, HasSubstr("port = 995"));  // the account's default
    EXPECT_THAT(shown.out, HasSubstr("port = 25"));   // the target's
    EXPECT_THAT(shown.out, HasSubstr("tls = \"implicit\""));
    EXPECT_THAT(shown.out, HasSubstr("folders = [\"INBOX\"]"));
    const std::string again = dir_.writeFile("shown.toml", shown.out, 0600).string();
    auto valid = runProcess({MC_BINARY, "validate", "-c", again});
    EXPECT_TRUE(valid.ok()) << valid.describe() << shown.out;
    auto twice = runProcess({MC_BINARY, "config", "show", "-c", again});
    EXPECT_EQ(twice.out.substr(twice.out.find('\n')), shown.out.substr(shown.out.find('\n')));
}

TEST(CliTrace, TraceShowsTheExchangeWithoutThePassword) {
    ScriptedServer pop(Script().sendLine("+OK ready").onEachLine([](ScriptedConnection& c, const std::string& line) {
        if (line.rfind("USER", 0) == 0) return c.send("+OK\r\n");
        if (line.rfind("PASS", 0) == 0) {
            c.send("-ERR [AUTH] invalid\r\n");
            return false;
        }
        return c.send("-ERR unknown\r\n");
    }));
    CollectorHarness harness("5s");
    AccountConfig account;
    account.port = pop.port();
    TargetConfig target;
    target.port = 1;
    harness.writeConfig(target, {account});
    auto result = harness.command("check", {"--account", "acct", "--trace"});
    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_THAT(result.err, HasSubstr("S: +OK ready"));
    EXPECT_THAT(result.err, HasSubstr("C: USER alice"));
    EXPECT_THAT(result.err, HasSubstr("C: PASS [credentials]"));
    EXPECT_THAT(result.err, HasSubstr("S: -ERR [AUTH] invalid"));
    EXPECT_TRUE(pop.receivedContains(account.password)) << "the server did get the password";
    EXPECT_THAT(result.err, Not(HasSubstr(account.password)));
    EXPECT_THAT(result.out, Not(HasSubstr(account.password)));
}

}  // namespace
}  // namespace mc::testing
