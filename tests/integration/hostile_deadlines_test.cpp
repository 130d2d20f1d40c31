// Deadlines, end to end: servers that trickle bytes or never end a reply, through the real
// binary. An exchange ends within io_timeout (plus time for message content at the floor rate),
// a poll within poll_timeout plus io_timeout, a stopping service within io_timeout, and a bad
// account does not keep a healthy one from being polled. Bounds are generous multiples of the
// configured timeouts; without the deadlines each of these runs on until the test's kill.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/service_harness.hpp"
#include "tests/support/TestCa.hpp"
#include "tests/support/fakes/CollectorHarness.hpp"
#include "tests/support/fakes/FakePop3Server.hpp"
#include "tests/support/fakes/FakeSmtpTarget.hpp"
#include "tests/support/fakes/FaultProxy.hpp"
#include "tests/support/fakes/ScriptedServer.hpp"

namespace mc::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string message(const std::string& subject) {
    return "From: Sender <sender@example.net>\r\n"
           "To: alice@example.com\r\n"
           "Subject: " +
           subject +
           "\r\n"
           "Message-ID: <" +
           subject +
           "@example.net>\r\n"
           "\r\n"
           "Hello.\r\n";
}

// Sends `unit` every `every` until the client goes away or the server stops.
void trickle(ScriptedConnection& connection, const std::string& unit, Millis every) {
    while (connection.open() && !connection.stopping()) {
        if (!connection.send(unit)) return;
        connection.stall(every);
    }
}

// Body lines at about 32 KiB/s: faster than the 16 KiB/s floor, so each byte earns more time
// than it takes and only poll_timeout or a stop ends the transfer.
void streamAboveTheFloor(ScriptedConnection& connection) {
    std::string unit;
    for (int i = 0; i < 40; ++i) unit += std::string(78, 'x') + "\r\n";
    trickle(connection, unit, 100ms);
}

// A POP3 server with two messages that logs anyone in: message 1 is served at once, message 2
// by `second` (after its "+OK"). `streaming` is set when message 2 starts.
Script twoMessagePop3(std::function<void(ScriptedConnection&)> second, std::atomic<bool>* streaming = nullptr) {
    const std::string first = message("first");
    return Script().sendLine("+OK ready").onEachLine([=](ScriptedConnection& c, const std::string& line) {
        auto verb = line.substr(0, line.find(' '));
        if (verb == "CAPA") return c.send("+OK\r\nUIDL\r\nUSER\r\n.\r\n");
        if (verb == "USER" || verb == "PASS" || verb == "NOOP" || verb == "DELE") return c.send("+OK\r\n");
        if (verb == "UIDL") return c.send("+OK\r\n1 uid-1\r\n2 uid-2\r\n.\r\n");
        if (verb == "LIST") return c.send("+OK\r\n1 " + std::to_string(first.size()) + "\r\n2 5000000\r\n.\r\n");
        if (line == "RETR 1") return c.send("+OK\r\n" + first + ".\r\n");
        if (line == "RETR 2") {
            if (!c.send("+OK\r\n")) return false;
            if (streaming) *streaming = true;
            second(c);
            return false;
        }
        if (verb == "QUIT") {
            c.send("+OK bye\r\n");
            return false;
        }
        return c.send("-ERR unknown\r\n");
    });
}

AccountConfig scriptedAccount(std::uint16_t port, const std::string& name, const std::string& protocol = "pop3") {
    AccountConfig account;
    account.name = name;
    account.port = port;
    account.protocol = protocol;
    return account;
}

std::string readText(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

double secondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

class Deadlines : public ::testing::Test {
protected:
    CollectorHarness harness{"2s"};  // io_timeout
    FakeSmtpTarget target{lmtpOptions()};

    // Runs `run --once` (killed after 60 s) and checks that ACCOUNT failed with NEEDLE within
    // BOUND seconds.
    ProcessResult runExpectingFailure(const std::string& account, const std::string& needle, double bound) {
        auto start = Clock::now();
        auto result = harness.run({}, std::chrono::seconds(60));
        double took = secondsSince(start);
        EXPECT_FALSE(result.timedOut) << result.describe();
        EXPECT_LT(took, bound) << result.describe();
        EXPECT_EQ(result.exitCode, 1) << result.describe();
        EXPECT_NE(result.err.find("account=" + account + " poll failed"), std::string::npos) << result.describe();
        EXPECT_NE(result.err.find(needle), std::string::npos) << "stderr lacks '" << needle << "':\n"
                                                              << result.describe();
        return result;
    }
};

// io_timeout 2 s; an exchange may take 2 s (plus credit for content); the run also starts and
// ends the binary. 3 x io_timeout + 5 s is far below the 60 s the old per-read timeout allowed.
constexpr double kExchangeBound = 2 * 3 + 5;

TEST_F(Deadlines, Pop3GreetingTrickledOneByteAtATimeEndsWithinTheExchangeDeadline) {
    ScriptedServer server(Script().run([](ScriptedConnection& c) { trickle(c, "+", 500ms); }));
    harness.writeConfig(lmtpTarget(target.port()), {scriptedAccount(server.port(), "trickle")});
    runExpectingFailure("trickle", "exchange with", kExchangeBound);
}

TEST_F(Deadlines, Pop3EndlessCapaListingSentSlowlyEndsWithinTheExchangeDeadline) {
    ScriptedServer server(Script().sendLine("+OK ready").expectLine("CAPA").run([](ScriptedConnection& c) {
        if (c.send("+OK\r\n")) trickle(c, "X-ENDLESS-CAPABILITY\r\n", 100ms);
    }));
    harness.writeConfig(lmtpTarget(target.port()), {scriptedAccount(server.port(), "capa")});
    runExpectingFailure("capa", "exchange with", kExchangeBound);
}

TEST_F(Deadlines, ImapEndlessUntaggedLinesEndWithinTheExchangeDeadline) {
    ScriptedServer server(
        Script().sendLine("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready").run([](ScriptedConnection& c) {
            if (c.readLine()) trickle(c, "* OK still thinking\r\n", 100ms);
        }));
    harness.writeConfig(lmtpTarget(target.port()), {scriptedAccount(server.port(), "untagged", "imap")});
    runExpectingFailure("untagged", "exchange with", kExchangeBound);
}

TEST_F(Deadlines, Pop3BodyTrickledOneByteAtATimeEndsWithinTheExchangeDeadline) {
    ScriptedServer server(twoMessagePop3([](ScriptedConnection& c) { trickle(c, "y", 200ms); }));
    harness.writeConfig(lmtpTarget(target.port()), {scriptedAccount(server.port(), "slowbody")});
    runExpectingFailure("slowbody", "exchange with", kExchangeBound);
    EXPECT_EQ(target.messages().size(), 1u) << "the first message is delivered before the poll fails";
}

// TLS: OpenSSL waits for each byte of a record (and of the handshake) on its own, so a server
// that trickles them is stopped by the transport's watchdog, not by a socket timeout.
TEST_F(Deadlines, TlsHandshakeAndRecordsTrickledByteByByteEndWithinTheExchangeDeadline) {
    FakePop3Options options;
    options.tls = FakePop3Options::Tls::Implicit;
    options.certFile = TestCa::shared().certFile(CertKind::Valid);
    options.keyFile = TestCa::shared().keyFile(CertKind::Valid);
    FakePop3Server server(options, {FakePop3Message(message("tls"))});
    FaultPlan plan;
    plan.toClient.oneByteSegments = true;
    plan.toClient.segmentDelay = 300ms;
    FaultProxy proxy(server.host(), server.port(), plan);
    AccountConfig account = scriptedAccount(proxy.port(), "tlstrickle");
    account.tls = "implicit";
    account.caFile = TestCa::shared().caFile();
    harness.writeConfig(lmtpTarget(target.port()), {account});
    runExpectingFailure("tlstrickle", "timed out", kExchangeBound);
}

// An SMTP target that trickles its final reply to DATA: that reply gets 5 x io_timeout, as a
// whole, and the message stays pending (nothing is deleted from the source).
TEST_F(Deadlines, SmtpTargetTricklingItsRepliesEndsWithinItsDeadline) {
    auto answer = [](ScriptedConnection& c, const std::string& line) {
        auto verb = line.substr(0, 4);
        if (verb == "EHLO" || verb == "HELO") return c.send("250 slow\r\n");
        if (verb == "MAIL" || verb == "RCPT" || verb == "RSET") return c.send("250 ok\r\n");
        if (verb == "QUIT") return c.send("221 bye\r\n") && false;
        if (verb == "DATA") {
            if (!c.send("354 go on\r\n")) return false;
            while (auto body = c.readLine())
                if (*body == ".") break;
            trickle(c, "2", 500ms);  // "2222..." never completes a reply line
            return false;
        }
        return c.send("502 no\r\n");
    };
    ScriptedServer smtp(Script().sendLine("220 slow ESMTP").onEachLine(answer));
    FakePop3Options options;
    FakePop3Server source(options, {FakePop3Message(message("pending"))});
    TargetConfig targetConfig;
    targetConfig.protocol = "smtp";
    targetConfig.port = smtp.port();
    AccountConfig account = scriptedAccount(source.port(), "acct");
    account.keep = false;
    harness.writeConfig(targetConfig, {account});
    auto start = Clock::now();
    auto result = harness.run({}, std::chrono::seconds(90));
    double took = secondsSince(start);
    EXPECT_FALSE(result.timedOut) << result.describe();
    // The final reply's 5 x io_timeout, one more io_timeout of grace, and the binary's own time.
    EXPECT_LT(took, 5 * 2 + 2 * 3 + 5) << result.describe();
    EXPECT_EQ(source.deleCount(), 0u) << source.transcript();
    EXPECT_EQ(source.remaining(), 1u);
    auto status = harness.status();
    EXPECT_NE(status.out.find("pending 1"), std::string::npos) << status.describe();
}

TEST_F(Deadlines, PollTimeoutEndsAPollThatStreamsFasterThanTheFloorAndKeepsWhatWasFetched) {
    ScriptedServer server(twoMessagePop3(streamAboveTheFloor));
    AccountConfig account = scriptedAccount(server.port(), "endless");
    account.keep = false;
    account.extra = "poll_timeout = \"3s\"\n";
    harness.writeConfig(lmtpTarget(target.port()), {account});
    // poll_timeout 3 s, then up to io_timeout (2 s) to end what is in flight, plus the binary.
    auto result =
        runExpectingFailure("endless", "poll_timeout (3s) reached; the rest is collected next time", 3 + 2 * 2 + 5);
    ASSERT_EQ(target.messages().size(), 1u) << "what was fetched is delivered";
    EXPECT_NE(target.messages()[0].find("Subject: first"), std::string::npos);
    EXPECT_FALSE(server.sawLine("DELE 2")) << server.transcript();
    auto status = harness.status();
    EXPECT_NE(status.out.find("poll_timeout"), std::string::npos) << status.describe();
}

TEST_F(Deadlines, PollTimeoutIsReadFromTheCollectorSection) {
    ScriptedServer server(twoMessagePop3(streamAboveTheFloor));
    harness.writeConfig(lmtpTarget(target.port()), {scriptedAccount(server.port(), "endless")});
    auto config = readText(harness.configPath());
    // The harness writes its own [collector]; add the key there.
    auto at = config.find("[collector]\n");
    ASSERT_NE(at, std::string::npos) << config;
    config.insert(at + 12, "poll_timeout = \"2s\"\n");
    harness.dir().writeFile(harness.configPath().filename().string(), config, 0600);
    runExpectingFailure("endless", "poll_timeout (2s) reached", 2 + 2 * 2 + 5);
}

// ---- the service: a healthy account beside bad ones, and a stop --------------------------------

class DeadlinesService : public service::ServiceFixture {
protected:
    std::string scriptedToml(const std::string& name, std::uint16_t port, const std::string& protocol,
                             const std::string& extra = "") {
        return "[[account]]\nname = \"" + name + "\"\nprotocol = \"" + protocol +
               "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(port) +
               "\ntls = \"none\"\nusername = \"u\"\npassword = \"p\"\ninterval = \"10s\"\n" + extra + "\n";
    }

    std::string writeWith(const std::vector<service::Account>& healthy, const std::string& collector,
                          const std::string& scripted, const std::string& healthyInterval = "1h") {
        auto path = writeConfig(healthy, collector);
        // Bad accounts first: in config order they take the slots before the healthy one.
        auto text = readText(path);
        const std::string interval = "interval = \"" + healthyInterval + "\"";
        for (auto at = text.find("interval = \"1h\""); at != std::string::npos;
             at = text.find("interval = \"1h\"", at + interval.size()))
            text.replace(at, 15, interval);
        auto at = text.find("[[account]]");
        text.insert(at, scripted);
        return work_.writeFile("mailcollector.toml", text, 0600).string();
    }
};

TEST_F(DeadlinesService, BadAccountsHoldingSlotsDoNotStopAHealthyAccountFromBeingPolledOnSchedule) {
    ScriptedServer trickling(Script().run([](ScriptedConnection& c) { trickle(c, "+", 500ms); }));
    ScriptedServer untagged(
        Script().sendLine("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready").run([](ScriptedConnection& c) {
            if (c.readLine()) trickle(c, "* OK still thinking\r\n", 100ms);
        }));
    auto healthy = makeAccounts(1, "healthy");
    seed(healthy[0], "h1@example.net");
    auto config = writeWith(
        healthy, "io_timeout = \"2s\"\nmax_parallel = 2",
        scriptedToml("trickling", trickling.port(), "pop3") + scriptedToml("untagged", untagged.port(), "imap"), "10s");
    auto start = Clock::now();
    startDaemon(config);
    if (HasFatalFailure()) return;
    // Two bad accounts, two slots: the healthy account must still be polled, and again after its
    // 10 s interval (plus up to 1 s of jitter).
    ASSERT_TRUE(service::eventually([&] { return polls(healthy[0].name) >= 2; }, 40s))
        << "healthy polls: " << polls(healthy[0].name) << "\n"
        << daemon_->err();
    EXPECT_LT(secondsSince(start), 2 * 3 + 10 + 1 + 10) << daemon_->err();
    EXPECT_GE(polls("trickling"), 1) << daemon_->err();
    EXPECT_GE(polls("untagged"), 1) << daemon_->err();
    EXPECT_EQ(delivered(), 1u);
    auto result = daemon_->stop(SIGTERM);
    EXPECT_EQ(result.exitCode, 0) << result.describe();
}

TEST_F(DeadlinesService, SigtermEndsTheServiceWithinIoTimeoutWhileAServerStreamsWithoutEnd) {
    std::atomic<bool> streaming{false};
    ScriptedServer endless(twoMessagePop3(streamAboveTheFloor, &streaming));
    auto healthy = makeAccounts(1, "healthy");
    auto config = writeWith(healthy, "io_timeout = \"4s\"", scriptedToml("endless", endless.port(), "pop3"));
    startDaemon(config);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(service::eventually([&] { return streaming.load(); }, 30s)) << daemon_->err();
    auto start = Clock::now();
    daemon_->sendSignal(SIGTERM);
    auto result = daemon_->wait(60s);
    ASSERT_TRUE(result.has_value()) << "still running 60 s after SIGTERM\n" << daemon_->err();
    // io_timeout (4 s) for what is in flight, plus the service's own ending.
    EXPECT_LT(secondsSince(start), 4 + 6) << result->describe();
    EXPECT_EQ(result->exitCode, 0) << result->describe();
    EXPECT_NE(result->err.find("interrupted"), std::string::npos) << result->describe();
    EXPECT_EQ(deliveredIds().count("first@example.net"), 1u) << "what was fetched is delivered";
}

TEST_F(DeadlinesService, AReloadThatRemovesAnAccountStopsItsPollWithinIoTimeout) {
    std::atomic<bool> streaming{false};
    ScriptedServer endless(twoMessagePop3(streamAboveTheFloor, &streaming));
    auto healthy = makeAccounts(1, "healthy");
    auto config = writeWith(healthy, "io_timeout = \"4s\"", scriptedToml("endless", endless.port(), "pop3"));
    startDaemon(config);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(service::eventually([&] { return streaming.load(); }, 30s)) << daemon_->err();
    writeWith(healthy, "io_timeout = \"4s\"", "");
    auto start = Clock::now();
    daemon_->sendSignal(SIGHUP);
    EXPECT_TRUE(service::eventually([&] { return metrics()["mailcollector_polls_in_flight"] == 0; }, 60s))
        << daemon_->err();
    // io_timeout (4 s) for what is in flight, plus the reload itself.
    EXPECT_LT(secondsSince(start), 4 + 6) << daemon_->err();
    EXPECT_TRUE(daemon_->running());
    EXPECT_NE(daemon_->err().find("interrupted"), std::string::npos) << daemon_->err();
    EXPECT_EQ(deliveredIds().count("first@example.net"), 1u) << "what was fetched is delivered";
    auto result = daemon_->stop(SIGTERM);
    EXPECT_EQ(result.exitCode, 0) << result.describe();
}

}  // namespace
}  // namespace mc::testing
