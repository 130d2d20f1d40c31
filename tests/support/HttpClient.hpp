#pragma once
// The tests' HTTP client for the admin endpoint on 127.0.0.1 (header-only: unit tests use it too).

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <cstdint>
#include <string>

namespace mc::testing {

struct HttpReply {
    int status = 0;  // 0: no connection, or no HTTP reply within 10 s
    std::string contentType;
    std::string body;
};

// METHOD PATH over HTTP/1.1 (a POST with an empty body); never throws. `token`: sent as
// `Authorization: Bearer` when not empty.
inline HttpReply httpRequest(std::uint16_t port, const std::string& method, const std::string& path,
                             const std::string& token = "") {
    HttpReply reply;
    try {
        Poco::Net::HTTPClientSession session("127.0.0.1", port);
        session.setTimeout(Poco::Timespan(10, 0));
        Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
        if (method == "POST") request.setContentLength(0);
        if (!token.empty()) request.set("Authorization", "Bearer " + token);
        session.sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::istream& body = session.receiveResponse(response);
        reply.status = response.getStatus();
        reply.contentType = response.getContentType();
        Poco::StreamCopier::copyToString(body, reply.body);
    } catch (const Poco::Exception&) {
        reply.status = 0;
    }
    return reply;
}

}  // namespace mc::testing
