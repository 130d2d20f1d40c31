// Fuzzes the POP3 multi-line body decoder against a line-by-line reference, in fuzzer-chosen
// chunkings, and the status/listing line parsers on every line of the input.

#include <string>

#include "proto/Pop3Reply.hpp"
#include "tests/fuzz/FuzzSupport.hpp"

namespace {

struct Reference {
    std::string body;
    std::size_t consumed = 0;
    bool done = false;
};

// RFC 1939 3 read literally: split at LF, "." line terminates, a leading '.' is dropped.
Reference referenceDecode(std::string_view wire) {
    Reference ref;
    std::size_t pos = 0;
    while (pos < wire.size()) {
        const std::size_t lf = wire.find('\n', pos);
        const std::size_t end = lf == std::string_view::npos ? wire.size() : lf + 1;
        std::string_view line = wire.substr(pos, end - pos);
        if (lf != std::string_view::npos && (line == ".\r\n" || line == ".\n")) {
            ref.consumed = end;
            ref.done = true;
            return ref;
        }
        if (!line.empty() && line.front() == '.') {
            // An unfinished "." or ".\r" at the very end may still become the terminator.
            if (lf == std::string_view::npos && (line == "." || line == ".\r")) {
                ref.consumed = wire.size();
                return ref;
            }
            line.remove_prefix(1);
        }
        ref.body.append(line);
        pos = end;
    }
    ref.consumed = wire.size();
    return ref;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = mc::fuzz::splitInput(data, size);
    const Reference ref = referenceDecode(input.payload);

    mc::proto::DotStuffedBodyDecoder decoder;
    std::string body;
    std::size_t consumed = 0;
    for (std::string_view piece : mc::fuzz::pieces(input.payload, input.seed)) {
        const auto progress = decoder.feed(piece, body);
        MC_FUZZ_CHECK(progress.consumed <= piece.size());
        consumed += progress.consumed;
        if (progress.done) {
            break;
        }
        MC_FUZZ_CHECK(progress.consumed == piece.size());
    }
    MC_FUZZ_CHECK(decoder.done() == ref.done);
    MC_FUZZ_CHECK(consumed == ref.consumed);
    MC_FUZZ_CHECK(body == ref.body);

    std::size_t pos = 0;
    while (pos <= input.payload.size()) {
        std::size_t lf = input.payload.find('\n', pos);
        if (lf == std::string_view::npos) {
            lf = input.payload.size();
        }
        const std::string_view line = input.payload.substr(pos, lf - pos);
        if (const auto status = mc::proto::parsePop3Status(line)) {
            MC_FUZZ_CHECK(status->text.size() <= line.size());
        }
        if (const auto entry = mc::proto::parseUidlLine(line)) {
            MC_FUZZ_CHECK(entry->number > 0 && !entry->value.empty() && entry->value.size() <= 70);
        }
        if (const auto entry = mc::proto::parseListLine(line)) {
            MC_FUZZ_CHECK(entry->first > 0 && entry->second <= (std::uint64_t{1} << 53));
        }
        pos = lf + 1;
    }
    return 0;
}
