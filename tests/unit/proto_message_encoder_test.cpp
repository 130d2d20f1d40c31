#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "proto/MessageEncoder.hpp"
#include "tests/unit/proto_chunkings.hpp"

namespace mc::proto {
namespace {

using namespace std::string_literals;

// The same input whole, one byte at a time, and in random pieces (fixed seeds, empty pieces
// included), so a CR ending one piece and a LF starting the next is exercised.
std::vector<std::vector<std::string_view>> chunkings(std::string_view input) {
    return testing::chunkings(input, {5322u}, {2u, 3u, 5u, 64u, 1000u, 70000u});
}

// Encodes in every chunking and checks the exact bytes, terminator included.
void expectEncodes(std::string_view message, std::string_view wire) {
    const auto all = chunkings(message);
    for (std::size_t i = 0; i < all.size(); ++i) {
        SCOPED_TRACE("chunking #" + std::to_string(i));
        DotStuffingEncoder encoder;
        std::string out;
        for (std::string_view piece : all[i]) {
            encoder.encode(piece, out);
        }
        encoder.finish(out);
        EXPECT_EQ(out, wire);
    }
}

TEST(DotStuffingEncoder, EmptyMessage) { expectEncodes("", ".\r\n"); }

TEST(DotStuffingEncoder, CrlfMessagePassesThrough) {
    expectEncodes("Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n\r\nbody\r\n.\r\n");
}

TEST(DotStuffingEncoder, LastLineWithoutNewlineGetsCrlf) {
    expectEncodes("a", "a\r\n.\r\n");
    expectEncodes("a\r\nlast", "a\r\nlast\r\n.\r\n");
}

TEST(DotStuffingEncoder, BareLfBecomesCrlf) {
    expectEncodes("a\nb\n\nc", "a\r\nb\r\n\r\nc\r\n.\r\n");
    expectEncodes("\n", "\r\n.\r\n");
}

TEST(DotStuffingEncoder, LoneCrBecomesASpace) {
    expectEncodes("a\rb\r", "a b \r\n.\r\n");
    expectEncodes("\r", " \r\n.\r\n");
    expectEncodes("\r\rx\r\r", "  x  \r\n.\r\n");
    // CR before a character other than LF, then CRLF, then LF: one space, two line ends.
    expectEncodes("\r \r\n\n", "  \r\n\r\n.\r\n");
    // LF CR: one line end, then a lone CR.
    expectEncodes("x\n\ry", "x\r\n y\r\n.\r\n");
}

TEST(DotStuffingEncoder, RunOfCrsBeforeLfIsOneLineEnd) {
    // Courier serves a Maildir file stored with CRLF as CR CR LF: no blank line may appear.
    expectEncodes("From: a\r\r\nTo: b\r\r\n\r\r\nbody\r\r\n", "From: a\r\nTo: b\r\n\r\nbody\r\n.\r\n");
    expectEncodes("a\r\r\r\r\nb", "a\r\nb\r\n.\r\n");
    expectEncodes("\r\r\n", "\r\n.\r\n");
}

TEST(DotStuffingEncoder, HeaderLinesAreNeverSplitOrJoined) {
    // A lone CR inside a header used to become a line break: the header's rest became a line of
    // its own (or, after a blank line, the body).
    expectEncodes("Subject: one\rtwo\r\nX-A: 1\r\r\nX-B: 2\n\r\nbody\r",
                  "Subject: one two\r\nX-A: 1\r\nX-B: 2\r\n\r\nbody \r\n.\r\n");
    // A folded header stays folded, with its continuation line.
    expectEncodes("Subject: a\r\r\n b\r\n\r\n", "Subject: a\r\n b\r\n\r\n.\r\n");
}

TEST(DotStuffingEncoder, LoneCrsAreCounted) {
    const std::pair<std::string_view, std::uint64_t> cases[] = {
        {"", 0}, {"a\r\nb\n", 0}, {"a\r\r\r\n", 0}, {"a\rb", 1}, {"\r\r", 2}, {"x\r\r.\r", 3},
    };
    for (const auto& [message, loneCrs] : cases) {
        const auto all = chunkings(message);
        for (std::size_t i = 0; i < all.size(); ++i) {
            SCOPED_TRACE(std::string(message) + " chunking #" + std::to_string(i));
            DotStuffingEncoder encoder;
            std::string out;
            for (std::string_view piece : all[i]) encoder.encode(piece, out);
            encoder.finish(out);
            EXPECT_EQ(encoder.loneCrsReplaced(), loneCrs);
        }
    }
}

TEST(DotStuffingEncoder, EightBitAndNulBytes) {
    expectEncodes("\0\xff\x80\n.\0\r\n\xc3\xa9"s, "\0\xff\x80\r\n..\0\r\n\xc3\xa9\r\n.\r\n"s);
}

TEST(DotStuffingEncoder, LongLinesAreNotSplit) {
    // Lines over RFC 5321's 998 are passed on unchanged: rewrapping would alter the message.
    const std::string over998 = "." + std::string(1200, 'a');
    const std::string over64k = std::string(64 * 1024 + 5, 'b');
    expectEncodes(over998 + "\n" + over64k, "." + over998 + "\r\n" + over64k + "\r\n.\r\n");
}

TEST(DotStuffingEncoder, CrAtChunkEndAndLfAtNextStartAreOneLineEnding) {
    DotStuffingEncoder encoder;
    std::string out;
    encoder.encode("a\r", out);
    encoder.encode("", out);
    encoder.encode("\n.b\r", out);
    encoder.encode("\r", out);
    encoder.encode("\r\n", out);
    encoder.finish(out);
    EXPECT_EQ(out, "a\r\n..b\r\n.\r\n");
}

TEST(DotStuffingEncoder, FinishResetsForTheNextMessage) {
    DotStuffingEncoder encoder;
    std::string first;
    encoder.encode("x\r", first);
    encoder.finish(first);
    std::string second;
    encoder.encode("\n.y", second);
    encoder.finish(second);
    EXPECT_EQ(first, "x \r\n.\r\n");
    // The LF is not swallowed as the second half of the previous message's CR.
    EXPECT_EQ(second, "\r\n..y\r\n.\r\n");
}

TEST(DotStuffingEncoder, ResetDropsState) {
    DotStuffingEncoder encoder;
    std::string out;
    encoder.encode("partial", out);
    encoder.reset();
    out.clear();
    encoder.encode(".z", out);
    encoder.finish(out);
    EXPECT_EQ(out, "..z\r\n.\r\n");
}

TEST(DotStuffingEncoder, AppendsToExistingOutput) {
    DotStuffingEncoder encoder;
    std::string out = "DATA\r\n";
    encoder.encode("hi", out);
    encoder.finish(out);
    EXPECT_EQ(out, "DATA\r\nhi\r\n.\r\n");
}

TEST(NormalizeLineEndings, LineEndsBecomeCrlfAndLoneCrsSpacesWithoutStuffing) {
    EXPECT_EQ(normalizeLineEndings(""), "");
    EXPECT_EQ(normalizeLineEndings("abc"), "abc");
    EXPECT_EQ(normalizeLineEndings("a\nb\rc\r\nd"), "a\r\nb c\r\nd");
    EXPECT_EQ(normalizeLineEndings("\r\r\n\n\r"), "\r\n\r\n ");
    EXPECT_EQ(normalizeLineEndings(".\n..\r."), ".\r\n.. .");
    EXPECT_EQ(normalizeLineEndings("\0\xff\n"s), "\0\xff\r\n"s);
}

// IMAP APPEND: CRLF everywhere, dots untouched, a final CRLF only when the message lacks one,
// whatever the chunking (a CR ending one piece, its LF opening the next).
TEST(CrlfEncoder, NormalisesWithoutStuffingInEveryChunking) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"", ""},
        {"a\nb\rc\r\nd", "a\r\nb c\r\nd\r\n"},
        {".\n..\r\n.", ".\r\n..\r\n.\r\n"},
        {"Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n\r\nbody\r\n"},
        {"Subject: x\r\r\n\r\r\nbody\r\r\n", "Subject: x\r\n\r\nbody\r\n"},
        {"Subject: a\rb\r\n\r\n", "Subject: a b\r\n\r\n"},
        {"ends with cr\r", "ends with cr \r\n"},
        {std::string_view("\0\xff\x80\r\n", 5), std::string_view("\0\xff\x80\r\n", 5)},
    };
    for (const auto& [message, wire] : cases) {
        const auto all = chunkings(message);
        for (std::size_t i = 0; i < all.size(); ++i) {
            SCOPED_TRACE(std::string(message) + " chunking #" + std::to_string(i));
            CrlfEncoder encoder;
            std::string out;
            CrlfSizeCounter counter;
            for (std::string_view piece : all[i]) {
                encoder.encode(piece, out);
                counter.add(piece);
            }
            encoder.finish(out);
            counter.finish();
            EXPECT_EQ(out, wire);
            // The counter measures exactly what the encoder sends (APPEND literal size, SIZE=).
            EXPECT_EQ(counter.size(), out.size());
            EXPECT_EQ(counter.loneCrs(), encoder.loneCrsReplaced());
        }
    }
}

}  // namespace
}  // namespace mc::proto
