// Recovering from a quarantine, through the binary: a mistyped target recipient with a real
// Dovecot LMTP target. `check` finds it, the run that quarantines everything fails naming the
// reply, and after the fix `quarantine retry` plus a run delivers every message exactly once
// (`quarantine drop` gives one up for good).

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include "tests/support/DovecotServer.hpp"
#include "tests/support/Process.hpp"
#include "tests/support/TempDir.hpp"

namespace mc::testing {
namespace {

namespace fs = std::filesystem;

class QuarantineCliTest : public ::testing::Test {
protected:
    void SetUp() override {
        dovecot_.addUser("alice", "alice-secret");
        dovecot_.addUser("me", "me-secret");
        for (int i = 0; i < 4; ++i)
            dovecot_.seed("alice", "INBOX",
                          "From: sender" + std::to_string(i) + "@example.org\nSubject: message " + std::to_string(i) +
                              "\nMessage-ID: <m" + std::to_string(i) + "@example.org>\n\nbody " + std::to_string(i) +
                              "\n");
    }

    std::string writeConfig(const std::string& recipient) {
        writeFile(work_.str() + "/alice.pw", "alice-secret\n", 0600);
        std::string toml =
            "[collector]\nledger = \"ledger.db\"\nquarantine_dir = \"quarantine\"\nhttp_listen = \"\"\n"
            "io_timeout = \"20s\"\n\n[target]\nprotocol = \"lmtp\"\nhost = \"127.0.0.1\"\nport = " +
            std::to_string(dovecot_.lmtpPort()) + "\ntls = \"none\"\nrecipient = \"" + recipient +
            "\"\n\n[[account]]\nname = \"alice-old\"\nprotocol = \"pop3\"\nhost = \"localhost\"\nport = " +
            std::to_string(dovecot_.pop3sPort()) + "\nca_file = \"" + dovecot_.caFile() +
            "\"\nusername = \"alice\"\npassword_file = \"" + work_.str() + "/alice.pw\"\nkeep = false\n";
        return work_.writeFile("mailcollector.toml", toml, 0600).string();
    }

    ProcessResult mc(std::vector<std::string> args) {
        args.insert(args.begin(), MC_BINARY);
        return runProcess(args, {}, std::chrono::seconds(120));
    }

    std::vector<fs::path> copies() {
        std::vector<fs::path> files;
        fs::path dir = work_.path() / "quarantine" / "alice-old";
        if (fs::exists(dir))
            for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
        return files;
    }

    static std::vector<std::string> ids(const std::string& json) {
        std::vector<std::string> found;
        std::regex id("\"id\":\"([0-9a-f]{12})\"");
        for (auto it = std::sregex_iterator(json.begin(), json.end(), id); it != std::sregex_iterator(); ++it)
            found.push_back((*it)[1]);
        return found;
    }

    static std::multiset<std::string> subjects(const std::vector<std::string>& messages) {
        std::multiset<std::string> found;
        for (const auto& message : messages) {
            auto at = message.find("\nSubject: ");
            if (at != std::string::npos) found.insert(message.substr(at + 10, message.find('\n', at + 10) - at - 10));
        }
        return found;
    }

    DovecotServer dovecot_;
    TempDir work_{"mc-quarantine-cli"};
};

TEST_F(QuarantineCliTest, MistypedRecipientIsFoundByCheckFailsTheRunAndIsRecoveredByRetry) {
    auto config = writeConfig("mee");

    auto check = mc({"check", "-c", config});
    EXPECT_EQ(check.exitCode, 1) << check.describe();
    EXPECT_NE(check.out.find("target: FAILED"), std::string::npos) << check.out;
    EXPECT_NE(check.out.find("target refused the recipient <mee>: 550 5.1.1"), std::string::npos) << check.out;
    EXPECT_NE(check.out.find("check [target] recipient"), std::string::npos) << check.out;

    auto refused = mc({"run", "-c", config, "--once"});
    EXPECT_EQ(refused.exitCode, 1) << "a poll in which the target refused everything alike failed\n"
                                   << refused.describe();
    EXPECT_NE(refused.err.find("poll failed failure_kind=target-permanent "), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find(": target refused all 4 messages with: 550 5.1.1"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("check [target] recipient"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("mailcollector quarantine retry --account alice-old"), std::string::npos) << refused.err;
    EXPECT_EQ(dovecot_.messages("me").size(), 0u);
    EXPECT_EQ(dovecot_.messages("alice").size(), 4u) << "quarantined mail is never deleted from the source";
    EXPECT_EQ(copies().size(), 4u);

    auto text = mc({"quarantine", "list", "-c", config});
    EXPECT_EQ(text.exitCode, 0) << text.describe();
    EXPECT_NE(text.out.find("Subject: message 2"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("From: sender2@example.org"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("refused: 550 5.1.1"), std::string::npos) << text.out;
    auto listed = mc({"quarantine", "list", "-c", config, "--account", "alice-old", "--json"});
    ASSERT_EQ(listed.exitCode, 0) << listed.describe();
    auto quarantined = ids(listed.out);
    ASSERT_EQ(quarantined.size(), 4u) << listed.out;
    EXPECT_EQ(ids(mc({"quarantine", "list", "-c", config, "--json"}).out), quarantined) << "IDs are stable";

    // Give one message up: its copy goes, the source keeps it, it is never fetched again.
    auto unknown = mc({"quarantine", "drop", "-c", config, quarantined[0], "0123456789ab"});
    EXPECT_EQ(unknown.exitCode, 2) << unknown.describe();
    EXPECT_NE(unknown.err.find("0123456789ab"), std::string::npos) << unknown.err;
    EXPECT_EQ(ids(mc({"quarantine", "list", "-c", config, "--json"}).out).size(), 4u) << "nothing changed";
    auto dropped = mc({"quarantine", "drop", "-c", config, quarantined[0]});
    EXPECT_EQ(dropped.exitCode, 0) << dropped.describe();
    EXPECT_EQ(copies().size(), 3u);
    auto entry = listed.out.find("\"id\":\"" + quarantined[0] + "\"");
    auto subjectAt = listed.out.find("\"subject\":\"", entry) + 11;
    std::string droppedSubject = listed.out.substr(subjectAt, listed.out.find('"', subjectAt) - subjectAt);
    ASSERT_EQ(droppedSubject.rfind("message ", 0), 0u) << listed.out;

    config = writeConfig("me");
    auto fixed = mc({"check", "-c", config});
    EXPECT_EQ(fixed.exitCode, 0) << fixed.describe();
    EXPECT_NE(fixed.out.find("recipient <me> accepted"), std::string::npos) << fixed.out;

    auto beforeRetry = mc({"run", "-c", config, "--once"});
    EXPECT_EQ(beforeRetry.exitCode, 0) << beforeRetry.describe();
    EXPECT_EQ(dovecot_.messages("me").size(), 0u) << "quarantined messages wait for the operator";

    auto retried = mc({"quarantine", "retry", "-c", config, "--account", "alice-old"});
    EXPECT_EQ(retried.exitCode, 0) << retried.describe();
    EXPECT_NE(retried.out.find("3 message(s) pending again"), std::string::npos) << retried.out;
    EXPECT_NE(mc({"quarantine", "list", "-c", config}).out.find("nothing is quarantined"), std::string::npos);

    auto delivered = mc({"run", "-c", config, "--once"});
    EXPECT_EQ(delivered.exitCode, 0) << delivered.describe();
    EXPECT_NE(delivered.err.find("delivered=3"), std::string::npos) << delivered.err;
    std::multiset<std::string> expected{"message 0", "message 1", "message 2", "message 3"};
    expected.erase(droppedSubject);
    EXPECT_EQ(subjects(dovecot_.messages("me")), expected) << "every retried message exactly once";
    auto left = dovecot_.messages("alice");
    ASSERT_EQ(left.size(), 1u) << "delivered ones deleted (keep = false); the dropped one kept";
    EXPECT_EQ(subjects(left), std::multiset<std::string>{droppedSubject});

    auto again = mc({"run", "-c", config, "--once"});
    EXPECT_EQ(again.exitCode, 0) << again.describe();
    EXPECT_EQ(subjects(dovecot_.messages("me")), expected) << "nothing twice, the dropped one never";
    EXPECT_EQ(dovecot_.messages("alice").size(), 1u);
}

}  // namespace
}  // namespace mc::testing
