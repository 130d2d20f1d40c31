#include "proto/SmtpReply.hpp"
#include "proto/AsciiText.hpp"

namespace mc::proto {

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view text) {
    while (!text.empty() && isSpace(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && isSpace(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string SmtpReply::text() const {
    std::string joined;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i > 0) {
            joined += " / ";
        }
        joined += lines[i];
    }
    return joined;
}

SmtpReplyParser::Status SmtpReplyParser::feedLine(std::string_view line) {
    if (error_ != SmtpReplyError::None) {
        return Status::Error;
    }
    if (complete_) {
        // The caller skipped take(): the finished reply is dropped and this line starts the next.
        current_ = SmtpReply{};
        complete_ = false;
    }
    if (line.size() > kMaxLineLength) {
        error_ = SmtpReplyError::TooLong;
        return Status::Error;
    }
    if (line.size() < 3 || !isDigit(line[0]) || !isDigit(line[1]) || !isDigit(line[2])) {
        error_ = SmtpReplyError::Malformed;
        return Status::Error;
    }
    const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (code < 200 || code > 599) {
        error_ = SmtpReplyError::Malformed;
        return Status::Error;
    }
    // RFC 5321 4.2.1: a bare "NNN" is a final line without text.
    bool isFinal = true;
    std::string_view text;
    if (line.size() > 3) {
        if (line[3] == '-') {
            isFinal = false;
        } else if (line[3] != ' ') {
            error_ = SmtpReplyError::Malformed;
            return Status::Error;
        }
        text = line.substr(4);
    }
    if (!current_.lines.empty() && code != current_.code) {
        error_ = SmtpReplyError::CodeMismatch;
        return Status::Error;
    }
    if (current_.lines.size() >= kMaxLines) {
        error_ = SmtpReplyError::TooManyLines;
        return Status::Error;
    }
    current_.code = code;
    current_.lines.emplace_back(text);
    if (isFinal) {
        complete_ = true;
        return Status::Complete;
    }
    return Status::NeedMore;
}

SmtpReply SmtpReplyParser::take() {
    SmtpReply reply = std::move(current_);
    current_ = SmtpReply{};
    error_ = SmtpReplyError::None;
    complete_ = false;
    return reply;
}

bool EhloExtensions::has(std::string_view keyword) const {
    for (const auto& entry : entries) {
        if (equalsNoCase(entry.first, keyword)) {
            return true;
        }
    }
    return false;
}

std::string EhloExtensions::parameters(std::string_view keyword) const {
    for (const auto& entry : entries) {
        if (equalsNoCase(entry.first, keyword)) {
            return entry.second;
        }
    }
    return {};
}

EhloExtensions parseEhloExtensions(const SmtpReply& reply) {
    EhloExtensions extensions;
    // The first line is "domain greeting", not an extension.
    for (std::size_t i = 1; i < reply.lines.size(); ++i) {
        const std::string_view line = trim(reply.lines[i]);
        if (line.empty()) {
            continue;
        }
        const std::size_t space = line.find(' ');
        std::string keyword(line.substr(0, space));
        for (char& c : keyword) {
            c = asciiUpper(c);
        }
        std::string parameters;
        if (space != std::string_view::npos) {
            parameters = std::string(trim(line.substr(space + 1)));
        }
        extensions.entries.emplace_back(std::move(keyword), std::move(parameters));
    }
    return extensions;
}

}  // namespace mc::proto
