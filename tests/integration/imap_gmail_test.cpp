// Gmail as a source, through the binary: a scripted server that behaves as Gmail documents
// (X-GM-EXT-1, All Mail marked \All, X-GM-MSGID, X-GM-LABELS; a message shows in INBOX, in each
// label's folder and in All Mail) and a real Dovecot as the LMTP target. folders = ["*"] collects
// each message once, with its Gmail labels; Spam and Trash are not collected.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/support/DovecotServer.hpp"
#include "tests/support/fakes/CollectorHarness.hpp"
#include "tests/support/fakes/FakeImapServer.hpp"

namespace mc::testing {
namespace {

// `uid` in All Mail (and every folder); X-GM-MSGID derived from `id` (default: the UID).
FakeImapMessage gmailMessage(std::uint32_t uid, const std::string& subject, std::vector<std::string> labels,
                             std::uint32_t id = 0) {
    FakeImapMessage message("From: a@example.org\r\nSubject: " + subject + "\r\nMessage-ID: <" + subject +
                            "@example.org>\r\n\r\nbody of " + subject + "\r\n");
    message.uid = uid;
    message.gmailMessageId = 1700000000000000000ull + (id ? id : uid);
    message.gmailLabels = std::move(labels);
    return message;
}

// `renumbered`: All Mail after Gmail gave it a new UIDVALIDITY and new UIDs (same X-GM-MSGIDs).
std::vector<FakeImapFolder> gmailMailbox(bool renumbered = false) {
    const std::uint32_t shift = renumbered ? 100 : 0;
    const auto tagged = gmailMessage(
        1 + shift, "three-labels",
        {"\\Inbox", "\"\\\\Important\"", "Work", "\"Family/Kids\"", "&AMk-t&AOk-"},  // "Été", modified UTF-7
        1);
    const auto archived = gmailMessage(2 + shift, "archived", {}, 2);
    const auto sent = gmailMessage(3 + shift, "sent", {"\\Sent"}, 3);
    FakeImapFolder inbox{"INBOX", {}, 11, {tagged}};
    FakeImapFolder allMail{
        "[Gmail]/All Mail", {"\\All", "\\HasNoChildren"}, renumbered ? 99u : 12u, {tagged, archived, sent}};
    FakeImapFolder work{"Work", {"\\HasNoChildren"}, 13, {tagged}};
    FakeImapFolder kids{"Family/Kids", {"\\HasNoChildren"}, 14, {tagged}};
    FakeImapFolder sentMail{"[Gmail]/Sent Mail", {"\\Sent", "\\HasNoChildren"}, 15, {sent}};
    FakeImapFolder spam{"[Gmail]/Spam", {"\\Junk", "\\HasNoChildren"}, 16, {gmailMessage(4, "spam", {})}};
    FakeImapFolder trash{"[Gmail]/Trash", {"\\Trash", "\\HasNoChildren"}, 17, {gmailMessage(5, "trash", {})}};
    FakeImapFolder gmail{"[Gmail]", {"\\Noselect", "\\HasChildren"}, 18, {}};
    return {inbox, gmail, allMail, work, kids, sentMail, spam, trash};
}

// Gmail's capabilities, as it lists them.
FakeImapOptions gmailOptions() {
    FakeImapOptions options;
    options.capabilities = {"IMAP4rev1", "UNSELECT",   "IDLE",      "NAMESPACE",        "QUOTA",  "ID",   "XLIST",
                            "CHILDREN",  "X-GM-EXT-1", "UIDPLUS",   "COMPRESS=DEFLATE", "ENABLE", "MOVE", "CONDSTORE",
                            "ESEARCH",   "LITERAL+",   "AUTH=PLAIN"};
    return options;
}

class ImapGmail : public ::testing::Test {
protected:
    void SetUp() override { dovecot_.addUser("me", "me-secret"); }

    // Writes the config: one account on `gmail`, collecting `folders`, into Dovecot by LMTP.
    void configure(const FakeImapServer& gmail, const std::string& folders) {
        AccountConfig account;
        account.name = "old-gmail";
        account.protocol = "imap";
        account.port = gmail.port();
        account.password = "imap-Secret-4Kp";
        account.extra = "folders = " + folders + "\nidle = false\nlabels = [\"gmail\"]\n";
        TargetConfig target;
        target.port = dovecot_.lmtpPort();
        target.recipient = "me";
        harness_.writeConfig(target, {account});
    }

    DovecotServer dovecot_;
    CollectorHarness harness_{"10s"};
};

// Bodies the client fetched (UID FETCH ... BODY.PEEK[]).
std::size_t bodyFetches(const FakeImapServer& server) {
    std::size_t fetches = 0;
    for (const auto& command : server.commands("UID FETCH"))
        if (command.find("BODY.PEEK[]") != std::string::npos) ++fetches;
    return fetches;
}

TEST_F(ImapGmail, StarCollectsEachMessageOnceWithItsGmailLabels) {
    DovecotServer& dovecot = dovecot_;
    CollectorHarness& harness = harness_;
    FakeImapServer gmail(gmailOptions(), gmailMailbox());
    configure(gmail, "[\"*\"]");

    auto run = harness.run();
    ASSERT_EQ(run.exitCode, 0) << run.describe();
    auto delivered = dovecot.messages("me");
    ASSERT_EQ(delivered.size(), 3u) << run.describe();  // three-labels, archived, sent: once each
    int tagged = 0;
    for (const auto& message : delivered) {
        EXPECT_EQ(message.find("Subject: spam"), std::string::npos);
        EXPECT_EQ(message.find("Subject: trash"), std::string::npos);
        if (message.find("Subject: three-labels") == std::string::npos) continue;
        ++tagged;
        EXPECT_NE(message.find("X-Mailcollector-Labels: gmail, Work, Family/Kids, \xc3\x89t\xc3\xa9\n"),
                  std::string::npos)
            << message;
    }
    EXPECT_EQ(tagged, 1);
    for (const auto& examined : gmail.commands("EXAMINE"))
        EXPECT_NE(examined.find("[Gmail]/All Mail"), std::string::npos) << examined;
    EXPECT_EQ(gmail.countCommands("EXAMINE") + gmail.countCommands("SELECT"), 1u) << gmail.transcript();

    auto again = harness.run();
    ASSERT_EQ(again.exitCode, 0) << again.describe();
    EXPECT_EQ(dovecot.messages("me").size(), 3u);

    // Gmail renumbers All Mail (a new UIDVALIDITY, new UIDs): the X-GM-MSGIDs are the ledger's
    // keys, so nothing is fetched or delivered again.
    FakeImapServer renumbered(gmailOptions(), gmailMailbox(true));
    configure(renumbered, "[\"*\"]");
    auto after = harness.run();
    ASSERT_EQ(after.exitCode, 0) << after.describe();
    EXPECT_EQ(dovecot.messages("me").size(), 3u) << after.describe();
    EXPECT_EQ(bodyFetches(renumbered), 0u) << renumbered.transcript();
}

TEST_F(ImapGmail, LabelFoldersNamedOneByOneStillGiveEachMessageOnce) {
    // The three-labels message is listed in INBOX, Work and All Mail: one X-GM-MSGID, one delivery.
    FakeImapServer gmail(gmailOptions(), gmailMailbox());
    configure(gmail, "[\"INBOX\", \"Work\", \"[Gmail]/All Mail\"]");
    auto run = harness_.run();
    ASSERT_EQ(run.exitCode, 0) << run.describe();
    auto delivered = dovecot_.messages("me");
    EXPECT_EQ(delivered.size(), 3u) << run.describe();
    std::size_t tagged = 0;
    for (const auto& message : delivered)
        if (message.find("Subject: three-labels") != std::string::npos) ++tagged;
    EXPECT_EQ(tagged, 1u) << run.describe();
}

TEST_F(ImapGmail, AnAccountCollectedFolderByFolderBeforeGetsNothingTwice) {
    // An earlier version (here: the same server without X-GM-EXT-1) collected "*" folder by folder,
    // by UID: the tagged message once per label folder. Keyed anew by X-GM-MSGID, All Mail would
    // deliver every message again; the account goes on folder by folder.
    FakeImapOptions plain = gmailOptions();
    plain.capabilities.erase(std::remove(plain.capabilities.begin(), plain.capabilities.end(), "X-GM-EXT-1"),
                             plain.capabilities.end());
    FakeImapServer before(plain, gmailMailbox());
    configure(before, "[\"*\"]");
    auto first = harness_.run();
    ASSERT_EQ(first.exitCode, 0) << first.describe();
    const std::size_t collected = dovecot_.messages("me").size();
    ASSERT_GE(collected, 3u) << first.describe();

    FakeImapServer gmail(gmailOptions(), gmailMailbox());
    configure(gmail, "[\"*\"]");
    auto after = harness_.run();
    ASSERT_EQ(after.exitCode, 0) << after.describe();
    EXPECT_EQ(dovecot_.messages("me").size(), collected) << after.describe();
    EXPECT_EQ(bodyFetches(gmail), 0u) << gmail.transcript();
}

TEST_F(ImapGmail, DraftsInAllMailAreNotCollected) {
    auto draft = gmailMessage(7, "draft", {"\\Draft"});
    auto kept = gmailMessage(8, "kept", {});
    FakeImapFolder allMail{"[Gmail]/All Mail", {"\\All", "\\HasNoChildren"}, 12, {draft, kept}};
    FakeImapServer gmail(gmailOptions(), {FakeImapFolder{"INBOX", {}, 11, {kept}}, allMail});
    configure(gmail, "[\"*\"]");
    auto run = harness_.run();
    ASSERT_EQ(run.exitCode, 0) << run.describe();
    auto delivered = dovecot_.messages("me");
    ASSERT_EQ(delivered.size(), 1u) << run.describe();
    EXPECT_NE(delivered[0].find("Subject: kept"), std::string::npos);
    auto again = harness_.run();
    ASSERT_EQ(again.exitCode, 0) << again.describe();
    EXPECT_EQ(dovecot_.messages("me").size(), 1u) << again.describe();
    EXPECT_EQ(bodyFetches(gmail), 1u) << "the draft is never fetched: " << gmail.transcript();
}

}  // namespace
}  // namespace mc::testing
