// What `validate` checks beyond the file: the files it names, and two accounts on one mailbox.

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/Config.hpp"
#include "config/SetupChecks.hpp"

namespace mc::config {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class SetupChecksTest : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/mc-setup-checks-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string write(const std::string& name, mode_t mode) {
        const std::string path = (dir_ / name).string();
        std::ofstream(path) << "secret\n";
        ::chmod(path.c_str(), mode);
        return path;
    }

    Config parse(const std::string& accounts) {
        return parseConfig("[target]\nhost = \"mail.example.org\"\nrecipient = \"me@example.org\"\n" + accounts,
                           (dir_ / "c.toml").string());
    }

    static std::string texts(const std::vector<SetupFinding>& findings) {
        std::string out;
        for (const auto& finding : findings) out += (finding.error ? "error: " : "warning: ") + finding.text + "\n";
        return out;
    }

    fs::path dir_;
};

TEST_F(SetupChecksTest, APrivateExistingPasswordFilePasses) {
    write("pw", 0600);
    auto config = parse("[[account]]\nname = \"a\"\nhost = \"h\"\nusername = \"u\"\npassword_file = \"pw\"\n");
    EXPECT_TRUE(checkSetup(config).empty()) << texts(checkSetup(config));
}

TEST_F(SetupChecksTest, AMissingPasswordFileIsAnErrorNamingTheAccount) {
    auto config = parse("[[account]]\nname = \"old-isp\"\nhost = \"h\"\nusername = \"u\"\npassword_file = \"pw\"\n");
    auto findings = checkSetup(config);
    ASSERT_EQ(findings.size(), 1u) << texts(findings);
    EXPECT_TRUE(findings[0].error);
    EXPECT_THAT(findings[0].text, HasSubstr(":4: account[old-isp].password_file: " + (dir_ / "pw").string() +
                                            " does not exist: write the password on its first line, then chmod 600"));
}

TEST_F(SetupChecksTest, APasswordFileOthersCanReadIsAnError) {
    write("pw", 0644);
    auto config = parse("[[account]]\nname = \"a\"\nhost = \"h\"\nusername = \"u\"\npassword_file = \"pw\"\n");
    auto findings = checkSetup(config);
    ASSERT_EQ(findings.size(), 1u) << texts(findings);
    EXPECT_THAT(findings[0].text, HasSubstr("others can read it (mode 0644): chmod 600 " + (dir_ / "pw").string()));
}

TEST_F(SetupChecksTest, TwoAccountsOnOneMailboxAreWarnedAbout) {
    auto config = parse(
        "[[account]]\nname = \"a\"\nhost = \"Pop.Example.net\"\nusername = \"u\"\npassword_env = \"P\"\n"
        "[[account]]\nname = \"b\"\nprotocol = \"imap\"\nhost = \"pop.example.net\"\nusername = \"u\"\n"
        "password_env = \"P\"\n"
        "[[account]]\nname = \"c\"\nhost = \"pop.example.net\"\nusername = \"other\"\npassword_env = \"P\"\n");
    auto findings = checkSetup(config);
    ASSERT_EQ(findings.size(), 1u) << texts(findings);
    EXPECT_FALSE(findings[0].error);
    EXPECT_THAT(findings[0].text, HasSubstr("account[b]: collects the same mailbox as account a (line 4)"));
    EXPECT_THAT(findings[0].text, HasSubstr("delivered twice"));
}

TEST_F(SetupChecksTest, ImapAccountsOnOneLoginReadingOtherFoldersAreFine) {
    auto config = parse(
        "[[account]]\nname = \"a\"\nprotocol = \"imap\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\n"
        "folders = [\"INBOX\"]\n"
        "[[account]]\nname = \"b\"\nprotocol = \"imap\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\n"
        "folders = [\"Archive\"]\n");
    EXPECT_TRUE(checkSetup(config).empty()) << texts(checkSetup(config));
}

}  // namespace
}  // namespace mc::config
