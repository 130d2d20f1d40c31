#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "proto/ImapParser.hpp"
#include "tests/unit/proto_chunkings.hpp"

namespace mc::proto {
namespace {

using namespace std::string_literals;
using Status = ImapResponseParser::Status;

// Records what a sink receives, byte-exact.
class RecordingSink : public ImapLiteralSink {
public:
    bool begin(const ImapLiteralInfo& info) override {
        EXPECT_FALSE(open_) << "begin() inside a literal";
        open_ = true;
        infos.push_back(info);
        bodies.emplace_back();
        return acceptBegin;
    }
    bool data(std::string_view bytes) override {
        EXPECT_TRUE(open_) << "data() outside a literal";
        EXPECT_FALSE(bytes.empty());
        bodies.back().append(bytes);
        ++dataCalls;
        return acceptData;
    }
    void end() override {
        EXPECT_TRUE(open_) << "end() outside a literal";
        open_ = false;
        ++ends;
    }

    std::vector<ImapLiteralInfo> infos;
    std::vector<std::string> bodies;
    std::size_t dataCalls = 0;
    std::size_t ends = 0;
    bool acceptBegin = true;
    bool acceptData = true;

private:
    bool open_ = false;
};

struct Outcome {
    std::vector<ImapResponse> responses;
    ImapParseError error = ImapParseError::None;
    std::size_t consumed = 0;  // bytes consumed in total
};

// Feeds `pieces` in order, taking every completed response.
Outcome parsePieces(const std::vector<std::string_view>& pieces, const ImapParserLimits& limits,
                    ImapLiteralSink* sink = nullptr) {
    ImapResponseParser parser(limits);
    parser.setLiteralSink(sink);
    Outcome outcome;
    for (std::string_view piece : pieces) {
        while (true) {
            const auto progress = parser.feed(piece);
            EXPECT_LE(progress.consumed, piece.size());
            outcome.consumed += progress.consumed;
            piece.remove_prefix(progress.consumed);
            if (progress.status == Status::Complete) {
                EXPECT_TRUE(parser.hasResponse());
                outcome.responses.push_back(parser.take());
                continue;
            }
            if (progress.status == Status::Error) {
                EXPECT_TRUE(parser.failed());
                outcome.error = parser.error();
                return outcome;
            }
            EXPECT_TRUE(piece.empty());
            break;
        }
    }
    return outcome;
}

// The same input whole, one byte at a time, and in random pieces (fixed seeds, empty pieces
// included).
std::vector<std::vector<std::string_view>> chunkings(std::string_view input) {
    return testing::chunkings(input, {3501u, 9051u, 7888u}, {2u, 3u, 7u, 64u, 1000u});
}

std::string describe(const ImapResponse& response) {
    std::string out;
    out += response.isTagged() ? "T:" + response.tag : response.isUntagged() ? "U" : "C";
    out += " status=" + response.keyword();
    if (response.code) {
        out += " code=[" + response.code->name + "|" + response.code->arguments + "|";
        for (const auto& value : response.code->values) {
            out += value.render() + ";";
        }
        out += "]";
    }
    out += " text=" + response.text + " data=";
    for (const auto& value : response.data) {
        out += value.render() + (value.streamed ? "!" : "") + "|";
    }
    return out;
}

std::vector<std::string> describeAll(const Outcome& outcome) {
    std::vector<std::string> result;
    for (const auto& response : outcome.responses) {
        result.push_back(describe(response));
    }
    result.push_back("error=" + std::string(imapParseErrorName(outcome.error)));
    return result;
}

// Parses `input` in every chunking; all must agree (responses, error, sink traffic). Returns the
// whole-input outcome.
Outcome parseEveryWay(std::string_view input, const ImapParserLimits& limits = {}, RecordingSink* sink = nullptr) {
    RecordingSink wholeSink;
    const Outcome whole = parsePieces({input}, limits, sink != nullptr ? &wholeSink : nullptr);
    const auto expected = describeAll(whole);
    for (const auto& pieces : chunkings(input)) {
        RecordingSink chunkSink;
        const Outcome chunked = parsePieces(pieces, limits, sink != nullptr ? &chunkSink : nullptr);
        EXPECT_EQ(describeAll(chunked), expected) << "in " << pieces.size() << " pieces";
        EXPECT_EQ(chunked.consumed, whole.consumed) << "in " << pieces.size() << " pieces";
        if (sink != nullptr) {
            EXPECT_EQ(chunkSink.bodies, wholeSink.bodies) << "in " << pieces.size() << " pieces";
            EXPECT_EQ(chunkSink.ends, wholeSink.ends);
        }
    }
    if (sink != nullptr) {
        *sink = wholeSink;
    }
    return whole;
}

ImapResponse parseOne(std::string_view input) {
    Outcome outcome = parseEveryWay(input);
    EXPECT_EQ(outcome.error, ImapParseError::None) << input;
    EXPECT_EQ(outcome.responses.size(), 1u) << input;
    return outcome.responses.empty() ? ImapResponse{} : std::move(outcome.responses[0]);
}

ImapParseError parseError(std::string_view input, const ImapParserLimits& limits = {}) {
    return parseEveryWay(input, limits).error;
}

// ---- status responses ----

TEST(ImapParser, TaggedOkWithCode) {
    const auto r = parseOne("A001 OK [READ-WRITE] SELECT completed\r\n");
    EXPECT_TRUE(r.isTagged("A001"));
    EXPECT_EQ(r.status, ImapStatus::Ok);
    ASSERT_TRUE(r.code);
    EXPECT_EQ(r.code->name, "READ-WRITE");
    EXPECT_EQ(r.code->arguments, "");
    EXPECT_EQ(r.text, "SELECT completed");
    EXPECT_TRUE(r.data.empty());
}

TEST(ImapParser, TaggedNoBadAndCase) {
    auto r = parseOne("a2 no [AUTHENTICATIONFAILED] Authentication failed.\r\n");
    EXPECT_TRUE(r.isTagged("a2"));
    EXPECT_EQ(r.status, ImapStatus::No);
    EXPECT_TRUE(r.code && r.code->is("authenticationfailed"));
    r = parseOne("A3 BAD Error in IMAP command: Unknown command.\r\n");
    EXPECT_EQ(r.status, ImapStatus::Bad);
    EXPECT_FALSE(r.code);
    EXPECT_EQ(r.text, "Error in IMAP command: Unknown command.");
}

TEST(ImapParser, TaggedWithoutText) {
    auto r = parseOne("A1 OK\r\n");
    EXPECT_EQ(r.status, ImapStatus::Ok);
    EXPECT_EQ(r.text, "");
    r = parseOne("A1 OK\n");  // bare LF, as LineBuffer accepts
    EXPECT_EQ(r.status, ImapStatus::Ok);
    r = parseOne("tag.with]chars OK done\r\n");
    EXPECT_EQ(r.tag, "tag.with]chars");
}

TEST(ImapParser, TextKeepsEverythingVerbatim) {
    // Text is not data: parentheses, quotes, braces and "* " mean nothing there.
    const auto r = parseOne("A1 NO (unbalanced \"quote {5}\r\n");
    EXPECT_EQ(r.text, "(unbalanced \"quote {5}");
}

TEST(ImapParser, GreetingWithCapabilityCode) {
    const auto r = parseOne(
        "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
        "AUTH=PLAIN] Dovecot ready.\r\n");
    EXPECT_TRUE(r.isUntagged());
    EXPECT_EQ(r.status, ImapStatus::Ok);
    EXPECT_EQ(r.keyword(), "OK");
    EXPECT_EQ(r.text, "Dovecot ready.");
    const auto caps = r.capabilities();
    ASSERT_TRUE(caps);
    EXPECT_EQ(caps->size(), 8u);
    EXPECT_TRUE(hasImapCapability(*caps, "literal+"));
    EXPECT_TRUE(hasImapCapability(*caps, "AUTH=PLAIN"));
    EXPECT_FALSE(hasImapCapability(*caps, "STARTTLS"));
}

TEST(ImapParser, UntaggedStatusResponses) {
    auto r = parseOne("* OK [UIDVALIDITY 3857529045] UIDs valid\r\n");
    ASSERT_TRUE(r.code);
    EXPECT_EQ(r.code->name, "UIDVALIDITY");
    EXPECT_EQ(r.code->number(), 3857529045u);
    r = parseOne("* ok [UIDNEXT 4392] Predicted next UID\r\n");
    EXPECT_EQ(r.status, ImapStatus::Ok);
    EXPECT_EQ(r.code->number(), 4392u);
    r = parseOne("* NO [ALERT] Disk quota nearly exceeded\r\n");
    EXPECT_EQ(r.status, ImapStatus::No);
    EXPECT_TRUE(r.code->is("ALERT"));
    EXPECT_EQ(r.text, "Disk quota nearly exceeded");
    r = parseOne("* PREAUTH [CAPABILITY IMAP4rev1] Logged in as joe\r\n");
    EXPECT_EQ(r.status, ImapStatus::Preauth);
    EXPECT_EQ(r.capabilities(), std::vector<std::string>{"IMAP4REV1"});
    r = parseOne("* BAD\r\n");
    EXPECT_EQ(r.status, ImapStatus::Bad);
    EXPECT_EQ(r.text, "");
}

TEST(ImapParser, Bye) {
    auto r = parseOne("* BYE Logging out\r\n");
    EXPECT_TRUE(r.isBye());
    EXPECT_EQ(r.text, "Logging out");
    r = parseOne("* BYE [UNAVAILABLE] Server shutting down\r\n");
    EXPECT_TRUE(r.isBye());
    EXPECT_TRUE(r.code->is("UNAVAILABLE"));
    r = parseOne("* BYE\r\n");
    EXPECT_TRUE(r.isBye());
    EXPECT_FALSE(parseOne("* OK still here\r\n").isBye());
}

TEST(ImapParser, Continuation) {
    auto r = parseOne("+ idling\r\n");
    EXPECT_TRUE(r.isContinuation());
    EXPECT_EQ(r.text, "idling");
    r = parseOne("+ dGVzdA==\r\n");
    EXPECT_EQ(r.text, "dGVzdA==");
    r = parseOne("+ \r\n");
    EXPECT_TRUE(r.isContinuation());
    EXPECT_EQ(r.text, "");
    r = parseOne("+\r\n");
    EXPECT_TRUE(r.isContinuation());
    EXPECT_EQ(r.text, "");
    r = parseOne("+ Ready for literal data\r\n");
    EXPECT_EQ(r.text, "Ready for literal data");
}

TEST(ImapParser, ResponseCodes) {
    auto r = parseOne("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\*)] Limited\r\n");
    EXPECT_EQ(r.code->name, "PERMANENTFLAGS");
    EXPECT_EQ(r.code->arguments, "(\\Answered \\Flagged \\Deleted \\Seen \\*)");
    EXPECT_EQ(r.code->atoms(), (std::vector<std::string>{"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\*"}));
    r = parseOne("A3 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n");
    const auto copy = r.code->copyUid();
    ASSERT_TRUE(copy);
    EXPECT_EQ(copy->uidValidity, 38505u);
    EXPECT_EQ(copy->source, (std::vector<ImapRange>{{304, 304}, {319, 320}}));
    EXPECT_EQ(copy->destination, (std::vector<ImapRange>{{3956, 3958}}));
    EXPECT_FALSE(r.code->appendUid());
    r = parseOne("A4 OK [APPENDUID 38505 3955] APPEND completed\r\n");
    const auto append = r.code->appendUid();
    ASSERT_TRUE(append);
    EXPECT_EQ(append->uidValidity, 38505u);
    EXPECT_EQ(append->uids, (std::vector<ImapRange>{{3955, 3955}}));
    r = parseOne("* OK [HIGHESTMODSEQ 715194045007] Highest\r\n");
    EXPECT_EQ(r.code->number(), 715194045007u);
    // Unknown codes keep their name and raw arguments.
    r = parseOne("* OK [X-GM-THING foo \"bar\" (1 2)] whatever\r\n");
    EXPECT_EQ(r.code->name, "X-GM-THING");
    EXPECT_EQ(r.code->arguments, "foo \"bar\" (1 2)");
    ASSERT_EQ(r.code->values.size(), 3u);
    EXPECT_EQ(r.code->values[1].text, "bar");
    // Arguments that are not IMAP data stay raw only.
    r = parseOne("* NO [X-ODD \"unterminated (] text\r\n");
    EXPECT_EQ(r.code->arguments, "\"unterminated (");
    EXPECT_TRUE(r.code->values.empty());
    EXPECT_EQ(r.text, "text");
    // A "[" without "]" is just text.
    r = parseOne("* OK [oops no close\r\n");
    EXPECT_FALSE(r.code);
    EXPECT_EQ(r.text, "[oops no close");
}

// ---- data responses ----

TEST(ImapParser, ExistsExpungeRecent) {
    EXPECT_EQ(parseOne("* 172 EXISTS\r\n").exists(), 172u);
    EXPECT_EQ(parseOne("* 0 EXISTS\r\n").exists(), 0u);
    EXPECT_EQ(parseOne("* 3 expunge\r\n").expunge(), 3u);
    EXPECT_EQ(parseOne("* 1 RECENT\r\n").recent(), 1u);
    const auto r = parseOne("* 4294967296 EXISTS\r\n");  // parses, but is no 32-bit count
    EXPECT_FALSE(r.exists());
    EXPECT_EQ(r.keyword(), "EXISTS");
    EXPECT_FALSE(parseOne("* 0 EXPUNGE\r\n").expunge());
    EXPECT_FALSE(parseOne("* 3 EXISTS\r\n").expunge());
    EXPECT_FALSE(parseOne("* OK 3 EXISTS\r\n").exists());
}

TEST(ImapParser, Capability) {
    const auto r = parseOne("* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n");
    EXPECT_EQ(r.keyword(), "CAPABILITY");
    EXPECT_EQ(r.capabilities(), (std::vector<std::string>{"IMAP4REV1", "STARTTLS", "AUTH=GSSAPI", "LOGINDISABLED"}));
    EXPECT_FALSE(parseOne("* OK hello\r\n").capabilities());
}

TEST(ImapParser, Flags) {
    const auto r = parseOne("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk)\r\n");
    EXPECT_EQ(r.flags(),
              (std::vector<std::string>{"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "$Junk"}));
    EXPECT_EQ(parseOne("* FLAGS ()\r\n").flags(), std::vector<std::string>{});
}

TEST(ImapParser, List) {
    auto entry = parseOne("* LIST (\\HasNoChildren) \"/\" INBOX\r\n").list();
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->flags, std::vector<std::string>{"\\HasNoChildren"});
    EXPECT_EQ(entry->delimiter, '/');
    EXPECT_EQ(entry->name, "INBOX");

    entry = parseOne("* LIST (\\Noselect \\HasChildren) \"/\" \"[Gmail]\"\r\n").list();
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->name, "[Gmail]");
    EXPECT_EQ(entry->flags.size(), 2u);

    // Brackets are astring characters outside FETCH sections.
    entry = parseOne("* LIST (\\HasNoChildren \\Sent) \"/\" [Gmail]/Sent]\r\n").list();
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->name, "[Gmail]/Sent]");

    entry = parseOne("* LIST () NIL Flat\r\n").list();
    ASSERT_TRUE(entry);
    EXPECT_FALSE(entry->delimiter);
    EXPECT_EQ(entry->name, "Flat");

    entry = parseOne("* LIST () \"\\\\\" \"a \\\"quoted\\\" \\\\ name\"\r\n").list();
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->delimiter, '\\');
    EXPECT_EQ(entry->name, "a \"quoted\" \\ name");

    entry = parseOne("* LIST (\\HasNoChildren) \".\" {12}\r\nEntw&APw-rfe\r\n").list();
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->delimiter, '.');
    EXPECT_EQ(entry->name, "Entw&APw-rfe");

    entry = parseOne("* LSUB () \"/\" 2024\r\n").list();  // a number is an astring too
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->name, "2024");

    // LIST-EXTENDED data after the name is allowed.
    entry = parseOne("* LIST (\\Subscribed) \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n").list();
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->name, "Foo");

    EXPECT_FALSE(parseOne("* LIST \"/\" INBOX\r\n").list());
    EXPECT_FALSE(parseOne("* LIST () \"//\" INBOX\r\n").list());
    EXPECT_FALSE(parseOne("* LIST (\\X) \"/\" (a)\r\n").list());
}

TEST(ImapParser, MailboxStatus) {
    const auto status = parseOne(
                            "* STATUS \"blurdy bloop\" (MESSAGES 231 UIDNEXT 44292 UIDVALIDITY "
                            "3857529045 UNSEEN 0 RECENT 2 HIGHESTMODSEQ 7011231777)\r\n")
                            .mailboxStatus();
    ASSERT_TRUE(status);
    EXPECT_EQ(status->name, "blurdy bloop");
    EXPECT_EQ(status->messages(), 231u);
    EXPECT_EQ(status->uidNext(), 44292u);
    EXPECT_EQ(status->uidValidity(), 3857529045u);
    EXPECT_EQ(status->unseen(), 0u);
    EXPECT_EQ(status->recent(), 2u);
    EXPECT_EQ(status->highestModseq(), 7011231777u);
    EXPECT_EQ(status->get("messages"), 231u);
    EXPECT_FALSE(status->get("SIZE"));
    EXPECT_FALSE(parseOne("* STATUS INBOX (MESSAGES)\r\n").mailboxStatus());
    EXPECT_FALSE(parseOne("* STATUS INBOX (MESSAGES x)\r\n").mailboxStatus());
}

TEST(ImapParser, Search) {
    EXPECT_EQ(parseOne("* SEARCH 2 84 882\r\n").search(), (std::vector<std::uint32_t>{2, 84, 882}));
    EXPECT_EQ(parseOne("* SEARCH\r\n").search(), std::vector<std::uint32_t>{});
    EXPECT_EQ(parseOne("* SEARCH 2 5 (MODSEQ 917162500)\r\n").search(), (std::vector<std::uint32_t>{2, 5}));
    EXPECT_FALSE(parseOne("* SEARCH 2 x\r\n").search());
    EXPECT_FALSE(parseOne("* SEARCH 0\r\n").search());
    EXPECT_FALSE(parseOne("* SEARCH 4294967296\r\n").search());
}

TEST(ImapParser, Esearch) {
    auto result = parseOne("* ESEARCH (TAG \"A282\") UID MIN 2 COUNT 3 ALL 2,10:11\r\n").esearch();
    ASSERT_TRUE(result);
    EXPECT_EQ(result->tag, "A282");
    EXPECT_TRUE(result->uid);
    EXPECT_EQ(result->min, 2u);
    EXPECT_FALSE(result->max);
    EXPECT_EQ(result->count, 3u);
    EXPECT_EQ(result->all, (std::vector<ImapRange>{{2, 2}, {10, 11}}));

    result = parseOne("* ESEARCH (TAG \"A1\") UID COUNT 0\r\n").esearch();
    ASSERT_TRUE(result);
    EXPECT_EQ(result->count, 0u);
    EXPECT_FALSE(result->all);

    result = parseOne("* ESEARCH (TAG \"A2\") ALL 7 MAX 7 MODSEQ 12 PARTIAL (1:5 7)\r\n").esearch();
    ASSERT_TRUE(result);
    EXPECT_FALSE(result->uid);
    EXPECT_EQ(result->all, (std::vector<ImapRange>{{7, 7}}));
    EXPECT_EQ(result->max, 7u);
    EXPECT_EQ(result->modseq, 12u);

    EXPECT_TRUE(parseOne("* ESEARCH\r\n").esearch());
    EXPECT_FALSE(parseOne("* ESEARCH UID ALL 1:*\r\n").esearch());
    EXPECT_FALSE(parseOne("* ESEARCH UID COUNT\r\n").esearch());
}

TEST(ImapParser, FetchWithBody) {
    const std::string body = "From: a@example.org\r\nSubject: hi\r\n\r\nHello\r\n";
    const std::string input = "* 12 FETCH (UID 4827 RFC822.SIZE " + std::to_string(body.size()) +
                              " FLAGS (\\Seen $Forwarded) INTERNALDATE \"17-Jul-1996 02:44:25 "
                              "-0700\" BODY[] {" +
                              std::to_string(body.size()) + "}\r\n" + body + ")\r\n";
    const auto r = parseOne(input);
    EXPECT_EQ(r.keyword(), "FETCH");
    const auto fetch = r.fetch();
    ASSERT_TRUE(fetch);
    EXPECT_EQ(fetch->sequence, 12u);
    EXPECT_EQ(fetch->uid, 4827u);
    EXPECT_EQ(fetch->rfc822Size, body.size());
    EXPECT_EQ(fetch->flags, (std::vector<std::string>{"\\Seen", "$Forwarded"}));
    EXPECT_EQ(fetch->internalDate, "17-Jul-1996 02:44:25 -0700");
    const ImapValue* value = fetch->body();
    ASSERT_NE(value, nullptr);
    EXPECT_EQ(value, fetch->item("body[]"));
    EXPECT_TRUE(value->isString());
    EXPECT_TRUE(value->literal);
    EXPECT_FALSE(value->streamed);
    EXPECT_EQ(value->literalSize, body.size());
    EXPECT_EQ(value->text, body);
    EXPECT_EQ(fetch->items.size(), 5u);
    EXPECT_EQ(fetch->items[4].first, "BODY[]");
}

TEST(ImapParser, FetchSeveralLiteralsAndSections) {
    const std::string input =
        "* 3 FETCH (UID 9 BODY[HEADER.FIELDS (MESSAGE-ID)] {31}\r\n"
        "Message-ID: <a@example.org>\r\n\r\n"
        " BODY[]<0> {5}\r\nhello BINARY.SIZE[1] 1234 BODY[1.2.MIME] {0}\r\n"
        " RFC822.HEADER \"x\" MODSEQ (624140003))\r\n";
    const auto r = parseOne(input);
    const auto fetch = r.fetch();
    ASSERT_TRUE(fetch);
    EXPECT_EQ(fetch->uid, 9u);
    EXPECT_EQ(fetch->modseq, 624140003u);
    const ImapValue* header = fetch->item("BODY[HEADER.FIELDS (MESSAGE-ID)]");
    ASSERT_NE(header, nullptr);
    EXPECT_EQ(header->text, "Message-ID: <a@example.org>\r\n\r\n");
    const ImapValue* partial = fetch->item("BODY[]<0>");
    ASSERT_NE(partial, nullptr);
    EXPECT_EQ(partial->text, "hello");
    EXPECT_EQ(fetch->body(), nullptr);  // BODY[]<0> is a partial, not the whole message
    const ImapValue* size = fetch->item("BINARY.SIZE[1]");
    ASSERT_NE(size, nullptr);
    EXPECT_EQ(size->asNumber(), 1234u);
    const ImapValue* mime = fetch->item("BODY[1.2.MIME]");
    ASSERT_NE(mime, nullptr);
    EXPECT_TRUE(mime->literal);
    EXPECT_EQ(mime->text, "");
    // The section keeps its tokens.
    const ImapValue& key = r.data[2].children[2];
    EXPECT_TRUE(key.hasSection);
    ASSERT_EQ(key.section.size(), 2u);
    EXPECT_TRUE(key.section[0].isAtom("HEADER.FIELDS"));
    EXPECT_TRUE(key.section[1].isList());
    EXPECT_EQ(r.data[2].children[4].origin, 0u);
}

TEST(ImapParser, NonSynchronizingAndLiteral8) {
    const auto plus = parseOne("* 1 FETCH (BODY[] {3+}\r\nabc)\r\n");
    auto fetch = plus.fetch();
    ASSERT_TRUE(fetch);
    EXPECT_EQ(fetch->body()->text, "abc");
    const auto r = parseOne("* 2 FETCH (BINARY[] ~{4}\r\na\0\r\n)\r\n"s);
    fetch = r.fetch();
    ASSERT_TRUE(fetch);
    const ImapValue* binary = fetch->body();
    ASSERT_NE(binary, nullptr);
    EXPECT_TRUE(binary->literal8);
    EXPECT_EQ(binary->text, "a\0\r\n"s);
    // "~" not followed by "{" is an atom character.
    EXPECT_EQ(parseOne("* LIST () \"/\" ~peter/mail\r\n").list()->name, "~peter/mail");
    EXPECT_EQ(parseOne("* LIST () \"/\" ~\r\n").list()->name, "~");
}

TEST(ImapParser, ZeroLengthLiterals) {
    auto r = parseOne("* 1 FETCH (BODY[] {0}\r\n)\r\n");
    ASSERT_TRUE(r.fetch());
    EXPECT_EQ(r.fetch()->body()->text, "");
    EXPECT_TRUE(r.fetch()->body()->literal);
    // Two in a row, and one closing the line.
    r = parseOne("* SEARCH {0}\r\n{0}\r\n\r\n");
    ASSERT_EQ(r.data.size(), 3u);
    EXPECT_TRUE(r.data[1].isString() && r.data[2].isString());
    r = parseOne("* LIST () \"/\" {0}\r\n\r\n");
    EXPECT_EQ(r.list()->name, "");
}

TEST(ImapParser, LiteralsAnywhereInTheLine) {
    // Inside an ENVELOPE, nested two deep, with the line continuing after each literal.
    const auto r = parseOne(
        "* 5 FETCH (ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -0800\" {9}\r\nSubj\r\nect "
        "((\"Terry\" NIL \"gray\" {11}\r\nexample.com)) NIL) UID 77)\r\n");
    const auto fetch = r.fetch();
    ASSERT_TRUE(fetch);
    EXPECT_EQ(fetch->uid, 77u);
    const ImapValue* envelope = fetch->item("ENVELOPE");
    ASSERT_NE(envelope, nullptr);
    ASSERT_EQ(envelope->children.size(), 4u);
    EXPECT_EQ(envelope->children[1].text, "Subj\r\nect");
    EXPECT_EQ(envelope->children[2].children[0].children[3].text, "example.com");
    EXPECT_TRUE(envelope->children[3].isNil());
}

TEST(ImapParser, BodystructureAdjacentLists) {
    const auto r = parseOne(
        "* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
        "\"7BIT\" 1152 23)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") "
        "\"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73) "
        "\"MIXED\"))\r\n");
    const auto fetch = r.fetch();
    ASSERT_TRUE(fetch);
    const ImapValue* structure = fetch->item("BODYSTRUCTURE");
    ASSERT_NE(structure, nullptr);
    ASSERT_EQ(structure->children.size(), 3u);
    EXPECT_EQ(structure->children[1].children[6].number, 4554u);
    EXPECT_EQ(structure->children[2].text, "MIXED");
}

TEST(ImapParser, QuotedStrings) {
    const auto r = parseOne("* X \"a\\\"b\\\\c\" \"\" \"caf\xc3\xa9\" NIL nil \"NIL\"\r\n");
    ASSERT_EQ(r.data.size(), 7u);
    EXPECT_EQ(r.data[1].text, "a\"b\\c");
    EXPECT_EQ(r.data[2].text, "");
    EXPECT_TRUE(r.data[2].isString());
    EXPECT_EQ(r.data[3].text, "caf\xc3\xa9");
    EXPECT_TRUE(r.data[4].isNil());
    EXPECT_TRUE(r.data[5].isNil());
    EXPECT_TRUE(r.data[6].isString());
    EXPECT_EQ(r.data[6].text, "NIL");
}

TEST(ImapParser, NumbersUpTo64Bits) {
    const auto r = parseOne("* X 18446744073709551615 007 12a\r\n");
    EXPECT_EQ(r.data[1].asNumber(), 18446744073709551615u);
    EXPECT_FALSE(r.data[1].asNumber32());
    EXPECT_EQ(r.data[2].asNumber(), 7u);
    EXPECT_EQ(r.data[2].text, "007");  // as sent, e.g. for a mailbox named 007
    EXPECT_EQ(r.data[3].kind, ImapValueKind::Atom);
    EXPECT_EQ(parseError("* X 18446744073709551616\r\n"), ImapParseError::NumberTooLarge);
    EXPECT_EQ(parseError("* 99999999999999999999 EXISTS\r\n"), ImapParseError::NumberTooLarge);
    EXPECT_EQ(parseError("* 1 FETCH (BODY[]<99999999999999999999> NIL)\r\n"), ImapParseError::NumberTooLarge);
}

TEST(ImapParser, LiteralBodyIsNeverTakenForResponses) {
    const std::string body =
        "* 1 EXISTS\r\nA001 OK fake completion\r\n* BYE fake\r\n+ fake\r\n{5}\r\n"
        ")\r\n* 2 FETCH (BODY[] {3}\r\n";
    const std::string input = "* 1 FETCH (UID 10 BODY[] {" + std::to_string(body.size()) + "}\r\n" + body +
                              ")\r\n* 3 EXISTS\r\nA001 OK FETCH completed\r\n";
    const Outcome outcome = parseEveryWay(input);
    EXPECT_EQ(outcome.error, ImapParseError::None);
    ASSERT_EQ(outcome.responses.size(), 3u);
    const auto fetch = outcome.responses[0].fetch();
    ASSERT_TRUE(fetch);
    EXPECT_EQ(fetch->body()->text, body);
    EXPECT_EQ(outcome.responses[1].exists(), 3u);
    EXPECT_TRUE(outcome.responses[2].isTagged("A001"));
    EXPECT_EQ(outcome.responses[2].text, "FETCH completed");
}

TEST(ImapParser, UnsolicitedResponsesBetweenCommandResponses) {
    const std::string input =
        "* 3 EXPUNGE\r\n"
        "* 1 FETCH (UID 5 BODY[] {4}\r\nbody)\r\n"
        "* 4 EXISTS\r\n"
        "* 1 RECENT\r\n"
        "* 2 FETCH (FLAGS (\\Seen \\Deleted))\r\n"
        "* OK [ALERT] maintenance at noon\r\n"
        "* 3 FETCH (UID 6 BODY[] {5}\r\nbody2)\r\n"
        "A5 OK UID FETCH completed\r\n";
    const Outcome outcome = parseEveryWay(input);
    ASSERT_EQ(outcome.error, ImapParseError::None);
    ASSERT_EQ(outcome.responses.size(), 8u);
    EXPECT_EQ(outcome.responses[0].expunge(), 3u);
    EXPECT_EQ(outcome.responses[1].fetch()->body()->text, "body");
    EXPECT_EQ(outcome.responses[2].exists(), 4u);
    EXPECT_EQ(outcome.responses[3].recent(), 1u);
    const auto flagsOnly = outcome.responses[4].fetch();
    ASSERT_TRUE(flagsOnly);
    EXPECT_FALSE(flagsOnly->uid);
    EXPECT_EQ(flagsOnly->body(), nullptr);
    EXPECT_EQ(flagsOnly->flags, (std::vector<std::string>{"\\Seen", "\\Deleted"}));
    EXPECT_TRUE(outcome.responses[5].code->is("ALERT"));
    EXPECT_EQ(outcome.responses[6].fetch()->uid, 6u);
    EXPECT_TRUE(outcome.responses[7].isTagged("A5"));
    EXPECT_EQ(outcome.consumed, input.size());
}

TEST(ImapParser, SelectResponseSequence) {
    const std::string input =
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags "
        "permitted.\r\n"
        "* 18 EXISTS\r\n"
        "* 0 RECENT\r\n"
        "* OK [UNSEEN 17] First unseen.\r\n"
        "* OK [UIDVALIDITY 1700000000] UIDs valid\r\n"
        "* OK [UIDNEXT 4392] Predicted next UID\r\n"
        "A142 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n";
    const Outcome outcome = parseEveryWay(input);
    ASSERT_EQ(outcome.responses.size(), 8u);
    EXPECT_EQ(outcome.responses[0].flags()->size(), 5u);
    EXPECT_EQ(outcome.responses[1].code->atoms().back(), "\\*");
    EXPECT_EQ(outcome.responses[2].exists(), 18u);
    EXPECT_EQ(outcome.responses[4].code->number(), 17u);
    EXPECT_EQ(outcome.responses[5].code->number(), 1700000000u);
    EXPECT_EQ(outcome.responses[6].code->number(), 4392u);
    EXPECT_TRUE(outcome.responses[7].code->is("READ-WRITE"));
}

// ---- the feeding contract ----

TEST(ImapParser, FeedStopsAfterEachResponse) {
    ImapResponseParser parser;
    const std::string_view input = "* 1 EXISTS\r\nA1 OK done\r\nrest";
    auto progress = parser.feed(input);
    EXPECT_EQ(progress.status, Status::Complete);
    EXPECT_EQ(progress.consumed, 12u);
    // Until take(), nothing more is consumed.
    EXPECT_EQ(parser.feed(input.substr(12)).consumed, 0u);
    EXPECT_EQ(parser.take().exists(), 1u);
    EXPECT_FALSE(parser.hasResponse());
    EXPECT_EQ(parser.take().kind, ImapResponseKind::Untagged);  // nothing to take: empty
    progress = parser.feed(input.substr(12));
    EXPECT_EQ(progress.status, Status::Complete);
    EXPECT_EQ(progress.consumed, 12u);
    EXPECT_TRUE(parser.take().isTagged("A1"));
    progress = parser.feed(input.substr(24));
    EXPECT_EQ(progress.status, Status::NeedMore);
    EXPECT_EQ(progress.consumed, 4u);
}

TEST(ImapParser, LiteralSplitAcrossFeeds) {
    ImapResponseParser parser;
    EXPECT_EQ(parser.feed("* 7 FETCH (BODY[] {13}").status, Status::NeedMore);
    EXPECT_EQ(parser.feed("\r").status, Status::NeedMore);
    EXPECT_EQ(parser.feed("\nabc").status, Status::NeedMore);
    EXPECT_EQ(parser.feed("\r\n* 1 EX").status, Status::NeedMore);
    EXPECT_EQ(parser.feed("").status, Status::NeedMore);
    EXPECT_EQ(parser.feed("IS").status, Status::NeedMore);
    const auto progress = parser.feed(")\r\nA1 OK\r\n");
    EXPECT_EQ(progress.status, Status::Complete);
    EXPECT_EQ(progress.consumed, 3u);
    const ImapResponse response = parser.take();
    EXPECT_EQ(response.fetch()->body()->text, "abc\r\n* 1 EXIS");
}

TEST(ImapParser, StaysFailedAfterAnError) {
    ImapResponseParser parser;
    const auto progress = parser.feed("* 1 FETCH (BODY[] {x}\r\n");
    EXPECT_EQ(progress.status, Status::Error);
    EXPECT_EQ(progress.consumed, 19u);  // up to the offending byte
    EXPECT_EQ(parser.error(), ImapParseError::BadLiteral);
    const auto again = parser.feed("A1 OK fine\r\n");
    EXPECT_EQ(again.status, Status::Error);
    EXPECT_EQ(again.consumed, 0u);
    EXPECT_FALSE(parser.hasResponse());
    EXPECT_EQ(parser.error(), ImapParseError::BadLiteral);
}

// ---- errors and caps ----

TEST(ImapParser, MalformedResponses) {
    for (const char* input : {
             "\r\n",                             // empty line
             " A1 OK\r\n",                       // no tag
             "A1\r\n",                           // tag alone
             "A1 FOO bar\r\n",                   // not a tagged status
             "A1 OKAY\r\n",                      // not a tagged status
             "A(1 OK\r\n",                       // bad tag character
             "*1 EXISTS\r\n",                    // no space after "*"
             "* \r\n",                           // no data
             "* LIST (a b\r\n",                  // list not closed at the end of the line
             "* LIST a b)\r\n",                  // unbalanced ")"
             "* X \"unterminated\r\n",           // quoted string across the line end
             "* X \"bad \\escape\"\r\n",         // only \" and \\ may be escaped
             "* X a\rb\r\n",                     // CR inside data
             "* X a\tb\r\n",                     // control character
             "* X ab{5}\r\nhello\r\n",           // "{" inside an atom
             "* 1 FETCH (BODY[] NIL\r\n",        // list not closed
             "* 1 FETCH (BODY[HEADER NIL)\r\n",  // section closed by ")"
             "* 1 FETCH (BODY[]<> NIL)\r\n",     // empty origin
             "* 1 FETCH (BODY[]<1.5> NIL)\r\n",  // responses carry only the origin
         }) {
        EXPECT_EQ(parseError(input), ImapParseError::Malformed) << input;
    }
}

TEST(ImapParser, BadLiterals) {
    for (const char* input : {
             "* X {}\r\n",
             "* X {-5}\r\nhello\r\n",
             "* X {abc}\r\n",
             "* X {5 }\r\nhello\r\n",
             "* X {+}\r\n",
             "* X {5++}\r\nhello\r\n",
             "* X {5}x\r\nhello\r\n",
             "* X {5}\rhello\r\n",
             "* X {5\r\nhello\r\n",
             "* X ~{5\r\nhello\r\n",
         }) {
        EXPECT_EQ(parseError(input), ImapParseError::BadLiteral) << input;
    }
}

TEST(ImapParser, LiteralSizeCaps) {
    EXPECT_EQ(parseError("* 1 FETCH (BODY[] {99999999999999999999}\r\n"), ImapParseError::LiteralTooLarge);
    EXPECT_EQ(parseError("* 1 FETCH (BODY[] {9223372036854775808}\r\n"),  // 2^63
              ImapParseError::LiteralTooLarge);
    EXPECT_EQ(parseError("* 1 FETCH (BODY[] {1073741825}\r\n"),  // 1 GiB + 1, the default cap
              ImapParseError::LiteralTooLarge);
    ImapParserLimits limits;
    limits.maxLiteralSize = UINT64_MAX;  // still never 2^63 or more
    EXPECT_EQ(parseError("* X {9223372036854775808}\r\n", limits), ImapParseError::LiteralTooLarge);
    limits.maxLiteralSize = 10;
    EXPECT_EQ(parseError("* X {10}\r\n0123456789\r\n", limits), ImapParseError::None);
    EXPECT_EQ(parseError("* X {11}\r\n01234567890\r\n", limits), ImapParseError::LiteralTooLarge);
}

TEST(ImapParser, ResponseSizeCap) {
    ImapParserLimits limits;
    limits.maxResponseSize = 100;
    // Refused when announced, before any byte of it is held.
    EXPECT_EQ(parseError("* X {200}\r\n", limits), ImapParseError::ResponseTooLarge);
    // Many small literals add up.
    std::string input = "* X";
    for (int i = 0; i < 20; ++i) {
        input += " {5}\r\n01234";
    }
    input += "\r\n";
    EXPECT_EQ(parseError(input, limits), ImapParseError::ResponseTooLarge);
    limits.maxResponseSize = 1000;
    EXPECT_EQ(parseError(input, limits), ImapParseError::None);
}

TEST(ImapParser, LineLengthCap) {
    const std::string atLimit = "* X " + std::string(64 * 1024 - 4, 'a') + "\r\n";
    EXPECT_EQ(parseError(atLimit), ImapParseError::None);
    const std::string over = "* X " + std::string(64 * 1024 - 3, 'a') + "\r\n";
    EXPECT_EQ(parseError(over), ImapParseError::LineTooLong);
    // A line that never ends fails as soon as it passes the cap, not at the end.
    ImapResponseParser parser;
    const std::string endless(70 * 1024, 'x');
    const auto progress = parser.feed("A1 OK " + endless);
    EXPECT_EQ(progress.status, Status::Error);
    EXPECT_EQ(progress.consumed, 64u * 1024);
    EXPECT_EQ(parser.error(), ImapParseError::LineTooLong);
    // Text lines are capped too.
    EXPECT_EQ(parseError("A1 OK " + std::string(64 * 1024, 't') + "\r\n"), ImapParseError::LineTooLong);
    // Each line between literals has its own allowance; literal bytes do not count.
    ImapParserLimits limits;
    limits.maxLineLength = 40;
    const std::string chained = "* 1 FETCH (BODY[HEADER] {50}\r\n" + std::string(50, 'h') + " BODY[TEXT] {3}\r\n" +
                                "abc UID 3 FLAGS (\\Seen \\Answered))\r\n";
    EXPECT_EQ(parseError(chained, limits), ImapParseError::None);
    EXPECT_EQ(parseError("* 1 FETCH (BODY[HEADER] {2}\r\nhh " + std::string(40, 'x') + ")\r\n", limits),
              ImapParseError::LineTooLong);
}

TEST(ImapParser, NestingCap) {
    const auto nested = [](int depth) {
        return "* X " + std::string(depth, '(') + "a" + std::string(depth, ')') + "\r\n";
    };
    EXPECT_EQ(parseError(nested(64)), ImapParseError::None);
    EXPECT_EQ(parseError(nested(65)), ImapParseError::TooDeep);
    EXPECT_EQ(parseError(nested(100)), ImapParseError::TooDeep);
    ImapParserLimits limits;
    limits.maxDepth = 2;
    EXPECT_EQ(parseError("* 1 FETCH (BODY[HEADER.FIELDS (A)] NIL)\r\n", limits),
              ImapParseError::TooDeep);  // the section counts as a level
    EXPECT_EQ(parseError("* 1 FETCH (BODY[HEADER] NIL)\r\n", limits), ImapParseError::None);
}

TEST(ImapParser, ElementCap) {
    ImapParserLimits limits;
    limits.maxElements = 10;
    EXPECT_EQ(parseError("* SEARCH 1 2 3 4 5 6 7 8 9\r\n", limits), ImapParseError::None);
    EXPECT_EQ(parseError("* SEARCH 1 2 3 4 5 6 7 8 9 10\r\n", limits), ImapParseError::TooManyElements);
    EXPECT_EQ(parseError("* X (((()))) (()) ((())) ()\r\n", limits), ImapParseError::TooManyElements);
    // The count is per response.
    std::string many;
    for (int i = 0; i < 100; ++i) {
        many += "* 1 EXISTS\r\n";
    }
    const Outcome outcome = parseEveryWay(many, limits);
    EXPECT_EQ(outcome.error, ImapParseError::None);
    EXPECT_EQ(outcome.responses.size(), 100u);
}

// ---- streaming big literals ----

std::string bigBody(std::size_t size) {
    std::string body;
    body.reserve(size);
    std::mt19937 rng(42);
    while (body.size() < size) {
        // Lines that look like responses, and arbitrary bytes.
        switch (rng() % 4) {
            case 0:
                body += "* 1 EXISTS\r\n";
                break;
            case 1:
                body += "A001 OK done\r\n";
                break;
            default:
                for (int i = 0; i < 60; ++i) {
                    body.push_back(static_cast<char>(rng() % 256));
                }
                body += "\r\n";
        }
    }
    body.resize(size);
    return body;
}

TEST(ImapParser, StreamsBigLiteralToSinkWithBoundedMemory) {
    const std::string body = bigBody(5 * 1024 * 1024);
    const std::string input = "* 7 FETCH (UID 42 BODY[] {" + std::to_string(body.size()) + "}\r\n" + body +
                              " FLAGS (\\Seen) BODY[HEADER] {6}\r\nshort!)\r\n" + "A9 OK done\r\n";
    ImapParserLimits limits;
    limits.streamThreshold = 1024 * 1024;
    limits.maxResponseSize = 1024 * 1024;  // the streamed body must not count
    ImapResponseParser parser(limits);
    RecordingSink sink;
    parser.setLiteralSink(&sink);

    std::mt19937 rng(5);
    std::string_view rest = input;
    std::vector<ImapResponse> responses;
    std::size_t maxHeld = 0;
    while (!rest.empty()) {
        const std::size_t n = std::min<std::size_t>(rest.size(), 1 + rng() % (128 * 1024));
        std::string_view piece = rest.substr(0, n);
        rest.remove_prefix(n);
        while (!piece.empty()) {
            const auto progress = parser.feed(piece);
            ASSERT_NE(progress.status, Status::Error) << imapParseErrorName(parser.error());
            piece.remove_prefix(progress.consumed);
            maxHeld = std::max(maxHeld, parser.heldBytes());
            if (progress.status == Status::Complete) {
                responses.push_back(parser.take());
            }
        }
    }
    EXPECT_LT(maxHeld, 64u * 1024) << "the parser kept streamed bytes";
    ASSERT_EQ(responses.size(), 2u);
    ASSERT_EQ(sink.infos.size(), 1u);
    EXPECT_EQ(sink.infos[0].size, body.size());
    EXPECT_EQ(sink.infos[0].messageNumber, 7u);
    EXPECT_EQ(sink.infos[0].key, "BODY[]");
    EXPECT_FALSE(sink.infos[0].literal8);
    EXPECT_EQ(sink.ends, 1u);
    ASSERT_EQ(sink.bodies[0].size(), body.size());
    EXPECT_TRUE(sink.bodies[0] == body) << "the sink got different bytes";

    const auto fetch = responses[0].fetch();
    ASSERT_TRUE(fetch);
    EXPECT_EQ(fetch->uid, 42u);
    EXPECT_EQ(fetch->flags, std::vector<std::string>{"\\Seen"});
    const ImapValue* value = fetch->body();
    ASSERT_NE(value, nullptr);
    EXPECT_TRUE(value->streamed);
    EXPECT_EQ(value->literalSize, body.size());
    EXPECT_TRUE(value->text.empty());
    EXPECT_LT(value->text.capacity(), 64u);
    // Small literals stay inline even with a sink.
    const ImapValue* header = fetch->item("BODY[HEADER]");
    ASSERT_NE(header, nullptr);
    EXPECT_FALSE(header->streamed);
    EXPECT_EQ(header->text, "short!");
    EXPECT_TRUE(responses[1].isTagged("A9"));
}

TEST(ImapParser, StreamingIsIndependentOfChunking) {
    const std::string body = bigBody(3000);
    const std::string input = "* 2 FETCH (BODY[]<0> {3000}\r\n" + body + " ENVELOPE (NIL {1001}\r\n" +
                              std::string(1001, 's') + "))\r\n* 3 FETCH (BINARY[1] ~{1000}\r\n" +
                              std::string(1000, '\0') + ")\r\n";
    ImapParserLimits limits;
    limits.streamThreshold = 1000;  // 1000 stays inline, 1001 and 3000 stream
    RecordingSink sink;
    const Outcome outcome = parseEveryWay(input, limits, &sink);
    ASSERT_EQ(outcome.error, ImapParseError::None);
    ASSERT_EQ(outcome.responses.size(), 2u);
    ASSERT_EQ(sink.infos.size(), 2u);
    EXPECT_EQ(sink.infos[0].key, "BODY[]<0>");
    EXPECT_EQ(sink.infos[0].messageNumber, 2u);
    EXPECT_EQ(sink.bodies[0], body);
    EXPECT_EQ(sink.infos[1].key, "");  // inside the ENVELOPE: not an item's value
    EXPECT_EQ(sink.infos[1].messageNumber, 0u);
    EXPECT_EQ(sink.bodies[1], std::string(1001, 's'));
    const auto second = outcome.responses[1].fetch();
    ASSERT_TRUE(second);
    EXPECT_FALSE(second->item("BINARY[1]")->streamed);
    EXPECT_EQ(second->item("BINARY[1]")->text, std::string(1000, '\0'));
}

TEST(ImapParser, WithoutSinkBigLiteralsStayInline) {
    ImapParserLimits limits;
    limits.streamThreshold = 10;
    const auto outcome = parseEveryWay("* 1 FETCH (BODY[] {20}\r\n01234567890123456789)\r\n", limits);
    ASSERT_EQ(outcome.responses.size(), 1u);
    EXPECT_EQ(outcome.responses[0].fetch()->body()->text, "01234567890123456789");
}

TEST(ImapParser, SinkCanRefuse) {
    ImapParserLimits limits;
    limits.streamThreshold = 4;
    const std::string input = "* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n";
    {
        ImapResponseParser parser(limits);
        RecordingSink sink;
        sink.acceptBegin = false;
        parser.setLiteralSink(&sink);
        EXPECT_EQ(parser.feed(input).status, Status::Error);
        EXPECT_EQ(parser.error(), ImapParseError::SinkRejected);
    }
    {
        ImapResponseParser parser(limits);
        RecordingSink sink;
        sink.acceptData = false;
        parser.setLiteralSink(&sink);
        EXPECT_EQ(parser.feed(input).status, Status::Error);
        EXPECT_EQ(parser.error(), ImapParseError::SinkRejected);
        EXPECT_EQ(sink.dataCalls, 1u);
    }
}

}  // namespace
}  // namespace mc::proto
