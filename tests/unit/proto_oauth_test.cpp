// SASL XOAUTH2 / OAUTHBEARER messages against the published examples, the OAuth error challenge,
// and the flat JSON and HTTP pieces the OAuth2 token client is built from.

#include <gtest/gtest.h>

#include <string>

#include "proto/Http.hpp"
#include "proto/Json.hpp"
#include "proto/Sasl.hpp"

namespace mc::proto {
namespace {

using namespace std::string_literals;

TEST(SaslOAuth, Xoauth2MatchesGooglesExample) {
    // developers.google.com/gmail/imap/xoauth2-protocol, "Initial client response".
    EXPECT_EQ(saslXoauth2("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"),
              "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRH"
              "RXVZMjl0Q2cBAQ==");
}

TEST(SaslOAuth, OAuthBearerMatchesRfc7628Example) {
    // RFC 7628 4.1.
    std::string encoded =
        saslOAuthBearer("user@example.com", "server.example.com", 143, "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");
    EXPECT_EQ(encoded,
              "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRx"
              "bVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB");
    EXPECT_EQ(base64Decode(encoded),
              "n,a=user@example.com,\001host=server.example.com\001port=143\001auth=Bearer "
              "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\001\001"s);
}

TEST(SaslOAuth, OAuthBearerEscapesCommaAndEqualsInTheUser) {
    EXPECT_EQ(base64Decode(saslOAuthBearer("a,b=c", "h", 993, "t")),
              "n,a=a=2Cb=3Dc,\001host=h\001port=993\001auth=Bearer t\001\001"s);
}

TEST(SaslOAuth, ErrorAcknowledgement) {
    EXPECT_EQ(oauthErrorAcknowledgement(false), "");
    EXPECT_EQ(base64Decode(oauthErrorAcknowledgement(true)), "\001"s);
}

TEST(SaslOAuth, ErrorChallengeFromGoogle) {
    // Google's example challenge (with its trailing newline inside the base64).
    auto error = parseOAuthErrorChallenge(
        "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0K");
    ASSERT_TRUE(error);
    EXPECT_EQ(error->status, "401");
    EXPECT_EQ(error->schemes, "bearer mac");
    EXPECT_EQ(error->scope, "https://mail.google.com/");
    EXPECT_EQ(describeOAuthError(error), "status 401, scope https://mail.google.com/");
}

TEST(SaslOAuth, ErrorChallengeFromRfc7628) {
    auto error = parseOAuthErrorChallenge(base64Encode(
        R"({"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"})"));
    ASSERT_TRUE(error);
    EXPECT_EQ(error->status, "invalid_token");
    EXPECT_EQ(describeOAuthError(error), "status invalid_token, scope example_scope");
}

TEST(SaslOAuth, MalformedErrorChallenges) {
    EXPECT_FALSE(parseOAuthErrorChallenge("not base64!"));
    EXPECT_FALSE(parseOAuthErrorChallenge(base64Encode("[1,2]")));
    EXPECT_FALSE(parseOAuthErrorChallenge(base64Encode("{\"status\":")));
    EXPECT_EQ(describeOAuthError(std::nullopt), "no details");
    // Control bytes from the server never reach a log line.
    auto error = parseOAuthErrorChallenge(base64Encode(R"({"status":"4\r\n01"})"));
    ASSERT_TRUE(error);
    EXPECT_EQ(describeOAuthError(error), "status 4??01");
}

TEST(Json, ScalarsNestedValuesAndEscapes) {
    auto members =
        parseJsonObjectScalars(R"( {"access_token":"ya29.a0\/b","expires_in":3599,"ok":true,"none":null,"f":-1.5e3,)"
                               R"("error_codes":[70000,{"a":[1]}],"nested":{"x":"y"},"u":"\u00e9\ud83d\ude00\"\\"} )");
    ASSERT_TRUE(members);
    EXPECT_EQ(members->at("access_token"), "ya29.a0/b");
    EXPECT_EQ(members->at("expires_in"), "3599");
    EXPECT_EQ(members->at("ok"), "true");
    EXPECT_EQ(members->at("none"), "null");
    EXPECT_EQ(members->at("f"), "-1.5e3");
    EXPECT_EQ(members->at("u"), "\xC3\xA9\xF0\x9F\x98\x80\"\\");
    EXPECT_EQ(members->count("error_codes"), 0u);
    EXPECT_EQ(members->count("nested"), 0u);
    EXPECT_TRUE(parseJsonObjectScalars("{}"));
}

TEST(Json, RejectsWhatIsNotOneObject) {
    for (const char* text : {"", "[]", "\"x\"", "{", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":01}", "{\"a\":1} x",
                             "{\"a\":\"\\ud800\"}", "{\"a\":\"\x01\"}", "{\"a\":tru}", "{a:1}", "{\"a\":[1,]}"}) {
        SCOPED_TRACE(text);
        EXPECT_FALSE(parseJsonObjectScalars(text));
    }
    std::string deep = "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}";
    EXPECT_FALSE(parseJsonObjectScalars(deep));
}

TEST(Http, ParsesHttpsUrls) {
    auto google = parseHttpsUrl("https://oauth2.googleapis.com/token");
    ASSERT_TRUE(google);
    EXPECT_EQ(google->host, "oauth2.googleapis.com");
    EXPECT_EQ(google->port, 443);
    EXPECT_EQ(google->target, "/token");
    auto local = parseHttpsUrl("HTTPS://127.0.0.1:8443?x=1");
    ASSERT_TRUE(local);
    EXPECT_EQ(local->port, 8443);
    EXPECT_EQ(local->target, "/?x=1");
    for (const char* bad : {"http://example.com/token", "https://", "https://user@host/", "https://[::1]/",
                            "https://host:0/", "https://host:70000/", "https://host/a#frag", "https://host/a b"}) {
        SCOPED_TRACE(bad);
        EXPECT_FALSE(parseHttpsUrl(bad));
    }
}

TEST(Http, FormEncodingAndRequest) {
    EXPECT_EQ(
        formUrlEncode({{"grant_type", "refresh_token"}, {"scope", "offline_access https://x/A.B"}, {"k", "1/a+b=&"}}),
        "grant_type=refresh_token&scope=offline_access%20https%3A%2F%2Fx%2FA.B&k=1%2Fa%2Bb%3D%26");
    auto url = parseHttpsUrl("https://login.example:444/t");
    std::string request = httpFormPost(*url, {{"a", "b"}});
    EXPECT_EQ(request,
              "POST /t HTTP/1.1\r\nHost: login.example:444\r\nContent-Type: application/x-www-form-urlencoded\r\n"
              "Accept: application/json\r\nContent-Length: 3\r\nConnection: close\r\n\r\na=b");
}

TEST(Http, ContentLengthResponse) {
    std::string raw = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
    HttpResponse response;
    EXPECT_EQ(parseHttpResponse(raw.substr(0, raw.size() - 1), false, response), HttpParse::Incomplete);
    EXPECT_EQ(parseHttpResponse(raw.substr(0, raw.size() - 1), true, response), HttpParse::Malformed);
    ASSERT_EQ(parseHttpResponse(raw, false, response), HttpParse::Complete);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.headers.at("content-type"), "application/json");
    EXPECT_EQ(response.body, "{\"a\":1}");
}

TEST(Http, ChunkedResponseAfterInterim100) {
    std::string raw =
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
        "4;ext=1\r\n{\"er\r\n9\r\nror\":\"x\"}\r\n0\r\nTrailer: t\r\n\r\n";
    HttpResponse response;
    for (std::size_t cut = 0; cut < raw.size(); ++cut) {
        SCOPED_TRACE(cut);
        EXPECT_EQ(parseHttpResponse(raw.substr(0, cut), false, response), HttpParse::Incomplete);
    }
    ASSERT_EQ(parseHttpResponse(raw, false, response), HttpParse::Complete);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.body, "{\"error\":\"x\"}");
}

TEST(Http, BodyUntilCloseAndMalformedReplies) {
    HttpResponse response;
    EXPECT_EQ(parseHttpResponse("HTTP/1.0 200 OK\r\n\r\n{}", false, response), HttpParse::Incomplete);
    ASSERT_EQ(parseHttpResponse("HTTP/1.0 200 OK\r\n\r\n{}", true, response), HttpParse::Complete);
    EXPECT_EQ(response.body, "{}");
    for (const char* bad :
         {"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 000 OK\r\n\r\n", "HTTP/1.1 600 OK\r\n\r\n",
          "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
        SCOPED_TRACE(bad);
        EXPECT_EQ(parseHttpResponse(bad, true, response), HttpParse::Malformed);
    }
}

}  // namespace
}  // namespace mc::proto
