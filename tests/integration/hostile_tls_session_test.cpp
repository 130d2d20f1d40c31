// TLS session resumption: a poll that finds nothing new is mostly a TLS handshake, and a resumed
// one skips the server's certificate chain. These check that sessions are resumed where the server
// offers it (through net::connect and through the binary), and never where the verification they
// stand for would not hold: another host name, port or trust setting starts a full handshake.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "net/Transport.hpp"
#include "tests/support/TestCa.hpp"
#include "tests/support/fakes/CollectorHarness.hpp"
#include "tests/support/fakes/FakePop3Server.hpp"
#include "tests/support/fakes/FakeSmtpTarget.hpp"
#include "tests/support/fakes/ScriptedServer.hpp"

namespace mc::testing {
namespace {

// A server that takes implicit TLS, greets, and waits for the client to say goodbye.
Script greetOverTls() {
    Script script;
    script.startTls(TestCa::shared().certFile(CertKind::Valid), TestCa::shared().keyFile(CertKind::Valid))
        .sendLine("+OK ready")
        .expectLine("QUIT")
        .sendLine("+OK bye")
        .close();
    return script;
}

net::ConnectOptions tlsTo(const std::string& host, std::uint16_t port) {
    net::ConnectOptions options;
    options.host = host;
    options.port = port;
    options.implicitTls = true;
    options.tls.caFile = TestCa::shared().caFile();
    options.timeout = std::chrono::seconds(5);
    return options;
}

// One session: handshake, the greeting (TLS 1.3 session tickets come with it), QUIT, close.
void converse(const net::ConnectOptions& options) {
    auto transport = net::connect(options);
    char buffer[256];
    std::string reply;
    while (reply.find('\n') == std::string::npos) reply.append(buffer, transport->receive(buffer, sizeof buffer));
    transport->send("QUIT\r\n");
    transport->close();
}

std::vector<bool> resumedFlags(const ScriptedServer& server) {
    std::vector<bool> resumed;
    for (const auto& connection : server.connections()) resumed.push_back(connection.tlsResumed);
    return resumed;
}

TEST(TlsSession, NextConnectionToTheSameServerResumes) {
    ScriptedServer server(greetOverTls());
    // The port is new to this process: no session is known for it yet.
    converse(tlsTo("localhost", server.port()));
    converse(tlsTo("localhost", server.port()));
    converse(tlsTo("localhost", server.port()));
    ASSERT_TRUE(server.waitUntilIdle()) << server.transcript();

    EXPECT_EQ(resumedFlags(server), (std::vector<bool>{false, true, true})) << server.transcript();
    EXPECT_TRUE(server.failures().empty()) << server.transcript();
}

TEST(TlsSession, OtherHostNameOrTrustSettingsStartAFullHandshake) {
    ScriptedServer server(greetOverTls());
    converse(tlsTo("localhost", server.port()));
    // The same server under another name: the session was verified for "localhost" only.
    converse(tlsTo("127.0.0.1", server.port()));
    // Another trust setting: a pin instead of the CA.
    auto pinned = tlsTo("localhost", server.port());
    pinned.tls.fingerprint = certificateFingerprint(TestCa::shared().certFile(CertKind::Valid));
    converse(pinned);
    // The system store left out.
    auto caOnly = tlsTo("localhost", server.port());
    caOnly.tls.systemStore = false;
    converse(caOnly);
    ASSERT_TRUE(server.waitUntilIdle()) << server.transcript();

    EXPECT_EQ(resumedFlags(server), (std::vector<bool>{false, false, false, false})) << server.transcript();
}

TEST(TlsSession, PinnedConnectionsResumeAndAreCheckedAgain) {
    ScriptedServer server(greetOverTls());
    auto pinned = tlsTo("localhost", server.port());
    pinned.tls.fingerprint = certificateFingerprint(TestCa::shared().certFile(CertKind::Valid));
    converse(pinned);
    converse(pinned);
    ASSERT_TRUE(server.waitUntilIdle()) << server.transcript();
    ASSERT_EQ(resumedFlags(server), (std::vector<bool>{false, true})) << server.transcript();
}

// Through the binary: four accounts on one POP3S server, two polled at a time (the harness's
// max_parallel): the polls that start after a finished one resume its session.
TEST(TlsSession, PollsOfAccountsOnOneServerResume) {
    FakePop3Options options;
    options.tls = FakePop3Options::Tls::Implicit;
    options.certFile = TestCa::shared().certFile(CertKind::Valid);
    options.keyFile = TestCa::shared().keyFile(CertKind::Valid);
    FakePop3Server pop(options);
    FakeSmtpTarget target{lmtpOptions()};
    CollectorHarness harness("5s");
    TargetConfig lmtp;
    lmtp.port = target.port();
    std::vector<AccountConfig> accounts;
    for (const char* name : {"a1", "a2", "a3", "a4"}) {
        AccountConfig account;
        account.name = name;
        account.host = "localhost";
        account.port = pop.port();
        account.tls = "implicit";
        account.caFile = TestCa::shared().caFile();
        accounts.push_back(account);
    }
    harness.writeConfig(lmtp, accounts);

    auto result = harness.run();

    ASSERT_EQ(result.exitCode, 0) << result.describe();
    const auto resumed = resumedFlags(pop.server());
    ASSERT_EQ(resumed.size(), 4u) << pop.transcript();
    EXPECT_FALSE(resumed[0]) << pop.transcript();
    EXPECT_GE(std::count(resumed.begin(), resumed.end(), true), 2) << pop.transcript();
}

}  // namespace
}  // namespace mc::testing
