#pragma once
// SMTP/LMTP reply parsing (RFC 5321 4.2): multi-line replies, enhanced status codes. Pure.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mc::proto {

struct SmtpReply {
    int code = 0;                    // 200..599
    std::vector<std::string> lines;  // text of each line, after "NNN-" / "NNN "
    bool positive() const { return code >= 200 && code < 400; }
    bool transient() const { return code >= 400 && code < 500; }
    bool permanent() const { return code >= 500; }
    std::string text() const;  // lines joined with " / "
};

enum class SmtpReplyError { None, Malformed, TooLong, TooManyLines, CodeMismatch };

// Feed lines (without line endings) one at a time; a reply completes on its "NNN " line.
class SmtpReplyParser {
public:
    enum class Status { NeedMore, Complete, Error };
    Status feedLine(std::string_view line);
    // Valid after Complete; resets the parser for the next reply.
    SmtpReply take();
    SmtpReplyError error() const { return error_; }

private:
    SmtpReply current_;
    SmtpReplyError error_ = SmtpReplyError::None;
    bool complete_ = false;  // the final line was seen and take() not yet called
    static constexpr std::size_t kMaxLines = 256;
    static constexpr std::size_t kMaxLineLength = 4096;
};

// EHLO/LHLO keywords from a 250 reply's lines (first line is the greeting), upper-cased keyword
// plus its parameters, e.g. {"SIZE", "52428800"}, {"AUTH", "PLAIN LOGIN"}.
struct EhloExtensions {
    std::vector<std::pair<std::string, std::string>> entries;
    bool has(std::string_view keyword) const;
    std::string parameters(std::string_view keyword) const;
};
EhloExtensions parseEhloExtensions(const SmtpReply& reply);

}  // namespace mc::proto
