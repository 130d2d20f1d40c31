#pragma once
// The HTTP/1.1 this program speaks (RFC 9112): one form POST per connection to an OAuth2 token or
// device endpoint, and its reply. Pure: building the request and parsing the reply.

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

}  // namespace mc::proto
