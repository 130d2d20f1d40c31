// folders = ["*"] against Cyrus- and Courier-style namespaces (everything under INBOX, "/" or "."
// as the delimiter, no SPECIAL-USE flags): Trash, Junk and Drafts are recognised by their last
// hierarchy component, neither collected nor opened, and the Trash is where UID MOVE deletes to.
// A scripted server, since the suite's real server (Dovecot) uses neither namespace.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "tests/support/fakes/CollectorHarness.hpp"
#include "tests/support/fakes/FakeImapServer.hpp"
#include "tests/support/fakes/FakeSmtpTarget.hpp"

namespace mc::testing {
namespace {

std::string message(const std::string& subject) {
    return "From: Sender <sender@example.net>\r\nTo: alice@example.com\r\nSubject: " + subject + "\r\nMessage-ID: <" +
           subject + "@example.net>\r\n\r\nHello.\r\n";
}

FakeImapFolder folder(const std::string& name, const std::string& subject) {
    FakeImapFolder f;
    f.name = name;
    f.messages = {FakeImapMessage{message(subject)}};
    return f;
}

class HostileImapFolders : public ::testing::TestWithParam<char> {
protected:
    CollectorHarness harness{"2s"};
    FakeSmtpTarget target{lmtpOptions()};
};

TEST_P(HostileImapFolders, StarSkipsTrashJunkAndDraftsUnderInboxAndMovesIntoTheTrash) {
    const char delimiter = GetParam();
    const std::string p = std::string("INBOX") + delimiter;
    FakeImapOptions options;
    options.delimiter = delimiter;
    options.capabilities = {"IMAP4rev1", "LITERAL+", "MOVE", "AUTH=PLAIN"};  // MOVE, no UIDPLUS
    FakeImapServer imap(options, {folder("INBOX", "inbox-1"), folder(p + "Trash", "trash-1"),
                                  folder(p + "Spam", "spam-1"), folder(p + "Drafts", "draft-1"),
                                  folder(p + "Deleted Items", "deleted-1"), folder(p + "Work", "work-1")});
    AccountConfig account;
    account.protocol = "imap";
    account.port = imap.port();
    account.username = options.user;
    account.password = options.password;
    account.keep = false;
    account.extra = "folders = [\"*\"]\n";
    harness.writeConfig(TargetConfig{.port = target.port()}, {account});

    auto result = harness.run();

    EXPECT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_EQ(subjectsOf(target.messages()), (std::set<std::string>{"inbox-1", "work-1"})) << imap.transcript();
    auto opened = imap.commands("SELECT");
    for (const auto& line : imap.commands("EXAMINE")) opened.push_back(line);
    EXPECT_EQ(opened.size(), 2u) << imap.transcript();
    for (const auto& line : opened)
        for (const auto& skipped : {"Trash", "Spam", "Drafts", "Deleted Items"})
            EXPECT_EQ(line.find(p + skipped), std::string::npos) << line;
    // Deleted by moving into the Trash (the first folder named so), not into "Deleted Items".
    auto moves = imap.commands("UID MOVE");
    ASSERT_EQ(moves.size(), 2u) << imap.transcript();
    for (const auto& move : moves) EXPECT_NE(move.find(p + "Trash"), std::string::npos) << move;
    EXPECT_EQ(imap.uids(p + "Trash").size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Namespaces, HostileImapFolders, ::testing::Values('/', '.'),
                         [](const auto& info) { return info.param == '/' ? "Cyrus" : "Courier"; });

}  // namespace
}  // namespace mc::testing
