// Files and children, end to end through the mailcollector binary: a corrupted ledger is exit 3
// with a message in every command (never an abort), password_command children get only stdin,
// stdout and stderr (a process they leave behind holds no socket of ours), a config that others
// can change is refused when it runs commands or holds secrets, and a quarantine directory that
// is a symbolic link is refused without touching its target.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/TempDir.hpp"
#include "tests/support/fakes/CollectorHarness.hpp"
#include "tests/support/fakes/FakePop3Server.hpp"
#include "tests/support/fakes/FakeSmtpTarget.hpp"

namespace mc::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kExitLedger = 3;

std::string message(const std::string& subject) {
    return "From: Sender <sender@example.net>\r\nTo: alice@example.com\r\nSubject: " + subject + "\r\nMessage-ID: <" +
           subject + "@example.net>\r\n\r\nHello.\r\n";
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

class HostileFiles : public ::testing::Test {
protected:
    CollectorHarness harness{"2s"};
    FakeSmtpTarget target{lmtpOptions()};
    FakePop3Server pop3{FakePop3Options{}, {message("first")}};

    AccountConfig account() const {
        AccountConfig config;
        config.port = pop3.port();
        return config;
    }
    void expectLedgerExit(const ProcessResult& result, const std::string& what) {
        EXPECT_EQ(result.termSignal, 0) << what << ": " << result.describe();
        EXPECT_EQ(result.exitCode, kExitLedger) << what << ": " << result.describe();
        EXPECT_NE(result.err.find("ledger"), std::string::npos) << what << ": " << result.describe();
        EXPECT_FALSE(hasRawControlBytes(result.err)) << what;
    }
};

// A ledger whose header is sound but whose pages are garbage opens fine and fails at the first
// query: every command must still end with exit 3 and say so.
TEST_F(HostileFiles, CorruptedLedgerIsExitThreeInEveryCommand) {
    harness.writeConfig(lmtpTarget(target.port()), {account()});
    ASSERT_TRUE(harness.run().ok()) << harness.run().describe();
    const fs::path ledger = harness.ledgerPath();
    std::string bytes = readFile(ledger);
    ASSERT_GT(bytes.size(), 8192u);
    for (std::size_t i = 4096; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 7919) >> 3);
    writeFile(ledger, bytes, 0600);

    expectLedgerExit(harness.status(), "status");
    expectLedgerExit(harness.command("status", {"--json"}), "status --json");
    expectLedgerExit(harness.run(), "run --once");
    const ProcessResult migrate = runProcess({mailcollectorBinary().string(), "ledger", "migrate", "--from",
                                              ledger.string(), "--to", "postgresql://nobody@127.0.0.1:1/none"});
    expectLedgerExit(migrate, "ledger migrate");
}

// The service runs with its admin port open; the password command leaves a process behind.
// That process must hold nothing but stdin, stdout and stderr, and a restarted service must be
// able to listen on the same port while it lives.
TEST_F(HostileFiles, PasswordCommandChildrenGetOnlyTheStandardDescriptors) {
    const fs::path pidFile = harness.dir() / "leftover.pid";
    AccountConfig config = account();
    const std::string password = config.password;
    config.password.clear();
    config.extra = "password_command = " + tomlString("sleep 60 </dev/null >/dev/null 2>&1 & echo $! > " +
                                                      pidFile.string() + "; echo " + password);
    std::string toml = harness.writeConfig(lmtpTarget(target.port()), {config});
    const std::uint16_t port = freeLoopbackPort();
    toml.replace(toml.find("http_listen = \"\""), 16, "http_listen = \"127.0.0.1:" + std::to_string(port) + "\"");
    writeFile(harness.configPath(), toml, 0600);

    pid_t leftover = -1;
    {
        BackgroundProcess service({mailcollectorBinary().string(), "run", "-c", harness.configPath().string()});
        ASSERT_TRUE(eventually([&] { return target.transactions().size() == 1; })) << service.err();
        ASSERT_TRUE(eventually([&] { return fs::exists(pidFile) && !readFile(pidFile).empty(); }));
        leftover = std::stoi(readFile(pidFile));
        service.stop(SIGTERM);
    }
    struct Cleanup {
        pid_t pid;
        ~Cleanup() { ::kill(pid, SIGKILL); }
    } cleanup{leftover};

    std::vector<std::string> descriptors;
    for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(leftover) + "/fd"))
        descriptors.push_back(entry.path().filename().string() + " -> " + fs::read_symlink(entry.path()).string());
    std::sort(descriptors.begin(), descriptors.end());
    std::string listing;
    for (const auto& line : descriptors) listing += line + "\n";
    EXPECT_EQ(descriptors.size(), 3u) << listing;
    EXPECT_EQ(listing.find("socket:"), std::string::npos) << listing;

    // The port the child would have kept is free for the restarted service.
    BackgroundProcess restarted({mailcollectorBinary().string(), "run", "-c", harness.configPath().string()});
    EXPECT_TRUE(restarted.waitForOutput(" running: ", 20s)) << restarted.err();
    EXPECT_TRUE(restarted.running()) << restarted.err();
    EXPECT_EQ(restarted.err().find("Address already in use"), std::string::npos) << restarted.err();
    restarted.stop(SIGTERM);
}

TEST_F(HostileFiles, ConfigOthersCanChangeIsRefusedWhenItRunsCommandsOrHoldsSecrets) {
    AccountConfig withCommand = account();
    withCommand.password.clear();
    withCommand.extra = "password_command = \"echo secret\"\n";
    harness.writeConfig(lmtpTarget(target.port()), {withCommand});
    const std::string path = harness.configPath().string();
    for (mode_t mode : {0620, 0602, 0660}) {
        ASSERT_EQ(::chmod(path.c_str(), mode), 0);
        const ProcessResult result = harness.command("validate");
        EXPECT_EQ(result.exitCode, 2) << std::oct << mode << ": " << result.describe();
        EXPECT_NE(result.err.find("writable by group or others"), std::string::npos) << result.describe();
    }
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
    EXPECT_TRUE(harness.command("validate").ok()) << "read-only for others, no secret inside";

    AccountConfig withToken = account();
    withToken.password.clear();
    withToken.extra = "auth = \"xoauth2\"\noauth2_token_command = \"echo token\"\n";
    harness.writeConfig(lmtpTarget(target.port()), {withToken});
    ASSERT_EQ(::chmod(path.c_str(), 0664), 0);
    EXPECT_NE(harness.command("validate").err.find("writable by group or others"), std::string::npos)
        << harness.command("validate").describe();

    // A password inside the PostgreSQL URL is a secret like an inline password.
    AccountConfig plain = account();
    plain.password.clear();
    // validate checks that a password file exists and is private.
    plain.extra = "password_file = " + tomlString(harness.dir().writeFile("pw", "secret\n", 0600).string()) + "\n";
    std::string toml = harness.writeConfig(lmtpTarget(target.port()), {plain});
    const std::string sqlite =
        toml.substr(toml.find("ledger = "), toml.find('\n', toml.find("ledger = ")) - toml.find("ledger = "));
    toml.replace(toml.find(sqlite), sqlite.size(), "ledger = \"postgresql://mc:Pg-Secret-9@127.0.0.1:5432/mail\"");
    for (mode_t mode : {0640, 0604}) {
        writeFile(harness.configPath(), toml, 0600);
        ASSERT_EQ(::chmod(path.c_str(), mode), 0);
        const ProcessResult result = harness.command("validate");
        EXPECT_EQ(result.exitCode, 2) << result.describe();
        EXPECT_NE(result.err.find("password inside the ledger URL"), std::string::npos) << result.describe();
        EXPECT_EQ(result.err.find("Pg-Secret-9"), std::string::npos) << "the secret is never shown";
    }
    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
    EXPECT_TRUE(harness.command("validate").ok()) << harness.command("validate").describe();
}

// A target 5xx quarantines the message; quarantine_dir/<account> is a link to a directory
// elsewhere: refused, nothing is written there and its mode is left alone.
TEST_F(HostileFiles, QuarantineDirectoryThatIsASymlinkIsRefused) {
    target.script("DOT", "550 5.7.1 rejected by policy");
    harness.writeConfig(lmtpTarget(target.port()), {account()});
    TempDir elsewhere("mc-elsewhere");
    ASSERT_EQ(::chmod(elsewhere.str().c_str(), 0755), 0);
    fs::create_directories(harness.quarantineDir());
    fs::create_directory_symlink(elsewhere.path(), harness.quarantineDir() / "acct");

    const ProcessResult result = harness.run();
    EXPECT_NE(result.exitCode, 0) << result.describe();
    EXPECT_EQ(result.termSignal, 0) << result.describe();
    EXPECT_NE(result.err.find("symbolic link"), std::string::npos) << result.describe();
    struct stat status {};
    ASSERT_EQ(::stat(elsewhere.str().c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 07777, 0755u) << "the link's target was chmod'ed";
    EXPECT_TRUE(fs::is_empty(elsewhere.path()));
    EXPECT_TRUE(pop3.deletedUidls().empty());
}

}  // namespace
}  // namespace mc::testing
