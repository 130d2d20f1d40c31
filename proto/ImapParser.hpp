#pragma once
// Streaming IMAP4 response parser (RFC 3501, RFC 9051): bytes in any chunking in, complete
// ImapResponse values out. Literals ({n}, {n+}, ~{n}) may appear anywhere in a response and the
// line continues after their bytes; literals above a threshold can be streamed to a sink instead
// of being held. Every cap produces a typed error, after which the parser stays failed. Pure: no
// sockets, no throws.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/ImapResponse.hpp"

namespace mc::proto {

enum class ImapParseError {
    None,
    Malformed,         // not IMAP response syntax
    LineTooLong,       // a line (the bytes between literals) above maxLineLength
    BadLiteral,        // "{" not followed by digits, optional "+", "}" and CRLF
    LiteralTooLarge,   // a literal above maxLiteralSize (sizes above 2^63 always)
    ResponseTooLarge,  // the bytes held for one response above maxResponseSize
    NumberTooLarge,    // a number above 2^64-1
    TooDeep,           // lists and sections nested deeper than maxDepth
    TooManyElements,   // more than maxElements values in one response
    SinkRejected,      // the ImapLiteralSink refused a literal or its data
};
std::string_view imapParseErrorName(ImapParseError error);

struct ImapParserLimits {
    std::size_t maxLineLength = 64 * 1024;         // each line outside literals, without CRLF
    std::uint64_t maxLiteralSize = 1ULL << 30;     // each literal, streamed or not
    std::uint64_t maxResponseSize = 256ULL << 20;  // bytes held for one response (lines and
                                                   // inline literals; streamed ones don't count)
    std::size_t maxDepth = 64;                     // nested lists and sections
    std::size_t maxElements = 1'000'000;           // values in one response
    // Literals larger than this go to the sink, when one is set; smaller ones stay in the tree.
    std::uint64_t streamThreshold = 1ULL << 20;
};

// Where the literal being streamed belongs.
struct ImapLiteralInfo {
    std::uint64_t size = 0;
    bool literal8 = false;
    std::uint32_t messageNumber = 0;  // n of "* n FETCH" when the literal is a FETCH item, else 0
    std::string key;                  // that item's key ("BODY[]", "BODY[]<0>"), else empty
};

// Receives literals above the threshold. Calls come from inside feed(), in order: begin(), then
// data() with consecutive pieces (views into feed()'s input) that add up to the size, then end().
// Afterwards the literal's value in the response has `streamed` set and an empty `text`. The
// response may still turn out malformed after end() (the parser then fails): keep what a sink
// received only once the response completes.
class ImapLiteralSink {
public:
    virtual ~ImapLiteralSink() = default;
    // False refuses the literal: the parser fails with SinkRejected.
    virtual bool begin(const ImapLiteralInfo& info) = 0;
    // False aborts: the parser fails with SinkRejected.
    virtual bool data(std::string_view bytes) = 0;
    virtual void end() = 0;
};

class ImapResponseParser {
public:
    enum class Status { NeedMore, Complete, Error };
    struct Progress {
        std::size_t consumed = 0;  // bytes of the input used; feed the rest after take()
        Status status = Status::NeedMore;
    };

    explicit ImapResponseParser(ImapParserLimits limits = {}) : limits_(limits) {}

    // Literals above limits().streamThreshold go to `sink` (nullptr: every literal stays inline).
    // The sink must outlive the parser or be replaced.
    void setLiteralSink(ImapLiteralSink* sink) { sink_ = sink; }

    // Consumes bytes up to the end of the next complete response (Complete: take() it, then feed
    // what was not consumed), or all of them (NeedMore), or up to a failure (Error, and every
    // later call returns Error without consuming). While a completed response waits for take(),
    // feed() consumes nothing and returns Complete. Works with any chunking, one byte at a time
    // included.
    Progress feed(std::string_view bytes);
    bool hasResponse() const { return state_ == State::Done; }
    // The completed response; afterwards the parser continues with the next one.
    ImapResponse take();

    ImapParseError error() const { return error_; }
    bool failed() const { return error_ != ImapParseError::None; }
    const ImapParserLimits& limits() const { return limits_; }
    // Bytes allocated for the response in progress (string capacities in the tree and the parser's
    // buffers). Streamed literals never count: the parser does not keep them.
    std::size_t heldBytes() const;

private:
    enum class State {
        Start,              // the first byte of a response
        Tag,                // inside the tag of a tagged response
        TagStatus,          // the OK/NO/BAD after the tag
        UntaggedSpace,      // after "*"
        ContinuationSpace,  // after "+"
        Text,               // resp-text, up to the end of the line
        Between,            // data: between tokens
        Atom,
        Quoted,
        QuotedEscape,
        Tilde,         // "~" at a token start: literal8 or an atom
        LiteralSize,   // inside "{digits"
        LiteralClose,  // after "{digits+"
        LiteralCr,     // after "}"
        LiteralLf,     // after "}\r"
        LiteralBody,
        AfterSection,  // after "]" closing a section: "<origin>" may follow
        Origin,        // inside "<digits"
        LineCr,        // data: CR seen, LF must follow
        Done,          // a response is complete and waits for take()
        Failed,
    };
    struct Container {
        std::vector<ImapValue>* values;
        bool section;  // closed by "]" rather than ")"
    };

    std::vector<ImapValue>& top();
    ImapLiteralInfo literalInfo(std::uint64_t size) const;
    bool step(char c, bool& advance);
    bool fail(ImapParseError error);
    bool countLineByte(char c);
    bool addValue(ImapValue value);
    bool finishAtom(char terminator, bool& advance);
    bool startLiteralBody();
    bool feedLiteralBody(std::string_view bytes, std::size_t& used);
    void finishLiteral();
    bool finishData();
    void finishText();
    void resetResponse();

    ImapParserLimits limits_;
    ImapLiteralSink* sink_ = nullptr;
    State state_ = State::Start;
    ImapParseError error_ = ImapParseError::None;

    ImapResponse response_;            // the response in progress, or the completed one
    std::vector<Container> stack_;     // open lists and sections (the root is response_.data)
    std::string token_;                // the atom, quoted string or tag being read
    std::size_t lineLength_ = 0;       // bytes of the current line so far
    std::uint64_t responseBytes_ = 0;  // bytes held for the response in progress
    std::size_t elements_ = 0;         // values in the response in progress
    bool untaggedFirst_ = false;       // the next top-level token is the first after "* "
    std::uint64_t number_ = 0;         // literal size or origin being read
    bool sawDigit_ = false;
    bool literal8_ = false;
    ImapLiteralSink* activeSink_ = nullptr;  // the literal in progress goes there
    std::uint64_t literalRemaining_ = 0;
};

}  // namespace mc::proto
