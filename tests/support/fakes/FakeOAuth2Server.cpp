#include "tests/support/fakes/FakeOAuth2Server.hpp"

#include <openssl/evp.h>

#include <Poco/Net/Context.h>
#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>

#include <mutex>

namespace mc::testing {

struct FakeOAuth2Server::Shared {
    FakeOAuth2Options options;
    mutable std::mutex mutex;
    std::vector<FakeOAuth2Request> requests;
    std::vector<std::string> failures;
    std::string currentRefreshToken;
    int devicePolls = 0;
};

namespace {

std::string json(const std::vector<std::pair<std::string, std::string>>& members) {
    std::string out = "{";
    for (const auto& [name, value] : members) {
        if (out.size() > 1) out += ",";
        bool number = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
        out += "\"" + name + "\":" + (number ? value : "\"" + value + "\"");
    }
    return out + "}";
}

class Handler : public Poco::Net::HTTPRequestHandler {
public:
    explicit Handler(std::shared_ptr<FakeOAuth2Server::Shared> shared) : shared_(std::move(shared)) {}

    void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
        Poco::Net::HTMLForm form(request, request.stream());
        FakeOAuth2Request record{request.getURI(), {}};
        for (const auto& [name, value] : form) record.form[name] = value;
        int status = 200;
        std::string body;
        {
            std::lock_guard lock(shared_->mutex);
            shared_->requests.push_back(record);
            body = answer(record, status);
        }
        response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
        response.setContentType("application/json; charset=utf-8");
        response.setContentLength(static_cast<std::streamsize>(body.size()));
        response.send() << body;
    }

private:
    void check(const FakeOAuth2Request& r, const std::string& field, const std::string& expected) {
        auto it = r.form.find(field);
        if (it == r.form.end() || it->second != expected)
            shared_->failures.push_back(r.path + ": field " + field + " is '" +
                                        (it == r.form.end() ? "<missing>" : it->second) + "'");
    }

    std::string answer(const FakeOAuth2Request& r, int& status) {
        const auto& o = shared_->options;
        auto grant = r.form.count("grant_type") ? r.form.at("grant_type") : "";
        if (r.path == "/device") {
            check(r, "client_id", o.clientId);
            check(r, "scope", o.scope);
            return json({{"device_code", o.deviceCode},
                         {"user_code", o.userCode},
                         {"verification_url", "https://www.google.com/device"},
                         {"expires_in", "1800"},
                         {"interval", std::to_string(o.interval)}});
        }
        if (r.path != "/token") {
            status = 404;
            return json({{"error", "not_found"}});
        }
        check(r, "client_id", o.clientId);
        check(r, "client_secret", o.clientSecret);
        if (grant == "urn:ietf:params:oauth:grant-type:device_code") {
            check(r, "device_code", o.deviceCode);
            if (shared_->devicePolls++ < o.pendingPolls) {
                status = 428;  // as Google answers authorization_pending
                return json({{"error", "authorization_pending"}, {"error_description", "Precondition Required"}});
            }
            if (o.denied) {
                status = 403;
                return json({{"error", "access_denied"}, {"error_description", "Forbidden"}});
            }
            return json({{"access_token", o.accessToken},
                         {"expires_in", std::to_string(o.expiresIn)},
                         {"refresh_token", o.deviceRefreshToken},
                         {"scope", o.scope},
                         {"token_type", "Bearer"}});
        }
        if (grant != "refresh_token") {
            status = 400;
            return json({{"error", "unsupported_grant_type"}});
        }
        auto given = r.form.count("refresh_token") ? r.form.at("refresh_token") : "";
        if (o.revoked || given != shared_->currentRefreshToken) {
            status = 400;
            return json({{"error", "invalid_grant"}, {"error_description", "Token has been expired or revoked."}});
        }
        std::vector<std::pair<std::string, std::string>> members{
            {"access_token", o.accessToken}, {"expires_in", std::to_string(o.expiresIn)}, {"token_type", "Bearer"}};
        if (!o.rotatedRefreshToken.empty() && shared_->currentRefreshToken != o.rotatedRefreshToken) {
            shared_->currentRefreshToken = o.rotatedRefreshToken;
            members.emplace_back("refresh_token", o.rotatedRefreshToken);
        }
        return json(members);
    }

    std::shared_ptr<FakeOAuth2Server::Shared> shared_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    explicit Factory(std::shared_ptr<FakeOAuth2Server::Shared> shared) : shared_(std::move(shared)) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
        return new Handler(shared_);
    }

private:
    std::shared_ptr<FakeOAuth2Server::Shared> shared_;
};

}  // namespace

struct FakeOAuth2Server::Server {
    Poco::Net::SecureServerSocket socket;
    Poco::Net::HTTPServer http;
    Server(std::shared_ptr<Shared> shared, Poco::Net::Context::Ptr context)
        : socket(Poco::Net::SocketAddress("127.0.0.1", 0), 64, context),
          http(new Factory(std::move(shared)), socket, makeParams()) {}
    static Poco::Net::HTTPServerParams::Ptr makeParams() {
        Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
        params->setKeepAlive(false);
        params->setMaxThreads(4);
        return params;
    }
};

FakeOAuth2Server::FakeOAuth2Server(FakeOAuth2Options options) : shared_(std::make_shared<Shared>()) {
    static std::once_flag once;
    std::call_once(once, [] { Poco::Net::initializeSSL(); });
    shared_->currentRefreshToken = options.refreshToken;
    shared_->options = std::move(options);
    Poco::Net::Context::Ptr context =
        new Poco::Net::Context(Poco::Net::Context::SERVER_USE, shared_->options.keyFile, shared_->options.certFile, "",
                               Poco::Net::Context::VERIFY_NONE);
    server_ = std::make_unique<Server>(shared_, context);
    server_->http.start();
}

FakeOAuth2Server::~FakeOAuth2Server() { server_->http.stopAll(true); }

std::uint16_t FakeOAuth2Server::port() const { return server_->socket.address().port(); }
std::string FakeOAuth2Server::tokenUrl() const { return "https://127.0.0.1:" + std::to_string(port()) + "/token"; }
std::string FakeOAuth2Server::deviceUrl() const { return "https://127.0.0.1:" + std::to_string(port()) + "/device"; }

std::vector<FakeOAuth2Request> FakeOAuth2Server::requests() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->requests;
}

std::size_t FakeOAuth2Server::count(const std::string& what) const {
    std::lock_guard lock(shared_->mutex);
    std::size_t n = 0;
    for (const auto& r : shared_->requests)
        if (r.path == what || (r.form.count("grant_type") && r.form.at("grant_type") == what)) ++n;
    return n;
}

std::vector<std::string> FakeOAuth2Server::failures() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->failures;
}

bool validOAuthResponse(const std::string& decoded, const std::string& user, const std::string& token) {
    const std::string tail = "\001auth=Bearer " + token + "\001\001";
    if (decoded == "user=" + user + tail) return true;  // XOAUTH2
    const std::string head = "n,a=" + user + ",\001host=";
    return decoded.rfind(head, 0) == 0 && decoded.find("\001port=") != std::string::npos &&
           decoded.size() > tail.size() && decoded.compare(decoded.size() - tail.size(), tail.size(), tail) == 0;
}

std::string base64EncodeForTest(const std::string& bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string oauthErrorChallenge() {
    return base64EncodeForTest(R"({"status":"401","schemes":"bearer","scope":"https://mail.google.com/"})");
}

}  // namespace mc::testing
