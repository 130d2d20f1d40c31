#pragma once
// The tests' HTTP client for the admin endpoint on 127.0.0.1 (header-only: unit tests use it too).
// For bytes an HTTP library would not send, see RawClient.hpp.

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <cstdint>
#include <map>
#include <string>

namespace mc::testing {

struct HttpReply {
    int status = 0;  // 0: no connection, or no HTTP reply within 10 s
    std::string contentType;
    std::string body;
    std::map<std::string, std::string> headers;
};

// METHOD PATH over HTTP/1.1 with `headers`; a POST carries `body` as a form
// (application/x-www-form-urlencoded). Never throws.
inline HttpReply httpRequest(std::uint16_t port, const std::string& method, const std::string& path,
                             const std::map<std::string, std::string>& headers, const std::string& body = "") {
    HttpReply reply;
    try {
        Poco::Net::HTTPClientSession session("127.0.0.1", port);
        session.setTimeout(Poco::Timespan(10, 0));
        Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
        for (const auto& [name, value] : headers) request.set(name, value);
        if (method == "POST") {
            request.setContentLength(static_cast<std::streamsize>(body.size()));
            if (!body.empty()) request.setContentType("application/x-www-form-urlencoded");
        }
        session.sendRequest(request) << body;
        Poco::Net::HTTPResponse response;
        std::istream& in = session.receiveResponse(response);
        reply.status = response.getStatus();
        reply.contentType = response.getContentType();
        for (const auto& [name, value] : response) reply.headers[name] = value;
        Poco::StreamCopier::copyToString(in, reply.body);
    } catch (const Poco::Exception&) {
        reply.status = 0;
    }
    return reply;
}

// The same without headers, or with `token` sent as `Authorization: Bearer` when not empty.
inline HttpReply httpRequest(std::uint16_t port, const std::string& method, const std::string& path,
                             const std::string& token = "") {
    if (token.empty()) return httpRequest(port, method, path, std::map<std::string, std::string>{});
    return httpRequest(port, method, path, {{"Authorization", "Bearer " + token}});
}

}  // namespace mc::testing
