// `mailcollector add` through the binary: the secret read from stdin (no terminal) lands in a
// 0600 file of its own, the account is checked against a scripted POP3 server like `check` does,
// and only then appended, the file's comments, layout and mode untouched; a refused login adds
// nothing and leaves no secret behind; a preset address needs no server at all, and gets the
// protocol and the login its provider offers. The config is locked for the whole add and never
// left with half an account; a name that would leave secrets/ is refused before anything is
// asked or written.

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>

#include <cstring>
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

TEST(CliAdd, AnImapOnlyProviderGetsImapWithoutAsking) {
    TempDir dir("mc-add");
    auto config = dir.writeFile("mc.toml", kConfig, 0600);
    auto result = add(config, {"me@icloud.com", "--no-check"}, "app-specific-pw\n");
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_NE(result.out.find("me-icloud.com: imap.mail.me.com:993 IMAP, implicit TLS (iCloud Mail preset"),
              std::string::npos)
        << result.describe();
    const std::string text = readFile(config);
    EXPECT_NE(text.find("protocol = \"imap\"\n", std::string(kConfig).size()), std::string::npos) << text;
    EXPECT_EQ(readFile(dir.path() / "secrets" / "me-icloud.com"), "app-specific-pw\n");
    auto validate = runProcess({mailcollectorBinary().string(), "validate", "-c", config.string()});
    EXPECT_TRUE(validate.ok()) << validate.describe();

    // POP3 asked for where there is none: refused before the password is asked for or written.
    auto pop3 = add(config, {"other@icloud.com", "--protocol", "pop3", "--no-check"}, "pw\n");
    EXPECT_EQ(pop3.exitCode, 2) << pop3.describe();
    EXPECT_NE(pop3.err.find("iCloud Mail offers no POP3: give --protocol imap"), std::string::npos) << pop3.describe();
    EXPECT_EQ(pop3.err.find("password"), std::string::npos) << pop3.describe();
    EXPECT_FALSE(fs::exists(dir.path() / "secrets" / "other-icloud.com"));
    EXPECT_EQ(readFile(config), text);
}

TEST(CliAdd, AnOAuth2OnlyProviderNeedsTheOAuth2FlagsNotAPassword) {
    TempDir dir("mc-add");
    auto config = dir.writeFile("mc.toml", kConfig, 0600);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"me@outlook.com", "--no-check"},
          std::vector<std::string>{"me@company.example", "--provider", "office365", "--no-check"}}) {
        auto result = add(config, args, "a-password-microsoft-refuses\n");
        EXPECT_EQ(result.exitCode, 2) << result.describe();
        EXPECT_NE(
            result.err.find("accepts only OAuth2 logins, no passwords: add it with --oauth2 --oauth2-client-id ID"),
            std::string::npos)
            << result.describe();
        EXPECT_EQ(readFile(config), kConfig);
        EXPECT_FALSE(fs::exists(dir.path() / "secrets")) << "no password was asked for or written";
    }
    auto noClient = add(config, {"me@outlook.com", "--oauth2"}, "");
    EXPECT_EQ(noClient.exitCode, 2) << noClient.describe();
    EXPECT_NE(noClient.err.find("--oauth2 needs --oauth2-client-id ID"), std::string::npos) << noClient.describe();
    EXPECT_EQ(readFile(config), kConfig);

    // With the flags nothing is asked for (stdin is empty) and the next step is named.
    auto oauth = add(config, {"me@outlook.com", "--oauth2", "--oauth2-client-id", "0000-client"}, "");
    ASSERT_EQ(oauth.exitCode, 0) << oauth.describe();
    EXPECT_NE(
        oauth.out.find("next: mailcollector oauth2 authorize -c " + config.string() + " --account me-outlook.com"),
        std::string::npos)
        << oauth.describe();
    const std::string text = readFile(config);
    EXPECT_NE(text.find("auth = \"xoauth2\"\noauth2_client_id = \"0000-client\"\n"), std::string::npos) << text;
    auto validate = runProcess({mailcollectorBinary().string(), "validate", "-c", config.string()});
    EXPECT_TRUE(validate.ok()) << validate.describe();
}

TEST(CliAdd, ANameThatWouldLeaveSecretsIsRefusedBeforeAnythingIsAsked) {
    TempDir dir("mc-add");
    auto config = dir.writeFile("mc.toml", kConfig, 0600);
    auto victim = dir.writeFile("victim", "keep me\n", 0600);
    for (const std::string& name :
         {std::string("../escaped"), victim.string(), std::string(".."), std::string("a b"), std::string("")}) {
        // No input: a password prompt would fail with "no input"; the name is refused first.
        auto result = add(config, {"me@mail.ru", "--name", name, "--no-check"}, "");
        EXPECT_EQ(result.exitCode, 2) << name << ": " << result.describe();
        EXPECT_NE(result.err.find("an account name may contain only letters, digits, '.', '_' and '-'"),
                  std::string::npos)
            << name << ": " << result.describe();
    }
    EXPECT_FALSE(fs::exists(dir.path() / "escaped"));
    EXPECT_FALSE(fs::exists(dir.path() / "secrets"));
    EXPECT_EQ(readFile(victim), "keep me\n");
    EXPECT_EQ(readFile(config), kConfig);
}

TEST(CliAdd, SecretsAreNeverWrittenThroughALinkNorOverAnExistingFile) {
    TempDir dir("mc-add");
    auto config = dir.writeFile("mc.toml", kConfig, 0600);
    fs::create_directories(dir.path() / "elsewhere");
    fs::create_directory_symlink(dir.path() / "elsewhere", dir.path() / "secrets");
    auto linked = add(config, {"me@mail.ru", "--no-check"}, "pw\n");
    EXPECT_EQ(linked.exitCode, 2) << linked.describe();
    EXPECT_NE(linked.err.find("secrets is a symbolic link"), std::string::npos) << linked.describe();
    EXPECT_TRUE(fs::is_empty(dir.path() / "elsewhere"));
    EXPECT_EQ(readFile(config), kConfig);

    fs::remove(dir.path() / "secrets");
    dir.writeFile("secrets/me-mail.ru", "an older secret\n", 0600);
    auto exists = add(config, {"me@mail.ru", "--no-check"}, "pw\n");
    EXPECT_EQ(exists.exitCode, 2) << exists.describe();
    const std::string file = (dir.path() / "secrets" / "me-mail.ru").string();
    EXPECT_NE(exists.err.find(file + " exists already"), std::string::npos) << exists.describe();
    EXPECT_NE(exists.err.find("--password-file " + file), std::string::npos) << exists.describe();
    EXPECT_EQ(readFile(file), "an older secret\n");
    EXPECT_EQ(readFile(config), kConfig);
}

TEST(CliAdd, AMissingConfigIsExplained) {
    TempDir dir("mc-add");
    auto result = add(dir.path() / "none.toml", {"me@mail.ru", "--no-check"}, "pw\n");
    EXPECT_EQ(result.exitCode, 2) << result.describe();
    EXPECT_NE(result.err.find("none.toml does not exist; add appends to a config that has a [collector] and a "
                              "[target] table"),
              std::string::npos)
        << result.describe();
    EXPECT_FALSE(fs::exists(dir.path() / "none.toml"));
    EXPECT_FALSE(fs::exists(dir.path() / "secrets"));
}

TEST(CliAdd, WaitsForTheConfigsLockAndRereadsTheFileUnderIt) {
    TempDir dir("mc-add");
    auto config = dir.writeFile("mc.toml", kConfig, 0600);
    auto secret = dir.writeFile("pw", "pw\n", 0600);
    // Another add holds the lock: this one waits, then finds the name taken.
    const int held = ::open(config.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(held, 0);
    ASSERT_EQ(::flock(held, LOCK_EX), 0);
    ProcessSpec spec;
    spec.argv = {mailcollectorBinary().string(),
                 "add",
                 "me@mail.ru",
                 "--password-file",
                 secret.string(),
                 "--no-check",
                 "-c",
                 config.string()};
    BackgroundProcess waiting(spec);
    ASSERT_TRUE(
        waiting.waitForOutput("waiting for another `mailcollector add` to finish with", std::chrono::seconds(30)))
        << waiting.err();
    const std::string first = std::string(kConfig) +
                              "\n[[account]]\nname = \"me-mail.ru\"\nusername = \"me@mail.ru\"\n"
                              "password_file = \"" +
                              secret.string() + "\"\n";
    // As the other add does: under the lock, through the locked file.
    ASSERT_EQ(::pwrite(held, first.data(), first.size(), 0), static_cast<ssize_t>(first.size()));
    ::close(held);
    auto result = waiting.wait(std::chrono::seconds(60));
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->exitCode, 2) << result->describe();
    EXPECT_NE(result->err.find("an account named \"me-mail.ru\" exists already"), std::string::npos)
        << result->describe();
    EXPECT_EQ(readFile(config), first) << "one account of the name, as the first add wrote it";
}

TEST(CliAdd, AFailedAppendLeavesTheFileAsItWas) {
    TempDir dir("mc-add");
    // A file size limit as on a nearly full disk: the account's table would stop half-way.
    const std::string padded = std::string(kConfig) + "# " + std::string(600 - std::string(kConfig).size(), '-') + "\n";
    auto config = dir.writeFile("mc.toml", padded, 0640);
    auto secret = dir.writeFile("pw", "pw\n", 0600);
    ProcessSpec spec;
    spec.argv = {mailcollectorBinary().string(),
                 "add",
                 "me@mail.ru",
                 "--password-file",
                 secret.string(),
                 "--label",
                 "a-label-long-enough-for-the-table-to-cross-the-limit",
                 "--no-check",
                 "-c",
                 config.string()};
    spec.limits = {{RLIMIT_FSIZE, padded.size() + 40}};
    spec.ignoredSignals = {SIGXFSZ};
    auto result = runProcess(spec, std::chrono::seconds(60));
    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_NE(result.err.find("cannot append to " + config.string()), std::string::npos) << result.describe();
    EXPECT_NE(result.err.find("the file is as it was, nothing added"), std::string::npos) << result.describe();
    EXPECT_EQ(readFile(config), padded) << "no half [[account]] table";
    EXPECT_EQ(modeOf(config), 0640u);
    auto validate = runProcess({mailcollectorBinary().string(), "validate", "-c", config.string()});
    EXPECT_TRUE(validate.ok()) << validate.describe();
}

TEST(CliAdd, CtrlCAtThePasswordPromptTurnsEchoBackOn) {
    TempDir dir("mc-add");
    auto config = dir.writeFile("mc.toml", kConfig, 0600);
    int master = -1, slave = -1;
    ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0) << std::strerror(errno);
    const std::string binary = mailcollectorBinary().string(), path = config.string();
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // only async-signal-safe calls: the test runs threads
        ::setsid();
        ::ioctl(slave, TIOCSCTTY, 0);
        ::dup2(slave, STDIN_FILENO);
        ::dup2(slave, STDOUT_FILENO);
        ::dup2(slave, STDERR_FILENO);
        ::close(master);
        ::signal(SIGINT, SIG_DFL);
        ::execl(binary.c_str(), binary.c_str(), "add", "me@mail.ru", "--no-check", "-c", path.c_str(),
                static_cast<char*>(nullptr));
        ::_exit(127);
    }
    struct Reaper {
        pid_t pid;
        int status = 0;
        bool reaped = false;
        ~Reaper() {
            if (!reaped) ::kill(pid, SIGKILL), ::waitpid(pid, &status, 0);
        }
    } child{pid};
    // The prompt, then echo off.
    std::string shown;
    termios terminal{};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd ready{master, POLLIN, 0};
        if (::poll(&ready, 1, 50) == 1) {
            char buffer[512];
            const ssize_t got = ::read(master, buffer, sizeof buffer);
            if (got > 0) shown.append(buffer, static_cast<std::size_t>(got));
        }
        if (shown.find("password (or app password) for me@mail.ru: ") != std::string::npos &&
            ::tcgetattr(slave, &terminal) == 0 && (terminal.c_lflag & ECHO) == 0)
            break;
    }
    ASSERT_EQ(terminal.c_lflag & ECHO, 0u) << "no prompt with echo off; the terminal shows:\n" << shown;
    ASSERT_EQ(::kill(pid, SIGINT), 0);
    ASSERT_EQ(::waitpid(pid, &child.status, 0), pid);
    child.reaped = true;
    EXPECT_TRUE(WIFSIGNALED(child.status) && WTERMSIG(child.status) == SIGINT) << "status " << child.status;
    ASSERT_EQ(::tcgetattr(slave, &terminal), 0);
    EXPECT_NE(terminal.c_lflag & ECHO, 0u) << "Ctrl-C left the terminal without echo";
    ::close(master);
    ::close(slave);
    EXPECT_EQ(readFile(config), kConfig);
    EXPECT_FALSE(fs::exists(dir.path() / "secrets" / "me-mail.ru"));
}

}  // namespace
}  // namespace mc::testing
