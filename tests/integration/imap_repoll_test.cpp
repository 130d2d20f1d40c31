// Re-polls whose work is proportional to what changed, against a real Dovecot (IMAP and POP3)
// through a proxy that records every command the collector sent: a nothing-new IMAP poll lists
// nothing (the folder's UIDVALIDITY and UIDNEXT match the ledger's mark), new mail is listed from
// the mark on, messages another client expunged are named by QRESYNC (their rows forgotten, no
// listing; without a mod-sequence in the mark: one whole listing), a pending message below the mark is still retried; a
// nothing-new POP3 poll checks the last known message with `UIDL n` instead of listing everything, and a new one is
// listed with `UIDL n`/`LIST n` alone.

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/DovecotServer.hpp"
#include "tests/support/Process.hpp"
#include "tests/support/TempDir.hpp"
#include "tests/support/fakes/FakeImapServer.hpp"
#include "tests/support/fakes/FaultProxy.hpp"

namespace mc::testing {
namespace {

namespace fs = std::filesystem;

std::string numbered(int i) {
    return "From: sender@example.org\nSubject: repoll " + std::to_string(i) + "\nMessage-ID: <repoll" +
           std::to_string(i) + "@example.org>\n\nbody " + std::to_string(i) + "\n";
}

std::string crlf(const std::string& text) {
    std::string out;
    for (char c : text) out += c == '\n' ? std::string("\r\n") : std::string(1, c);
    return out;
}

// The commands in TRANSCRIPT (what the client sent) matching REGEX (a whole line).
std::vector<std::string> commands(const std::string& transcript, const std::string& regex) {
    std::vector<std::string> found;
    const std::regex pattern(regex);
    std::size_t start = 0;
    while (start < transcript.size()) {
        std::size_t end = transcript.find("\r\n", start);
        if (end == std::string::npos) end = transcript.size();
        std::string line = transcript.substr(start, end - start);
        if (std::regex_match(line, pattern)) found.push_back(line);
        start = end + 2;
    }
    return found;
}

class RepollTest : public ::testing::Test {
protected:
    void SetUp() override {
        dovecot_.addUser("alice", "alice-secret");
        dovecot_.addUser("me", "me-secret");
        writeFile(work_ / "alice.pw", "alice-secret\n", 0600);
    }

    std::string writeConfig(const std::string& protocol, std::uint16_t port, const std::string& extra = "") {
        std::string toml =
            "[collector]\nledger = \"ledger.db\"\nquarantine_dir = \"quarantine\"\nhttp_listen = \"\"\n"
            "io_timeout = \"10s\"\n\n[target]\nprotocol = \"lmtp\"\nhost = \"127.0.0.1\"\nport = " +
            std::to_string(dovecot_.lmtpPort()) + "\ntls = \"none\"\nrecipient = \"me\"\n\n";
        toml += "[[account]]\nname = \"alice\"\nprotocol = \"" + protocol +
                "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(port) +
                "\ntls = \"none\"\nusername = \"alice\"\npassword_file = \"" + (work_ / "alice.pw").string() + "\"\n" +
                extra + "\n";
        return work_.writeFile("mailcollector.toml", toml, 0600).string();
    }
    ProcessResult run(const std::string& config) {
        return runProcess({mailcollectorBinary().string(), "run", "-c", config, "--once"}, {},
                          std::chrono::seconds(120));
    }
    std::string sql(const std::string& statement) {
        auto result = runProcess({"sqlite3", (work_ / "ledger.db").string(), statement});
        EXPECT_TRUE(result.ok()) << result.describe();
        return result.out;
    }
    // Runs once, recording what the collector sent.
    ProcessResult recordedRun(FaultProxy& proxy, const std::string& config, std::string& sent) {
        proxy.clearSent();
        auto result = run(config);
        sent = proxy.sentToServer();
        return result;
    }

    // Message `i` leaves alice's INBOX, as when another client deletes it.
    void removeFromAlice(int i) {
        for (const auto& file : dovecot_.messageFiles("alice"))
            if (readFile(file).find("Subject: repoll " + std::to_string(i) + "\n") != std::string::npos)
                fs::remove(file);
    }

    DovecotServer dovecot_;
    TempDir work_{"mc-repoll"};
};

constexpr int kMessages = 40;
// A listing of the whole folder (FETCH by sequence numbers), or of some UIDs.
const char* kFullImapListing = R"(\S+ FETCH \d+:\d+ \(UID RFC822.SIZE FLAGS\))";
const char* kAnyImapListing = R"(\S+ (UID )?FETCH \S+ \(UID RFC822.SIZE FLAGS\))";

TEST_F(RepollTest, ImapNothingNewListsNothingAndNewMailIsListedFromTheMarkOn) {
    for (int i = 0; i < kMessages; ++i) dovecot_.seed("alice", "INBOX", numbered(i));
    FaultProxy proxy(dovecot_.host(), dovecot_.imapPort());
    auto config = writeConfig("imap", proxy.port(), "folders = [\"INBOX\"]");
    std::string sent;
    auto first = recordedRun(proxy, config, sent);
    ASSERT_EQ(first.exitCode, 0) << first.describe();
    ASSERT_EQ(dovecot_.messages("me").size(), std::size_t(kMessages));
    EXPECT_EQ(commands(sent, kFullImapListing).size(), 1u) << sent;

    auto again = recordedRun(proxy, config, sent);
    ASSERT_EQ(again.exitCode, 0) << again.describe();
    EXPECT_TRUE(commands(sent, kAnyImapListing).empty()) << "a nothing-new poll lists nothing:\n" << sent;
    EXPECT_NE(again.err.find("fetched=0"), std::string::npos) << again.err;

    dovecot_.seed("alice", "INBOX", numbered(kMessages));
    auto later = recordedRun(proxy, config, sent);
    ASSERT_EQ(later.exitCode, 0) << later.describe();
    EXPECT_TRUE(commands(sent, kFullImapListing).empty()) << sent;
    EXPECT_EQ(commands(sent, R"(\S+ UID FETCH 41:\* \(UID RFC822.SIZE FLAGS\))").size(), 1u) << sent;
    auto delivered = dovecot_.messages("me");
    ASSERT_EQ(delivered.size(), std::size_t(kMessages + 1)) << "the new message, once";
    EXPECT_NE(delivered.back().find("Subject: repoll 40"), std::string::npos);
}

// Courier's SELECT says no UIDNEXT (STATUS does): the mark's UIDNEXT is then one past the highest
// UID listed, and a nothing-new poll asks for the UIDs from it on instead of listing the folder.
TEST_F(RepollTest, ImapServerThatSaysNoUidNextIsPolledFromTheMarkToo) {
    FakeImapOptions options;
    options.password = "alice-secret";
    options.sayUidNext = false;
    FakeImapFolder inbox;
    for (int i = 0; i < kMessages; ++i) inbox.messages.emplace_back(crlf(numbered(i)));
    FakeImapServer server(options, {inbox});
    auto config = writeConfig("imap", server.port(), "folders = [\"INBOX\"]\nidle = false");
    auto first = run(config);
    ASSERT_EQ(first.exitCode, 0) << first.describe();
    ASSERT_EQ(dovecot_.messages("me").size(), std::size_t(kMessages));
    EXPECT_EQ(sql("SELECT uid_next, messages FROM mailbox_marks"), "41|40\n");

    const auto before = server.commands("FETCH").size() + server.commands("UID FETCH").size();
    auto again = run(config);
    ASSERT_EQ(again.exitCode, 0) << again.describe();
    auto fetches = server.commands("UID FETCH");
    EXPECT_EQ(server.commands("FETCH").size() + fetches.size(), before + 1) << server.transcript();
    ASSERT_FALSE(fetches.empty());
    EXPECT_NE(fetches.back().find("UID FETCH 41:*"), std::string::npos) << fetches.back();
    EXPECT_NE(again.err.find("fetched=0"), std::string::npos) << again.err;

    server.addMessage("INBOX", crlf(numbered(kMessages)));
    auto later = run(config);
    ASSERT_EQ(later.exitCode, 0) << later.describe();
    auto delivered = dovecot_.messages("me");
    ASSERT_EQ(delivered.size(), std::size_t(kMessages + 1)) << "the new message, once";
    EXPECT_NE(delivered.back().find("Subject: repoll 40"), std::string::npos);
    EXPECT_EQ(sql("SELECT uid_next, messages FROM mailbox_marks"), "42|41\n");
}

TEST_F(RepollTest, ImapMessagesExpungedByAnotherClientAreForgottenWithoutAListingThroughQresync) {
    for (int i = 0; i < 6; ++i) dovecot_.seed("alice", "INBOX", numbered(i));
    FaultProxy proxy(dovecot_.host(), dovecot_.imapPort());
    auto config = writeConfig("imap", proxy.port(), "folders = [\"INBOX\"]");
    ASSERT_EQ(run(config).exitCode, 0);
    ASSERT_EQ(sql("SELECT COUNT(*) FROM messages;"), "6\n");
    ASSERT_NE(sql("SELECT highest_mod_seq FROM mailbox_marks;"), "0\n") << "Dovecot offers QRESYNC";
    removeFromAlice(2);  // by another client; Dovecot notices at the next SELECT
    removeFromAlice(4);
    dovecot_.seed("alice", "INBOX", numbered(6));  // and one arrived: the count alone would not tell
    ASSERT_EQ(dovecot_.messages("alice").size(), 5u);

    std::string sent;
    auto result = recordedRun(proxy, config, sent);
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_EQ(commands(sent, R"(\S+ EXAMINE "INBOX" \(QRESYNC \(\d+ \d+\)\))").size(), 1u) << sent;
    EXPECT_TRUE(commands(sent, kFullImapListing).empty()) << "VANISHED named them: no whole listing\n" << sent;
    EXPECT_EQ(sql("SELECT uid FROM messages ORDER BY CAST(uid AS INTEGER);"), "1\n2\n4\n6\n7\n")
        << "the expunged messages' rows (UIDs 3, 5) are forgotten";
    EXPECT_EQ(sql("SELECT messages FROM mailbox_marks;"), "5\n");
    auto delivered = dovecot_.messages("me");
    ASSERT_EQ(delivered.size(), 7u) << "the new message once, nothing twice";
    EXPECT_NE(delivered.back().find("Subject: repoll 6"), std::string::npos);

    auto again = recordedRun(proxy, config, sent);
    ASSERT_EQ(again.exitCode, 0) << again.describe();
    EXPECT_TRUE(commands(sent, kAnyImapListing).empty()) << "the mark moved on:\n" << sent;
}

TEST_F(RepollTest, ImapMessageExpungedWithoutAModSequenceInTheMarkBringsOneWholeListing) {
    for (int i = 0; i < 5; ++i) dovecot_.seed("alice", "INBOX", numbered(i));
    FaultProxy proxy(dovecot_.host(), dovecot_.imapPort());
    auto config = writeConfig("imap", proxy.port(), "folders = [\"INBOX\"]");
    ASSERT_EQ(run(config).exitCode, 0);
    ASSERT_EQ(sql("SELECT COUNT(*) FROM messages;"), "5\n");
    sql("UPDATE mailbox_marks SET highest_mod_seq = 0;");  // as a server without QRESYNC leaves it
    removeFromAlice(2);
    ASSERT_EQ(dovecot_.messages("alice").size(), 4u);

    std::string sent;
    auto result = recordedRun(proxy, config, sent);
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_TRUE(commands(sent, R"(.*QRESYNC \(.*)").empty()) << sent;
    EXPECT_EQ(commands(sent, kFullImapListing).size(), 1u) << "a count below the mark: one whole listing\n" << sent;
    EXPECT_EQ(sql("SELECT COUNT(*) FROM messages;"), "4\n") << "the expunged message's row is forgotten";
    EXPECT_EQ(dovecot_.messages("me").size(), 5u) << "nothing delivered twice";

    auto again = recordedRun(proxy, config, sent);
    ASSERT_EQ(again.exitCode, 0) << again.describe();
    EXPECT_TRUE(commands(sent, kAnyImapListing).empty()) << "the mark moved on:\n" << sent;
}

TEST_F(RepollTest, ImapPendingMessageBelowTheMarkIsRetriedWithoutAWholeListing) {
    for (int i = 0; i < 8; ++i) dovecot_.seed("alice", "INBOX", numbered(i));
    FaultProxy proxy(dovecot_.host(), dovecot_.imapPort());
    auto config = writeConfig("imap", proxy.port(), "folders = [\"INBOX\"]");
    ASSERT_EQ(run(config).exitCode, 0);
    ASSERT_EQ(dovecot_.messages("me").size(), 8u);
    // As a target 4xx leaves it: pending, to be fetched again.
    sql("UPDATE messages SET state = 'seen', content_hash = '', delivered_at = 0, attempts = 1 WHERE uid = '3';");

    std::string sent;
    auto result = recordedRun(proxy, config, sent);
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_TRUE(commands(sent, kFullImapListing).empty()) << sent;
    EXPECT_EQ(commands(sent, R"(\S+ UID FETCH 3 \(UID RFC822.SIZE FLAGS\))").size(), 1u) << sent;
    EXPECT_NE(result.err.find("delivered=1"), std::string::npos) << result.err;
    EXPECT_EQ(sql("SELECT state FROM messages WHERE uid = '3';"), "delivered\n");
}

TEST_F(RepollTest, ImapKeepFalseLeftoversBelowTheMarkAreVerifiedAndDeleted) {
    for (int i = 0; i < 4; ++i) dovecot_.seed("alice", "INBOX", numbered(i));
    FaultProxy proxy(dovecot_.host(), dovecot_.imapPort());
    ASSERT_EQ(run(writeConfig("imap", proxy.port(), "folders = [\"INBOX\"]")).exitCode, 0);
    ASSERT_EQ(dovecot_.messages("me").size(), 4u);

    std::string sent;
    auto result = recordedRun(proxy, writeConfig("imap", proxy.port(), "folders = [\"INBOX\"]\nkeep = false"), sent);
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_TRUE(commands(sent, kFullImapListing).empty()) << sent;
    EXPECT_EQ(dovecot_.messages("alice").size(), 0u) << sent;
    EXPECT_EQ(dovecot_.messages("me").size(), 4u) << "verified by headers, nothing sent again";
}

TEST_F(RepollTest, ImapOwnDeletionsReportedByQresyncAreNotCountedTwice) {
    for (int i = 0; i < 6; ++i) dovecot_.seed("alice", "INBOX", numbered(i));
    FaultProxy proxy(dovecot_.host(), dovecot_.imapPort());
    auto config = writeConfig("imap", proxy.port(), "folders = [\"INBOX\"]\ndelete_after_days = 1");
    ASSERT_EQ(run(config).exitCode, 0);
    ASSERT_EQ(dovecot_.messages("me").size(), 6u);
    sql("UPDATE messages SET delivered_at = 1000 WHERE uid IN ('1', '2');");  // their days are up

    std::string sent;
    auto result = recordedRun(proxy, config, sent);
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    ASSERT_EQ(dovecot_.messages("alice").size(), 4u) << sent;
    EXPECT_EQ(sql("SELECT messages FROM mailbox_marks;"), "4\n");

    // Our own expunges come back as VANISHED since the mark: already out of its count.
    auto again = recordedRun(proxy, config, sent);
    ASSERT_EQ(again.exitCode, 0) << again.describe();
    EXPECT_EQ(commands(sent, R"(\S+ SELECT "INBOX" \(QRESYNC \(\d+ \d+\)\))").size(), 1u) << sent;
    EXPECT_TRUE(commands(sent, kAnyImapListing).empty()) << sent;
    EXPECT_EQ(sql("SELECT messages FROM mailbox_marks;"), "4\n");
    EXPECT_EQ(sql("SELECT COUNT(*) FROM messages;"), "4\n") << "the deleted messages' rows are forgotten";
    EXPECT_EQ(dovecot_.messages("me").size(), 6u);
}

TEST_F(RepollTest, Pop3NothingNewChecksTheLastMessageAndNewMailIsListedOneByOne) {
    for (int i = 0; i < kMessages; ++i) dovecot_.seed("alice", "INBOX", numbered(i));
    FaultProxy proxy(dovecot_.host(), dovecot_.pop3Port());
    auto config = writeConfig("pop3", proxy.port());
    std::string sent;
    auto first = recordedRun(proxy, config, sent);
    ASSERT_EQ(first.exitCode, 0) << first.describe();
    ASSERT_EQ(dovecot_.messages("me").size(), std::size_t(kMessages));
    EXPECT_EQ(commands(sent, "UIDL").size(), 1u) << sent;

    auto again = recordedRun(proxy, config, sent);
    ASSERT_EQ(again.exitCode, 0) << again.describe();
    EXPECT_TRUE(commands(sent, "UIDL|LIST").empty()) << "no whole listing:\n" << sent;
    EXPECT_EQ(commands(sent, "UIDL 40").size(), 1u) << sent;
    EXPECT_NE(again.err.find("fetched=0"), std::string::npos) << again.err;

    dovecot_.seed("alice", "INBOX", numbered(kMessages));
    auto later = recordedRun(proxy, config, sent);
    ASSERT_EQ(later.exitCode, 0) << later.describe();
    EXPECT_TRUE(commands(sent, "UIDL|LIST").empty()) << sent;
    EXPECT_EQ(commands(sent, "UIDL 41|LIST 41").size(), 2u) << sent;
    auto delivered = dovecot_.messages("me");
    ASSERT_EQ(delivered.size(), std::size_t(kMessages + 1));
    EXPECT_NE(delivered.back().find("Subject: repoll 40"), std::string::npos);
}

TEST_F(RepollTest, Pop3MailboxThatChangedBelowTheMarkIsListedWhole) {
    for (int i = 0; i < 6; ++i) dovecot_.seed("alice", "INBOX", numbered(i));
    FaultProxy proxy(dovecot_.host(), dovecot_.pop3Port());
    auto config = writeConfig("pop3", proxy.port());
    ASSERT_EQ(run(config).exitCode, 0);
    // Another client removed the first message and a new one arrived: as many messages as
    // before, but message 6 is another one.
    removeFromAlice(0);
    dovecot_.seed("alice", "INBOX", numbered(6));

    std::string sent;
    auto result = recordedRun(proxy, config, sent);
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_EQ(commands(sent, "UIDL").size(), 1u) << "UIDL 6 differs: one whole listing\n" << sent;
    EXPECT_EQ(dovecot_.messages("me").size(), 7u) << "the new message, once";
    EXPECT_EQ(sql("SELECT COUNT(*) FROM messages;"), "6\n") << "the removed message's row is forgotten";
}

// STAT and `UIDL n` of the mark check go out together (Dovecot offers PIPELINING); when the
// mailbox shrank below the mark, the refused `UIDL n` is read and set aside, and the mailbox is
// listed whole.
TEST_F(RepollTest, Pop3MailboxThatShrankBelowTheMarkIsListedWhole) {
    for (int i = 0; i < 6; ++i) dovecot_.seed("alice", "INBOX", numbered(i));
    FaultProxy proxy(dovecot_.host(), dovecot_.pop3Port());
    auto config = writeConfig("pop3", proxy.port());
    ASSERT_EQ(run(config).exitCode, 0);
    removeFromAlice(0);
    removeFromAlice(5);

    std::string sent;
    auto result = recordedRun(proxy, config, sent);
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_EQ(commands(sent, "STAT").size(), 2u) << "the mark check's and the listing's\n" << sent;
    EXPECT_EQ(commands(sent, "UIDL 6").size(), 1u) << sent;
    EXPECT_EQ(commands(sent, "UIDL").size(), 1u) << "one whole listing\n" << sent;
    EXPECT_EQ(dovecot_.messages("me").size(), 6u) << "nothing new";
    EXPECT_EQ(sql("SELECT COUNT(*) FROM messages;"), "4\n") << "the removed messages' rows are forgotten";
    EXPECT_EQ(sql("SELECT messages FROM mailbox_marks;"), "4\n");
}

}  // namespace
}  // namespace mc::testing
