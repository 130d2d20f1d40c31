// Fuzzes the IMAP response parser on a response stream: responses, errors and the bytes a literal
// sink receives must not depend on the chunking (whole, fuzzer-chosen pieces, byte by byte), and
// every completed response must respect the caps and survive every accessor. The same payload
// also drives modified UTF-7 (canonical round trips), imapQuote (a quoted token parses back to
// the value) and imapSequenceSet (sets within the length cap that hold exactly the UIDs).

#include <algorithm>
#include <string>
#include <vector>

#include "proto/ImapCommand.hpp"
#include "proto/ImapParser.hpp"
#include "proto/ModifiedUtf7.hpp"
#include "tests/fuzz/FuzzSupport.hpp"

namespace {

using mc::proto::ImapParseError;
using mc::proto::ImapParserLimits;
using mc::proto::ImapResponse;
using mc::proto::ImapResponseParser;
using mc::proto::ImapValue;

ImapParserLimits fuzzLimits() {
    ImapParserLimits limits;
    limits.maxLineLength = 256;
    limits.maxLiteralSize = 4096;
    limits.maxResponseSize = 8192;
    limits.maxDepth = 8;
    limits.maxElements = 500;
    limits.streamThreshold = 16;
    return limits;
}

class RecordingSink : public mc::proto::ImapLiteralSink {
public:
    explicit RecordingSink(std::vector<std::string>& events) : events_(events) {}
    bool begin(const mc::proto::ImapLiteralInfo& info) override {
        MC_FUZZ_CHECK(!open_);
        MC_FUZZ_CHECK(info.size > fuzzLimits().streamThreshold);
        MC_FUZZ_CHECK(info.size <= fuzzLimits().maxLiteralSize);
        open_ = true;
        remaining_ = info.size;
        events_.push_back("begin " + std::to_string(info.size) + " " + info.key + " " +
                          std::to_string(info.messageNumber) + (info.literal8 ? " 8" : ""));
        events_.push_back("data ");
        return true;
    }
    bool data(std::string_view bytes) override {
        MC_FUZZ_CHECK(open_);
        MC_FUZZ_CHECK(!bytes.empty() && bytes.size() <= remaining_);
        remaining_ -= bytes.size();
        events_.back().append(bytes);
        return true;
    }
    void end() override {
        MC_FUZZ_CHECK(open_ && remaining_ == 0);
        open_ = false;
        events_.push_back("end");
    }
    bool open() const { return open_; }

private:
    std::vector<std::string>& events_;
    bool open_ = false;
    std::uint64_t remaining_ = 0;
};

// Depth and element count of a value tree, within the caps.
void checkTree(const std::vector<ImapValue>& values, std::size_t depth, std::size_t& elements) {
    for (const ImapValue& value : values) {
        ++elements;
        if (value.isList() || value.hasSection) {
            MC_FUZZ_CHECK(depth < fuzzLimits().maxDepth);
            checkTree(value.children, depth + 1, elements);
            checkTree(value.section, depth + 1, elements);
        }
        if (value.streamed) {
            MC_FUZZ_CHECK(value.text.empty() && value.literal);
            MC_FUZZ_CHECK(value.literalSize > fuzzLimits().streamThreshold);
        } else if (value.literal) {
            MC_FUZZ_CHECK(value.text.size() == value.literalSize);
        }
        (void)value.render();
        (void)value.key();
        (void)value.asString();
    }
}

std::string describe(const ImapResponse& response) {
    std::size_t elements = 0;
    checkTree(response.data, 0, elements);
    MC_FUZZ_CHECK(elements <= fuzzLimits().maxElements);
    MC_FUZZ_CHECK(response.text.size() <= fuzzLimits().maxLineLength);
    MC_FUZZ_CHECK(response.tag.size() <= fuzzLimits().maxLineLength);
    MC_FUZZ_CHECK(response.isTagged() == !response.tag.empty());

    // Every accessor, on every response.
    (void)response.exists();
    (void)response.expunge();
    (void)response.recent();
    (void)response.capabilities();
    (void)response.flags();
    (void)response.mailboxStatus();
    (void)response.search();
    (void)response.esearch();
    if (const auto entry = response.list()) {
        if (const auto decoded = mc::proto::modifiedUtf7Decode(entry->name)) {
            MC_FUZZ_CHECK(mc::proto::modifiedUtf7Encode(*decoded) == entry->name);
        }
    }
    if (const auto fetch = response.fetch()) {
        MC_FUZZ_CHECK(fetch->sequence > 0);
        for (const auto& [key, value] : fetch->items) {
            MC_FUZZ_CHECK(fetch->item(key) != nullptr);
            (void)value->render();
        }
        if (const ImapValue* body = fetch->body()) {
            MC_FUZZ_CHECK(body->isString() || body->isNil());
        }
    }
    if (response.code) {
        (void)response.code->number();
        (void)response.code->atoms();
        (void)response.code->copyUid();
        (void)response.code->appendUid();
    }

    std::string out = response.isTagged() ? "T" + response.tag : response.isUntagged() ? "U" : "C";
    out += " " + response.keyword() + " ";
    if (response.code) {
        out += "[" + response.code->name + "|" + response.code->arguments + "] ";
    }
    out += response.text + " ";
    for (const ImapValue& value : response.data) {
        out += value.render() + (value.streamed ? "!" : "") + "|";
    }
    return out;
}

std::vector<std::string> parseStream(const std::vector<std::string_view>& pieces, bool useSink) {
    std::vector<std::string> events;
    RecordingSink sink(events);
    ImapResponseParser parser(fuzzLimits());
    if (useSink) {
        parser.setLiteralSink(&sink);
    }
    for (std::string_view piece : pieces) {
        while (true) {
            const auto progress = parser.feed(piece);
            MC_FUZZ_CHECK(progress.consumed <= piece.size());
            piece.remove_prefix(progress.consumed);
            if (progress.status == ImapResponseParser::Status::Complete) {
                MC_FUZZ_CHECK(!sink.open());
                events.push_back(describe(parser.take()));
                continue;
            }
            if (progress.status == ImapResponseParser::Status::Error) {
                MC_FUZZ_CHECK(parser.failed() && parser.error() != ImapParseError::None);
                MC_FUZZ_CHECK(parser.feed("* 1 EXISTS\r\n").consumed == 0);
                events.push_back("error " + std::string(mc::proto::imapParseErrorName(parser.error())));
                return events;
            }
            MC_FUZZ_CHECK(piece.empty());
            // Bounded by the caps: bytes held, values, and never the streamed literals.
            MC_FUZZ_CHECK(parser.heldBytes() <= 4 * fuzzLimits().maxResponseSize +
                                                    fuzzLimits().maxElements * (2 * sizeof(ImapValue) + 32) +
                                                    64 * 1024);
            break;
        }
    }
    return events;
}

void checkUtf7(std::string_view payload) {
    if (const auto decoded = mc::proto::modifiedUtf7Decode(payload)) {
        MC_FUZZ_CHECK(mc::proto::isValidUtf8(*decoded));
        MC_FUZZ_CHECK(mc::proto::modifiedUtf7Encode(*decoded) == payload);
    }
    if (const auto encoded = mc::proto::modifiedUtf7Encode(payload)) {
        MC_FUZZ_CHECK(mc::proto::isValidUtf8(payload));
        MC_FUZZ_CHECK(mc::proto::modifiedUtf7Decode(*encoded) == payload);
    } else {
        MC_FUZZ_CHECK(!mc::proto::isValidUtf8(payload));
    }
}

void checkQuote(std::string_view payload, std::uint32_t seed) {
    const auto mode = static_cast<mc::proto::ImapLiteralMode>(seed % 3);
    const bool utf8 = (seed & 4) != 0;
    const auto quoted = mc::proto::imapQuote(payload, mode, utf8);
    if (!quoted) {
        MC_FUZZ_CHECK(payload.find('\0') != std::string_view::npos);
        return;
    }
    std::string wire = "* X " + quoted->token + "\r\n";
    if (quoted->literal) {
        MC_FUZZ_CHECK(quoted->token.front() == '{' && quoted->token.back() == '}');
        MC_FUZZ_CHECK((quoted->token.find('+') != std::string::npos) == quoted->nonSynchronizing);
        wire = "* X " + quoted->token + "\r\n" + std::string(payload) + "\r\n";
    }
    ImapParserLimits limits;
    ImapResponseParser parser(limits);
    const auto progress = parser.feed(wire);
    MC_FUZZ_CHECK(progress.status == ImapResponseParser::Status::Complete);
    MC_FUZZ_CHECK(progress.consumed == wire.size());
    const ImapResponse response = parser.take();
    MC_FUZZ_CHECK(response.data.size() == 2 && response.data[1].isString());
    MC_FUZZ_CHECK(response.data[1].text == payload);
}

void checkSequenceSet(std::string_view payload, std::uint32_t seed) {
    std::vector<std::uint32_t> uids;
    for (std::size_t i = 0; i + 1 < payload.size() && uids.size() < 2000; i += 2) {
        // Small values so that runs form; the seed's high bits spread them out.
        const auto value = static_cast<std::uint32_t>(static_cast<unsigned char>(payload[i])) |
                           static_cast<std::uint32_t>(static_cast<unsigned char>(payload[i + 1])) << (seed >> 29);
        uids.push_back(value);
    }
    const std::size_t maxLength = seed % 64;
    std::vector<std::uint32_t> back;
    for (const std::string& set : mc::proto::imapSequenceSet(uids, maxLength)) {
        MC_FUZZ_CHECK(set.size() <= std::max<std::size_t>(maxLength, 21));
        const auto ranges = mc::proto::parseImapSequenceSet(set);
        MC_FUZZ_CHECK(ranges.has_value());
        for (const auto& range : *ranges) {
            MC_FUZZ_CHECK(range.first <= range.last);
            MC_FUZZ_CHECK(back.empty() || range.first > back.back() + 1);
            for (std::uint64_t uid = range.first; uid <= range.last; ++uid) {
                back.push_back(static_cast<std::uint32_t>(uid));
            }
        }
    }
    std::sort(uids.begin(), uids.end());
    uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
    if (!uids.empty() && uids.front() == 0) {
        uids.erase(uids.begin());
    }
    MC_FUZZ_CHECK(back == uids);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = mc::fuzz::splitInput(data, size);
    const bool useSink = (input.seed & 8) == 0;
    const auto whole = parseStream({input.payload}, useSink);
    MC_FUZZ_CHECK(parseStream(mc::fuzz::pieces(input.payload, input.seed), useSink) == whole);
    if (input.payload.size() <= 2048) {
        std::vector<std::string_view> bytes;
        for (std::size_t i = 0; i < input.payload.size(); ++i) {
            bytes.push_back(input.payload.substr(i, 1));
        }
        MC_FUZZ_CHECK(parseStream(bytes, useSink) == whole);
    }
    checkUtf7(input.payload);
    checkQuote(input.payload, input.seed);
    checkSequenceSet(input.payload, input.seed);
    return 0;
}
