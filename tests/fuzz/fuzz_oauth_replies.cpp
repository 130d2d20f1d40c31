// Fuzzes what an OAuth2 token or device endpoint sends back, and the URLs we build requests from
// (proto Http, Json): never a crash; an HTTP reply parses the same whether it arrived
// whole or in pieces; a parsed https URL can never smuggle a line break or space into the request
// line; the form encoding is only unreserved bytes and %XX.

#include <cctype>
#include <string>

#include "proto/Http.hpp"
#include "proto/Json.hpp"
#include "tests/fuzz/FuzzSupport.hpp"

namespace {

bool sameResponse(const mc::proto::HttpResponse& a, const mc::proto::HttpResponse& b) {
    return a.status == b.status && a.headers == b.headers && a.body == b.body;
}

void checkHttp(std::string_view raw, std::uint32_t seed) {
    mc::proto::HttpResponse whole;
    const auto wholeStatus = mc::proto::parseHttpResponse(raw, false, whole);
    // As the bytes arrive: the first prefix that parses completely gives the whole input's answer.
    std::size_t received = 0;
    for (std::string_view piece : mc::fuzz::pieces(raw, seed)) {
        received += piece.size();
        mc::proto::HttpResponse partial;
        const auto status = mc::proto::parseHttpResponse(raw.substr(0, received), false, partial);
        if (status == mc::proto::HttpParse::Complete) {
            MC_FUZZ_CHECK(wholeStatus == mc::proto::HttpParse::Complete);
            MC_FUZZ_CHECK(sameResponse(partial, whole));
            break;
        }
        if (status == mc::proto::HttpParse::Malformed) {
            MC_FUZZ_CHECK(wholeStatus == mc::proto::HttpParse::Malformed);
            break;
        }
    }
    mc::proto::HttpResponse closed;
    if (mc::proto::parseHttpResponse(raw, true, closed) == mc::proto::HttpParse::Complete) {
        MC_FUZZ_CHECK(closed.status >= 200 && closed.status <= 599);
        if (auto json = mc::proto::parseJsonObjectScalars(closed.body)) (void)json->size();
    }
}

void checkUrlAndForm(std::string_view text) {
    const auto newline = text.find('\n');
    const std::string_view urlText = text.substr(0, newline);
    const std::string value(newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1));
    if (auto url = mc::proto::parseHttpsUrl(urlText)) {
        MC_FUZZ_CHECK(!url->host.empty() && url->port != 0);
        MC_FUZZ_CHECK(!url->target.empty() && url->target[0] == '/');
        for (unsigned char c : url->host + url->target) MC_FUZZ_CHECK(c > 0x20 && c < 0x7f);
        const std::string request = mc::proto::httpFormPost(*url, {{"grant_type", value}});
        const auto headerEnd = request.find("\r\n\r\n");
        MC_FUZZ_CHECK(headerEnd != std::string::npos);
        MC_FUZZ_CHECK(request.find("\r\n\r\n", headerEnd + 1) == std::string::npos);
    }
    for (unsigned char c : mc::proto::formUrlEncode({{"k", value}}))
        MC_FUZZ_CHECK(std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '%' || c == '=' ||
                      c == '&');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = mc::fuzz::splitInput(data, size);
    checkHttp(input.payload, input.seed);
    checkUrlAndForm(input.payload);
    (void)mc::proto::parseJsonObjectScalars(input.payload);
    return 0;
}
