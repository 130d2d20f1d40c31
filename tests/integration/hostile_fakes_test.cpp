// Self-tests of the fakes the hostile tests rely on: they record what they must, and they never
// hang a test (stop is prompt even with a stalled script and a client that keeps the socket open).

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/support/RawClient.hpp"
#include "tests/support/fakes/FaultProxy.hpp"
#include "tests/support/fakes/ScriptedServer.hpp"

namespace mc::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(HostileFakes, ScriptedServerStopsPromptlyWithAStalledScriptAndAnOpenClient) {
    auto server = std::make_unique<ScriptedServer>(Script().sendLine("+OK hello").stall(10min));
    RawClient client(server->port());
    ASSERT_TRUE(client.connected());
    EXPECT_EQ(client.receive(10, 2s), "+OK hello\r\n");
    ASSERT_TRUE(server->waitForConnections(1, 2s));

    auto started = Clock::now();
    server.reset();
    EXPECT_LT(Clock::now() - started, 2s);
}

TEST(HostileFakes, ScriptedServerRecordsEverythingAndReportsFailedExpectations) {
    ScriptedServer server(
        Script().sendLine("+OK hello").expectLine("USER ").sendLine("+OK").expectMatch("PASS [a-z]+"));
    RawClient client(server.port());
    ASSERT_TRUE(client.connected());
    client.receive(11, 2s);
    client.send("USER alice\r\n");
    client.receive(5, 2s);
    client.send("PASS S3CRET\r\nQUIT\r\n");
    bool eof = false;
    client.receive(1000, 2s, &eof);
    EXPECT_TRUE(eof) << "a failed expectation ends the connection";
    ASSERT_TRUE(server.waitUntilIdle(2s));

    EXPECT_TRUE(server.receivedContains("S3CRET"));
    EXPECT_TRUE(server.sawLine("user"));
    EXPECT_EQ(server.countLines("PASS"), 1u);
    auto failures = server.failures();
    ASSERT_EQ(failures.size(), 1u) << server.transcript();
    EXPECT_NE(failures[0].find("PASS S3CRET"), std::string::npos) << failures[0];
}

TEST(HostileFakes, ScriptedServerKeepsRecordingAfterTheScriptEnds) {
    ScriptedServer server(Script().sendLine("+OK hello"));
    {
        RawClient client(server.port());
        client.receive(11, 2s);
        client.send("late line\r\n");
        client.receive(1, 200ms);
    }
    ASSERT_TRUE(server.waitUntilIdle(2s));
    EXPECT_TRUE(server.sawLine("late line")) << server.transcript();
    EXPECT_TRUE(server.failures().empty());
}

TEST(HostileFakes, FaultProxyCutsAfterTheGivenByteCount) {
    std::string payload(10'000, 'p');
    ScriptedServer upstream(Script().send(payload).stall(10min));
    FaultPlan plan;
    plan.toClient.cutAfter = 1234;
    FaultProxy proxy(upstream.host(), upstream.port(), plan);
    RawClient client(proxy.port());
    ASSERT_TRUE(client.connected());

    bool eof = false;
    std::string got = client.receive(payload.size(), 5s, &eof);

    EXPECT_EQ(got.size(), 1234u);
    EXPECT_TRUE(eof);
    EXPECT_EQ(proxy.cuts(), 1u);
    auto started = Clock::now();
    proxy.stop();
    upstream.stop();
    EXPECT_LT(Clock::now() - started, 2s);
}

TEST(HostileFakes, FaultProxyForwardsOneByteSegmentsIntact) {
    std::string payload;
    for (int i = 0; i < 500; ++i) payload += static_cast<char>('a' + i % 26);
    ScriptedServer upstream(Script().send(payload).expectLine("thanks"));
    FaultPlan plan;
    plan.toClient.oneByteSegments = true;
    plan.toServer.oneByteSegments = true;
    FaultProxy proxy(upstream.host(), upstream.port(), plan);
    RawClient client(proxy.port());

    EXPECT_EQ(client.receive(payload.size(), 5s), payload);
    client.send("thanks\r\n");
    ASSERT_TRUE(upstream.waitForConnections(1, 2s));
    auto deadline = Clock::now() + 2s;
    while (!upstream.sawLine("thanks") && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(upstream.sawLine("thanks")) << upstream.transcript();
    EXPECT_TRUE(upstream.failures().empty()) << upstream.transcript();
}

}  // namespace
}  // namespace mc::testing
