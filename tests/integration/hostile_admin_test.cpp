// The admin endpoint of the real service under slow and many clients: slowloris connections
// trickling a byte a second and hundreds of idle ones do not keep /healthz or /metrics from
// answering, a trickled request is cut off at its deadline, and replies carry the right reason
// phrases.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

#include "tests/integration/service_harness.hpp"

namespace mc::testing::service {
namespace {

int connectTo(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Sends `request` and returns everything until the server closes (at most 10 s).
std::string roundTrip(std::uint16_t port, const std::string& request) {
    const int fd = connectTo(port);
    if (fd < 0) return {};
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string reply;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    char buffer[4096];
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd ready{fd, POLLIN, 0};
        if (::poll(&ready, 1, 100) != 1) continue;
        const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
        if (got <= 0) break;
        reply.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(fd);
    return reply;
}

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
                const int fd = connectTo(httpPort_);
                if (fd < 0) continue;
                for (std::size_t sent = 0; attacking; ++sent) {
                    const char byte = request[std::min(sent, request.size() - 1)];
                    if (::send(fd, &byte, 1, MSG_NOSIGNAL) != 1) break;
                    pollfd closed{fd, POLLIN, 0};
                    if (::poll(&closed, 1, 1000) == 1) {
                        ++cutOff;  // the server answered (408) and closed: the deadline held
                        break;
                    }
                }
                ::close(fd);
            }
        });
    // And a crowd of idle connections, more than the server keeps open.
    std::vector<int> idle;
    for (int i = 0; i < 400; ++i)
        if (const int fd = connectTo(httpPort_); fd >= 0) idle.push_back(fd);

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
    EXPECT_EQ(statusLine(roundTrip(httpPort_, "GET /nowhere HTTP/1.1\r\n\r\n")), "HTTP/1.1 404 Not Found");
    EXPECT_EQ(statusLine(roundTrip(httpPort_, "PUT /healthz HTTP/1.1\r\n\r\n")), "HTTP/1.1 405 Method Not Allowed");
    EXPECT_EQ(statusLine(roundTrip(httpPort_, "GET /healthz HTTP/1.1\r\n\r\n")), "HTTP/1.1 200 OK");

    attacking = false;
    for (auto& thread : slow) thread.join();
    for (const int fd : idle) ::close(fd);
    ASSERT_TRUE(daemon_->running()) << daemon_->err();
}

}  // namespace
}  // namespace mc::testing::service
