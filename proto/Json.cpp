#include "proto/Json.hpp"

#include <cstdint>

#include "proto/Utf8.hpp"

namespace mc::proto {
namespace {

constexpr int kMaxDepth = 32;

class JsonReader {
public:
    explicit JsonReader(std::string_view text) : text_(text) {}

    std::optional<std::map<std::string, std::string>> topObject() {
        std::map<std::string, std::string> members;
        skipSpace();
        if (!consume('{')) return std::nullopt;
        skipSpace();
        if (!consume('}')) {
            for (;;) {
                skipSpace();
                std::string name;
                if (!string(name)) return std::nullopt;
                skipSpace();
                if (!consume(':')) return std::nullopt;
                skipSpace();
                if (peek() == '{' || peek() == '[') {
                    if (!skipValue(1)) return std::nullopt;
                    members.erase(name);
                } else {
                    std::string value;
                    if (!scalar(value)) return std::nullopt;
                    members[name] = std::move(value);
                }
                skipSpace();
                if (consume('}')) break;
                if (!consume(',')) return std::nullopt;
            }
        }
        skipSpace();
        if (pos_ != text_.size()) return std::nullopt;
        return members;
    }

private:
    char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
    bool consume(char c) {
        if (peek() != c || pos_ >= text_.size()) return false;
        ++pos_;
        return true;
    }
    void skipSpace() {
        while (pos_ < text_.size() &&
               (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
            ++pos_;
    }

    bool literal(std::string_view word, std::string& out) {
        if (text_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        out = word;
        return true;
    }

    bool number(std::string& out) {
        std::size_t start = pos_;
        consume('-');
        auto digits = [&] {
            std::size_t first = pos_;
            while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
            return pos_ - first;
        };
        std::size_t integer = digits();
        if (integer == 0 || (integer > 1 && text_[pos_ - integer] == '0')) return false;
        if (consume('.') && digits() == 0) return false;
        if (peek() == 'e' || peek() == 'E') {
            ++pos_;
            if (peek() == '+' || peek() == '-') ++pos_;
            if (digits() == 0) return false;
        }
        out = std::string(text_.substr(start, pos_ - start));
        return true;
    }

    bool scalar(std::string& out) {
        char c = peek();
        if (c == '"') return string(out);
        if (c == 't') return literal("true", out);
        if (c == 'f') return literal("false", out);
        if (c == 'n') return literal("null", out);
        return number(out);
    }

    bool hex4(std::uint32_t& value) {
        if (pos_ + 4 > text_.size()) return false;
        value = 0;
        for (int i = 0; i < 4; ++i) {
            char c = text_[pos_++];
            value <<= 4;
            if (c >= '0' && c <= '9')
                value |= static_cast<std::uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f')
                value |= static_cast<std::uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                value |= static_cast<std::uint32_t>(c - 'A' + 10);
            else
                return false;
        }
        return true;
    }

    bool escape(std::string& out) {
        char c = peek();
        ++pos_;
        switch (c) {
            case '"':
                out.push_back('"');
                return true;
            case '\\':
                out.push_back('\\');
                return true;
            case '/':
                out.push_back('/');
                return true;
            case 'b':
                out.push_back('\b');
                return true;
            case 'f':
                out.push_back('\f');
                return true;
            case 'n':
                out.push_back('\n');
                return true;
            case 'r':
                out.push_back('\r');
                return true;
            case 't':
                out.push_back('\t');
                return true;
            case 'u':
                break;
            default:
                return false;
        }
        std::uint32_t cp = 0;
        if (!hex4(cp)) return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // a lone low surrogate
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t low = 0;
            if (!consume('\\') || !consume('u') || !hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        appendUtf8(out, cp);
        return true;
    }

    bool string(std::string& out) {
        if (!consume('"')) return false;
        out.clear();
        while (pos_ < text_.size()) {
            char c = text_[pos_++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return false;
            if (c == '\\') {
                if (!escape(out)) return false;
            } else {
                out.push_back(c);
            }
        }
        return false;
    }

    bool skipValue(int depth) {
        if (depth > kMaxDepth) return false;
        char open = peek();
        if (open != '{' && open != '[') {
            std::string ignored;
            return scalar(ignored);
        }
        ++pos_;
        char close = open == '{' ? '}' : ']';
        skipSpace();
        if (consume(close)) return true;
        for (;;) {
            skipSpace();
            if (open == '{') {
                std::string name;
                if (!string(name)) return false;
                skipSpace();
                if (!consume(':')) return false;
                skipSpace();
            }
            if (!skipValue(depth + 1)) return false;
            skipSpace();
            if (consume(close)) return true;
            if (!consume(',')) return false;
        }
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

}  // namespace

std::optional<std::map<std::string, std::string>> parseJsonObjectScalars(std::string_view text) {
    return JsonReader(text).topObject();
}

}  // namespace mc::proto
