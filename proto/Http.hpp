#pragma once
// The HTTP/1.1 this program speaks (RFC 9112): one form POST per connection to an OAuth2 token or
// device endpoint, and its reply; and the admin endpoint's side: requests and their replies'
// reason phrases. Pure: building and parsing, no sockets.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mc::proto {

struct HttpsUrl {
    std::string host;
    std::uint16_t port = 443;
    std::string target = "/";  // path and query, as sent on the request line
};
// "https://host[:port][/path][?query]"; nullopt for other schemes, user info, fragments, IPv6
// literals, an empty host or a bad port.
std::optional<HttpsUrl> parseHttpsUrl(std::string_view url);

using FormFields = std::vector<std::pair<std::string, std::string>>;
// application/x-www-form-urlencoded: unreserved bytes as they are, the rest %XX.
std::string formUrlEncode(const FormFields& fields);
// A complete "POST target HTTP/1.1" request with the form as body and "Connection: close".
std::string httpFormPost(const HttpsUrl& url, const FormFields& fields);

struct HttpResponse {
    int status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased; a repeated header: the last
    std::string body;
};

enum class HttpParse { Complete, Incomplete, Malformed };
// Parses RAW, everything received so far; CLOSED says the server has closed the connection (a
// body without Content-Length or chunked coding then ends there). Handles Content-Length and
// chunked transfer coding (trailers skipped); skips 1xx interim responses. OUT is set on Complete.
HttpParse parseHttpResponse(std::string_view raw, bool closed, HttpResponse& out);

struct HttpRequest {
    std::string method;
    std::string path;                            // the target up to '?', percent-decoded
    FormFields query;                            // the target's query, split at '&' and '=', percent-decoded
    std::map<std::string, std::string> headers;  // names lower-cased; a repeated header: the last
    std::string body;
};

// Parses RAW, a request received so far (request line, header fields, and a Content-Length body;
// a line may end in CRLF or LF). Transfer codings and targets that are not origin-form
// ("/path?query") are Malformed. OUT is set on Complete.
HttpParse parseHttpRequest(std::string_view raw, HttpRequest& out);

// An application/x-www-form-urlencoded body (a submitted HTML form): fields split at '&' and '=',
// '+' as space, %XX decoded; nullopt for a broken escape.
std::optional<FormFields> parseFormUrlEncoded(std::string_view body);

// RFC 9110's reason phrase for STATUS ("Not Found" for 404); "Unknown" for codes we never send.
const char* httpReasonPhrase(int status);

}  // namespace mc::proto
