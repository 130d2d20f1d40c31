// Gmail over IMAP: which folder "*" means on a Gmail server, and which X-GM-LABELS are carried.

#include <gtest/gtest.h>

#include "collector/imap/GmailSource.hpp"

namespace mc::collector {
namespace {

proto::ImapValue atom(std::string text) {
    proto::ImapValue value;
    value.kind = proto::ImapValueKind::Atom;
    value.text = std::move(text);
    return value;
}

proto::ImapValue quoted(std::string text) {
    proto::ImapValue value = atom(std::move(text));
    value.kind = proto::ImapValueKind::String;
    return value;
}

TEST(GmailSource, StarOnGmailIsAllMailAlone) {
    config::AccountSettings account;
    account.folders = {"*"};
    std::vector<ImapFolder> listed{{"INBOX", "INBOX", {}, '/'},
                                   {"[Gmail]/All Mail", "[Gmail]/All Mail", {"\\All", "\\HasNoChildren"}, '/'},
                                   {"[Gmail]/Spam", "[Gmail]/Spam", {"\\Junk"}, '/'}};
    EXPECT_EQ(gmailAllMailFolder(account, true, listed), "[Gmail]/All Mail");
    EXPECT_EQ(gmailAllMailFolder(account, false, listed), std::nullopt);  // not Gmail: every folder
    account.folders = {"INBOX"};
    EXPECT_EQ(gmailAllMailFolder(account, true, listed), std::nullopt);  // folders named: as named
    account.folders = {"*"};
    listed[1].flags = {"\\All", "\\Noselect"};
    EXPECT_EQ(gmailAllMailFolder(account, true, listed), std::nullopt);
    // IMAP flags are case-insensitive: "\ALL" marks All Mail as well.
    listed[1].flags = {"\\HasNoChildren", "\\ALL"};
    EXPECT_EQ(gmailAllMailFolder(account, true, listed), "[Gmail]/All Mail");
    listed[1].flags = {"\\all"};
    EXPECT_EQ(gmailAllMailFolder(account, true, listed), "[Gmail]/All Mail");
}

TEST(GmailSource, DraftsAreRecognisedByTheirLabel) {
    proto::ImapValue labels;
    labels.kind = proto::ImapValueKind::List;
    EXPECT_FALSE(gmailIsDraft(labels));  // no labels at all
    labels.children = {atom("\\Inbox"), quoted("\\Important"), atom("Drafts"), quoted("Draft")};
    EXPECT_FALSE(gmailIsDraft(labels)) << "user labels named like it are not the system label";
    labels.children.push_back(atom("\\Draft"));
    EXPECT_TRUE(gmailIsDraft(labels));
    labels.children = {quoted("\\Draft")};  // sent quoted: "\\Draft"
    EXPECT_TRUE(gmailIsDraft(labels));
    labels.children = {atom("\\DRAFT")};
    EXPECT_TRUE(gmailIsDraft(labels));
    labels.children = {atom("\\Drafts")};
    EXPECT_FALSE(gmailIsDraft(labels));
}

TEST(GmailSource, CarriesUserLabelsOnly) {
    proto::ImapValue labels;
    labels.kind = proto::ImapValueKind::List;
    labels.children = {atom("\\Inbox"),          quoted("\\Important"),         atom("Work"),
                       quoted("Family/Kids"),    atom("&AMk-t&AOk-"),           quoted("Work"),
                       quoted("evil\r\nBcc: x"), quoted(std::string(201, 'x')), quoted("&bad")};
    EXPECT_EQ(gmailLabelsToCarry(labels, false),
              (std::vector<std::string>{"Work", "Family/Kids", "\xc3\x89t\xc3\xa9"}));
    // In UTF-8 mode names arrive as UTF-8 and are not decoded again.
    proto::ImapValue utf8;
    utf8.kind = proto::ImapValueKind::List;
    utf8.children = {quoted("\xc3\x89t\xc3\xa9"), quoted("&AMk-")};
    EXPECT_EQ(gmailLabelsToCarry(utf8, true), (std::vector<std::string>{"\xc3\x89t\xc3\xa9", "&AMk-"}));
}

}  // namespace
}  // namespace mc::collector
