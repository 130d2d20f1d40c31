#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "proto/LineBuffer.hpp"
#include "proto/Pop3Reply.hpp"
#include "tests/unit/proto_chunkings.hpp"

namespace mc::proto {
namespace {

using namespace std::string_literals;

// The same input whole, one byte at a time, and in random pieces (fixed seeds, empty pieces
// included), so every parser sees every split point.
std::vector<std::vector<std::string_view>> chunkings(std::string_view input) {
    return testing::chunkings(input, {20240611u}, {2u, 3u, 7u, 64u, 1000u, 70000u});
}

struct Split {
    std::vector<std::string> lines;
    std::string rest;
    LineError error = LineError::None;
};

// Feeds the pieces one after another, draining complete lines after each.
Split splitLines(const std::vector<std::string_view>& pieces, std::size_t maxLineLength) {
    LineBuffer buffer(maxLineLength);
    Split split;
    for (std::string_view piece : pieces) {
        buffer.append(piece);
        while (auto line = buffer.nextLine()) {
            split.lines.push_back(*line);
        }
    }
    split.rest = std::string(buffer.buffered());
    split.error = buffer.error();
    return split;
}

void expectLines(std::string_view input, const std::vector<std::string>& lines, std::string_view rest,
                 std::size_t maxLineLength = 64 * 1024) {
    const auto all = chunkings(input);
    for (std::size_t i = 0; i < all.size(); ++i) {
        SCOPED_TRACE("chunking #" + std::to_string(i));
        const Split split = splitLines(all[i], maxLineLength);
        EXPECT_EQ(split.error, LineError::None);
        EXPECT_EQ(split.lines, lines);
        EXPECT_EQ(split.rest, rest);
    }
}

TEST(LineBuffer, SplitsCrlfAndBareLfLines) {
    expectLines("+OK hello\r\nsecond\nthird\r\n", {"+OK hello", "second", "third"}, "");
}

TEST(LineBuffer, KeepsAnIncompleteLineBuffered) {
    expectLines("one\r\ntwo", {"one"}, "two");
    expectLines("one\r\ntwo\r", {"one"}, "two\r");
}

TEST(LineBuffer, EmptyLines) { expectLines("\r\n\n\r\nx\n", {"", "", "", "x"}, ""); }

TEST(LineBuffer, LoneCrStaysInsideTheLine) { expectLines("a\rb\r\nc\r\r\n\rd\n", {"a\rb", "c\r", "\rd"}, ""); }

TEST(LineBuffer, EightBitAndNulBytesPassThrough) {
    const std::string input = "\x80\xff\0\xc3\xa9\r\n\0\n"s;
    expectLines(input, {"\x80\xff\0\xc3\xa9"s, "\0"s}, "");
}

TEST(LineBuffer, LinesOver998BytesAndUpToTheCap) {
    const std::string line999(999, 'x');
    const std::string lineAtCap(64 * 1024, 'y');
    expectLines(line999 + "\r\n" + lineAtCap + "\r\n" + lineAtCap + "\n", {line999, lineAtCap, lineAtCap}, "");
}

TEST(LineBuffer, LineAtTheCapWhoseCrlfIsSplitIsAccepted) {
    LineBuffer buffer(10);
    buffer.append("0123456789\r");
    EXPECT_FALSE(buffer.nextLine());
    EXPECT_EQ(buffer.error(), LineError::None);
    buffer.append("\n");
    EXPECT_EQ(buffer.nextLine(), "0123456789");
}

TEST(LineBuffer, LineOverTheCapFailsBeforeItsNewlineArrives) {
    const std::string input(64 * 1024 + 1, 'z');
    const auto all = chunkings(input);
    for (std::size_t i = 0; i < all.size(); ++i) {
        SCOPED_TRACE("chunking #" + std::to_string(i));
        const Split split = splitLines(all[i], 64 * 1024);
        EXPECT_EQ(split.error, LineError::LineTooLong);
        EXPECT_TRUE(split.lines.empty());
    }
}

TEST(LineBuffer, LineOverTheCapWithNewlineFails) {
    LineBuffer buffer(10);
    buffer.append("ok\r\n01234567890\r\nafter\r\n");
    EXPECT_EQ(buffer.nextLine(), "ok");
    EXPECT_FALSE(buffer.nextLine());
    EXPECT_EQ(buffer.error(), LineError::LineTooLong);
    // Sticky: the stream cannot be resynchronised, so nothing more comes out.
    EXPECT_FALSE(buffer.nextLine());
    buffer.append("more\r\n");
    EXPECT_FALSE(buffer.nextLine());
}

TEST(LineBuffer, BareLfLineOneOverTheCapFails) {
    LineBuffer buffer(4);
    buffer.append("abcd\nabcde\n");
    EXPECT_EQ(buffer.nextLine(), "abcd");
    EXPECT_FALSE(buffer.nextLine());
    EXPECT_EQ(buffer.error(), LineError::LineTooLong);
}

TEST(LineBuffer, CrInsideAnOverlongLineDoesNotHideIt) {
    LineBuffer buffer(4);
    buffer.append("abc\r\rx");
    EXPECT_FALSE(buffer.nextLine());
    EXPECT_EQ(buffer.error(), LineError::LineTooLong);
}

TEST(LineBuffer, TakeRawTakesUpToWhatIsBuffered) {
    LineBuffer buffer;
    buffer.append("+OK 5\r\nab\r\ncdef");
    EXPECT_EQ(buffer.nextLine(), "+OK 5");
    EXPECT_EQ(buffer.takeRaw(3), "ab\r");
    EXPECT_EQ(buffer.bufferedSize(), 5u);
    EXPECT_EQ(buffer.nextLine(), "");
    EXPECT_EQ(buffer.takeRaw(100), "cdef");
    EXPECT_EQ(buffer.bufferedSize(), 0u);
    EXPECT_EQ(buffer.takeRaw(1), "");
    EXPECT_EQ(buffer.takeRaw(0), "");
}

TEST(LineBuffer, TakeRawAfterAPartialScanStillFindsTheNextLine) {
    LineBuffer buffer;
    buffer.append("abcdef");
    EXPECT_FALSE(buffer.nextLine());
    EXPECT_EQ(buffer.takeRaw(4), "abcd");
    buffer.append("\nxy\n");
    EXPECT_EQ(buffer.nextLine(), "ef");
    EXPECT_EQ(buffer.nextLine(), "xy");
    EXPECT_FALSE(buffer.nextLine());
}

TEST(LineBuffer, ClearDropsEverythingIncludingAPartialScan) {
    LineBuffer buffer;
    buffer.append("220 ready\r\nleftover-before-tls");
    EXPECT_EQ(buffer.nextLine(), "220 ready");
    EXPECT_FALSE(buffer.nextLine());
    buffer.clear();
    EXPECT_EQ(buffer.bufferedSize(), 0u);
    buffer.append("a\nb\n");
    EXPECT_EQ(buffer.nextLine(), "a");
    EXPECT_EQ(buffer.nextLine(), "b");
    EXPECT_FALSE(buffer.nextLine());
}

TEST(LineBuffer, ManyLinesThroughCompactionKeepTheirBytes) {
    // Well past the compaction threshold, with a partial line left at the end each round.
    std::string input;
    std::vector<std::string> expected;
    for (int i = 0; i < 30000; ++i) {
        std::string line = "line " + std::to_string(i) + std::string(i % 50, '.');
        input += line + (i % 3 == 0 ? "\n" : "\r\n");
        expected.push_back(line);
    }
    input += "tail";
    LineBuffer buffer;
    std::vector<std::string> lines;
    std::mt19937 rng(7);
    std::uniform_int_distribution<std::size_t> size(1, 5000);
    for (std::size_t pos = 0; pos < input.size();) {
        const std::size_t n = std::min(size(rng), input.size() - pos);
        buffer.append(std::string_view(input).substr(pos, n));
        pos += n;
        while (auto line = buffer.nextLine()) {
            lines.push_back(*line);
        }
    }
    EXPECT_EQ(lines, expected);
    EXPECT_EQ(buffer.buffered(), "tail");
}

TEST(LineBuffer, LongLineArrivingByteByByteIsFound) {
    // With a rescan on every call this would be quadratic; it must stay fast.
    const std::string line(60 * 1024, 'q');
    LineBuffer buffer;
    for (char c : line) {
        buffer.append(std::string_view(&c, 1));
        ASSERT_FALSE(buffer.nextLine());
    }
    buffer.append("\r");
    EXPECT_FALSE(buffer.nextLine());
    buffer.append("\nnext");
    EXPECT_EQ(buffer.nextLine(), line);
    EXPECT_EQ(buffer.buffered(), "next");
}

TEST(LineBuffer, PipelinedStatusBodyAndNextReplyThroughTheDecoder) {
    // How the POP3 client uses it: status line, then the body from buffered bytes, then the
    // remainder stays for the next reply.
    const std::string wire = "+OK 12 octets\r\nbody\r\n..dot\r\n.\r\n+OK next\r\n-ERR partial";
    const auto all = chunkings(wire);
    for (std::size_t i = 0; i < all.size(); ++i) {
        SCOPED_TRACE("chunking #" + std::to_string(i));
        LineBuffer buffer;
        DotStuffedBodyDecoder decoder;
        std::vector<std::string> statusLines;
        std::string body;
        bool inBody = false;
        for (std::string_view piece : all[i]) {
            buffer.append(piece);
            while (true) {
                if (inBody) {
                    const auto progress = decoder.feed(buffer.buffered(), body);
                    buffer.takeRaw(progress.consumed);
                    if (!progress.done) {
                        break;
                    }
                    inBody = false;
                    decoder.reset();
                }
                auto line = buffer.nextLine();
                if (!line) {
                    break;
                }
                inBody = statusLines.empty();
                statusLines.push_back(*line);
            }
        }
        EXPECT_EQ(statusLines, (std::vector<std::string>{"+OK 12 octets", "+OK next"}));
        EXPECT_EQ(body, "body\r\n.dot\r\n");
        EXPECT_EQ(buffer.buffered(), "-ERR partial");
    }
}

}  // namespace
}  // namespace mc::proto
