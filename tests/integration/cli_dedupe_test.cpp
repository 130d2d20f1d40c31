// Cross-account dedupe ([collector] dedupe = "message-id") through the binary, with a real
// Dovecot as both sources (two old addresses, a POP3 one and an IMAP one) and the LMTP target:
// one message that reached both addresses arrives once with dedupe on and twice with it off; two
// different messages that share a Message-ID both arrive; `status` counts the duplicate.

#include <gtest/gtest.h>

#include <string>

#include "tests/support/DovecotServer.hpp"
#include "tests/support/Process.hpp"
#include "tests/support/TempDir.hpp"

namespace mc::testing {
namespace {

// The same message as each mailbox stores it: its own Delivered-To and Received lines, the
// same Message-ID and body.
std::string copyFor(const std::string& address, const std::string& messageId, const std::string& body) {
    return "Delivered-To: " + address + "\nReceived: from mx.example.org by " + address.substr(address.find('@') + 1) +
           "\nFrom: list@example.org\nSubject: " + body + "\nMessage-ID: " + messageId + "\n\n" + body + "\n";
}

class DedupeTest : public ::testing::Test {
protected:
    void SetUp() override {
        dovecot_.addUser("alice", "alice-secret");
        dovecot_.addUser("bob", "bob-secret");
        dovecot_.addUser("me", "me-secret");
    }

    std::string writeConfig(const std::string& collector) {
        auto alice = work_.writeFile("alice.pw", "alice-secret\n", 0600);
        auto bob = work_.writeFile("bob.pw", "bob-secret\n", 0600);
        auto account = [&](const std::string& name, const std::string& protocol, std::uint16_t port,
                           const std::string& user, const std::string& passwordFile) {
            return "[[account]]\nname = \"" + name + "\"\nprotocol = \"" + protocol +
                   "\"\nhost = \"localhost\"\nport = " + std::to_string(port) + "\nca_file = \"" + dovecot_.caFile() +
                   "\"\nusername = \"" + user + "\"\npassword_file = \"" + passwordFile + "\"\nidle = false\n";
        };
        std::string toml =
            "[collector]\nledger = \"ledger.db\"\nquarantine_dir = \"quarantine\"\nhttp_listen = \"\"\n" + collector +
            "\n[target]\nprotocol = \"lmtp\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(dovecot_.lmtpPort()) +
            "\ntls = \"none\"\nrecipient = \"me\"\n" +
            account("old-isp", "pop3", dovecot_.pop3sPort(), "alice", alice.string()) +
            account("old-work", "imap", dovecot_.imapsPort(), "bob", bob.string());
        return work_.writeFile("mailcollector.toml", toml, 0600).string();
    }

    ProcessResult run(const std::string& config) { return runProcess({MC_BINARY, "run", "-c", config, "--once"}); }

    // How many delivered messages have this subject.
    std::size_t delivered(const std::string& subject) {
        std::size_t count = 0;
        for (const auto& message : dovecot_.messages("me"))
            if (message.find("Subject: " + subject + "\n") != std::string::npos) ++count;
        return count;
    }

    DovecotServer dovecot_;
    TempDir work_{"mc-dedupe"};
};

TEST_F(DedupeTest, OneMessageThroughTwoAccountsArrivesOnceAndSharedMessageIdsAreNotMerged) {
    dovecot_.seed("alice", "INBOX", copyFor("alice@old-isp.example", "<list-1@example.org>", "to both"));
    dovecot_.seed("bob", "INBOX", copyFor("bob@old-work.example", "<list-1@example.org>", "to both"));
    // A sender reusing a Message-ID for another message: not a copy, both arrive.
    dovecot_.seed("alice", "INBOX", copyFor("alice@old-isp.example", "<reused@example.org>", "first text"));
    dovecot_.seed("bob", "INBOX", copyFor("bob@old-work.example", "<reused@example.org>", "second text"));
    auto config = writeConfig("dedupe = \"message-id\"");

    auto result = run(config);
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_EQ(delivered("to both"), 1u) << result.describe();
    EXPECT_EQ(delivered("first text"), 1u) << result.describe();
    EXPECT_EQ(delivered("second text"), 1u) << result.describe();

    // The accounts are polled in parallel: the second copy is recorded as a duplicate at once, or
    // held while the first is in flight and recorded so by the next poll.
    auto again = run(config);
    ASSERT_EQ(again.exitCode, 0) << again.describe();
    EXPECT_EQ(dovecot_.messages("me").size(), 3u) << again.describe();
    EXPECT_NE((result.err + again.err).find("duplicates=1 (their Message-ID was delivered before)"), std::string::npos)
        << result.describe() << again.describe();
    auto status = runProcess({MC_BINARY, "status", "-c", config});
    EXPECT_NE(status.out.find(", duplicates 1;"), std::string::npos) << status.describe();
}

TEST_F(DedupeTest, WithoutDedupeEachAccountDeliversItsCopy) {
    dovecot_.seed("alice", "INBOX", copyFor("alice@old-isp.example", "<list-1@example.org>", "to both"));
    dovecot_.seed("bob", "INBOX", copyFor("bob@old-work.example", "<list-1@example.org>", "to both"));
    auto result = run(writeConfig(""));
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_EQ(delivered("to both"), 2u) << result.describe();
}

}  // namespace
}  // namespace mc::testing
