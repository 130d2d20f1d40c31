#include <gtest/gtest.h>

#include <string>

#include "proto/MessageHeaders.hpp"

namespace mc::proto {
namespace {

using namespace std::string_literals;

const std::string kMessage =
    "Return-Path: <bounce@lists.example.org>\r\n"
    "Received: from mx.example.org\r\n"
    "\tby pop.example.net; Tue, 1 Oct 2024 10:00:00 +0000\r\n"
    "Subject: a folded\r\n"
    "   subject\r\n"
    "\t  line  \r\n"
    "Message-ID: <1@example.org>\r\n"
    "X-Empty:\r\n"
    "Received: second\r\n"
    "\r\n"
    "Subject: not a header, this is the body\r\n"
    "X-Body-Only: yes\r\n";

TEST(FindHeader, FindsASimpleField) {
    EXPECT_EQ(findHeader(kMessage, "Message-ID"), "<1@example.org>");
    EXPECT_EQ(findHeader(kMessage, "Return-Path"), "<bounce@lists.example.org>");
}

TEST(FindHeader, NameIsCaseInsensitive) {
    EXPECT_EQ(findHeader(kMessage, "message-id"), "<1@example.org>");
    EXPECT_EQ(findHeader(kMessage, "MESSAGE-ID"), "<1@example.org>");
}

TEST(FindHeader, UnfoldsContinuationLinesWithSingleSpaces) {
    EXPECT_EQ(findHeader(kMessage, "Subject"), "a folded subject line");
    EXPECT_EQ(findHeader(kMessage, "Received"),
              "from mx.example.org by pop.example.net; Tue, 1 Oct 2024 10:00:00 +0000");
}

TEST(FindHeader, FirstOccurrenceWins) { EXPECT_EQ(findHeader(kMessage, "received")->substr(0, 4), "from"); }

TEST(FindHeader, EmptyValue) { EXPECT_EQ(findHeader(kMessage, "X-Empty"), ""); }

TEST(FindHeader, BodyIsNotSearched) {
    EXPECT_EQ(findHeader(kMessage, "X-Body-Only"), std::nullopt);
    EXPECT_EQ(findHeader(kMessage, "Missing"), std::nullopt);
}

TEST(FindHeader, NamePrefixDoesNotMatch) {
    EXPECT_EQ(findHeader("Subject-Extra: x\r\nSubj: y\r\n\r\n", "Subject"), std::nullopt);
    EXPECT_EQ(findHeader("Subject-Extra: x\r\n\r\n", "Subject-Extra"), "x");
}

TEST(FindHeader, BareLfMessage) {
    const std::string message = "From: a@b\nSubject: one\n two\n\nX-Body: 1\n";
    EXPECT_EQ(findHeader(message, "subject"), "one two");
    EXPECT_EQ(findHeader(message, "X-Body"), std::nullopt);
}

TEST(FindHeader, MessageWithoutBodyOrFinalNewline) {
    EXPECT_EQ(findHeader("A: 1\r\nB: 2", "B"), "2");
    EXPECT_EQ(findHeader("A: 1\r\nB: 2\r\n  3", "b"), "2 3");
    EXPECT_EQ(findHeader("", "A"), std::nullopt);
}

TEST(FindHeader, EmptyLineEndsTheHeaderEvenBeforeAContinuation) {
    EXPECT_EQ(findHeader("A: 1\r\n\r\n continued\r\n", "A"), "1");
}

TEST(FindHeader, WhitespaceOnlyContinuationAddsNothing) {
    EXPECT_EQ(findHeader("A: 1\r\n \r\n\t2\r\nB: x\r\n\r\n", "A"), "1 2");
    EXPECT_EQ(findHeader("A: 1\r\n \r\n\r\nB: x\r\n", "B"), std::nullopt);
}

TEST(FindHeader, WhitespaceBeforeColonIsTolerated) {
    EXPECT_EQ(findHeader("Subject : old style\r\n\r\n", "Subject"), "old style");
}

TEST(FindHeader, LinesThatAreNoFieldAreSkipped) {
    EXPECT_EQ(findHeader("From sender Tue Oct  1 10:00:00 2024\nTo: x@y\n\n", "To"), "x@y");
}

TEST(FindHeader, EightBitAndNulInValues) {
    EXPECT_EQ(findHeader("X-A: caf\xc3\xa9\0!\r\n\r\n"s, "x-a"), "caf\xc3\xa9\0!"s);
}

TEST(ParseReturnPath, Address) {
    EXPECT_EQ(parseReturnPath("<a@b>"), "a@b");
    EXPECT_EQ(parseReturnPath("  <bounce+tag=x@lists.example.org>\t"), "bounce+tag=x@lists.example.org");
}

TEST(ParseReturnPath, NullSender) { EXPECT_EQ(parseReturnPath("<>"), ""); }

TEST(ParseReturnPath, Malformed) {
    for (const std::string& value :
         {""s, "a@b"s, "<a@b"s, "a@b>"s, "<a b@c>"s, "<a<b>"s, "<a>b>"s, "<a@b> (comment)"s, "<"s, ">"s, "<a\x01@b>"s,
          "<a\x7f@b>"s, "<caf\xc3\xa9@b>"s, "<a\0@b>"s, "<a\t@b>"s}) {
        SCOPED_TRACE(value);
        EXPECT_EQ(parseReturnPath(value), std::nullopt);
    }
}

}  // namespace
}  // namespace mc::proto
