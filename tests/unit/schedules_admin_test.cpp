// The admin HTTP endpoint over a real socket: /metrics, /healthz (with a failing ledger) and
// POST /poll, against a Service driven by a fake clock and a fake poll function.

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "collector/ledger/SqliteLedgerStore.hpp"
#include "schedules/AdminServer.hpp"
#include "tests/unit/schedules_fake_clock.hpp"

namespace mc::schedules {
namespace {

using namespace std::chrono_literals;

struct Response {
    int status = 0;
    std::string contentType;
    std::string body;
};

class AdminServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/mc-admin-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        ledger_ = std::make_unique<ledger::SqliteLedgerStore>((dir_ / "ledger.db").string());
        auto config = std::make_shared<config::Config>();
        for (const char* name : {"alice", "bob"}) {
            config::AccountSettings account;
            account.name = name;
            account.interval = std::chrono::hours(1);
            config->accounts.push_back(account);
        }
        service_ = std::make_unique<Service>(
            config, *ledger_, clock_, metrics_,
            [this](const config::Config&, const config::AccountSettings& account) {
                ++polls_[account.name == "alice" ? 0 : 1];
                collector::PollReport report;
                report.account = account.name;
                report.ok = true;
                report.delivered = 2;
                report.bytes = 100;
                return report;
            },
            ServiceOptions{.seed = 5});
        health_ = std::make_unique<LedgerHealth>(*ledger_, clock_);
        server_ = std::make_unique<AdminServer>("127.0.0.1:0", *service_, metrics_, *health_);
    }
    void TearDown() override {
        server_.reset();
        service_->requestStop();
        if (runner_.valid()) runner_.wait();
        service_.reset();
        ledger_.reset();
        std::filesystem::remove_all(dir_);
    }

    void run() {
        runner_ = std::async(std::launch::async, [this] { return service_->run(); });
        ASSERT_TRUE(
            eventually([&] { return polls_[0] == 1 && polls_[1] == 1 && service_->pollsInFlight() == 0; }));
    }

    Response request(const std::string& method, const std::string& path) {
        Poco::Net::HTTPClientSession session("127.0.0.1", server_->port());
        session.setTimeout(Poco::Timespan(10, 0));
        Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
        if (method == "POST") request.setContentLength(0);
        session.sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::istream& body = session.receiveResponse(response);
        Response result;
        result.status = response.getStatus();
        result.contentType = response.getContentType();
        Poco::StreamCopier::copyToString(body, result.body);
        return result;
    }

    static bool eventually(const std::function<bool()>& done) {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(1ms);
        }
        return true;
    }

    std::filesystem::path dir_;
    std::unique_ptr<ledger::SqliteLedgerStore> ledger_;
    testing::FakeClock clock_;
    Metrics metrics_;
    std::atomic<int> polls_[2] = {0, 0};
    std::unique_ptr<Service> service_;
    std::unique_ptr<LedgerHealth> health_;
    std::unique_ptr<AdminServer> server_;
    std::future<ServiceResult> runner_;
};

TEST_F(AdminServerTest, HealthzFollowsTheServiceState) {
    auto before = request("GET", "/healthz");
    EXPECT_EQ(before.status, 503);
    EXPECT_EQ(before.body, "service starting\n");
    run();
    auto running = request("GET", "/healthz");
    EXPECT_EQ(running.status, 200);
    EXPECT_EQ(running.body, "ok\n");
    service_->requestStop();
    EXPECT_EQ(request("GET", "/healthz").status, 503);
}

TEST_F(AdminServerTest, HealthzFailsWhenTheLedgerCannotBeWritten) {
    run();
    ASSERT_EQ(request("GET", "/healthz").status, 200);
    ledger_->executeForTesting("PRAGMA query_only = 1");
    EXPECT_EQ(request("GET", "/healthz").status, 200) << "the probe result is reused for 5 s";
    clock_.advance(5s);
    auto failing = request("GET", "/healthz");
    EXPECT_EQ(failing.status, 503);
    EXPECT_NE(failing.body.find("ledger not writable: "), std::string::npos) << failing.body;
    ledger_->executeForTesting("PRAGMA query_only = 0");
    clock_.advance(5s);
    EXPECT_EQ(request("GET", "/healthz").status, 200);
}

TEST_F(AdminServerTest, MetricsAreServedInPrometheusTextFormat) {
    run();
    auto metrics = request("GET", "/metrics");
    EXPECT_EQ(metrics.status, 200);
    EXPECT_EQ(metrics.contentType, "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_NE(metrics.body.find("mailcollector_messages_total{account=\"alice\",outcome=\"delivered\"} 2\n"),
              std::string::npos)
        << metrics.body;
    EXPECT_NE(metrics.body.find("mailcollector_bytes_total{account=\"bob\"} 100\n"), std::string::npos);
    EXPECT_EQ(request("HEAD", "/metrics").body, "");
    EXPECT_EQ(request("POST", "/metrics").status, 405);
}

TEST_F(AdminServerTest, PostPollTriggersOneAccountOrAll) {
    run();
    auto one = request("POST", "/poll/bob");
    EXPECT_EQ(one.status, 202);
    EXPECT_EQ(one.body, "polling bob\n");
    ASSERT_TRUE(eventually([&] { return polls_[1] == 2; }));
    EXPECT_EQ(polls_[0], 1);

    auto all = request("POST", "/poll");
    EXPECT_EQ(all.status, 202);
    ASSERT_TRUE(eventually([&] { return polls_[0] == 2 && polls_[1] == 3; }));

    auto unknown = request("POST", "/poll/%3Cscript%3E");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(unknown.body, "no such account\n") << "the request path is not echoed";
    EXPECT_EQ(request("GET", "/poll/bob").status, 405);
    EXPECT_EQ(request("GET", "/").status, 404);

    service_->requestStop();
    EXPECT_EQ(request("POST", "/poll/bob").status, 503);
}

TEST(AdminServerListenTest, RefusesAnAddressInUse) {
    char pattern[] = "/tmp/mc-admin-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    std::filesystem::path dir = pattern;
    {
        ledger::SqliteLedgerStore ledger((dir / "ledger.db").string());
        testing::FakeClock clock;
        Metrics metrics;
        auto config = std::make_shared<config::Config>();
        Service service(
            config, ledger, clock, metrics,
            [](const config::Config&, const config::AccountSettings&) { return collector::PollReport{}; });
        LedgerHealth health(ledger, clock);
        AdminServer first("127.0.0.1:0", service, metrics, health);
        const std::string taken = "127.0.0.1:" + std::to_string(first.port());
        try {
            AdminServer second(taken, service, metrics, health);
            ADD_FAILURE() << "listened twice on " << taken;
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find("cannot listen on " + taken), std::string::npos) << e.what();
        }
    }
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mc::schedules
