// Property: what the SMTP encoder sends, the POP3 decoder reads back as the message with every
// line end (LF, CRs before LF) made CRLF, every lone CR a space, plus a CRLF if the message did
// not end with a LF; the number of lines never changes, so no header is split or joined.

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "proto/MessageEncoder.hpp"
#include "proto/Pop3Reply.hpp"
#include "tests/unit/proto_line_end_model.hpp"

namespace mc::proto {
namespace {

// Random bytes heavy in the characters that matter: '.', '\r', '\n', plus NUL and 8-bit.
std::string randomMessage(std::mt19937& rng) {
    static constexpr char kAlphabet[] = {'.', '.', '.', '\r', '\r', '\n', '\n', 'a', ' ', '\0', '\xff', '\x80'};
    std::uniform_int_distribution<std::size_t> length(0, 120);
    std::uniform_int_distribution<std::size_t> pick(0, sizeof(kAlphabet) - 1);
    std::string message(length(rng), '\0');
    for (char& c : message) {
        c = kAlphabet[pick(rng)];
    }
    return message;
}

std::vector<std::string_view> randomPieces(std::string_view text, std::mt19937& rng) {
    std::uniform_int_distribution<std::size_t> size(0, 6);
    std::vector<std::string_view> pieces;
    for (std::size_t pos = 0; pos < text.size();) {
        const std::size_t n = std::min(size(rng), text.size() - pos);
        pieces.push_back(text.substr(pos, n));
        pos += n;
    }
    return pieces;
}

std::string expectedDecoded(std::string_view message) { return testing::lineEndModel(message).text; }

std::size_t crlfCount(std::string_view text) {
    std::size_t count = 0;
    for (std::size_t i = 0; i + 1 < text.size(); ++i) count += text[i] == '\r' && text[i + 1] == '\n';
    return count;
}

// Every CR is followed by LF and every LF preceded by CR: nothing bare reaches the server.
bool onlyCrlf(std::string_view wire) {
    for (std::size_t i = 0; i < wire.size(); ++i) {
        if (wire[i] == '\r' && (i + 1 == wire.size() || wire[i + 1] != '\n')) {
            return false;
        }
        if (wire[i] == '\n' && (i == 0 || wire[i - 1] != '\r')) {
            return false;
        }
    }
    return true;
}

TEST(EncoderDecoderRoundTrip, RandomMessagesInRandomChunkings) {
    std::mt19937 rng(998);
    const std::string nextReply = "+OK next\r\n";
    for (int iteration = 0; iteration < 5000; ++iteration) {
        const std::string message = randomMessage(rng);
        SCOPED_TRACE("iteration " + std::to_string(iteration));

        DotStuffingEncoder encoder;
        std::string wire;
        for (std::string_view piece : randomPieces(message, rng)) {
            encoder.encode(piece, wire);
        }
        encoder.finish(wire);
        ASSERT_TRUE(onlyCrlf(wire));
        ASSERT_GE(wire.size(), 3u);
        ASSERT_EQ(wire.substr(wire.size() - 3), ".\r\n");
        const std::size_t encodedSize = wire.size();
        wire += nextReply;

        DotStuffedBodyDecoder decoder;
        std::string decoded;
        std::size_t consumed = 0;
        std::string rest;
        for (std::string_view piece : randomPieces(wire, rng)) {
            if (decoder.done()) {
                rest.append(piece);
                continue;
            }
            const auto progress = decoder.feed(piece, decoded);
            consumed += progress.consumed;
            rest.append(piece.substr(progress.consumed));
        }
        ASSERT_TRUE(decoder.done());
        EXPECT_EQ(consumed, encodedSize);
        EXPECT_EQ(rest, nextReply);
        ASSERT_EQ(decoded, expectedDecoded(message));
        EXPECT_EQ(crlfCount(decoded), testing::lineCount(message));
        EXPECT_EQ(encoder.loneCrsReplaced(), testing::lineEndModel(message).loneCrs);
    }
}

TEST(EncoderDecoderRoundTrip, TrickyFixedCases) {
    for (std::string_view message : {"", ".", "..", ".\r", ".\n", "\r.", "\n.\r\n.", "a\r\r.\n\n..", ".\r\n.\r\n", "x",
                                     "\r\r\n.\r", ".\r\r\n", "\r\n\r"}) {
        SCOPED_TRACE(std::string(message));
        DotStuffingEncoder encoder;
        std::string wire;
        encoder.encode(message, wire);
        encoder.finish(wire);
        DotStuffedBodyDecoder decoder;
        std::string decoded;
        const auto progress = decoder.feed(wire, decoded);
        EXPECT_TRUE(progress.done);
        EXPECT_EQ(progress.consumed, wire.size());
        EXPECT_EQ(decoded, expectedDecoded(message));
    }
}

}  // namespace
}  // namespace mc::proto
