// A poll asked to stop (the service got SIGTERM) in the middle of an IMAP import, in-process
// against a real Dovecot (IMAPS source, LMTP target): it fetches nothing more, delivers and
// records what it holds, removes only what was delivered, skips the remaining folders, and the
// next poll collects the rest without a duplicate.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>

#include "collector/AccountPoller.hpp"
#include "collector/ledger/SqliteLedgerStore.hpp"
#include "config/Config.hpp"
#include "tests/support/DovecotServer.hpp"
#include "tests/support/TempDir.hpp"

namespace mc::testing {
namespace {

constexpr int kInbox = 300;
constexpr int kArchive = 20;
constexpr int kStopAfter = 25;

std::string messageWithId(const std::string& id) {
    return "From: sender@example.org\nTo: alice@example.org\nSubject: " + id + "\nMessage-ID: <" + id +
           ">\n\nbody of " + id + "\n";
}

class ImapInterruptTest : public ::testing::Test {
protected:
    void SetUp() override {
        dovecot_.addUser("alice", "alice-secret");
        dovecot_.addUser("me", "me-secret");
        for (int i = 0; i < kInbox; ++i) dovecot_.seed("alice", "INBOX", messageWithId("inbox-" + std::to_string(i)));
        for (int i = 0; i < kArchive; ++i)
            dovecot_.seed("alice", "Archive", messageWithId("archive-" + std::to_string(i)));
        const std::string text =
            "[collector]\nledger = \"" + (dir_ / "ledger.db").string() + "\"\nquarantine_dir = \"" +
            (dir_ / "quarantine").string() +
            "\"\n\n[target]\nprotocol = \"lmtp\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(dovecot_.lmtpPort()) +
            "\ntls = \"none\"\nrecipient = \"me@localhost\"\n\n" +
            "[[account]]\nname = \"alice\"\nprotocol = \"imap\"\nhost = \"localhost\"\nport = " +
            std::to_string(dovecot_.imapsPort()) + "\ntls = \"implicit\"\nca_file = \"" + dovecot_.caFile() +
            "\"\nusername = \"alice\"\npassword = \"alice-secret\"\nkeep = false\n" +
            "folders = [\"INBOX\", \"Archive\"]\n";
        config_ = config::parseConfig(text, (dir_ / "mailcollector.toml").string());
    }

    // Message-ID -> copies on the target.
    std::map<std::string, int> delivered() const {
        std::map<std::string, int> ids;
        for (const auto& message : dovecot_.messages("me")) {
            auto at = message.find("\nMessage-ID: <");
            if (at != std::string::npos) ++ids[message.substr(at + 14, message.find('>', at) - at - 14)];
        }
        return ids;
    }

    DovecotServer dovecot_;
    TempDir dir_;
    config::Config config_;
};

TEST_F(ImapInterruptTest, AStopRequestEndsThePollAfterWhatItHoldsAndTheNextPollCollectsTheRest) {
    ledger::SqliteLedgerStore ledger((dir_ / "ledger.db").string());
    std::atomic<bool> stop{false};
    collector::PollControl control;
    control.stop = &stop;
    control.progress = [&](std::uint64_t done, std::uint64_t) {
        if (done == kStopAfter) stop = true;
    };
    auto interrupted = collector::pollAccount(config_, config_.accounts.at(0), ledger, control);

    EXPECT_FALSE(interrupted.ok);
    EXPECT_TRUE(interrupted.interrupted) << interrupted.error;
    EXPECT_FALSE(interrupted.ledgerFailed);
    EXPECT_NE(interrupted.error.find("interrupted: stopping after 25 of 300 messages"), std::string::npos)
        << interrupted.error;
    EXPECT_EQ(interrupted.fetched, static_cast<std::uint64_t>(kStopAfter)) << "nothing fetched after the stop";
    EXPECT_EQ(interrupted.delivered, static_cast<std::uint64_t>(kStopAfter)) << "what it held was delivered";
    EXPECT_EQ(interrupted.deleted, static_cast<std::uint64_t>(kStopAfter)) << "and removed from the source";
    auto ids = delivered();
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(kStopAfter));
    for (const auto& [id, copies] : ids) {
        EXPECT_EQ(copies, 1) << id;
        EXPECT_EQ(id.rfind("inbox-", 0), 0u) << "the Archive folder was not started: " << id;
    }
    EXPECT_EQ(dovecot_.messageFiles("alice").size(), static_cast<std::size_t>(kInbox - kStopAfter));
    EXPECT_EQ(dovecot_.messageFiles("alice", "Archive").size(), static_cast<std::size_t>(kArchive));

    auto finished = collector::pollAccount(config_, config_.accounts.at(0), ledger);
    EXPECT_TRUE(finished.ok) << finished.error;
    EXPECT_FALSE(finished.interrupted);
    EXPECT_EQ(finished.delivered, static_cast<std::uint64_t>(kInbox + kArchive - kStopAfter));
    ids = delivered();
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(kInbox + kArchive));
    for (const auto& [id, copies] : ids) EXPECT_EQ(copies, 1) << id;
    EXPECT_EQ(dovecot_.messageFiles("alice").size(), 0u);
    EXPECT_EQ(dovecot_.messageFiles("alice", "Archive").size(), 0u);
}

// The service sets no progress callback under systemd: the stop line still counts what was
// fetched (it once said "stopping after 0 of 300 messages" with delivered=25).
TEST_F(ImapInterruptTest, TheStopLineCountsWhatWasFetchedAndDeliveredWithoutAProgressCallback) {
    ledger::SqliteLedgerStore ledger((dir_ / "ledger.db").string());
    std::atomic<bool> stop{false};
    collector::PollControl control;
    control.stop = &stop;
    std::thread stopper([&] {
        while (!stop && dovecot_.messageFiles("me").size() < static_cast<std::size_t>(kStopAfter))
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        stop = true;
    });
    auto interrupted = collector::pollAccount(config_, config_.accounts.at(0), ledger, control);
    stop = true;
    stopper.join();

    ASSERT_TRUE(interrupted.interrupted) << interrupted.error;
    const std::size_t onTarget = delivered().size();
    EXPECT_GE(onTarget, static_cast<std::size_t>(kStopAfter));
    EXPECT_LT(onTarget, static_cast<std::size_t>(kInbox)) << "the import was cut short";
    EXPECT_EQ(interrupted.fetched, onTarget);
    EXPECT_EQ(interrupted.delivered, onTarget);
    EXPECT_NE(interrupted.error.find("interrupted: stopping after " + std::to_string(onTarget) +
                                     " of 300 messages in INBOX;"),
              std::string::npos)
        << interrupted.error;
}

}  // namespace
}  // namespace mc::testing
