// The admin HTTP endpoint over a real socket: /metrics, /healthz (with a failing ledger) and
// POST /poll, against a Service driven by a fake clock and a fake poll function.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "collector/ledger/SqliteLedgerStore.hpp"
#include "schedules/AdminServer.hpp"
#include "tests/support/FakeClock.hpp"
#include "tests/support/HttpClient.hpp"
#include "tests/support/RawClient.hpp"

namespace mc::schedules {
namespace {

using namespace std::chrono_literals;

using Response = mc::testing::HttpReply;

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
        ASSERT_TRUE(eventually([&] { return polls_[0] == 1 && polls_[1] == 1 && service_->pollsInFlight() == 0; }));
    }

    Response request(const std::string& method, const std::string& path) {
        return mc::testing::httpRequest(server_->port(), method, path);
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

using mc::testing::RawClient;
using mc::testing::rawRoundTrip;

std::string statusLine(const std::string& response) { return response.substr(0, response.find("\r\n")); }

TEST_F(AdminServerTest, RepliesCarryTheirOwnReasonPhrases) {
    run();
    const auto port = server_->port();
    EXPECT_EQ(statusLine(rawRoundTrip(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")), "HTTP/1.1 200 OK");
    EXPECT_EQ(statusLine(rawRoundTrip(port, "GET /nowhere HTTP/1.1\r\n\r\n")), "HTTP/1.1 404 Not Found");
    const std::string notAllowed = rawRoundTrip(port, "DELETE /metrics HTTP/1.1\r\n\r\n");
    EXPECT_EQ(statusLine(notAllowed), "HTTP/1.1 405 Method Not Allowed");
    EXPECT_NE(notAllowed.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos) << notAllowed;
    EXPECT_EQ(statusLine(rawRoundTrip(port, "POST /poll/bob HTTP/1.1\r\nContent-Length: 0\r\n\r\n")),
              "HTTP/1.1 202 Accepted");
    EXPECT_EQ(statusLine(rawRoundTrip(port, "hello there\r\n\r\n")), "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(statusLine(rawRoundTrip(port, "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n")),
              "HTTP/1.1 431 Request Header Fields Too Large");
    const std::string head = rawRoundTrip(port, "HEAD /healthz HTTP/1.1\r\n\r\n");
    EXPECT_EQ(statusLine(head), "HTTP/1.1 200 OK");
    EXPECT_NE(head.find("Content-Length: 3\r\n"), std::string::npos) << head;
    EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n") << "no body after HEAD";
    service_->requestStop();
    EXPECT_EQ(statusLine(rawRoundTrip(port, "GET /healthz HTTP/1.0\r\n\r\n")), "HTTP/1.1 503 Service Unavailable");
}

TEST_F(AdminServerTest, HealthzAnswersWhileSlowAndIdleClientsHangOn) {
    run();
    const auto port = server_->port();
    // Slowloris: a byte every 100 ms, never finishing the request; and a crowd of idle
    // connections, more than the server keeps open.
    std::atomic<bool> attacking{true};
    std::vector<std::thread> slow;
    for (int i = 0; i < 8; ++i)
        slow.emplace_back([&, port] {
            while (attacking) {
                RawClient client(port);
                const std::string request = "GET /healthz HTTP/1.1\r\nX-Slow: ";
                for (std::size_t sent = 0; attacking && client.send(request.substr(sent % request.size(), 1)); ++sent)
                    std::this_thread::sleep_for(100ms);
            }
        });
    std::vector<std::unique_ptr<RawClient>> idle;
    for (int i = 0; i < 400; ++i) idle.push_back(std::make_unique<RawClient>(port));
    // Each answer is prompt: well under the client's 10 s timeout, whatever the others do.
    for (int i = 0; i < 20; ++i) {
        const auto started = std::chrono::steady_clock::now();
        auto health = request("GET", "/healthz");
        EXPECT_EQ(health.status, 200) << "request " << i;
        EXPECT_LT(std::chrono::steady_clock::now() - started, 3s) << "request " << i;
        EXPECT_EQ(request("GET", "/metrics").status, 200) << "request " << i;
    }
    attacking = false;
    for (auto& thread : slow) thread.join();
}

TEST_F(AdminServerTest, ARequestMustArriveWithinItsDeadlineWhateverItTrickles) {
    server_.reset();
    AdminLimits limits;
    limits.requestDeadline = 500ms;
    server_ = std::make_unique<AdminServer>("127.0.0.1:0", *service_, metrics_, *health_, limits);
    RawClient client(server_->port());
    const auto started = std::chrono::steady_clock::now();
    // One byte every 100 ms would renew a per-read timeout forever; the deadline is per request.
    for (int i = 0; i < 100 && client.send("G"); ++i)
        if (client.readable(100ms)) break;  // the server answered: stop before it resets us
    const std::string reply = client.receiveAll();
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(statusLine(reply), "HTTP/1.1 408 Request Timeout");
    // Generous: the deadline is 0.5 s; the trickle would have gone on for 10 s.
    EXPECT_LT(took, 8s);
}

TEST_F(AdminServerTest, WaitingPollAnswersWithEachResult) {
    run();
    const auto port = server_->port();
    const std::string one = rawRoundTrip(port, "POST /poll?wait=1&account=bob HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(statusLine(one), "HTTP/1.1 200 OK");
    EXPECT_NE(one.find("\r\n\r\nok\taccount=bob poll ok: listed=0 fetched=0 delivered=2 "), std::string::npos) << one;
    EXPECT_EQ(polls_[1], 2);
    EXPECT_EQ(polls_[0], 1);

    const std::string all = rawRoundTrip(port, "POST /poll?wait=1 HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    EXPECT_NE(all.find("ok\taccount=alice poll ok: "), std::string::npos) << all;
    EXPECT_NE(all.find("ok\taccount=bob poll ok: "), std::string::npos) << all;
    EXPECT_EQ(polls_[0], 2);
    EXPECT_EQ(polls_[1], 3);

    const std::string unknown =
        rawRoundTrip(port, "POST /poll?wait=1&account=bob&account=carol HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(statusLine(unknown), "HTTP/1.1 404 Not Found");
    EXPECT_NE(unknown.find("no account named 'carol'; the service's accounts: alice, bob\n"), std::string::npos)
        << unknown;
    EXPECT_EQ(polls_[1], 3) << "nothing is polled when a name is unknown";
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
        Service service(config, ledger, clock, metrics,
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
