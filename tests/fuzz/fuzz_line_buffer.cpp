// Fuzzes LineBuffer with fuzzer-chosen chunking, line cap and interleaved takeRaw calls, checking
// every returned byte against its position in the original stream.

#include <random>
#include <string>

#include "proto/LineBuffer.hpp"
#include "tests/fuzz/FuzzSupport.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = mc::fuzz::splitInput(data, size);
    const std::string_view stream = input.payload;
    const std::size_t cap = 1 + (input.seed >> 16) % 64;
    mc::proto::LineBuffer buffer(cap);
    std::minstd_rand rng(input.seed ^ 0x5bd1e995u);
    std::size_t pos = 0;       // stream bytes handed out so far
    std::size_t appended = 0;  // stream bytes given to the buffer so far

    for (std::string_view piece : mc::fuzz::pieces(stream, input.seed)) {
        buffer.append(piece);
        appended += piece.size();
        while (buffer.error() == mc::proto::LineError::None) {
            MC_FUZZ_CHECK(buffer.buffered() == stream.substr(pos, appended - pos));
            if (rng() % 4 == 0) {
                const std::string raw = buffer.takeRaw(rng() % 8);
                MC_FUZZ_CHECK(stream.substr(pos, raw.size()) == raw);
                pos += raw.size();
                if (raw.empty()) {
                    break;
                }
                continue;
            }
            const auto line = buffer.nextLine();
            const std::string_view pending = stream.substr(pos, appended - pos);
            const std::size_t lf = pending.find('\n');
            if (line) {
                MC_FUZZ_CHECK(line->size() <= cap);
                MC_FUZZ_CHECK(lf != std::string_view::npos);
                const std::size_t length = lf > 0 && pending[lf - 1] == '\r' ? lf - 1 : lf;
                MC_FUZZ_CHECK(pending.substr(0, length) == *line);
                pos += lf + 1;
                continue;
            }
            // Without a line, the line at `pos` is too long exactly when the error says so (a
            // trailing CR may still be half of a CRLF and does not count).
            std::size_t length = lf == std::string_view::npos ? pending.size() : lf;
            if (length > 0 && pending[length - 1] == '\r') {
                --length;
            }
            if (buffer.error() == mc::proto::LineError::LineTooLong) {
                MC_FUZZ_CHECK(length > cap);
            } else {
                MC_FUZZ_CHECK(lf == std::string_view::npos);
                MC_FUZZ_CHECK(length <= cap);
            }
            break;
        }
        if (buffer.error() != mc::proto::LineError::None) {
            MC_FUZZ_CHECK(!buffer.nextLine());
            break;
        }
    }
    return 0;
}
