#include "proto/Pop3Reply.hpp"

#include <cstring>

namespace mc::proto {

namespace {

constexpr std::size_t kMaxUidLength = 70;                       // RFC 1939 section 7, UIDL
constexpr std::uint64_t kMaxListSize = std::uint64_t{1} << 53;  // sizes above are not plausible

char asciiUpper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool startsWithNoCase(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (asciiUpper(text[i]) != asciiUpper(prefix[i])) {
            return false;
        }
    }
    return true;
}

bool isTrailingSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trimTrailing(std::string_view text) {
    while (!text.empty() && isTrailingSpace(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

std::string_view trimLeadingSpaces(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    return text;
}

// Plain decimal digits only: no sign, no spaces, no empty string, no value above `max`.
std::optional<std::uint64_t> parseDecimal(std::string_view digits, std::uint64_t max) {
    if (digits.empty()) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (max - digit) / 10) {
            return std::nullopt;
        }
        value = value * 10 + digit;
    }
    return value;
}

// "N rest" with exactly one space; N in 1..2^32-1. Trailing whitespace was removed by the caller.
std::optional<std::pair<std::uint32_t, std::string_view>> splitNumbered(std::string_view line) {
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos) {
        return std::nullopt;
    }
    const auto number = parseDecimal(line.substr(0, space), UINT32_MAX);
    if (!number || *number == 0) {
        return std::nullopt;
    }
    return std::make_pair(static_cast<std::uint32_t>(*number), line.substr(space + 1));
}

// RFC 2449 resp-code: one or more levels of printable characters other than ']'.
bool isResponseCode(std::string_view code) {
    if (code.empty()) {
        return false;
    }
    for (char c : code) {
        if (c < 0x21 || c > 0x7E || c == ']' || c == '[') {
            return false;
        }
    }
    return true;
}

Pop3Status makeStatus(bool ok, std::string_view rest) {
    Pop3Status status;
    status.ok = ok;
    rest = trimTrailing(rest);
    if (!rest.empty() && rest.front() == '[') {
        const std::size_t close = rest.find(']');
        if (close != std::string_view::npos && isResponseCode(rest.substr(1, close - 1))) {
            status.code = std::string(rest.substr(1, close - 1));
            rest = trimLeadingSpaces(rest.substr(close + 1));
        }
    }
    status.text = std::string(rest);
    return status;
}

}  // namespace

std::optional<Pop3Status> parsePop3Status(std::string_view line) {
    // RFC 1939 says the indicators are upper case; some servers send lower case anyway.
    if (startsWithNoCase(line, "+OK")) {
        if (line.size() == 3) {
            return makeStatus(true, {});
        }
        if (line[3] == ' ') {
            return makeStatus(true, line.substr(4));
        }
        return std::nullopt;
    }
    if (startsWithNoCase(line, "-ERR")) {
        if (line.size() == 4) {
            return makeStatus(false, {});
        }
        if (line[4] == ' ') {
            return makeStatus(false, line.substr(5));
        }
        return std::nullopt;
    }
    if (line == "+" || (line.size() >= 2 && line[0] == '+' && line[1] == ' ')) {
        Pop3Status status;
        status.ok = true;
        status.continuation = true;
        if (line.size() > 2) {
            status.text = std::string(trimTrailing(line.substr(2)));
        }
        return status;
    }
    return std::nullopt;
}

std::optional<Pop3ListingEntry> parseUidlLine(std::string_view line) {
    const auto parts = splitNumbered(trimTrailing(line));
    if (!parts) {
        return std::nullopt;
    }
    const std::string_view value = parts->second;
    if (value.empty() || value.size() > kMaxUidLength) {
        return std::nullopt;
    }
    for (char c : value) {
        if (c < 0x21 || c > 0x7E) {
            return std::nullopt;
        }
    }
    return Pop3ListingEntry{parts->first, std::string(value)};
}

std::optional<std::pair<std::uint32_t, std::uint64_t>> parseListLine(std::string_view line) {
    const auto parts = splitNumbered(trimTrailing(line));
    if (!parts) {
        return std::nullopt;
    }
    const auto size = parseDecimal(parts->second, kMaxListSize);
    if (!size) {
        return std::nullopt;
    }
    return std::make_pair(parts->first, *size);
}

DotStuffedBodyDecoder::Progress DotStuffedBodyDecoder::feed(std::string_view input, std::string& out) {
    const char* data = input.data();
    const std::size_t size = input.size();
    std::size_t pos = 0;
    while (pos < size && state_ != State::Done) {
        switch (state_) {
            case State::LineStart:
                if (data[pos] == '.') {
                    state_ = State::DotAtLineStart;
                    ++pos;
                } else {
                    state_ = State::InLine;
                }
                break;
            case State::DotAtLineStart:
                if (data[pos] == '\n') {
                    ++pos;
                    state_ = State::Done;
                } else if (data[pos] == '\r') {
                    ++pos;
                    state_ = State::DotCr;
                } else {
                    // ".." and "." followed by anything else: the stuffed dot is dropped and the
                    // rest of the line, including a second dot, is copied as is.
                    state_ = State::InLine;
                }
                break;
            case State::DotCr:
                if (data[pos] == '\n') {
                    ++pos;
                    state_ = State::Done;
                } else {
                    // ".\r" not followed by LF: a line ".<CR>..." whose stuffed dot is dropped.
                    out.push_back('\r');
                    state_ = State::InLine;
                }
                break;
            case State::InLine:
            case State::AfterCr: {
                // Only LF ends a line (CR LF or bare LF); a bare CR is an ordinary byte here.
                const void* lf = std::memchr(data + pos, '\n', size - pos);
                if (lf == nullptr) {
                    out.append(data + pos, size - pos);
                    pos = size;
                } else {
                    const auto end = static_cast<std::size_t>(static_cast<const char*>(lf) - data) + 1;
                    out.append(data + pos, end - pos);
                    pos = end;
                    state_ = State::LineStart;
                }
                break;
            }
            case State::Done:
                break;
        }
    }
    return Progress{pos, state_ == State::Done};
}

}  // namespace mc::proto
