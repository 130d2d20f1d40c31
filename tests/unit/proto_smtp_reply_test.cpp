#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "proto/LineBuffer.hpp"
#include "proto/SmtpReply.hpp"
#include "tests/unit/proto_chunkings.hpp"

namespace mc::proto {
namespace {

using Status = SmtpReplyParser::Status;

// The same input whole, one byte at a time, and in random pieces (fixed seeds).
std::vector<std::vector<std::string_view>> chunkings(std::string_view input) {
    return testing::chunkings(input, {5321u}, {2u, 3u, 9u, 100u, 5000u});
}

SmtpReply parseOne(const std::vector<std::string>& lines) {
    SmtpReplyParser parser;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const Status status = parser.feedLine(lines[i]);
        EXPECT_EQ(status, i + 1 == lines.size() ? Status::Complete : Status::NeedMore) << "line " << i;
    }
    return parser.take();
}

TEST(SmtpReply, SingleLine) {
    const SmtpReply reply = parseOne({"250 2.0.0 Ok: queued as 4A1B2C"});
    EXPECT_EQ(reply.code, 250);
    EXPECT_EQ(reply.lines, (std::vector<std::string>{"2.0.0 Ok: queued as 4A1B2C"}));
    EXPECT_TRUE(reply.positive());
    EXPECT_FALSE(reply.transient());
    EXPECT_FALSE(reply.permanent());
}

TEST(SmtpReply, MultiLine) {
    const SmtpReply reply = parseOne({"250-mx.example.org", "250-PIPELINING", "250-SIZE 10240000", "250 8BITMIME"});
    EXPECT_EQ(reply.code, 250);
    EXPECT_EQ(reply.lines, (std::vector<std::string>{"mx.example.org", "PIPELINING", "SIZE 10240000", "8BITMIME"}));
    EXPECT_EQ(reply.text(), "mx.example.org / PIPELINING / SIZE 10240000 / 8BITMIME");
}

TEST(SmtpReply, BareCodeIsFinalWithEmptyText) {
    const SmtpReply reply = parseOne({"354"});
    EXPECT_EQ(reply.code, 354);
    EXPECT_EQ(reply.lines, (std::vector<std::string>{""}));
    EXPECT_EQ(reply.text(), "");
    const SmtpReply multi = parseOne({"250-first", "250-", "250"});
    EXPECT_EQ(multi.lines, (std::vector<std::string>{"first", "", ""}));
}

TEST(SmtpReply, Classes) {
    EXPECT_TRUE(parseOne({"354 go ahead"}).positive());
    const SmtpReply transient = parseOne({"451 4.3.0 try again"});
    EXPECT_TRUE(transient.transient());
    EXPECT_FALSE(transient.positive());
    const SmtpReply permanent = parseOne({"550 5.1.1 no such user"});
    EXPECT_TRUE(permanent.permanent());
    EXPECT_FALSE(permanent.transient());
    EXPECT_EQ(parseOne({"200 x"}).code, 200);
    EXPECT_EQ(parseOne({"599 x"}).code, 599);
}

TEST(SmtpReply, Malformed) {
    for (std::string_view line : {"", "25", "2x0 ok", "250x ok", "2500 ok", "199 no", "600 no", "099 no", " 250 ok",
                                  "-250 ok", "250\tok", "abc"}) {
        SCOPED_TRACE(std::string(line));
        SmtpReplyParser parser;
        EXPECT_EQ(parser.feedLine(line), Status::Error);
        EXPECT_EQ(parser.error(), SmtpReplyError::Malformed);
    }
}

TEST(SmtpReply, CodeMismatch) {
    SmtpReplyParser parser;
    EXPECT_EQ(parser.feedLine("250-first"), Status::NeedMore);
    EXPECT_EQ(parser.feedLine("251 second"), Status::Error);
    EXPECT_EQ(parser.error(), SmtpReplyError::CodeMismatch);
}

TEST(SmtpReply, ErrorIsStickyUntilTake) {
    SmtpReplyParser parser;
    EXPECT_EQ(parser.feedLine("oops"), Status::Error);
    EXPECT_EQ(parser.feedLine("250 ok"), Status::Error);
    EXPECT_EQ(parser.error(), SmtpReplyError::Malformed);
    parser.take();
    EXPECT_EQ(parser.error(), SmtpReplyError::None);
    EXPECT_EQ(parser.feedLine("250 ok"), Status::Complete);
}

TEST(SmtpReply, LineLengthCap) {
    SmtpReplyParser parser;
    const std::string atCap = "250-" + std::string(4096 - 4, 'a');
    EXPECT_EQ(parser.feedLine(atCap), Status::NeedMore);
    EXPECT_EQ(parser.feedLine("250 " + std::string(4096 - 3, 'b')), Status::Error);
    EXPECT_EQ(parser.error(), SmtpReplyError::TooLong);
}

TEST(SmtpReply, LineCountCap) {
    SmtpReplyParser ok;
    for (int i = 0; i < 255; ++i) {
        ASSERT_EQ(ok.feedLine("250-x"), Status::NeedMore);
    }
    EXPECT_EQ(ok.feedLine("250 last"), Status::Complete);
    EXPECT_EQ(ok.take().lines.size(), 256u);

    SmtpReplyParser tooMany;
    for (int i = 0; i < 256; ++i) {
        ASSERT_EQ(tooMany.feedLine("250-x"), Status::NeedMore);
    }
    EXPECT_EQ(tooMany.feedLine("250 last"), Status::Error);
    EXPECT_EQ(tooMany.error(), SmtpReplyError::TooManyLines);
}

TEST(SmtpReply, TakeResetsForTheNextReply) {
    SmtpReplyParser parser;
    EXPECT_EQ(parser.feedLine("250-a"), Status::NeedMore);
    EXPECT_EQ(parser.feedLine("250 b"), Status::Complete);
    const SmtpReply first = parser.take();
    EXPECT_EQ(parser.feedLine("550 c"), Status::Complete);
    const SmtpReply second = parser.take();
    EXPECT_EQ(first.code, 250);
    EXPECT_EQ(first.lines, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(second.code, 550);
    EXPECT_EQ(second.lines, (std::vector<std::string>{"c"}));
}

TEST(SmtpReply, LineAfterCompleteWithoutTakeStartsANewReply) {
    SmtpReplyParser parser;
    EXPECT_EQ(parser.feedLine("250 a"), Status::Complete);
    EXPECT_EQ(parser.feedLine("354 b"), Status::Complete);
    const SmtpReply reply = parser.take();
    EXPECT_EQ(reply.code, 354);
    EXPECT_EQ(reply.lines, (std::vector<std::string>{"b"}));
}

TEST(SmtpReply, EightBitAndNulInText) {
    using namespace std::string_literals;
    const SmtpReply reply = parseOne({"250 caf\xc3\xa9\0x"s});
    EXPECT_EQ(reply.lines, (std::vector<std::string>{"caf\xc3\xa9\0x"s}));
}

TEST(SmtpReply, PipelinedRepliesFromTheWireInAnyChunking) {
    // LMTP after DATA: one reply per recipient, pipelined, mixed line endings.
    const std::string wire =
        "250-mx.example.org\r\n250-8BITMIME\r\n250 PIPELINING\r\n"
        "250 2.1.0 Ok\r\n250 2.1.5 Ok\n354 End data with <CR><LF>.<CR><LF>\r\n"
        "250 2.0.0 <a@x> Ok\r\n452-4.2.2 <b@x> over\r\n452 4.2.2 quota\r\n221";
    const auto all = chunkings(wire);
    for (std::size_t i = 0; i < all.size(); ++i) {
        SCOPED_TRACE("chunking #" + std::to_string(i));
        LineBuffer buffer;
        SmtpReplyParser parser;
        std::vector<SmtpReply> replies;
        for (std::string_view piece : all[i]) {
            buffer.append(piece);
            while (auto line = buffer.nextLine()) {
                const Status status = parser.feedLine(*line);
                ASSERT_NE(status, Status::Error);
                if (status == Status::Complete) {
                    replies.push_back(parser.take());
                }
            }
        }
        ASSERT_EQ(replies.size(), 6u);
        EXPECT_EQ(replies[0].lines, (std::vector<std::string>{"mx.example.org", "8BITMIME", "PIPELINING"}));
        EXPECT_EQ(replies[1].text(), "2.1.0 Ok");
        EXPECT_EQ(replies[2].text(), "2.1.5 Ok");
        EXPECT_EQ(replies[3].code, 354);
        EXPECT_EQ(replies[4].text(), "2.0.0 <a@x> Ok");
        EXPECT_EQ(replies[5].code, 452);
        EXPECT_EQ(replies[5].text(), "4.2.2 <b@x> over / 4.2.2 quota");
        EXPECT_EQ(buffer.buffered(), "221");
    }
}

TEST(EhloExtensions, ParsesKeywordsAndParameters) {
    const SmtpReply reply =
        parseOne({"250-mx.example.org Hello [127.0.0.1]", "250-size 52428800", "250-AUTH PLAIN LOGIN XOAUTH2",
                  "250-8BITMIME", "250-ENHANCEDSTATUSCODES  ", "250 pipelining"});
    const EhloExtensions ext = parseEhloExtensions(reply);
    using Entry = std::pair<std::string, std::string>;
    EXPECT_EQ(ext.entries, (std::vector<Entry>{{"SIZE", "52428800"},
                                               {"AUTH", "PLAIN LOGIN XOAUTH2"},
                                               {"8BITMIME", ""},
                                               {"ENHANCEDSTATUSCODES", ""},
                                               {"PIPELINING", ""}}));
    EXPECT_TRUE(ext.has("SIZE"));
    EXPECT_TRUE(ext.has("size"));
    EXPECT_TRUE(ext.has("PIPELINING"));
    EXPECT_FALSE(ext.has("MX.EXAMPLE.ORG"));
    EXPECT_FALSE(ext.has("STARTTLS"));
    EXPECT_FALSE(ext.has("SIZ"));
    EXPECT_EQ(ext.parameters("SIZE"), "52428800");
    EXPECT_EQ(ext.parameters("auth"), "PLAIN LOGIN XOAUTH2");
    EXPECT_EQ(ext.parameters("8BITMIME"), "");
    EXPECT_EQ(ext.parameters("STARTTLS"), "");
}

TEST(EhloExtensions, GreetingOnly) {
    const EhloExtensions ext = parseEhloExtensions(parseOne({"250 mx.example.org"}));
    EXPECT_TRUE(ext.entries.empty());
    EXPECT_TRUE(parseEhloExtensions(SmtpReply{}).entries.empty());
}

}  // namespace
}  // namespace mc::proto
