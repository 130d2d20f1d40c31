// Fuzzes LineBuffer + SmtpReplyParser on a pipelined reply stream: the replies must not depend
// on the chunking, and every completed reply must respect the caps.

#include <string>
#include <vector>

#include "proto/LineBuffer.hpp"
#include "proto/SmtpReply.hpp"
#include "tests/fuzz/FuzzSupport.hpp"

namespace {

struct Event {
    int code = 0;  // 0 for an error
    std::vector<std::string> lines;
    bool operator==(const Event& other) const { return code == other.code && lines == other.lines; }
};

std::vector<Event> parseStream(const std::vector<std::string_view>& pieces) {
    mc::proto::LineBuffer buffer(8192);
    mc::proto::SmtpReplyParser parser;
    std::vector<Event> events;
    for (std::string_view piece : pieces) {
        buffer.append(piece);
        while (auto line = buffer.nextLine()) {
            const auto status = parser.feedLine(*line);
            if (status == mc::proto::SmtpReplyParser::Status::Complete) {
                mc::proto::SmtpReply reply = parser.take();
                MC_FUZZ_CHECK(reply.code >= 200 && reply.code <= 599);
                MC_FUZZ_CHECK(!reply.lines.empty() && reply.lines.size() <= 256);
                for (const auto& text : reply.lines) {
                    MC_FUZZ_CHECK(text.size() <= 4096);
                }
                const auto extensions = mc::proto::parseEhloExtensions(reply);
                MC_FUZZ_CHECK(extensions.entries.size() < reply.lines.size());
                for (const auto& [keyword, parameters] : extensions.entries) {
                    MC_FUZZ_CHECK(extensions.has(keyword));
                }
                events.push_back(Event{reply.code, std::move(reply.lines)});
            } else if (status == mc::proto::SmtpReplyParser::Status::Error) {
                MC_FUZZ_CHECK(parser.error() != mc::proto::SmtpReplyError::None);
                parser.take();  // resynchronise on the next line
                events.push_back(Event{});
            }
        }
    }
    return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = mc::fuzz::splitInput(data, size);
    const auto whole = parseStream({input.payload});
    const auto chunked = parseStream(mc::fuzz::pieces(input.payload, input.seed));
    MC_FUZZ_CHECK(whole == chunked);
    return 0;
}
