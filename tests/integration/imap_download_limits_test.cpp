// Download limits through the binary, with a real Dovecot as source and target: a 2,000-message
// first import under max_messages_per_poll = 500 takes four polls, the oldest first, loses and
// doubles nothing, and `status` shows the progress between polls; max_bytes_per_day stops a poll
// at the day's budget, counting what the ledger delivered in the last 24 hours; messages a nearly
// full target keeps deferring do not hold back the new mail behind them.

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/support/DovecotServer.hpp"
#include "tests/support/Process.hpp"
#include "tests/support/TempDir.hpp"

namespace mc::testing {
namespace {

class DownloadLimitsTest : public ::testing::Test {
protected:
    void SetUp() override {
        dovecot_.addUser("alice", "alice-secret");
        dovecot_.addUser("me", "me-secret");
    }

    std::string writeConfig(const std::string& limits) { return writeConfig(limits, dovecot_.lmtpPort()); }
    std::string writeConfig(const std::string& limits, std::uint16_t targetLmtpPort) {
        auto passwordFile = work_.writeFile("alice.pw", "alice-secret\n", 0600);
        std::string toml =
            "[collector]\nledger = \"ledger.db\"\nquarantine_dir = \"quarantine\"\nhttp_listen = \"\"\n"
            "io_timeout = \"20s\"\n"
            "[target]\nprotocol = \"lmtp\"\nhost = \"127.0.0.1\"\nport = " +
            std::to_string(targetLmtpPort) +
            "\ntls = \"none\"\nrecipient = \"me\"\n"
            "[[account]]\nname = \"old-gmail\"\nprotocol = \"imap\"\nhost = \"localhost\"\nport = " +
            std::to_string(dovecot_.imapsPort()) + "\nca_file = \"" + dovecot_.caFile() +
            "\"\nusername = \"alice\"\npassword_file = \"" + passwordFile.string() + "\"\nidle = false\n" + limits +
            "\n";
        return work_.writeFile("mailcollector.toml", toml, 0600).string();
    }

    ProcessResult run(const std::string& config) {
        return runProcess({MC_BINARY, "run", "-c", config, "--once"}, {}, std::chrono::seconds(300));
    }
    ProcessResult status(const std::string& config) { return runProcess({MC_BINARY, "status", "-c", config}); }

    // The subjects delivered to the target, each at most once (a second copy fails the test).
    std::set<std::string> deliveredSubjects() { return deliveredSubjects(dovecot_); }
    static std::set<std::string> deliveredSubjects(const DovecotServer& target) {
        std::set<std::string> subjects;
        for (const auto& message : target.messages("me")) {
            auto at = message.find("Subject: ");
            std::string subject = message.substr(at, message.find('\n', at) - at);
            EXPECT_TRUE(subjects.insert(subject).second) << "delivered twice: " << subject;
        }
        return subjects;
    }

    DovecotServer dovecot_;
    TempDir work_{"mc-limits"};
};

TEST_F(DownloadLimitsTest, AMessageLimitSpreadsAnImportOverPollsLosingNothing) {
    constexpr int kMessages = 2000;
    for (int i = 0; i < kMessages; ++i)
        dovecot_.seed("alice", "INBOX", "Subject: m" + std::to_string(i) + "\n\nbody " + std::to_string(i) + "\n");
    auto config = writeConfig("max_messages_per_poll = 500");

    for (int poll = 1; poll <= 4; ++poll) {
        auto result = run(config);
        ASSERT_EQ(result.exitCode, 0) << result.describe();
        auto subjects = deliveredSubjects();
        ASSERT_EQ(subjects.size(), 500u * poll) << result.describe();
        // Oldest first: the first 500*poll messages by UID.
        EXPECT_TRUE(subjects.count("Subject: m" + std::to_string(500 * poll - 1))) << result.describe();
        auto shown = status(config).out;
        if (poll < 4) {
            EXPECT_NE(result.err.find("later=" + std::to_string(kMessages - 500 * poll)), std::string::npos)
                << result.err;
            EXPECT_NE(shown.find("partial"), std::string::npos) << shown;
            EXPECT_NE(shown.find("note: " + std::to_string(kMessages - 500 * poll) + " messages"), std::string::npos)
                << shown;
            EXPECT_NE(shown.find("done in about " + std::to_string(4 - poll) + " more poll"), std::string::npos)
                << shown;
        } else {
            EXPECT_EQ(result.err.find("later="), std::string::npos) << result.err;
            EXPECT_EQ(shown.find("note:"), std::string::npos) << shown;
        }
    }
    auto again = run(config);
    ASSERT_EQ(again.exitCode, 0) << again.describe();
    EXPECT_EQ(deliveredSubjects().size(), static_cast<std::size_t>(kMessages));
    EXPECT_EQ(dovecot_.messages("alice").size(), static_cast<std::size_t>(kMessages)) << "keep = true";
}

TEST_F(DownloadLimitsTest, AByteBudgetPerDayCountsWhatWasDownloaded) {
    // Ten messages of about 1,000 bytes; a budget of 3,500 bytes a day takes three per day.
    for (int i = 0; i < 10; ++i)
        dovecot_.seed("alice", "INBOX",
                      "Subject: b" + std::to_string(i) + "\n\n" + std::string(1000, 'a' + static_cast<char>(i)) + "\n");
    auto config = writeConfig("max_bytes_per_day = 3500");
    auto first = run(config);
    ASSERT_EQ(first.exitCode, 0) << first.describe();
    EXPECT_EQ(deliveredSubjects().size(), 3u) << first.describe();
    EXPECT_NE(first.err.find("max_bytes_per_day = 3500 reached"), std::string::npos) << first.err;
    // The same day: what was downloaded uses the budget up; nothing more is fetched.
    auto second = run(config);
    ASSERT_EQ(second.exitCode, 0) << second.describe();
    EXPECT_EQ(deliveredSubjects().size(), 3u) << second.describe();
    EXPECT_NE(status(config).out.find("done in about 3 more days"), std::string::npos) << status(config).out;
}

TEST_F(DownloadLimitsTest, MessagesTheTargetKeepsDeferringTakeTurnsWithNewMailUnderAMessageLimit) {
    // The target's mailbox is nearly full: 80 of its 100 kB are used. The two oldest messages
    // (30 kB each) do not fit and are deferred (452) at every try; the 1 kB ones fit.
    DovecotOptions nearlyFull;
    nearlyFull.quota = "100k";
    DovecotServer target(nearlyFull);
    target.addUser("me", "me-secret");
    target.seed("me", "INBOX", "Subject: fill\n\n" + std::string(80'000, 'f') + "\n");
    for (const char* big : {"big1", "big2"})
        dovecot_.seed("alice", "INBOX", std::string("Subject: ") + big + "\n\n" + std::string(30'000, 'b') + "\n");
    for (const char* small : {"small1", "small2", "small3"})
        dovecot_.seed("alice", "INBOX", std::string("Subject: ") + small + "\n\nfits\n");
    auto config = writeConfig("max_messages_per_poll = 2", target.lmtpPort());

    // The first poll tries the two oldest; each later one a message deferred before, then new mail.
    for (int poll = 1; poll <= 4; ++poll) {
        auto result = run(config);
        EXPECT_NE(result.err.find("deferred="), std::string::npos) << result.describe();
        EXPECT_EQ(deliveredSubjects(target).size(), static_cast<std::size_t>(poll))
            << "poll " << poll << ": " << result.describe() << "\n"
            << target.log();
    }
    EXPECT_EQ(deliveredSubjects(target),
              (std::set<std::string>{"Subject: fill", "Subject: small1", "Subject: small2", "Subject: small3"}));
    // Nothing was lost: the deferred messages are still on the source, pending in the ledger.
    EXPECT_EQ(dovecot_.messages("alice").size(), 5u);
    auto shown = status(config).out;
    EXPECT_NE(shown.find("delivered 3, deleted 0, quarantined 0, skipped 0, pending 2"), std::string::npos) << shown;
}

}  // namespace
}  // namespace mc::testing
