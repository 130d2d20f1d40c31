#include "proto/Http.hpp"

#include "proto/AsciiText.hpp"

#include <algorithm>

namespace mc::proto {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

std::string lowerCopy(std::string_view text) {
    std::string result(text);
    for (char& c : result)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return result;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

std::optional<std::uint64_t> decimal(std::string_view text) {
    if (text.empty() || text.size() > 15) return std::nullopt;
    std::uint64_t value = 0;
    for (char c : text) {
        if (!isDigit(c)) return std::nullopt;
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return value;
}

std::optional<std::uint64_t> hexadecimal(std::string_view text) {
    if (text.empty() || text.size() > 12) return std::nullopt;
    std::uint64_t value = 0;
    for (char c : text) {
        int digit = isDigit(c)               ? c - '0'
                    : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                             : -1;
        if (digit < 0) return std::nullopt;
        value = value * 16 + static_cast<std::uint64_t>(digit);
    }
    return value;
}

// Decodes a chunked body starting at RAW; Incomplete until the last chunk and trailers arrived.
HttpParse dechunk(std::string_view raw, std::string& body) {
    std::size_t pos = 0;
    for (;;) {
        std::size_t end = raw.find("\r\n", pos);
        if (end == std::string_view::npos) return HttpParse::Incomplete;
        std::string_view sizeText = trim(raw.substr(pos, end - pos));
        sizeText = trim(sizeText.substr(0, sizeText.find(';')));  // chunk extensions
        auto size = hexadecimal(sizeText);
        if (!size) return HttpParse::Malformed;
        pos = end + 2;
        if (*size == 0) {
            for (;;) {  // trailer lines up to an empty one
                std::size_t lineEnd = raw.find("\r\n", pos);
                if (lineEnd == std::string_view::npos) return HttpParse::Incomplete;
                if (lineEnd == pos) return HttpParse::Complete;
                pos = lineEnd + 2;
            }
        }
        if (raw.size() < pos + *size + 2) return HttpParse::Incomplete;
        if (raw.substr(pos + *size, 2) != "\r\n") return HttpParse::Malformed;
        body.append(raw.substr(pos, *size));
        pos += *size + 2;
    }
}

}  // namespace

std::optional<HttpsUrl> parseHttpsUrl(std::string_view url) {
    constexpr std::string_view kScheme = "https://";
    if (url.size() < kScheme.size() || !equalsNoCase(url.substr(0, kScheme.size()), kScheme)) return std::nullopt;
    url.remove_prefix(kScheme.size());
    if (url.find('#') != std::string_view::npos) return std::nullopt;
    std::size_t authorityEnd = url.find_first_of("/?");
    std::string_view authority = url.substr(0, authorityEnd);
    HttpsUrl result;
    if (authorityEnd != std::string_view::npos) {
        result.target = std::string(url.substr(authorityEnd));
        if (result.target.front() == '?') result.target.insert(0, "/");
    }
    if (authority.find_first_of("@[]") != std::string_view::npos) return std::nullopt;
    std::size_t colon = authority.find(':');
    std::string_view host = authority.substr(0, colon);
    if (host.empty()) return std::nullopt;
    for (char c : host)
        if (!(isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.'))
            return std::nullopt;
    if (colon != std::string_view::npos) {
        auto port = decimal(authority.substr(colon + 1));
        if (!port || *port == 0 || *port > 65535) return std::nullopt;
        result.port = static_cast<std::uint16_t>(*port);
    }
    for (char c : result.target)
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F) return std::nullopt;
    result.host = std::string(host);
    return result;
}

std::string formUrlEncode(const FormFields& fields) {
    static const char* kHex = "0123456789ABCDEF";
    auto encode = [](std::string& out, std::string_view text) {
        for (char c : text) {
            auto byte = static_cast<unsigned char>(c);
            if (isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' || c == '_' ||
                c == '~') {
                out.push_back(c);
            } else {
                out.push_back('%');
                out.push_back(kHex[byte >> 4]);
                out.push_back(kHex[byte & 15]);
            }
        }
    };
    std::string out;
    for (const auto& [name, value] : fields) {
        if (!out.empty()) out.push_back('&');
        encode(out, name);
        out.push_back('=');
        encode(out, value);
    }
    return out;
}

std::string httpFormPost(const HttpsUrl& url, const FormFields& fields) {
    std::string body = formUrlEncode(fields);
    std::string host = url.host + (url.port == 443 ? "" : ":" + std::to_string(url.port));
    return "POST " + url.target + " HTTP/1.1\r\nHost: " + host +
           "\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

HttpParse parseHttpResponse(std::string_view raw, bool closed, HttpResponse& out) {
    for (;;) {
        std::size_t headEnd = raw.find("\r\n\r\n");
        if (headEnd == std::string_view::npos) return closed ? HttpParse::Malformed : HttpParse::Incomplete;
        std::string_view head = raw.substr(0, headEnd);
        std::string_view rest = raw.substr(headEnd + 4);
        std::size_t lineEnd = head.find("\r\n");
        std::string_view statusLine = head.substr(0, lineEnd);
        // "HTTP/1.x NNN reason", NNN from 100 to 599 (RFC 9110 section 15)
        if (statusLine.size() < 12 || statusLine.substr(0, 7) != "HTTP/1." || statusLine[8] != ' ' ||
            statusLine[9] < '1' || statusLine[9] > '5' || !isDigit(statusLine[10]) || !isDigit(statusLine[11]) ||
            (statusLine.size() > 12 && statusLine[12] != ' '))
            return HttpParse::Malformed;
        HttpResponse response;
        response.status = (statusLine[9] - '0') * 100 + (statusLine[10] - '0') * 10 + (statusLine[11] - '0');
        std::string_view fields = lineEnd == std::string_view::npos ? std::string_view() : head.substr(lineEnd + 2);
        while (!fields.empty()) {
            std::size_t end = fields.find("\r\n");
            std::string_view line = fields.substr(0, end);
            fields = end == std::string_view::npos ? std::string_view() : fields.substr(end + 2);
            std::size_t colon = line.find(':');
            if (colon == std::string_view::npos || colon == 0) return HttpParse::Malformed;
            response.headers[lowerCopy(line.substr(0, colon))] = std::string(trim(line.substr(colon + 1)));
        }
        if (response.status >= 100 && response.status < 200) {
            raw = rest;  // interim response (100 Continue): the real one follows
            continue;
        }
        auto coding = response.headers.find("transfer-encoding");
        auto length = response.headers.find("content-length");
        if (coding != response.headers.end()) {
            if (!equalsNoCase(coding->second, "chunked")) return HttpParse::Malformed;
            HttpParse parsed = dechunk(rest, response.body);
            if (parsed == HttpParse::Incomplete && closed) return HttpParse::Malformed;
            if (parsed != HttpParse::Complete) return parsed;
        } else if (length != response.headers.end()) {
            auto size = decimal(length->second);
            if (!size) return HttpParse::Malformed;
            if (rest.size() < *size) return closed ? HttpParse::Malformed : HttpParse::Incomplete;
            response.body = std::string(rest.substr(0, *size));
        } else if (response.status == 204 || response.status == 304) {
            // no body
        } else {
            if (!closed) return HttpParse::Incomplete;
            response.body = std::string(rest);
        }
        out = std::move(response);
        return HttpParse::Complete;
    }
}

namespace {

int hexDigit(char c) {
    if (isDigit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// %XX becomes its byte ('+' stays: this is a URL, not a form body); nullopt for a broken escape.
std::optional<std::string> percentDecode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) return std::nullopt;
        const int high = hexDigit(text[i + 1]), low = hexDigit(text[i + 2]);
        if (high < 0 || low < 0) return std::nullopt;
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return out;
}

// The next line of TEXT from POS (CRLF or LF ends it); nullopt when no line end has arrived.
std::optional<std::string_view> nextLine(std::string_view text, std::size_t& pos) {
    const std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    return line;
}

bool isTokenChar(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || isDigit(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

std::optional<FormFields> parseFormUrlEncoded(std::string_view body) {
    FormFields fields;
    while (!body.empty()) {
        const std::size_t amp = body.find('&');
        std::string item(body.substr(0, amp));
        body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
        if (item.empty()) continue;
        std::replace(item.begin(), item.end(), '+', ' ');
        const std::size_t equals = item.find('=');
        auto name = percentDecode(std::string_view(item).substr(0, equals));
        auto value =
            percentDecode(equals == std::string::npos ? std::string_view() : std::string_view(item).substr(equals + 1));
        if (!name || !value) return std::nullopt;
        fields.emplace_back(std::move(*name), std::move(*value));
    }
    return fields;
}

HttpParse parseHttpRequest(std::string_view raw, HttpRequest& out) {
    std::size_t pos = 0;
    // RFC 9112 section 2.2: empty lines before the request line are ignored.
    std::optional<std::string_view> requestLine;
    while ((requestLine = nextLine(raw, pos)) && requestLine->empty()) {
    }
    if (!requestLine) return HttpParse::Incomplete;
    // "METHOD TARGET HTTP/1.x"
    const std::size_t space1 = requestLine->find(' ');
    const std::size_t space2 = space1 == std::string_view::npos ? space1 : requestLine->find(' ', space1 + 1);
    if (space2 == std::string_view::npos) return HttpParse::Malformed;
    const std::string_view method = requestLine->substr(0, space1);
    const std::string_view target = requestLine->substr(space1 + 1, space2 - space1 - 1);
    const std::string_view version = requestLine->substr(space2 + 1);
    if (method.empty() || !std::all_of(method.begin(), method.end(), isTokenChar)) return HttpParse::Malformed;
    if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || !isDigit(version[7])) return HttpParse::Malformed;
    if (target.empty() || target[0] != '/') return HttpParse::Malformed;

    HttpRequest request;
    request.method = std::string(method);
    const std::size_t question = target.find('?');
    auto path = percentDecode(target.substr(0, question));
    if (!path) return HttpParse::Malformed;
    request.path = std::move(*path);
    if (question != std::string_view::npos) {
        std::string_view query = target.substr(question + 1);
        while (!query.empty()) {
            const std::size_t amp = query.find('&');
            const std::string_view item = query.substr(0, amp);
            query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
            if (item.empty()) continue;
            const std::size_t equals = item.find('=');
            auto name = percentDecode(item.substr(0, equals));
            auto value = percentDecode(equals == std::string_view::npos ? std::string_view() : item.substr(equals + 1));
            if (!name || !value) return HttpParse::Malformed;
            request.query.emplace_back(std::move(*name), std::move(*value));
        }
    }
    for (;;) {
        auto line = nextLine(raw, pos);
        if (!line) return HttpParse::Incomplete;
        if (line->empty()) break;
        const std::size_t colon = line->find(':');
        if (colon == std::string_view::npos || colon == 0) return HttpParse::Malformed;
        const std::string_view name = line->substr(0, colon);
        if (!std::all_of(name.begin(), name.end(), isTokenChar)) return HttpParse::Malformed;
        request.headers[lowerCopy(name)] = std::string(trim(line->substr(colon + 1)));
    }
    if (request.headers.count("transfer-encoding")) return HttpParse::Malformed;
    if (auto length = request.headers.find("content-length"); length != request.headers.end()) {
        auto size = decimal(length->second);
        if (!size) return HttpParse::Malformed;
        if (raw.size() - pos < *size) return HttpParse::Incomplete;
        request.body = std::string(raw.substr(pos, *size));
    }
    out = std::move(request);
    return HttpParse::Complete;
}

const char* httpReasonPhrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 202:
            return "Accepted";
        case 204:
            return "No Content";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 409:
            return "Conflict";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 503:
            return "Service Unavailable";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Unknown";
    }
}

}  // namespace mc::proto
