#pragma once
// POP3 (RFC 1939, 2449, 5034) reply parsing: status lines, UIDL/LIST/CAPA listing lines, and the
// streaming decoder for dot-stuffed multi-line bodies. Pure: no sockets, no throws.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mc::proto {

struct Pop3Status {
    bool ok = false;
    bool continuation = false;  // "+ base64" SASL challenge
    std::string code;           // RFC 2449 response code without brackets, e.g. "IN-USE", "SYS/TEMP"
    std::string text;           // the rest of the line
};
// Parses "+OK ...", "-ERR ...", "+ challenge"; nullopt when the line is none of these.
std::optional<Pop3Status> parsePop3Status(std::string_view line);

struct Pop3ListingEntry {
    std::uint32_t number = 0;
    std::string value;  // UIDL: the unique id; LIST: the size as text
};
// Parses one line of a UIDL or LIST listing ("3 abc"). nullopt when malformed: non-numeric or zero
// message number, missing value, a UIDL outside 0x21..0x7E or longer than 70 chars (RFC 1939).
std::optional<Pop3ListingEntry> parseUidlLine(std::string_view line);
// LIST line: number and size; nullopt when malformed, negative or beyond 2^53.
std::optional<std::pair<std::uint32_t, std::uint64_t>> parseListLine(std::string_view line);

// Decodes a dot-stuffed multi-line body (RETR, TOP) as it arrives in arbitrary chunks:
// removes the stuffed leading '.', keeps line endings exactly as sent, and stops right after the
// terminating "." line. A final line without a line ending before the terminator cannot occur in
// POP3 (the terminator starts a line), so the output is byte-exact.
class DotStuffedBodyDecoder {
public:
    struct Progress {
        std::size_t consumed = 0;  // bytes of `input` used; the rest belongs to the next reply
        bool done = false;         // the terminating line was seen
    };
    // Appends decoded bytes to `out`.
    Progress feed(std::string_view input, std::string& out);
    bool done() const { return state_ == State::Done; }
    void reset() { state_ = State::LineStart; }

private:
    enum class State { LineStart, InLine, AfterCr, DotAtLineStart, DotCr, Done };
    State state_ = State::LineStart;
};

}  // namespace mc::proto
