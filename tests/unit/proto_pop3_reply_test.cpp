#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "proto/Pop3Reply.hpp"
#include "tests/unit/proto_chunkings.hpp"

namespace mc::proto {
namespace {

using namespace std::string_literals;

// The same input whole, one byte at a time, and in random pieces (fixed seeds, empty pieces
// included), so the decoder sees every split point, e.g. between '.' and '\r'.
std::vector<std::vector<std::string_view>> chunkings(std::string_view input) {
    return testing::chunkings(input, {1939u}, {2u, 3u, 5u, 64u, 1000u, 70000u});
}

// ---- status lines ----

TEST(Pop3Status, OkWithText) {
    const auto status = parsePop3Status("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>");
    ASSERT_TRUE(status);
    EXPECT_TRUE(status->ok);
    EXPECT_FALSE(status->continuation);
    EXPECT_EQ(status->code, "");
    EXPECT_EQ(status->text, "POP3 server ready <1896.697170952@dbc.mtview.ca.us>");
}

TEST(Pop3Status, OkAlone) {
    const auto status = parsePop3Status("+OK");
    ASSERT_TRUE(status);
    EXPECT_TRUE(status->ok);
    EXPECT_FALSE(status->continuation);
    EXPECT_EQ(status->text, "");
}

TEST(Pop3Status, ErrWithResponseCode) {
    const auto status = parsePop3Status("-ERR [IN-USE] mailbox locked by another session");
    ASSERT_TRUE(status);
    EXPECT_FALSE(status->ok);
    EXPECT_EQ(status->code, "IN-USE");
    EXPECT_EQ(status->text, "mailbox locked by another session");
}

TEST(Pop3Status, HierarchicalResponseCode) {
    const auto status = parsePop3Status("-ERR [SYS/TEMP] try later");
    ASSERT_TRUE(status);
    EXPECT_EQ(status->code, "SYS/TEMP");
    EXPECT_EQ(status->text, "try later");
}

TEST(Pop3Status, ResponseCodeWithoutText) {
    const auto status = parsePop3Status("-ERR [AUTH]");
    ASSERT_TRUE(status);
    EXPECT_EQ(status->code, "AUTH");
    EXPECT_EQ(status->text, "");
}

TEST(Pop3Status, BracketsThatAreNoResponseCodeStayInTheText) {
    const auto spaced = parsePop3Status("-ERR [not a code] text");
    ASSERT_TRUE(spaced);
    EXPECT_EQ(spaced->code, "");
    EXPECT_EQ(spaced->text, "[not a code] text");
    const auto unclosed = parsePop3Status("-ERR [IN-USE text");
    ASSERT_TRUE(unclosed);
    EXPECT_EQ(unclosed->code, "");
    EXPECT_EQ(unclosed->text, "[IN-USE text");
    const auto empty = parsePop3Status("-ERR [] x");
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->code, "");
    EXPECT_EQ(empty->text, "[] x");
}

TEST(Pop3Status, ErrAlone) {
    const auto status = parsePop3Status("-ERR");
    ASSERT_TRUE(status);
    EXPECT_FALSE(status->ok);
    EXPECT_FALSE(status->continuation);
    EXPECT_EQ(status->text, "");
}

TEST(Pop3Status, LowerCaseIndicatorsAreAccepted) {
    const auto ok = parsePop3Status("+ok fine");
    ASSERT_TRUE(ok);
    EXPECT_TRUE(ok->ok);
    EXPECT_EQ(ok->text, "fine");
    const auto err = parsePop3Status("-err no");
    ASSERT_TRUE(err);
    EXPECT_FALSE(err->ok);
    EXPECT_EQ(err->text, "no");
}

TEST(Pop3Status, Continuation) {
    const auto challenge = parsePop3Status("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2U+");
    ASSERT_TRUE(challenge);
    EXPECT_TRUE(challenge->continuation);
    EXPECT_EQ(challenge->text, "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2U+");
    const auto bare = parsePop3Status("+");
    ASSERT_TRUE(bare);
    EXPECT_TRUE(bare->continuation);
    EXPECT_EQ(bare->text, "");
    const auto spaceOnly = parsePop3Status("+ ");
    ASSERT_TRUE(spaceOnly);
    EXPECT_TRUE(spaceOnly->continuation);
    EXPECT_EQ(spaceOnly->text, "");
}

TEST(Pop3Status, TrailingWhitespaceIsTrimmed) {
    const auto status = parsePop3Status("+OK 2 320 \t");
    ASSERT_TRUE(status);
    EXPECT_EQ(status->text, "2 320");
}

TEST(Pop3Status, RejectsOtherLines) {
    for (std::string_view line :
         {"", "OK", "+OKAY", "-ERROR x", "+OK\tx", "* OK imap", "+x", "-", " +OK", "250 ok", "-ER"}) {
        SCOPED_TRACE(std::string(line));
        EXPECT_FALSE(parsePop3Status(line));
    }
}

// ---- UIDL / LIST lines ----

TEST(Pop3Listing, UidlLine) {
    const auto entry = parseUidlLine("3 QhdPYR:00WBw1Ph7x7");
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->number, 3u);
    EXPECT_EQ(entry->value, "QhdPYR:00WBw1Ph7x7");
}

TEST(Pop3Listing, UidlLineWithTrailingWhitespace) {
    const auto entry = parseUidlLine("12 abc \t\r");
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->number, 12u);
    EXPECT_EQ(entry->value, "abc");
}

TEST(Pop3Listing, UidlLengthAndCharacterLimits) {
    const std::string uid70(70, '~');
    const auto longest = parseUidlLine("1 " + uid70);
    ASSERT_TRUE(longest);
    EXPECT_EQ(longest->value, uid70);
    EXPECT_FALSE(parseUidlLine("1 " + std::string(71, 'a')));
    EXPECT_TRUE(parseUidlLine("1 !"));
    EXPECT_FALSE(parseUidlLine("1 a\x7f"));
    EXPECT_FALSE(parseUidlLine("1 a\x01"));
    EXPECT_FALSE(parseUidlLine("1 caf\xc3\xa9"));
    EXPECT_FALSE(parseUidlLine("1 a\0b"s));
    EXPECT_FALSE(parseUidlLine("1 a b"));
}

TEST(Pop3Listing, UidlMalformedNumbers) {
    for (std::string_view line : {"", "1", "1 ", "0 abc", "-1 abc", "+1 abc", "x abc", " 1 abc", "1  abc",
                                  "4294967296 abc", "1x abc", " abc"}) {
        SCOPED_TRACE(std::string(line));
        EXPECT_FALSE(parseUidlLine(line));
    }
    const auto largest = parseUidlLine("4294967295 abc");
    ASSERT_TRUE(largest);
    EXPECT_EQ(largest->number, 4294967295u);
}

TEST(Pop3Listing, ListLine) {
    const auto entry = parseListLine("2 200");
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->first, 2u);
    EXPECT_EQ(entry->second, 200u);
    const auto zeroSize = parseListLine("7 0 ");
    ASSERT_TRUE(zeroSize);
    EXPECT_EQ(zeroSize->second, 0u);
}

TEST(Pop3Listing, ListSizeLimit) {
    const auto atLimit = parseListLine("1 9007199254740992");
    ASSERT_TRUE(atLimit);
    EXPECT_EQ(atLimit->second, 9007199254740992u);
    EXPECT_FALSE(parseListLine("1 9007199254740993"));
    EXPECT_FALSE(parseListLine("1 18446744073709551616"));
    EXPECT_FALSE(parseListLine("1 99999999999999999999999"));
}

TEST(Pop3Listing, ListMalformed) {
    for (std::string_view line :
         {"", "1", "1 ", "0 10", "1 -10", "1 +10", "-1 10", "1 10 extra", "1 1O", " 1 10", "1  10", "1 0x10"}) {
        SCOPED_TRACE(std::string(line));
        EXPECT_FALSE(parseListLine(line));
    }
}

// ---- dot-stuffed bodies ----

struct DecodeCase {
    std::string wire;  // what the server sends after the status line
    std::string body;  // the decoded message
    std::string rest;  // bytes after the terminator: the next pipelined reply
};

void expectDecodes(const DecodeCase& c) {
    const auto all = chunkings(c.wire);
    for (std::size_t i = 0; i < all.size(); ++i) {
        SCOPED_TRACE("chunking #" + std::to_string(i));
        DotStuffedBodyDecoder decoder;
        std::string body;
        std::string rest;
        bool done = false;
        for (std::string_view piece : all[i]) {
            if (done) {
                rest.append(piece);
                continue;
            }
            const auto progress = decoder.feed(piece, body);
            ASSERT_LE(progress.consumed, piece.size());
            if (progress.done) {
                done = true;
                rest.append(piece.substr(progress.consumed));
            } else {
                ASSERT_EQ(progress.consumed, piece.size());
            }
            EXPECT_EQ(decoder.done(), progress.done);
        }
        EXPECT_TRUE(done);
        EXPECT_EQ(body, c.body);
        EXPECT_EQ(rest, c.rest);
    }
}

TEST(DotStuffedBody, PlainCrlfMessage) {
    expectDecodes({"Subject: hi\r\n\r\nHello\r\n.\r\n", "Subject: hi\r\n\r\nHello\r\n", ""});
}

TEST(DotStuffedBody, EmptyBody) {
    expectDecodes({".\r\n", "", ""});
    expectDecodes({".\n", "", ""});
}

TEST(DotStuffedBody, BodyOfOnlyAnEmptyLine) { expectDecodes({"\r\n.\r\n", "\r\n", ""}); }

TEST(DotStuffedBody, LoneDotLineInTheBody) {
    expectDecodes({"a\r\n..\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", ""});
    expectDecodes({"..\r\n.\r\n", ".\r\n", ""});
}

TEST(DotStuffedBody, LinesStartingWithDots) {
    expectDecodes({"..foo\r\n...bar\r\n....\r\nx.y\r\n.\r\n", ".foo\r\n..bar\r\n...\r\nx.y\r\n", ""});
}

TEST(DotStuffedBody, UnstuffedDotIsDroppedPerRfc) {
    expectDecodes({".foo\r\n. \r\n.\t\r\n.\r\n", "foo\r\n \r\n\t\r\n", ""});
}

TEST(DotStuffedBody, BareLfLineEndingsAreKept) {
    expectDecodes({"a\nb\n..c\n.\n", "a\nb\n.c\n", ""});
    expectDecodes({"a\r\nb\n..\n.\r\n", "a\r\nb\n.\n", ""});
}

TEST(DotStuffedBody, BareCrIsAnOrdinaryByte) {
    // A dot after a bare CR is not at a line start, so it is not unstuffed.
    expectDecodes({"a\rb\r\nc\r.\r\n.\r\n", "a\rb\r\nc\r.\r\n", ""});
    // ".\r" not followed by LF: a line starting with a stuffed dot.
    expectDecodes({".\rx\r\n.\r\n", "\rx\r\n", ""});
    expectDecodes({".\r\r\n.\r\n", "\r\r\n", ""});
    expectDecodes({".\r.\r\n.\r\n", "\r.\r\n", ""});
    expectDecodes({"\r\r\n.\r\n", "\r\r\n", ""});
}

TEST(DotStuffedBody, EightBitAndNulBytes) {
    const std::string wire = "\x80\xff\0\r\n..\0dot\r\n\xc3\xa9t\xc3\xa9\n.\r\n"s;
    expectDecodes({wire, "\x80\xff\0\r\n.\0dot\r\n\xc3\xa9t\xc3\xa9\n"s, ""});
}

TEST(DotStuffedBody, LongLines) {
    const std::string over998 = std::string(999, 'a') + "." + std::string(500, 'b');
    const std::string over64k(64 * 1024 + 17, 'c');
    expectDecodes({over998 + "\r\n." + over64k + "\r\n.\r\n", over998 + "\r\n" + over64k + "\r\n", ""});
}

TEST(DotStuffedBody, PipelinedNextReplyIsLeftUnconsumed) {
    expectDecodes({"one\r\n.\r\n+OK next\r\n.\r\n", "one\r\n", "+OK next\r\n.\r\n"});
    expectDecodes({".\r\n..\r\n", "", "..\r\n"});
    expectDecodes({"x\n.\n-ERR [IN-USE] no\n", "x\n", "-ERR [IN-USE] no\n"});
}

TEST(DotStuffedBody, NotDoneWithoutTheTerminator) {
    DotStuffedBodyDecoder decoder;
    std::string body;
    auto progress = decoder.feed("abc\r\n..d\r\n.", body);
    EXPECT_FALSE(progress.done);
    EXPECT_EQ(progress.consumed, 11u);
    EXPECT_EQ(body, "abc\r\n.d\r\n");
    progress = decoder.feed("\r", body);
    EXPECT_FALSE(progress.done);
    EXPECT_EQ(body, "abc\r\n.d\r\n");
    progress = decoder.feed("\n+OK", body);
    EXPECT_TRUE(progress.done);
    EXPECT_EQ(progress.consumed, 1u);
    EXPECT_EQ(body, "abc\r\n.d\r\n");
}

TEST(DotStuffedBody, DotAtTheEndOfAMidLineChunkIsNotAtALineStart) {
    DotStuffedBodyDecoder decoder;
    std::string body;
    EXPECT_FALSE(decoder.feed("ab", body).done);
    EXPECT_FALSE(decoder.feed(".", body).done);
    EXPECT_FALSE(decoder.feed("\r\n", body).done);
    EXPECT_TRUE(decoder.feed(".\r\n", body).done);
    EXPECT_EQ(body, "ab.\r\n");
}

TEST(DotStuffedBody, FeedAfterDoneConsumesNothing) {
    DotStuffedBodyDecoder decoder;
    std::string body;
    EXPECT_TRUE(decoder.feed(".\r\n", body).done);
    const auto progress = decoder.feed("more\r\n", body);
    EXPECT_TRUE(progress.done);
    EXPECT_EQ(progress.consumed, 0u);
    EXPECT_EQ(body, "");
}

TEST(DotStuffedBody, ResetDecodesTheNextBody) {
    DotStuffedBodyDecoder decoder;
    std::string first;
    std::string second;
    const std::string wire = "a\r\n.\r\n..b\r\n.\r\n";
    const auto progress = decoder.feed(wire, first);
    ASSERT_TRUE(progress.done);
    decoder.reset();
    EXPECT_FALSE(decoder.done());
    EXPECT_TRUE(decoder.feed(std::string_view(wire).substr(progress.consumed), second).done);
    EXPECT_EQ(first, "a\r\n");
    EXPECT_EQ(second, ".b\r\n");
}

TEST(DotStuffedBody, EmptyFeedChangesNothing) {
    DotStuffedBodyDecoder decoder;
    std::string body;
    const auto progress = decoder.feed("", body);
    EXPECT_FALSE(progress.done);
    EXPECT_EQ(progress.consumed, 0u);
    EXPECT_TRUE(body.empty());
}

}  // namespace
}  // namespace mc::proto
