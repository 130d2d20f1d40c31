// --trace shows the exchange, never credentials or message content.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "net/ProtocolTrace.hpp"

namespace mc::net {
namespace {

using ::testing::ElementsAre;

TEST(ProtocolTrace, Pop3PassAndAuthAreRedactedUntilTheServerAnswers) {
    ProtocolTrace trace;
    EXPECT_THAT(trace.sent("USER alice\r\n"), ElementsAre("C: USER alice"));
    EXPECT_THAT(trace.sent("PASS hunter2\r\n"), ElementsAre("C: PASS [credentials]"));
    EXPECT_THAT(trace.sent("AUTH PLAIN AGFsaWNlAGh1bnRlcjI=\r\n"), ElementsAre("C: AUTH PLAIN [credentials]"));
    EXPECT_EQ(trace.received("+ "), "S: + ");
    EXPECT_THAT(trace.sent("AGFsaWNlAGh1bnRlcjI=\r\n"), ElementsAre("C: [credentials]"));
    EXPECT_EQ(trace.received("+OK logged in"), "S: +OK logged in");
    EXPECT_THAT(trace.sent("UIDL\r\nLIST\r\n"), ElementsAre("C: UIDL", "C: LIST"));
}

TEST(ProtocolTrace, ImapLoginAuthenticateAndAppendLiteralsAreRedacted) {
    ProtocolTrace trace;
    EXPECT_THAT(trace.sent("a1 LOGIN alice \"hunter2\"\r\n"), ElementsAre("C: a1 LOGIN [credentials]"));
    EXPECT_THAT(trace.sent("a2 AUTHENTICATE XOAUTH2\r\n"), ElementsAre("C: a2 AUTHENTICATE XOAUTH2 [credentials]"));
    trace.received("+ ");
    EXPECT_THAT(trace.sent("dXNlcj1hbGljZQFhdXRoPUJlYXJlciB0b2tlbgEB\r\n"), ElementsAre("C: [credentials]"));
    trace.received("a2 OK done");
    EXPECT_THAT(trace.sent("a3 APPEND INBOX {11}\r\n"), ElementsAre("C: a3 APPEND INBOX {11}"));
    trace.received("+ go ahead");
    EXPECT_THAT(trace.sent("Hello world\r\n"), ElementsAre("C: [11 bytes of message content]"));
    EXPECT_THAT(trace.sent("a4 APPEND INBOX {5+}\r\nHello\r\na5 NOOP\r\n"),
                ElementsAre("C: a4 APPEND INBOX {5+}", "C: [5 bytes of message content]", "C: a5 NOOP"));
}

TEST(ProtocolTrace, ImapResponsesReadAsAStreamAreShownByLineWithLiteralsLeftOut) {
    ProtocolTrace trace;
    EXPECT_THAT(trace.sent("a1 AUTHENTICATE PLAIN AGFsaWNlAGh1bnRlcjI=\r\n"),
                ElementsAre("C: a1 AUTHENTICATE PLAIN [credentials]"));
    // The stream arrives in pieces that split lines and literals anywhere.
    EXPECT_THAT(trace.receivedStream("a1 OK [CAPABILITY IMAP4rev1] Log"), ElementsAre());
    EXPECT_THAT(trace.receivedStream("ged in\r\n"), ElementsAre("S: a1 OK [CAPABILITY IMAP4rev1] Logged in"));
    EXPECT_THAT(trace.sent("a2 UID FETCH 1:* (BODY.PEEK[])\r\n"), ElementsAre("C: a2 UID FETCH 1:* (BODY.PEEK[])"))
        << "the server's answer ended the AUTHENTICATE exchange";
    EXPECT_THAT(trace.receivedStream("* 1 FETCH (UID 7 BODY[] {14}\r\nSubject: s"),
                ElementsAre("S: * 1 FETCH (UID 7 BODY[] {14}"));
    EXPECT_THAT(trace.receivedStream("\r\n\r\n)\r\n* 2 FETCH (UID 8 BODY[] {0}\r\n)\r\na2 OK done\n"),
                ElementsAre("S: [14 bytes of message content]", "S: )", "S: * 2 FETCH (UID 8 BODY[] {0}", "S: )",
                            "S: a2 OK done"));
    // A line longer than what is held still announces its literal, which is not shown.
    auto longLine =
        trace.receivedStream("* 3 FETCH (UID 9 X-NOTE \"" + std::string(5000, 'n') + "\" BODY[] {6}\r\nsecret)\r\n");
    ASSERT_EQ(longLine.size(), 3u);
    EXPECT_EQ(longLine[1], "S: [6 bytes of message content]");
    // An untagged response in the middle of AUTHENTICATE does not end it.
    trace.sent("a3 AUTHENTICATE XOAUTH2\r\n");
    trace.receivedStream("* OK still here\r\n+ \r\n");
    EXPECT_THAT(trace.sent("dG9rZW4=\r\n"), ElementsAre("C: [credentials]"));
    trace.receivedStream("a3 OK done\r\n");
    // A line without an end holds at most a bounded start of itself.
    EXPECT_THAT(trace.receivedStream(std::string(1 << 20, 'x')), ElementsAre());
    auto shown = trace.receivedStream("\r\n");
    ASSERT_EQ(shown.size(), 1u);
    EXPECT_LT(shown[0].size(), 1100u);
}

TEST(ProtocolTrace, SmtpMessageContentIsLeftOutUntilTheDot) {
    ProtocolTrace trace;
    EXPECT_THAT(trace.sent("MAIL FROM:<a@example.net>\r\nRCPT TO:<me>\r\nDATA\r\n"),
                ElementsAre("C: MAIL FROM:<a@example.net>", "C: RCPT TO:<me>", "C: DATA"));
    trace.received("250 ok");
    trace.received("250 ok");
    trace.received("354 go ahead");
    EXPECT_THAT(trace.sent("Subject: secret plans\r\n\r\nbody\r\n"), ElementsAre("C: [31 bytes of message content]"));
    EXPECT_THAT(trace.sent(".\r\n"), ElementsAre("C: [3 bytes of message content]"));
    trace.received("250 queued");
    EXPECT_THAT(trace.sent("QUIT\r\n"), ElementsAre("C: QUIT"));
}

TEST(ProtocolTrace, ServerTextIsEscaped) {
    ProtocolTrace trace;
    EXPECT_EQ(trace.received("* OK \x1b[31mred"), "S: * OK \\x1b[31mred");
}

}  // namespace
}  // namespace mc::net
