// The admin endpoint of the real service under slow and many clients: slowloris connections
// trickling a byte a second and hundreds of idle ones do not keep /healthz or /metrics from
// answering, a trickled request is cut off at its deadline, and replies carry the right reason
// phrases.

#include <atomic>
#include <memory>

#include "tests/integration/service_harness.hpp"
#include "tests/support/RawClient.hpp"

namespace mc::testing::service {
namespace {

std::string statusLine(const std::string& reply) { return reply.substr(0, reply.find("\r\n")); }

class AdminUnderLoadTest : public ServiceFixture {};

TEST_F(AdminUnderLoadTest, HealthzAnswersThroughSlowlorisAndIdleCrowds) {
    const auto accounts = makeAccounts(1, "admin");
    startDaemon(writeConfig(accounts));
    ASSERT_TRUE(waitQuiet(accounts, 1)) << daemon_->err();

    // Slowloris: a byte a second per connection, never ending the request, reconnecting when cut.
    std::atomic<bool> attacking{true};
    std::atomic<int> cutOff{0};
    std::vector<std::thread> slow;
    for (int i = 0; i < 8; ++i)
        slow.emplace_back([&] {
            const std::string request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
            while (attacking) {
                RawClient client(httpPort_);
                if (!client.connected()) continue;
                for (std::size_t sent = 0; attacking; ++sent) {
                    if (!client.send(std::string(1, request[std::min(sent, request.size() - 1)]))) break;
                    if (client.readable(1000ms)) {
                        ++cutOff;  // the server answered (408) and closed: the deadline held
                        break;
                    }
                }
            }
        });
    // And a crowd of idle connections, more than the server keeps open.
    std::vector<std::unique_ptr<RawClient>> idle;
    for (int i = 0; i < 400; ++i) idle.push_back(std::make_unique<RawClient>(httpPort_));

    // For 12 s (more than two request deadlines), /healthz and /metrics answer promptly.
    const auto attackEnds = std::chrono::steady_clock::now() + 12s;
    int answered = 0;
    while (std::chrono::steady_clock::now() < attackEnds) {
        const auto started = std::chrono::steady_clock::now();
        EXPECT_EQ(health(), 200);
        EXPECT_EQ(http(httpPort_, "GET", "/metrics").status, 200);
        EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);  // generous: each is a few ms
        ++answered;
        std::this_thread::sleep_for(500ms);  // paces the probe, as a liveness checker would
    }
    EXPECT_GT(answered, 10);
    EXPECT_GT(cutOff, 0) << "a trickled request outlives its deadline";

    // Reason phrases match their codes.
    EXPECT_EQ(statusLine(rawRoundTrip(httpPort_, "GET /nowhere HTTP/1.1\r\n\r\n")), "HTTP/1.1 404 Not Found");
    EXPECT_EQ(statusLine(rawRoundTrip(httpPort_, "PUT /healthz HTTP/1.1\r\n\r\n")), "HTTP/1.1 405 Method Not Allowed");
    EXPECT_EQ(statusLine(rawRoundTrip(httpPort_, "GET /healthz HTTP/1.1\r\n\r\n")), "HTTP/1.1 200 OK");

    attacking = false;
    for (auto& thread : slow) thread.join();
    idle.clear();
    ASSERT_TRUE(daemon_->running()) << daemon_->err();
}

}  // namespace
}  // namespace mc::testing::service
