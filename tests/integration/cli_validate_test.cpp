// `validate` as a new user meets it: every error of every table in one pass, accounts by name, TOML
// slips in plain words, secret files checked, the same mailbox under two names warned about.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/Process.hpp"
#include "tests/support/TempDir.hpp"

namespace mc::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kTarget =
    "[target]\nprotocol = \"lmtp\"\nhost = \"127.0.0.1\"\ntls = \"none\"\nrecipient = \"me\"\n";

class CliValidate : public ::testing::Test {
protected:
    ProcessResult validate(const std::string& toml) {
        auto path = dir_.writeFile("mailcollector.toml", toml, 0600);
        return runProcess({MC_BINARY, "validate", "-c", path.string()});
    }
    TempDir dir_{"mc-cli-validate"};
};

TEST_F(CliValidate, ReportsEveryAccountsErrorByNameInOnePass) {
    auto result = validate(std::string(kTarget) +
                           "[[account]]\nname = \"old-isp\"\nhost = \"pop.example.net\"\nusername = \"u\"\n"
                           "password_env = \"P\"\nport = 0\n"
                           "[[account]]\nname = \"work\"\nhost = \"imap.example.net\"\nusername = \"u\"\n"
                           "password_env = \"P\"\nkeep = yes\n");
    EXPECT_EQ(result.exitCode, 2) << result.describe();
    // The TOML slip stops the parse (it is one document); fixing it shows the rest.
    EXPECT_THAT(result.err, HasSubstr(":17: TOML syntax error in `keep = yes`: the value is not one TOML knows"));
    result = validate(std::string(kTarget) +
                      "[[account]]\nname = \"old-isp\"\nhost = \"pop.example.net\"\nusername = \"u\"\n"
                      "password_env = \"P\"\nport = 0\n"
                      "[[account]]\nname = \"work\"\nhost = \"imap.example.net\"\nusername = \"u\"\n"
                      "password_env = \"P\"\nmax_parallel = 2\n");
    EXPECT_EQ(result.exitCode, 2) << result.describe();
    EXPECT_THAT(result.err, HasSubstr("mailcollector: " + (dir_.path() / "mailcollector.toml").string() +
                                      ":11: account[old-isp].port: must be between 1 and 65535, found 0\n"));
    // A [collector] key written after the last account is that account's: it says where it goes.
    EXPECT_THAT(result.err, HasSubstr(":17: account[work].max_parallel: unknown key: it is a [collector] key"));
}

TEST_F(CliValidate, ReportsEveryBadKeyOfATableNotOnlyItsFirst) {
    auto result = validate("[collector]\nmax_parallel = 0\nio_timeout = \"soon\"\n" + std::string(kTarget) +
                           "port = 70000\n"
                           "[[account]]\nname = \"old-isp\"\nhost = \"pop.example.net\"\nusername = \"u\"\n"
                           "password_env = \"P\"\nport = 0\nkeep = \"no\"\nfetch = \"everything\"\n");
    EXPECT_EQ(result.exitCode, 2) << result.describe();
    const std::string file = "mailcollector: " + (dir_.path() / "mailcollector.toml").string();
    EXPECT_THAT(result.err, HasSubstr(file + ":2: collector.max_parallel: must be between 1 and 1024, found 0\n" +
                                      file + ":3: collector.io_timeout: expected a duration"));
    EXPECT_THAT(result.err, HasSubstr(":9: target.port: must be between 1 and 65535, found 70000\n"));
    EXPECT_THAT(result.err, HasSubstr(":15: account[old-isp].port: must be between 1 and 65535, found 0\n" + file +
                                      ":16: account[old-isp].keep: expected a boolean, found a string\n" + file +
                                      ":17: account[old-isp].fetch: unknown value \"everything\""));
}

TEST_F(CliValidate, AMissingOrReadablePasswordFileFailsValidate) {
    const std::string account =
        "[[account]]\nname = \"old-isp\"\nhost = \"pop.example.net\"\nusername = \"u\"\n"
        "password_file = \"isp.pw\"\n";
    auto missing = validate(std::string(kTarget) + account);
    EXPECT_EQ(missing.exitCode, 2) << missing.describe();
    EXPECT_THAT(missing.err,
                HasSubstr("account[old-isp].password_file: " + (dir_.path() / "isp.pw").string() + " does not exist"));
    dir_.writeFile("isp.pw", "secret\n", 0644);
    auto readable = validate(std::string(kTarget) + account);
    EXPECT_EQ(readable.exitCode, 2) << readable.describe();
    EXPECT_THAT(readable.err, HasSubstr("(mode 0644): chmod 600"));
    dir_.writeFile("isp.pw", "secret\n", 0600);
    auto ok = validate(std::string(kTarget) + account);
    EXPECT_TRUE(ok.ok()) << ok.describe();
    EXPECT_THAT(ok.out, HasSubstr(": ok (1 accounts)"));
}

TEST_F(CliValidate, TheSameHostAndUserUnderTwoNamesIsWarnedAbout) {
    auto result = validate(std::string(kTarget) +
                           "[[account]]\nname = \"isp\"\nhost = \"pop.example.net\"\nusername = \"me\"\n"
                           "password_env = \"P\"\n"
                           "[[account]]\nname = \"isp-again\"\nhost = \"pop.example.net\"\nusername = \"me\"\n"
                           "password_env = \"P\"\n");
    EXPECT_TRUE(result.ok()) << result.describe();
    EXPECT_THAT(result.err, HasSubstr("warning: "));
    EXPECT_THAT(result.err, HasSubstr("account[isp-again]: collects the same mailbox as account isp"));
}

}  // namespace
}  // namespace mc::testing
