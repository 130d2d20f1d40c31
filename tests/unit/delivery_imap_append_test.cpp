// The pure half of the IMAP APPEND target: folder plans (labels, archive, Gmail), names on the
// wire, literal forms and what tagged replies mean.

#include <gtest/gtest.h>

#include "delivery/ImapAppend.hpp"
#include "proto/ImapParser.hpp"

namespace mc::delivery {
namespace {

using Names = std::vector<std::string>;

proto::ImapResponse parse(const std::string& line) {
    proto::ImapResponseParser parser;
    auto progress = parser.feed(line + "\r\n");
    EXPECT_EQ(progress.status, proto::ImapResponseParser::Status::Complete) << line;
    return parser.take();
}

TEST(ImapAppendPlan, LabelFoldersFirstThenTheTargetFolder) {
    auto plan = planAppends("INBOX", {"Entwürfe", "Work/2019"}, false, false, "");
    EXPECT_EQ(plan.folders, (Names{"Entwürfe", "Work/2019", "INBOX"}));
    EXPECT_TRUE(plan.gmailLabels.empty());
    EXPECT_EQ(planAppends("Archive", {}, false, false, "").folders, (Names{"Archive"}));
}

TEST(ImapAppendPlan, ArchiveSkipsTheTargetFolderOnlyWhenThereAreLabels) {
    EXPECT_EQ(planAppends("INBOX", {"a", "b"}, true, false, "").folders, (Names{"a", "b"}));
    EXPECT_EQ(planAppends("INBOX", {}, true, false, "").folders, (Names{"INBOX"}));
}

TEST(ImapAppendPlan, NoFolderTwice) {
    EXPECT_EQ(planAppends("INBOX", {"a", "inbox", "a", "b"}, false, false, "").folders, (Names{"a", "b", "INBOX"}));
    EXPECT_EQ(planAppends("INBOX", {"INBOX"}, true, false, "").folders, (Names{"INBOX"}));
    // Only INBOX ignores case.
    EXPECT_EQ(planAppends("Work", {"work"}, false, false, "").folders, (Names{"work", "Work"}));
}

TEST(ImapAppendPlan, GmailAppendsOnceAndLabels) {
    auto plan = planAppends("INBOX", {"old-isp", "Entwürfe", "old-isp"}, false, true, "[Gmail]/All Mail");
    EXPECT_EQ(plan.folders, (Names{"INBOX"}));
    EXPECT_EQ(plan.gmailLabels, (Names{"old-isp", "Entwürfe"}));
    plan = planAppends("INBOX", {"old-isp"}, true, true, "[Google Mail]/All Mail");
    EXPECT_EQ(plan.folders, (Names{"[Google Mail]/All Mail"}));
    EXPECT_EQ(plan.gmailLabels, (Names{"old-isp"}));
    plan = planAppends("INBOX", {}, true, true, "[Gmail]/All Mail");
    EXPECT_EQ(plan.folders, (Names{"INBOX"}));
    EXPECT_TRUE(plan.gmailLabels.empty());
}

TEST(ImapAppendNames, ModifiedUtf7AndQuoted) {
    EXPECT_EQ(imapMailboxArgument("INBOX"), "\"INBOX\"");
    EXPECT_EQ(imapMailboxArgument("Entwürfe"), "\"Entw&APw-rfe\"");
    EXPECT_EQ(imapMailboxArgument("Work/2019"), "\"Work/2019\"");
    EXPECT_EQ(imapMailboxArgument("R&D \"x\" \\y"), "\"R&-D \\\"x\\\" \\\\y\"");
    EXPECT_EQ(imapMailboxArgument("bad \xff utf8"), std::nullopt);
    EXPECT_EQ(imapMailboxArgument(std::string(2000, 'a')), std::nullopt);
    EXPECT_EQ(gmailLabelList({"old-isp", "Entwürfe", "a b"}), "(\"old-isp\" \"Entw&APw-rfe\" \"a b\")");
    EXPECT_EQ(gmailLabelList({"ok", "\xc3"}), std::nullopt);
}

TEST(ImapAppendLiteral, NonSynchronizingOnlyWhenTheServerTakesIt) {
    using proto::ImapLiteralMode;
    EXPECT_EQ(appendLiteral(10, ImapLiteralMode::Synchronizing), "{10}");
    EXPECT_EQ(appendLiteral(50'000'000, ImapLiteralMode::LiteralPlus), "{50000000+}");
    EXPECT_EQ(appendLiteral(4096, ImapLiteralMode::LiteralMinus), "{4096+}");
    EXPECT_EQ(appendLiteral(4097, ImapLiteralMode::LiteralMinus), "{4097}");
}

TEST(ImapAppendReplies, Classified) {
    EXPECT_EQ(classifyImapReply(parse("A1 OK [APPENDUID 7 42] Append completed.")), ImapReplyKind::Ok);
    EXPECT_EQ(classifyImapReply(parse("A1 NO [TRYCREATE] Mailbox doesn't exist: Foo")), ImapReplyKind::TryCreate);
    for (const char* code : {"OVERQUOTA", "INUSE", "UNAVAILABLE", "LIMIT", "SERVERBUG", "overquota"})
        EXPECT_EQ(classifyImapReply(parse(std::string("A1 NO [") + code + "] try later")), ImapReplyKind::Transient)
            << code;
    EXPECT_EQ(classifyImapReply(parse("A1 NO Message refused")), ImapReplyKind::Permanent);
    EXPECT_EQ(classifyImapReply(parse("A1 NO [CANNOT] Invalid mailbox name")), ImapReplyKind::Permanent);
    EXPECT_EQ(classifyImapReply(parse("A1 BAD [OVERQUOTA] syntax")), ImapReplyKind::Permanent);
}

}  // namespace
}  // namespace mc::delivery
