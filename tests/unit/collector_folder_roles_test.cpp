// Folder roles for folders = ["*"] and the Trash of UID MOVE: SPECIAL-USE flags first, else the
// last hierarchy component, whatever the server's namespace (Dovecot, Cyrus, Courier, Exchange).

#include <gtest/gtest.h>

#include "collector/HeaderFingerprint.hpp"
#include "collector/SourceSettings.hpp"
#include "collector/imap/ImapSession.hpp"
#include "config/Config.hpp"

namespace mc::collector {
namespace {

TEST(FolderRoles, LastHierarchyComponentDecidesWithoutSpecialUse) {
    for (char delimiter : {'.', '/'}) {
        SCOPED_TRACE(std::string(1, delimiter));
        std::string prefix = std::string("INBOX") + delimiter;  // Courier "INBOX.", Cyrus "INBOX/"
        EXPECT_EQ(folderRole({}, prefix + "Trash", delimiter), FolderRole::Trash);
        EXPECT_EQ(folderRole({}, prefix + "Deleted Items", delimiter), FolderRole::Trash);
        EXPECT_EQ(folderRole({}, prefix + "Deleted Messages", delimiter), FolderRole::Trash);
        EXPECT_EQ(folderRole({}, prefix + "spam", delimiter), FolderRole::Junk);
        EXPECT_EQ(folderRole({}, prefix + "Junk E-mail", delimiter), FolderRole::Junk);
        EXPECT_EQ(folderRole({}, prefix + "Bulk Mail", delimiter), FolderRole::Junk);
        EXPECT_EQ(folderRole({}, prefix + "Drafts", delimiter), FolderRole::Drafts);
        EXPECT_EQ(folderRole({},
                             prefix + "Entw\xC3\xBC"
                                      "rfe",
                             delimiter),
                  FolderRole::Drafts);
        EXPECT_EQ(folderRole({}, prefix + "Sent", delimiter), FolderRole::None);
        EXPECT_EQ(folderRole({}, prefix + "Work", delimiter), FolderRole::None);
        EXPECT_EQ(folderRole({}, "INBOX", delimiter), FolderRole::None);
        // A component merely containing a role's name is an ordinary folder.
        EXPECT_EQ(folderRole({}, prefix + "Trash stories", delimiter), FolderRole::None);
        EXPECT_EQ(folderRole({}, prefix + "Old" + delimiter + "Trashcan", delimiter), FolderRole::None);
    }
    EXPECT_EQ(folderRole({}, "Trash", '/'), FolderRole::Trash);  // Dovecot: top level
    EXPECT_EQ(folderRole({}, "Junk", std::nullopt), FolderRole::Junk);
    // With another delimiter, "INBOX.Trash" is one component: not a trash name.
    EXPECT_EQ(folderRole({}, "INBOX.Trash", '/'), FolderRole::None);
}

TEST(FolderRoles, SpecialUseFlagsWinOverNames) {
    EXPECT_EQ(folderRole({"\\HasNoChildren", "\\trash"}, "INBOX.Papierkorb-alt", '.'), FolderRole::Trash);
    EXPECT_EQ(folderRole({"\\Junk"}, "Unwanted", '/'), FolderRole::Junk);
    EXPECT_EQ(folderRole({"\\Drafts"}, "Unsent", '/'), FolderRole::Drafts);
    EXPECT_EQ(folderRole({"\\All"}, "[Gmail]/All Mail", '/'), FolderRole::Virtual);
    EXPECT_EQ(folderRole({"\\Flagged"}, "[Gmail]/Starred", '/'), FolderRole::Virtual);
    EXPECT_EQ(folderRole({"\\Sent"}, "INBOX.Sent", '.'), FolderRole::None);
    // A flag for another role does not stop the name rule from applying.
    EXPECT_EQ(folderRole({"\\HasNoChildren"}, "INBOX.Trash", '.'), FolderRole::Trash);
}

TEST(FolderRoles, StarSkipsRoleFoldersInCyrusAndCourierNamespaces) {
    config::AccountSettings account;
    account.folders = {"*"};
    for (char delimiter : {'.', '/'}) {
        std::string p = std::string("INBOX") + delimiter;
        std::vector<ImapFolder> listed;
        for (std::string name : {std::string("INBOX"), p + "Trash", p + "Junk", p + "Drafts", p + "Sent", p + "Work",
                                 p + "Spam", p + "Work" + delimiter + "2019"})
            listed.push_back(ImapFolder{name, name, {}, delimiter});
        EXPECT_EQ(resolveImapFolders(account, listed),
                  (std::vector<std::string>{"INBOX", p + "Sent", p + "Work", p + "Work" + delimiter + "2019"}));
        int bestRank = 0;
        std::string trash;
        for (const auto& folder : listed)
            if (folder.trashRank() > bestRank) bestRank = folder.trashRank(), trash = folder.wireName;
        EXPECT_EQ(trash, p + "Trash");
    }
}

TEST(HeaderFingerprint, LineEndingsDoNotMatterButHeadersDo) {
    std::string crlf = "From: a@example.org\r\nSubject: one\r\n\r\nbody\r\n";
    std::string lf = "From: a@example.org\nSubject: one\n\nother body\n";
    std::string top = "From: a@example.org\r\nSubject: one\r\n\r\n";                     // TOP n 0
    std::string crcrlf = "From: a@example.org\r\r\nSubject: one\r\r\n\r\r\nbody\r\r\n";  // Courier
    EXPECT_EQ(headerFingerprint(crlf), headerFingerprint(lf));
    EXPECT_EQ(headerFingerprint(crlf), headerFingerprint(top));
    EXPECT_EQ(headerFingerprint(crlf), headerFingerprint(crcrlf));
    EXPECT_NE(headerFingerprint(crlf), headerFingerprint("From: a@example.org\r\nSubject: two\r\n\r\nbody\r\n"));
    EXPECT_EQ(canonicalHeaderBlock(crlf), "From: a@example.org\nSubject: one\n");
    EXPECT_EQ(canonicalHeaderBlock("Subject: a\rb\r\n\r\n"), "Subject: a b\n");
    EXPECT_EQ(headerFingerprint("").size(), 64u);
}

}  // namespace
}  // namespace mc::collector
