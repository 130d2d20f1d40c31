// `mailcollector add` through the binary: the secret read from stdin (no terminal) lands in a
// 0600 file of its own, the account is checked against a scripted POP3 server like `check` does,
// and only then appended, the file's comments, layout and mode untouched; a refused login adds
// nothing and leaves no secret behind; a preset address needs no server at all.

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/Process.hpp"
#include "tests/support/TempDir.hpp"
#include "tests/support/fakes/FakePop3Server.hpp"

namespace mc::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kConfig =
    "# my collector -- hand-written, keep these comments\n"
    "[collector]\nledger = \"ledger.db\"   # beside this file\nquarantine_dir = \"q\"\nhttp_listen = \"\"\n"
    "io_timeout = \"5s\"\n\n"
    "[target]\nprotocol = \"lmtp\"\nhost = \"127.0.0.1\"\nport = 1\ntls = \"none\"\nrecipient = \"me\"\n";

std::string readFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

mode_t modeOf(const fs::path& path) {
    struct stat status {};
    ::stat(path.c_str(), &status);
    return status.st_mode & 07777;
}

ProcessResult add(const fs::path& config, std::vector<std::string> args, const std::string& input) {
    ProcessSpec spec;
    spec.argv = {mailcollectorBinary().string(), "add"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.argv.insert(spec.argv.end(), {"-c", config.string()});
    spec.input = input;
    return runProcess(spec, std::chrono::seconds(60));
}

TEST(CliAdd, ChecksThenAppendsKeepingTheFileAndItsMode) {
    TempDir dir("mc-add");
    auto config = dir.writeFile("mc.toml", kConfig, 0600);
    FakePop3Server pop3(FakePop3Options{}, {FakePop3Message("Subject: hi\r\n\r\nhello\r\n")});

    auto result = add(config,
                      {"alice", "--host", "127.0.0.1", "--port", std::to_string(pop3.port()), "--tls", "none", "--name",
                       "old-isp", "--label", "isp"},
                      "pop3-Secret-7Qx\n");
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_NE(result.out.find("old-isp: OK - 127.0.0.1:" + std::to_string(pop3.port()) + " POP3, no TLS"),
              std::string::npos)
        << result.describe();

    const std::string text = readFile(config);
    EXPECT_EQ(text.rfind(kConfig, 0), 0u) << "the file as it was, then the account:\n" << text;
    EXPECT_NE(text.find("name = \"old-isp\"\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("pop3-Secret-7Qx"), std::string::npos) << "the secret is not in the config";
    EXPECT_EQ(modeOf(config), 0600u);
    const fs::path secret = dir.path() / "secrets" / "old-isp";
    EXPECT_EQ(readFile(secret), "pop3-Secret-7Qx\n");
    EXPECT_EQ(modeOf(secret), 0600u);

    auto check = runProcess({mailcollectorBinary().string(), "validate", "-c", config.string()});
    EXPECT_TRUE(check.ok()) << check.describe();
    // A second account of the same name is refused, changing nothing.
    auto again = add(config, {"alice", "--host", "127.0.0.1", "--name", "old-isp", "--no-check"}, "x\n");
    EXPECT_EQ(again.exitCode, 2) << again.describe();
    EXPECT_EQ(readFile(config), text);
}

TEST(CliAdd, ARefusedLoginAddsNothing) {
    TempDir dir("mc-add");
    auto config = dir.writeFile("mc.toml", kConfig, 0600);
    FakePop3Options options;
    options.replies["PASS"] = "-ERR [AUTH] Username and password not accepted.\r\n";
    FakePop3Server pop3(options);

    auto result = add(config,
                      {"me@gmail.com", "--provider", "gmail", "--host", "127.0.0.1", "--port",
                       std::to_string(pop3.port()), "--tls", "none"},
                      "wrong\n");
    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_NE(result.out.find("hint: with 2-Step Verification Google takes only an app password"), std::string::npos)
        << result.describe();
    EXPECT_EQ(readFile(config), kConfig);
    EXPECT_FALSE(fs::exists(dir.path() / "secrets" / "me-gmail.com"));
}

TEST(CliAdd, APresetAddressNeedsNoServer) {
    TempDir dir("mc-add");
    auto config = dir.writeFile("mc.toml", kConfig, 0600);
    auto secret = dir.writeFile("app-password", "abcd efgh\n", 0600);
    auto result =
        add(config, {"me@yandex.ru", "--protocol", "imap", "--password-file", secret.string(), "--no-check"}, "");
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_NE(result.out.find("me-yandex.ru: imap.yandex.com:993 IMAP, implicit TLS (Yandex Mail preset"),
              std::string::npos)
        << result.describe();
    const std::string text = readFile(config);
    EXPECT_EQ(text.find("host =", std::string(kConfig).size()), std::string::npos) << text;
    EXPECT_NE(text.find("password_file = \"" + secret.string() + "\""), std::string::npos) << text;
    auto validate = runProcess({mailcollectorBinary().string(), "validate", "-c", config.string()});
    EXPECT_TRUE(validate.ok()) << validate.describe();
}

}  // namespace
}  // namespace mc::testing
