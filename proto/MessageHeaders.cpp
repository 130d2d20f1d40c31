#include "proto/MessageHeaders.hpp"

namespace mc::proto {

namespace {

char asciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsNoCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (asciiLower(a[i]) != asciiLower(b[i])) {
            return false;
        }
    }
    return true;
}

bool isWhitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view text) {
    while (!text.empty() && isWhitespace(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && isWhitespace(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

// Walks the header block line by line (LF or CRLF endings), stopping at the first empty line so
// the body is never read.
class HeaderLines {
public:
    explicit HeaderLines(std::string_view message) : rest_(message) {}
    // The next header line without its ending; nullopt at the end of the header block.
    std::optional<std::string_view> next() {
        if (rest_.empty()) {
            return std::nullopt;
        }
        const std::size_t lf = rest_.find('\n');
        std::string_view line = rest_.substr(0, lf);
        rest_ = lf == std::string_view::npos ? std::string_view() : rest_.substr(lf + 1);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.empty()) {
            rest_ = {};
            return std::nullopt;
        }
        return line;
    }
    // True when the next line continues the current field (starts with a space or tab).
    bool continues() const { return !rest_.empty() && (rest_[0] == ' ' || rest_[0] == '\t'); }

private:
    std::string_view rest_;
};

}  // namespace

std::optional<std::string> findHeader(std::string_view message, std::string_view name) {
    HeaderLines lines(message);
    while (auto line = lines.next()) {
        const std::size_t colon = line->find(':');
        // Continuation lines of other fields, and lines that are no field at all (an mbox "From "
        // line), are skipped. Whitespace before the colon is obsolete syntax but still seen.
        if (line->front() == ' ' || line->front() == '\t' || colon == std::string_view::npos ||
            !equalsNoCase(trim(line->substr(0, colon)), name)) {
            continue;
        }
        std::string value(trim(line->substr(colon + 1)));
        while (lines.continues()) {
            const std::string_view piece = trim(*lines.next());
            if (piece.empty()) {
                continue;
            }
            if (!value.empty()) {
                value.push_back(' ');
            }
            value.append(piece);
        }
        return value;
    }
    return std::nullopt;
}

std::optional<std::string> parseReturnPath(std::string_view value) {
    value = trim(value);
    if (value.size() < 2 || value.front() != '<' || value.back() != '>') {
        return std::nullopt;
    }
    const std::string_view address = value.substr(1, value.size() - 2);
    for (char c : address) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte >= 0x7F || c == '<' || c == '>') {
            return std::nullopt;
        }
    }
    return std::string(address);
}

}  // namespace mc::proto
