#include "proto/ImapParser.hpp"
#include "proto/AsciiText.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

namespace mc::proto {

namespace {

// Literal sizes at or above 2^63 are refused whatever the configured cap.
constexpr std::uint64_t kLargestLiteral = (std::uint64_t{1} << 63) - 1;
// Response codes are one line of text; their arguments never nest deeply.
constexpr std::size_t kMaxCodeDepth = 8;

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool isCtl(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

// RFC 3501 tag: ASTRING-CHAR except "+", i.e. 7-bit, no CTL, no SP and none of ( ) { % * " \.
bool isTagChar(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || isCtl(c)) {
        return false;
    }
    switch (c) {
        case ' ':
        case '(':
        case ')':
        case '{':
        case '%':
        case '*':
        case '"':
        case '\\':
        case '+':
            return false;
        default:
            return true;
    }
}

// FETCH keys that carry a "[section]"; anywhere else "[" and "]" are ordinary astring characters
// (mailbox names such as [Gmail]/Sent).
bool isSectionKey(std::string_view atom) {
    return equalsNoCase(atom, "BODY") || equalsNoCase(atom, "BODY.PEEK") || equalsNoCase(atom, "BINARY") ||
           equalsNoCase(atom, "BINARY.PEEK") || equalsNoCase(atom, "BINARY.SIZE");
}

std::optional<ImapStatus> taggedStatus(std::string_view word) {
    if (equalsNoCase(word, "OK")) {
        return ImapStatus::Ok;
    }
    if (equalsNoCase(word, "NO")) {
        return ImapStatus::No;
    }
    if (equalsNoCase(word, "BAD")) {
        return ImapStatus::Bad;
    }
    return std::nullopt;
}

std::optional<ImapStatus> untaggedStatus(std::string_view word) {
    if (equalsNoCase(word, "BYE")) {
        return ImapStatus::Bye;
    }
    if (equalsNoCase(word, "PREAUTH")) {
        return ImapStatus::Preauth;
    }
    return taggedStatus(word);
}

// value = value * 10 + digit; false when the result would exceed `limit`.
bool appendDigit(std::uint64_t& value, char digit, std::uint64_t limit) {
    const auto d = static_cast<std::uint64_t>(digit - '0');
    if (d > limit || value > (limit - d) / 10) {
        return false;
    }
    value = value * 10 + d;
    return true;
}

// Turns a bare token into NIL, a number or an atom; false when an all-digit token overflows.
bool classifyAtom(std::string text, ImapValue& value) {
    if (equalsNoCase(text, "NIL")) {
        value.kind = ImapValueKind::Nil;
        return true;
    }
    const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), isDigit);
    if (digits) {
        std::uint64_t number = 0;
        for (char c : text) {
            if (!appendDigit(number, c, std::numeric_limits<std::uint64_t>::max())) {
                return false;
            }
        }
        value.kind = ImapValueKind::Number;
        value.number = number;
    } else {
        value.kind = ImapValueKind::Atom;
    }
    value.text = std::move(text);
    return true;
}

// Tokenizes a response code's arguments: atoms, numbers, quoted strings, NIL and lists. Codes are
// text, so no literals; false when the arguments are not such data.
bool tokenizeArguments(std::string_view& in, std::vector<ImapValue>& out, std::size_t depth) {
    while (!in.empty()) {
        const char c = in.front();
        if (c == ' ') {
            in.remove_prefix(1);
        } else if (c == ')') {
            in.remove_prefix(1);
            return depth > 0;
        } else if (c == '(') {
            if (depth >= kMaxCodeDepth) {
                return false;
            }
            in.remove_prefix(1);
            ImapValue list;
            list.kind = ImapValueKind::List;
            if (!tokenizeArguments(in, list.children, depth + 1)) {
                return false;
            }
            out.push_back(std::move(list));
        } else if (c == '"') {
            ImapValue string;
            string.kind = ImapValueKind::String;
            std::size_t i = 1;
            for (;; ++i) {
                if (i >= in.size()) {
                    return false;
                }
                if (in[i] == '"') {
                    break;
                }
                if (in[i] == '\\') {
                    if (i + 1 >= in.size() || (in[i + 1] != '"' && in[i + 1] != '\\')) {
                        return false;
                    }
                    ++i;
                }
                string.text.push_back(in[i]);
            }
            in.remove_prefix(i + 1);
            out.push_back(std::move(string));
        } else if (isCtl(c) || c == '{') {
            return false;
        } else {
            std::size_t n = 0;
            while (n < in.size() && in[n] != ' ' && in[n] != '(' && in[n] != ')' && in[n] != '"' && in[n] != '{' &&
                   !isCtl(in[n])) {
                ++n;
            }
            ImapValue atom;
            if (!classifyAtom(std::string(in.substr(0, n)), atom)) {
                return false;
            }
            in.remove_prefix(n);
            out.push_back(std::move(atom));
        }
    }
    return depth == 0;
}

// resp-text: an optional "[CODE arguments]" then the text.
void parseRespText(std::string_view line, ImapResponse& response) {
    if (!line.empty() && line.front() == '[') {
        const std::size_t close = line.find(']');
        if (close != std::string_view::npos) {
            const std::string_view inner = line.substr(1, close - 1);
            const std::size_t space = inner.find(' ');
            const std::string_view name = inner.substr(0, space);
            const bool nameValid = !name.empty() && std::none_of(name.begin(), name.end(), [](char c) {
                return isCtl(c) || c == '(' || c == ')' || c == '{' || c == '"';
            });
            if (nameValid) {
                ImapResponseCode code;
                code.name = asciiUpperCopy(name);
                if (space != std::string_view::npos) {
                    code.arguments = std::string(inner.substr(space + 1));
                }
                std::string_view arguments = code.arguments;
                if (!tokenizeArguments(arguments, code.values, 0)) {
                    code.values.clear();
                }
                response.code = std::move(code);
                line.remove_prefix(close + 1);
                if (!line.empty() && line.front() == ' ') {
                    line.remove_prefix(1);
                }
            }
        }
    }
    response.text = std::string(line);
}

std::size_t valueBytes(const std::vector<ImapValue>& values) {
    std::size_t total = values.capacity() * sizeof(ImapValue);
    for (const ImapValue& value : values) {
        total += value.text.capacity() + valueBytes(value.children) + valueBytes(value.section);
    }
    return total;
}

}  // namespace

std::string_view imapParseErrorName(ImapParseError error) {
    switch (error) {
        case ImapParseError::None:
            return "none";
        case ImapParseError::Malformed:
            return "malformed response";
        case ImapParseError::LineTooLong:
            return "line too long";
        case ImapParseError::BadLiteral:
            return "bad literal";
        case ImapParseError::LiteralTooLarge:
            return "literal too large";
        case ImapParseError::ResponseTooLarge:
            return "response too large";
        case ImapParseError::NumberTooLarge:
            return "number too large";
        case ImapParseError::TooDeep:
            return "nesting too deep";
        case ImapParseError::TooManyElements:
            return "too many elements";
        case ImapParseError::SinkRejected:
            return "literal sink rejected data";
    }
    return "unknown";
}

ImapResponseParser::Progress ImapResponseParser::feed(std::string_view bytes) {
    Progress progress;
    if (state_ == State::Failed) {
        progress.status = Status::Error;
        return progress;
    }
    if (state_ == State::Done) {
        progress.status = Status::Complete;
        return progress;
    }
    std::size_t i = 0;
    // Bytes before this index were already counted against the caps: a byte handed back by a
    // state (advance == false) is looked at twice but counted once.
    std::size_t counted = 0;
    while (i < bytes.size()) {
        if (state_ == State::LiteralBody) {
            std::size_t used = 0;
            if (!feedLiteralBody(bytes.substr(i), used)) {
                progress.consumed = i;
                progress.status = Status::Error;
                return progress;
            }
            i += used;
            counted = i;
            continue;
        }
        const char c = bytes[i];
        if (i >= counted) {
            counted = i + 1;
            if (!countLineByte(c)) {
                progress.consumed = i;
                progress.status = Status::Error;
                return progress;
            }
        }
        bool advance = true;
        if (!step(c, advance)) {
            progress.consumed = i;
            progress.status = Status::Error;
            return progress;
        }
        if (advance) {
            ++i;
        }
        if (state_ == State::Done) {
            progress.consumed = i;
            progress.status = Status::Complete;
            return progress;
        }
    }
    progress.consumed = i;
    return progress;
}

ImapResponse ImapResponseParser::take() {
    if (state_ != State::Done) {
        return ImapResponse{};
    }
    ImapResponse response = std::move(response_);
    resetResponse();
    return response;
}

std::size_t ImapResponseParser::heldBytes() const {
    std::size_t total = token_.capacity() + response_.tag.capacity() + response_.text.capacity() +
                        valueBytes(response_.data) + stack_.capacity() * sizeof(Container);
    if (response_.code) {
        total +=
            response_.code->name.capacity() + response_.code->arguments.capacity() + valueBytes(response_.code->values);
    }
    return total;
}

void ImapResponseParser::resetResponse() {
    response_ = ImapResponse{};
    stack_.clear();
    token_.clear();
    if (token_.capacity() > limits_.maxLineLength) {
        token_.shrink_to_fit();
    }
    lineLength_ = 0;
    responseBytes_ = 0;
    elements_ = 0;
    untaggedFirst_ = false;
    activeSink_ = nullptr;
    literalRemaining_ = 0;
    state_ = State::Start;
}

bool ImapResponseParser::fail(ImapParseError error) {
    error_ = error;
    state_ = State::Failed;
    return false;
}

std::vector<ImapValue>& ImapResponseParser::top() { return stack_.empty() ? response_.data : *stack_.back().values; }

bool ImapResponseParser::countLineByte(char c) {
    if (c == '\n') {
        return true;  // ends the line (or the literal announcement): not part of it
    }
    ++lineLength_;
    ++responseBytes_;
    // A CR may be the first half of the line's CRLF, so it may go one past the cap.
    if (lineLength_ > limits_.maxLineLength + (c == '\r' ? 1 : 0)) {
        return fail(ImapParseError::LineTooLong);
    }
    if (responseBytes_ > limits_.maxResponseSize) {
        return fail(ImapParseError::ResponseTooLarge);
    }
    return true;
}

bool ImapResponseParser::addValue(ImapValue value) {
    if (++elements_ > limits_.maxElements) {
        return fail(ImapParseError::TooManyElements);
    }
    untaggedFirst_ = false;
    top().push_back(std::move(value));
    return true;
}

bool ImapResponseParser::finishAtom(char terminator, bool& advance) {
    ImapValue value;
    if (!classifyAtom(std::move(token_), value)) {
        return fail(ImapParseError::NumberTooLarge);
    }
    token_.clear();
    if (untaggedFirst_ && value.kind == ImapValueKind::Atom) {
        if (const auto status = untaggedStatus(value.text)) {
            // "* OK ...", "* BYE ...": the rest of the line is resp-text, not data.
            response_.status = *status;
            untaggedFirst_ = false;
            state_ = State::Text;
            advance = terminator == ' ';
            return true;
        }
    }
    state_ = State::Between;
    advance = false;
    return addValue(std::move(value));
}

ImapLiteralInfo ImapResponseParser::literalInfo(std::uint64_t size) const {
    ImapLiteralInfo info;
    info.size = size;
    info.literal8 = literal8_;
    const std::vector<ImapValue>& root = response_.data;
    if (stack_.size() == 1 && !stack_.back().section && root.size() == 3 && root[0].kind == ImapValueKind::Number &&
        root[1].isAtom("FETCH") && stack_.back().values == &root[2].children) {
        if (root[0].number <= std::numeric_limits<std::uint32_t>::max()) {
            info.messageNumber = static_cast<std::uint32_t>(root[0].number);
        }
        const std::vector<ImapValue>& items = root[2].children;
        if (items.size() % 2 == 1 && items.back().kind == ImapValueKind::Atom) {
            info.key = items.back().key();
        }
    }
    return info;
}

bool ImapResponseParser::startLiteralBody() {
    lineLength_ = 0;  // the line continues after the literal's bytes, with a fresh allowance
    const std::uint64_t size = number_;
    ImapValue value;
    value.kind = ImapValueKind::String;
    value.literal = true;
    value.literal8 = literal8_;
    value.literalSize = size;
    ImapLiteralSink* sink = (sink_ != nullptr && size > limits_.streamThreshold) ? sink_ : nullptr;
    ImapLiteralInfo info;
    if (sink != nullptr) {
        info = literalInfo(size);
        value.streamed = true;
    } else if (size > limits_.maxResponseSize - std::min(responseBytes_, limits_.maxResponseSize)) {
        return fail(ImapParseError::ResponseTooLarge);
    }
    if (!addValue(std::move(value))) {
        return false;
    }
    if (sink != nullptr && !sink->begin(info)) {
        return fail(ImapParseError::SinkRejected);
    }
    activeSink_ = sink;
    literalRemaining_ = size;
    state_ = State::LiteralBody;
    if (size == 0) {
        finishLiteral();
    }
    return true;
}

bool ImapResponseParser::feedLiteralBody(std::string_view bytes, std::size_t& used) {
    const auto n =
        static_cast<std::size_t>(std::min<std::uint64_t>(literalRemaining_, static_cast<std::uint64_t>(bytes.size())));
    const std::string_view piece = bytes.substr(0, n);
    if (activeSink_ != nullptr) {
        if (n > 0 && !activeSink_->data(piece)) {
            activeSink_ = nullptr;
            return fail(ImapParseError::SinkRejected);
        }
    } else {
        top().back().text.append(piece);
        responseBytes_ += n;
    }
    literalRemaining_ -= n;
    used = n;
    if (literalRemaining_ == 0) {
        finishLiteral();
    }
    return true;
}

void ImapResponseParser::finishLiteral() {
    if (activeSink_ != nullptr) {
        ImapLiteralSink* sink = activeSink_;
        activeSink_ = nullptr;
        sink->end();
    }
    state_ = State::Between;
}

bool ImapResponseParser::finishData() {
    if (!stack_.empty() || response_.data.empty()) {
        return fail(ImapParseError::Malformed);
    }
    state_ = State::Done;
    return true;
}

void ImapResponseParser::finishText() {
    std::string_view line = token_;
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    parseRespText(line, response_);
    token_.clear();
    state_ = State::Done;
}

bool ImapResponseParser::step(char c, bool& advance) {
    switch (state_) {
        case State::Start:
            if (c == '*') {
                response_.kind = ImapResponseKind::Untagged;
                state_ = State::UntaggedSpace;
                return true;
            }
            if (c == '+') {
                response_.kind = ImapResponseKind::Continuation;
                state_ = State::ContinuationSpace;
                return true;
            }
            if (!isTagChar(c)) {
                return fail(ImapParseError::Malformed);
            }
            response_.kind = ImapResponseKind::Tagged;
            token_.assign(1, c);
            state_ = State::Tag;
            return true;

        case State::Tag:
            if (c == ' ') {
                response_.tag = std::move(token_);
                token_.clear();
                state_ = State::TagStatus;
                return true;
            }
            if (!isTagChar(c)) {
                return fail(ImapParseError::Malformed);
            }
            token_.push_back(c);
            return true;

        case State::TagStatus:
            if (c == ' ' || c == '\r' || c == '\n') {
                const auto status = taggedStatus(token_);
                if (!status) {
                    return fail(ImapParseError::Malformed);
                }
                response_.status = *status;
                token_.clear();
                state_ = State::Text;
                advance = c == ' ';
                return true;
            }
            if (token_.size() >= 3 || !isAlpha(c)) {
                return fail(ImapParseError::Malformed);
            }
            token_.push_back(c);
            return true;

        case State::UntaggedSpace:
            if (c != ' ') {
                return fail(ImapParseError::Malformed);
            }
            untaggedFirst_ = true;
            state_ = State::Between;
            return true;

        case State::ContinuationSpace:
            // "+ text"; a bare "+" CRLF (or "+text" from a sloppy server) is accepted too.
            state_ = State::Text;
            advance = c == ' ';
            return true;

        case State::Text:
            if (c == '\n') {
                finishText();
                return true;
            }
            token_.push_back(c);
            return true;

        case State::Between:
            switch (c) {
                case ' ':
                    return true;
                case '(': {
                    if (stack_.size() >= limits_.maxDepth) {
                        return fail(ImapParseError::TooDeep);
                    }
                    ImapValue list;
                    list.kind = ImapValueKind::List;
                    if (!addValue(std::move(list))) {
                        return false;
                    }
                    stack_.push_back(Container{&top().back().children, false});
                    return true;
                }
                case ')':
                    if (stack_.empty() || stack_.back().section) {
                        return fail(ImapParseError::Malformed);
                    }
                    stack_.pop_back();
                    return true;
                case ']':
                    if (!stack_.empty() && stack_.back().section) {
                        stack_.pop_back();
                        state_ = State::AfterSection;
                        return true;
                    }
                    break;  // elsewhere an astring character, e.g. a mailbox "]foo"
                case '"':
                    token_.clear();
                    state_ = State::Quoted;
                    return true;
                case '{':
                    literal8_ = false;
                    number_ = 0;
                    sawDigit_ = false;
                    state_ = State::LiteralSize;
                    return true;
                case '~':
                    state_ = State::Tilde;
                    return true;
                case '\r':
                    state_ = State::LineCr;
                    return true;
                case '\n':
                    return finishData();
                default:
                    break;
            }
            if (isCtl(c)) {
                return fail(ImapParseError::Malformed);
            }
            token_.assign(1, c);
            state_ = State::Atom;
            return true;

        case State::Atom:
            if (c == '[' && isSectionKey(token_)) {
                if (stack_.size() >= limits_.maxDepth) {
                    return fail(ImapParseError::TooDeep);
                }
                ImapValue atom;
                atom.kind = ImapValueKind::Atom;
                atom.text = std::move(token_);
                atom.hasSection = true;
                token_.clear();
                if (!addValue(std::move(atom))) {
                    return false;
                }
                stack_.push_back(Container{&top().back().section, true});
                state_ = State::Between;
                return true;
            }
            if (c == ' ' || c == '(' || c == ')' || c == '"' || isCtl(c) ||
                (c == ']' && !stack_.empty() && stack_.back().section)) {
                return finishAtom(c, advance);
            }
            if (c == '{') {
                return fail(ImapParseError::Malformed);
            }
            token_.push_back(c);
            return true;

        case State::Quoted:
            if (c == '"') {
                ImapValue string;
                string.kind = ImapValueKind::String;
                string.text = std::move(token_);
                token_.clear();
                state_ = State::Between;
                return addValue(std::move(string));
            }
            if (c == '\\') {
                state_ = State::QuotedEscape;
                return true;
            }
            if (c == '\r' || c == '\n') {
                return fail(ImapParseError::Malformed);
            }
            token_.push_back(c);
            return true;

        case State::QuotedEscape:
            if (c != '"' && c != '\\') {
                return fail(ImapParseError::Malformed);
            }
            token_.push_back(c);
            state_ = State::Quoted;
            return true;

        case State::Tilde:
            if (c == '{') {
                literal8_ = true;
                number_ = 0;
                sawDigit_ = false;
                state_ = State::LiteralSize;
                return true;
            }
            token_.assign(1, '~');
            state_ = State::Atom;
            advance = false;
            return true;

        case State::LiteralSize:
            if (isDigit(c)) {
                if (!appendDigit(number_, c, std::min(limits_.maxLiteralSize, kLargestLiteral))) {
                    return fail(ImapParseError::LiteralTooLarge);
                }
                sawDigit_ = true;
                return true;
            }
            if (!sawDigit_) {
                return fail(ImapParseError::BadLiteral);
            }
            if (c == '+') {
                state_ = State::LiteralClose;
                return true;
            }
            if (c == '}') {
                state_ = State::LiteralCr;
                return true;
            }
            return fail(ImapParseError::BadLiteral);

        case State::LiteralClose:
            if (c != '}') {
                return fail(ImapParseError::BadLiteral);
            }
            state_ = State::LiteralCr;
            return true;

        case State::LiteralCr:
            if (c == '\r') {
                state_ = State::LiteralLf;
                return true;
            }
            if (c == '\n') {
                return startLiteralBody();
            }
            return fail(ImapParseError::BadLiteral);

        case State::LiteralLf:
            if (c != '\n') {
                return fail(ImapParseError::BadLiteral);
            }
            return startLiteralBody();

        case State::AfterSection:
            if (c == '<') {
                number_ = 0;
                sawDigit_ = false;
                state_ = State::Origin;
                return true;
            }
            state_ = State::Between;
            advance = false;
            return true;

        case State::Origin:
            if (isDigit(c)) {
                if (!appendDigit(number_, c, std::numeric_limits<std::uint64_t>::max())) {
                    return fail(ImapParseError::NumberTooLarge);
                }
                sawDigit_ = true;
                return true;
            }
            if (c != '>' || !sawDigit_) {
                return fail(ImapParseError::Malformed);
            }
            top().back().origin = number_;
            state_ = State::Between;
            return true;

        case State::LineCr:
            if (c != '\n') {
                return fail(ImapParseError::Malformed);
            }
            return finishData();

        case State::LiteralBody:  // handled in bulk by feed()
        case State::Done:
        case State::Failed:
            break;
    }
    return fail(ImapParseError::Malformed);
}

}  // namespace mc::proto
