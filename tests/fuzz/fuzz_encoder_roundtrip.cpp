// Fuzzes the SMTP dot-stuffing encoder and the POP3 decoder together: decoding what was encoded
// gives the message with CRLF line endings (plus a final CRLF), in any chunking on both sides.

#include <string>

#include "collector/proto/MessageEncoder.hpp"
#include "collector/proto/Pop3Reply.hpp"
#include "tests/fuzz/FuzzSupport.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = mc::fuzz::splitInput(data, size);
    const std::string_view message = input.payload;

    mc::proto::DotStuffingEncoder encoder;
    std::string wire;
    for (std::string_view piece : mc::fuzz::pieces(message, input.seed)) {
        encoder.encode(piece, wire);
    }
    encoder.finish(wire);
    for (std::size_t i = 0; i < wire.size(); ++i) {
        MC_FUZZ_CHECK(wire[i] != '\r' || (i + 1 < wire.size() && wire[i + 1] == '\n'));
        MC_FUZZ_CHECK(wire[i] != '\n' || (i > 0 && wire[i - 1] == '\r'));
    }
    const std::size_t encodedSize = wire.size();
    wire += "+OK next\r\n";

    mc::proto::DotStuffedBodyDecoder decoder;
    std::string decoded;
    std::size_t consumed = 0;
    for (std::string_view piece : mc::fuzz::pieces(wire, input.seed * 2654435761u)) {
        const auto progress = decoder.feed(piece, decoded);
        consumed += progress.consumed;
        if (progress.done) {
            break;
        }
    }
    MC_FUZZ_CHECK(decoder.done());
    MC_FUZZ_CHECK(consumed == encodedSize);

    std::string expected = mc::proto::normalizeLineEndings(message);
    if (!message.empty() && message.back() != '\n' && message.back() != '\r') {
        expected += "\r\n";
    }
    MC_FUZZ_CHECK(decoded == expected);
    return 0;
}
