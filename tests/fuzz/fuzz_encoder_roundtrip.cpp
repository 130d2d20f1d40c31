// Fuzzes the SMTP dot-stuffing encoder and the POP3 decoder together, in any chunking on both
// sides: decoding what was encoded gives the message with every line end (LF, CRs before LF) made
// CRLF and every lone CR a space (plus a final CRLF), as the byte-by-byte model says; the number
// of lines never changes (no header split or joined), and the size counter agrees.

#include <string>

#include "proto/MessageEncoder.hpp"
#include "proto/Pop3Reply.hpp"
#include "tests/fuzz/FuzzSupport.hpp"
#include "tests/unit/proto_line_end_model.hpp"

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

    const auto model = mc::proto::testing::lineEndModel(message);
    MC_FUZZ_CHECK(decoded == model.text);
    std::size_t crlfs = 0;
    for (std::size_t i = 0; i + 1 < decoded.size(); ++i) crlfs += decoded[i] == '\r' && decoded[i + 1] == '\n';
    MC_FUZZ_CHECK(crlfs == mc::proto::testing::lineCount(message));
    MC_FUZZ_CHECK(encoder.loneCrsReplaced() == model.loneCrs);

    mc::proto::CrlfSizeCounter counter;
    for (std::string_view piece : mc::fuzz::pieces(message, input.seed ^ 0x9e3779b9u)) {
        counter.add(piece);
    }
    counter.finish();
    MC_FUZZ_CHECK(counter.size() == model.text.size());
    MC_FUZZ_CHECK(counter.loneCrs() == model.loneCrs);
    return 0;
}
