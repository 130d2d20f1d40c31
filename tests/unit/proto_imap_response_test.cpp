#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "proto/ImapParser.hpp"
#include "proto/ImapResponse.hpp"

namespace mc::proto {
namespace {

ImapResponse parse(std::string_view input) {
    ImapResponseParser parser;
    const auto progress = parser.feed(input);
    EXPECT_EQ(progress.status, ImapResponseParser::Status::Complete)
        << input << ": " << imapParseErrorName(parser.error());
    EXPECT_EQ(progress.consumed, input.size()) << input;
    return parser.take();
}

TEST(ImapResponse, NamespacesTellTheUsersOwnFoldersFromOthersAndShared) {
    // Cyrus (altnamespace off, unixhierarchysep): own under INBOX/, others under user/, and every
    // other name shared (the empty prefix).
    const auto cyrus = parse("* NAMESPACE ((\"INBOX/\" \"/\")) ((\"user/\" \"/\")) ((\"\" \"/\"))\r\n").namespaces();
    ASSERT_TRUE(cyrus);
    EXPECT_EQ(cyrus->personal, std::vector<std::string>{"INBOX/"});
    EXPECT_EQ(cyrus->otherUsers, std::vector<std::string>{"user/"});
    EXPECT_EQ(cyrus->shared, std::vector<std::string>{""});
    for (const char* own : {"INBOX", "inbox", "INBOX/Sent", "INBOX/B&APw-cher/Sub"})
        EXPECT_FALSE(cyrus->othersHold(own)) << own;
    for (const char* others : {"user/bob", "user/bob/Sent", "user", "team", "shared/x"})
        EXPECT_TRUE(cyrus->othersHold(others)) << others;

    // Dovecot with a public namespace; Courier's "#shared." with extension data after it.
    const auto dovecot = parse("* NAMESPACE ((\"\" \"/\")) NIL ((\"Public/\" \"/\"))\r\n").namespaces();
    ASSERT_TRUE(dovecot);
    EXPECT_FALSE(dovecot->othersHold("Work/2019"));
    EXPECT_FALSE(dovecot->othersHold("Publication"));
    EXPECT_TRUE(dovecot->othersHold("Public/team"));
    EXPECT_TRUE(dovecot->othersHold("Public"));
    const auto courier =
        parse("* NAMESPACE ((\"INBOX.\" \".\" \"X-PARAM\" (\"a\"))) NIL ((\"#shared.\" \".\"))\r\n").namespaces();
    ASSERT_TRUE(courier);
    EXPECT_FALSE(courier->othersHold("INBOX.Archive"));
    EXPECT_FALSE(courier->othersHold("Elsewhere")) << "no prefix matches: the user's own";
    EXPECT_TRUE(courier->othersHold("#shared.news"));
    EXPECT_FALSE(parse("* NAMESPACE NIL NIL NIL\r\n").namespaces()->othersHold("anything"));
    // UW's prefixes without a delimiter: "#mhinbo" is not the namespace "#mhinbox".
    const auto uw = parse("* NAMESPACE ((\"\" \"/\")) NIL ((\"#mhinbox\" NIL))\r\n").namespaces();
    ASSERT_TRUE(uw);
    EXPECT_FALSE(uw->othersHold("#mhinbo"));
    EXPECT_TRUE(uw->othersHold("#mhinbox"));

    EXPECT_FALSE(parse("* NAMESPACE ((\"\" \"/\")) NIL\r\n").namespaces()) << "three groups";
    EXPECT_FALSE(parse("* NAMESPACE (\"\" \"/\") NIL NIL\r\n").namespaces()) << "a list of lists";
    EXPECT_FALSE(parse("* NAMESPACE ((NIL \"/\")) NIL NIL\r\n").namespaces()) << "a prefix is a string";
}

TEST(ImapResponse, FetchRejectsMalformedCommonItems) {
    const ImapResponse valid = parse("* 1 FETCH (UID 5)\r\n");
    EXPECT_TRUE(valid.fetch());
    for (const char* input : {
             "* 1 FETCH (UID 0)\r\n",
             "* 1 FETCH (UID abc)\r\n",
             "* 1 FETCH (UID 4294967296)\r\n",
             "* 1 FETCH (UID \"5\")\r\n",
             "* 1 FETCH (RFC822.SIZE x)\r\n",
             "* 1 FETCH (FLAGS \\Seen)\r\n",
             "* 1 FETCH (FLAGS ((\\Seen)))\r\n",
             "* 1 FETCH (INTERNALDATE 17)\r\n",
             "* 1 FETCH (MODSEQ 5)\r\n",
             "* 1 FETCH (BODY[] (a b))\r\n",
             "* 1 FETCH (RFC822 12)\r\n",
             "* 1 FETCH (UID)\r\n",        // odd number of elements
             "* 1 FETCH (\"UID\" 5)\r\n",  // key not an atom
             "* 0 FETCH (UID 5)\r\n",      // sequence numbers start at 1
             "* 1 FETCH UID 5\r\n",        // no list
             "* FETCH (UID 5)\r\n",
         }) {
        const ImapResponse response = parse(input);
        EXPECT_FALSE(response.fetch()) << input;
    }
}

TEST(ImapResponse, FetchBodyAlternativesAndNil) {
    auto r = parse("* 1 FETCH (RFC822 {2}\r\nhi)\r\n");
    ASSERT_TRUE(r.fetch());
    EXPECT_EQ(r.fetch()->body()->text, "hi");
    r = parse("* 1 FETCH (BODY[] NIL)\r\n");
    ASSERT_TRUE(r.fetch());
    EXPECT_TRUE(r.fetch()->body()->isNil());
    r = parse("* 1 FETCH (body[] \"quoted body\" uid 3)\r\n");  // lower case keys
    const auto fetch = r.fetch();
    ASSERT_TRUE(fetch);
    EXPECT_EQ(fetch->uid, 3u);
    EXPECT_EQ(fetch->body()->text, "quoted body");
    EXPECT_EQ(fetch->items[0].first, "BODY[]");
    // A FETCH item's pointer stays valid when the response is moved.
    ImapResponse moved = std::move(r);
    EXPECT_EQ(fetch->body(), &moved.data[2].children[1]);
}

TEST(ImapResponse, Vanished) {
    auto earlier = parse("* VANISHED (EARLIER) 41,43:116,7\r\n").vanished();
    ASSERT_TRUE(earlier);
    EXPECT_TRUE(earlier->earlier);
    EXPECT_EQ(earlier->uids, (std::vector<ImapRange>{{41, 41}, {43, 116}, {7, 7}}));
    auto now = parse("* VANISHED 405\r\n").vanished();
    ASSERT_TRUE(now);
    EXPECT_FALSE(now->earlier);
    EXPECT_EQ(now->uids, (std::vector<ImapRange>{{405, 405}}));
    EXPECT_FALSE(parse("* VANISHED (LATER) 4\r\n").vanished());
    EXPECT_FALSE(parse("* VANISHED (EARLIER)\r\n").vanished());
    EXPECT_FALSE(parse("* VANISHED 0:3\r\n").vanished());
    EXPECT_FALSE(parse("* VANISHED 1:*\r\n").vanished());
    EXPECT_FALSE(parse("* VANISHED 4 5\r\n").vanished());
    EXPECT_FALSE(parse("* 4 EXPUNGE\r\n").vanished());
}

TEST(ImapResponse, Keyword) {
    EXPECT_EQ(parse("* 3 exists\r\n").keyword(), "EXISTS");
    EXPECT_EQ(parse("* list () \"/\" a\r\n").keyword(), "LIST");
    EXPECT_EQ(parse("* bye\r\n").keyword(), "BYE");
    EXPECT_EQ(parse("A1 no x\r\n").keyword(), "NO");
    EXPECT_EQ(parse("+ go\r\n").keyword(), "");
    EXPECT_EQ(parse("* (a)\r\n").keyword(), "");
    EXPECT_EQ(parse("* preauth hi\r\n").status, ImapStatus::Preauth);
}

TEST(ImapResponse, ValueAccessorsAndRendering) {
    const auto r = parse("* X atom 42 \"str\" NIL (a (b)) {3}\r\nl\"t BODY.PEEK[HEADER]<10>\r\n");
    ASSERT_EQ(r.data.size(), 8u);
    EXPECT_TRUE(r.data[1].isAtom("ATOM"));
    EXPECT_EQ(r.data[1].asString(), "atom");
    EXPECT_EQ(r.data[2].asString(), "42");
    EXPECT_EQ(r.data[2].asNumber32(), 42u);
    EXPECT_FALSE(r.data[1].asNumber());
    EXPECT_EQ(r.data[3].asString(), "str");
    EXPECT_FALSE(r.data[4].asString());
    EXPECT_FALSE(r.data[5].asString());
    EXPECT_EQ(r.data[6].asString(), "l\"t");
    EXPECT_FALSE(r.data[7].asString());
    EXPECT_FALSE(r.data[7].isAtom("BODY.PEEK"));
    EXPECT_EQ(r.data[7].key(), "BODY.PEEK[HEADER]<10>");
    std::string rendered;
    for (const auto& value : r.data) {
        rendered += value.render() + " ";
    }
    EXPECT_EQ(rendered, "X atom 42 \"str\" NIL (a (b)) {3}\r\nl\"t BODY.PEEK[HEADER]<10> ");
}

TEST(ImapResponse, CodeAtoms) {
    auto r = parse("* OK [BADCHARSET (UTF-8 US-ASCII)] nope\r\n");
    EXPECT_EQ(r.code->atoms(), (std::vector<std::string>{"UTF-8", "US-ASCII"}));
    r = parse("A1 OK [capability imap4rev1 idle] done\r\n");
    EXPECT_EQ(r.capabilities(), (std::vector<std::string>{"IMAP4REV1", "IDLE"}));
    EXPECT_FALSE(parse("* OK [UIDNEXT x] bad\r\n").code->number());
    EXPECT_FALSE(parse("* OK [UIDNEXT 1 2] bad\r\n").code->number());
    EXPECT_FALSE(parse("A1 OK [COPYUID 0 1 2] bad\r\n").code->copyUid());
    EXPECT_FALSE(parse("A1 OK [COPYUID 5 1:* 2] bad\r\n").code->copyUid());
    EXPECT_FALSE(parse("A1 OK [APPENDUID 5] bad\r\n").code->appendUid());
    const auto multi = parse("A1 OK [APPENDUID 5 7:9,11] ok\r\n").code->appendUid();
    ASSERT_TRUE(multi);
    EXPECT_EQ(multi->uids, (std::vector<ImapRange>{{7, 9}, {11, 11}}));
}

}  // namespace
}  // namespace mc::proto
