// The admin endpoint's request parser and reason phrases: pure, fed any prefix of a request.

#include <gtest/gtest.h>

#include "proto/Http.hpp"

namespace mc::proto {
namespace {

TEST(HttpRequest, ParsesRequestLineQueryHeadersAndBody) {
    const std::string raw =
        "POST /poll%2Fx?wait=1&account=a%2Db&&flag HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nX-A:  v  \r\n\r\nbody";
    HttpRequest request;
    ASSERT_EQ(parseHttpRequest(raw, request), HttpParse::Complete);
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.path, "/poll/x");
    EXPECT_EQ(request.query, (FormFields{{"wait", "1"}, {"account", "a-b"}, {"flag", ""}}));
    EXPECT_EQ(request.headers.at("host"), "h");
    EXPECT_EQ(request.headers.at("x-a"), "v");
    EXPECT_EQ(request.body, "body");
    // Every shorter prefix is incomplete, never malformed.
    for (std::size_t size = 0; size < raw.size(); ++size) {
        HttpRequest partial;
        EXPECT_EQ(parseHttpRequest(raw.substr(0, size), partial), HttpParse::Incomplete) << size;
    }
}

TEST(HttpRequest, AcceptsBareLineFeedsAndLeadingEmptyLines) {
    HttpRequest request;
    ASSERT_EQ(parseHttpRequest("\r\n\nGET /healthz HTTP/1.0\nAccept: */*\n\n", request), HttpParse::Complete);
    EXPECT_EQ(request.method, "GET");
    EXPECT_EQ(request.path, "/healthz");
    EXPECT_TRUE(request.query.empty());
    EXPECT_EQ(request.body, "");
}

TEST(HttpRequest, RefusesWhatIsNotAnOriginFormRequest) {
    for (const char* bad :
         {"GET\r\n\r\n", "GET /x\r\n\r\n", "GET http://h/x HTTP/1.1\r\n\r\n", "GET /x HTTP/2\r\n\r\n",
          "G(T /x HTTP/1.1\r\n\r\n", "GET /x HTTP/1.1\r\nno colon\r\n\r\n", "GET /x HTTP/1.1\r\n: v\r\n\r\n",
          "GET /%zz HTTP/1.1\r\n\r\n", "GET /x?a=%4 HTTP/1.1\r\n\r\n",
          "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
          "POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "GET  /x HTTP/1.1\r\n\r\n"}) {
        HttpRequest request;
        EXPECT_EQ(parseHttpRequest(bad, request), HttpParse::Malformed) << bad;
    }
}

TEST(HttpRequest, ReasonPhrasesFollowRfc9110) {
    EXPECT_STREQ(httpReasonPhrase(200), "OK");
    EXPECT_STREQ(httpReasonPhrase(202), "Accepted");
    EXPECT_STREQ(httpReasonPhrase(404), "Not Found");
    EXPECT_STREQ(httpReasonPhrase(405), "Method Not Allowed");
    EXPECT_STREQ(httpReasonPhrase(408), "Request Timeout");
    EXPECT_STREQ(httpReasonPhrase(503), "Service Unavailable");
    EXPECT_STREQ(httpReasonPhrase(299), "Unknown");
}

}  // namespace
}  // namespace mc::proto
