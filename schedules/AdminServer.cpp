#include "schedules/AdminServer.hpp"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace mc::schedules {
namespace {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

constexpr int kMaxThreads = 4;
constexpr int kMaxQueued = 64;
constexpr long kRequestTimeoutSeconds = 10;
constexpr const char* kPollPrefix = "/poll/";

void reply(HTTPServerResponse& response, HTTPResponse::HTTPStatus status, const std::string& body,
           const std::string& contentType = "text/plain; charset=utf-8") {
    response.setStatus(status);
    response.setContentType(contentType);
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.set("Cache-Control", "no-store");
    response.send() << body;
}

class AdminHandler final : public Poco::Net::HTTPRequestHandler {
public:
    AdminHandler(Service& service, Metrics& metrics, LedgerHealth& health)
        : service_(service), metrics_(metrics), health_(health) {}

    void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
        try {
            route(request, response);
        } catch (const std::exception& e) {
            spdlog::warn("admin http: {} {} failed: {}", request.getMethod(), request.getURI(), e.what());
        }
    }

private:
    void route(HTTPServerRequest& request, HTTPServerResponse& response) {
        std::string path = request.getURI();
        path = path.substr(0, path.find('?'));
        const std::string& method = request.getMethod();
        const bool get = method == "GET" || method == "HEAD";
        if (path == "/metrics" || path == "/healthz") {
            if (!get) return methodNotAllowed(response, "GET, HEAD");
            if (path == "/metrics")
                return reply(response, HTTPResponse::HTTP_OK, metrics_.render(),
                             "text/plain; version=0.0.4; charset=utf-8");
            return healthz(response);
        }
        if (path == "/poll" || path.rfind(kPollPrefix, 0) == 0) {
            if (method != "POST") return methodNotAllowed(response, "POST");
            return poll(path, response);
        }
        reply(response, HTTPResponse::HTTP_NOT_FOUND,
              "not found; try /metrics, /healthz or POST /poll/<account>\n");
    }

    void healthz(HTTPServerResponse& response) {
        const ServiceState state = service_.state();
        if (state != ServiceState::Running)
            return reply(response, HTTPResponse::HTTP_SERVICE_UNAVAILABLE,
                         std::string("service ") + toString(state) + "\n");
        if (std::string problem = health_.check(); !problem.empty())
            return reply(response, HTTPResponse::HTTP_SERVICE_UNAVAILABLE,
                         "ledger not writable: " + problem + "\n");
        reply(response, HTTPResponse::HTTP_OK, "ok\n");
    }

    void poll(const std::string& path, HTTPServerResponse& response) {
        const bool all = path == "/poll" || path == kPollPrefix;
        const std::string account = all ? std::string() : path.substr(std::string(kPollPrefix).size());
        const PollRequest result = all ? service_.pollAllNow() : service_.pollNow(account);
        switch (result) {
            case PollRequest::Accepted:
                if (all)
                    spdlog::info("poll of every account requested over http");
                else
                    spdlog::info("account={} poll requested over http", account);
                return reply(response, HTTPResponse::HTTP_ACCEPTED,
                             all ? "polling every account\n" : "polling " + account + "\n");
            case PollRequest::UnknownAccount:
                // Not echoed: the path is whatever the client sent.
                return reply(response, HTTPResponse::HTTP_NOT_FOUND, "no such account\n");
            case PollRequest::NotRunning:
                return reply(response, HTTPResponse::HTTP_SERVICE_UNAVAILABLE, "service is stopping\n");
        }
    }

    static void methodNotAllowed(HTTPServerResponse& response, const char* allowed) {
        response.set("Allow", allowed);
        reply(response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED, std::string("use ") + allowed + "\n");
    }

    Service& service_;
    Metrics& metrics_;
    LedgerHealth& health_;
};

class AdminHandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
public:
    AdminHandlerFactory(Service& service, Metrics& metrics, LedgerHealth& health)
        : service_(service), metrics_(metrics), health_(health) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
        return new AdminHandler(service_, metrics_, health_);
    }

private:
    Service& service_;
    Metrics& metrics_;
    LedgerHealth& health_;
};

}  // namespace

LedgerHealth::LedgerHealth(ledger::LedgerStore& ledger, Clock& clock, Duration interval)
    : ledger_(ledger), clock_(clock), interval_(interval) {}

std::string LedgerHealth::check() {
    std::lock_guard lock(mutex_);
    const TimePoint now = clock_.now();
    if (probed_ && now - probedAt_ < interval_) return problem_;
    try {
        ledger_.probeWrite();
        problem_.clear();
    } catch (const std::exception& e) {
        if (problem_.empty()) spdlog::error("ledger write probe failed: {}", e.what());
        problem_ = e.what();
    }
    probed_ = true;
    probedAt_ = clock_.now();
    return problem_;
}

AdminServer::AdminServer(const std::string& listen, Service& service, Metrics& metrics,
                         LedgerHealth& health) {
    try {
        Poco::Net::ServerSocket socket;
        // SO_REUSEADDR for quick restarts, but not SO_REUSEPORT (Poco's two-argument bind sets
        // both): a second instance must fail to listen, not share the port.
        socket.bind(Poco::Net::SocketAddress(listen), /*reuseAddress=*/true, /*reusePort=*/false);
        socket.listen(64);
        port_ = socket.address().port();
        Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
        params->setMaxThreads(kMaxThreads);
        params->setMaxQueued(kMaxQueued);
        params->setTimeout(Poco::Timespan(kRequestTimeoutSeconds, 0));
        params->setKeepAliveTimeout(Poco::Timespan(kRequestTimeoutSeconds, 0));
        params->setServerName("mailcollector");
        threads_ = std::make_unique<Poco::ThreadPool>(1, kMaxThreads);
        server_ = std::make_unique<Poco::Net::HTTPServer>(new AdminHandlerFactory(service, metrics, health),
                                                          *threads_, socket, params);
        server_->start();
        running_ = true;
    } catch (const Poco::Exception& e) {
        throw std::runtime_error("cannot listen on " + listen + ": " + e.displayText());
    }
}

AdminServer::~AdminServer() { stop(); }

void AdminServer::stop() {
    if (!running_) return;
    running_ = false;
    server_->stopAll(true);
    threads_->joinAll();
}

}  // namespace mc::schedules
