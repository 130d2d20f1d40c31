// Hostile POP3 sources, end to end: the real mailcollector binary, a real config file, scripted
// fake servers (tests/support/fakes) instead of real ones, because real servers will not
// misbehave on demand. Each test checks the exit code, the account-scoped error on stderr, and
// what the fakes recorded (above all: no credential was sent where it must not be).

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/TestCa.hpp"
#include "tests/support/fakes/CollectorHarness.hpp"
#include "tests/support/fakes/FakePop3Server.hpp"
#include "tests/support/fakes/FakeSmtpTarget.hpp"
#include "tests/support/fakes/FaultProxy.hpp"
#include "tests/support/fakes/ScriptedServer.hpp"

namespace mc::testing {
namespace {

using namespace std::chrono_literals;
using Tls = FakePop3Options::Tls;

std::string message(const std::string& subject, const std::string& body = "Hello.\r\n") {
    return "Return-Path: <sender@example.net>\r\n"
           "From: Sender <sender@example.net>\r\n"
           "To: alice@example.com\r\n"
           "Subject: " +
           subject +
           "\r\n"
           "Message-ID: <" +
           subject +
           "@example.net>\r\n"
           "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
           "\r\n" +
           body;
}

FakePop3Options popOptions(Tls tls = Tls::None, CertKind cert = CertKind::Valid) {
    FakePop3Options options;
    options.tls = tls;
    if (tls != Tls::None) {
        options.certFile = TestCa::shared().certFile(cert);
        options.keyFile = TestCa::shared().keyFile(cert);
    }
    return options;
}

AccountConfig accountFor(std::uint16_t port, const std::string& name = "acct", const std::string& tls = "none") {
    AccountConfig account;
    account.name = name;
    account.port = port;
    account.tls = tls;
    if (tls != "none") account.caFile = TestCa::shared().caFile();
    return account;
}

// How a timeout may be worded: "... timed out", "HOST:PORT sent nothing for 2 s",
// "sending to HOST:PORT stalled for 2 s".
const std::vector<std::string> kTimeoutWords = {"timed out", "sent nothing for", "stalled for"};

class HostilePop3 : public ::testing::Test {
protected:
    CollectorHarness harness{"2s"};
    FakeSmtpTarget target{lmtpOptions()};

    // Common checks of a run that must fail for ACCOUNT with NEEDLE in the error.
    void expectAccountFailed(const ProcessResult& result, const std::string& account, const std::string& needle) {
        EXPECT_FALSE(result.timedOut) << result.describe();
        EXPECT_EQ(result.exitCode, 1) << result.describe();
        EXPECT_NE(result.err.find("account=" + account + " poll failed"), std::string::npos) << result.describe();
        EXPECT_NE(result.err.find(needle), std::string::npos) << "stderr lacks '" << needle << "':\n"
                                                              << result.describe();
        EXPECT_FALSE(hasRawControlBytes(result.err)) << escapeBytes(result.err, 4000);
    }
    // Like expectAccountFailed, for errors whose wording may be any of NEEDLES (timeouts).
    void expectAccountFailedAny(const ProcessResult& result, const std::string& account,
                                const std::vector<std::string>& needles) {
        EXPECT_FALSE(result.timedOut) << result.describe();
        EXPECT_EQ(result.exitCode, 1) << result.describe();
        EXPECT_NE(result.err.find("account=" + account + " poll failed"), std::string::npos) << result.describe();
        bool found = false;
        for (const auto& needle : needles) found = found || result.err.find(needle) != std::string::npos;
        EXPECT_TRUE(found) << "stderr names no timeout:\n" << result.describe();
    }
    void expectNothingDelivered() { EXPECT_TRUE(target.transactions().empty()) << target.transcript(); }
};

// ---- STARTTLS downgrade and injection -------------------------------------------------------

TEST_F(HostilePop3, StartTlsRequiredButNotInCapaFailsBeforeCredentials) {
    auto options = popOptions(Tls::StartTls);
    options.offerStls = false;
    FakePop3Server pop(options, {{message("m1")}});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port(), "acct", "starttls")});

    auto result = harness.run();

    expectAccountFailed(result, "acct", "does not offer STLS");
    EXPECT_TRUE(pop.server().sawLine("CAPA")) << pop.transcript();
    EXPECT_FALSE(pop.server().sawLine("STLS")) << pop.transcript();
    EXPECT_FALSE(pop.sawCredentials()) << pop.transcript();
    expectNothingDelivered();
}

TEST_F(HostilePop3, StartTlsRefusedWithErrFailsBeforeCredentials) {
    auto options = popOptions(Tls::StartTls);
    options.replies["STLS"] = "-ERR [SYS/TEMP] TLS is broken today\r\n";
    FakePop3Server pop(options, {{message("m1")}});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port(), "acct", "starttls")});

    auto result = harness.run();

    expectAccountFailed(result, "acct", "refused STLS");
    EXPECT_TRUE(pop.server().sawLine("STLS")) << pop.transcript();
    EXPECT_FALSE(pop.sawCredentials()) << pop.transcript();
    EXPECT_EQ(pop.server().tlsEstablished(), 0u);
    expectNothingDelivered();
}

TEST_F(HostilePop3, StartTlsWithoutCapaSupportAndStlsRefusedFailsBeforeCredentials) {
    auto options = popOptions(Tls::None);  // no TLS at all: STLS is answered -ERR
    options.capaSupported = false;
    FakePop3Server pop(options, {{message("m1")}});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port(), "acct", "starttls")});

    auto result = harness.run();

    expectAccountFailed(result, "acct", "refused STLS");
    EXPECT_FALSE(pop.sawCredentials()) << pop.transcript();
    expectNothingDelivered();
}

TEST_F(HostilePop3, StartTlsResponseInjectionIsRefusedBeforeCredentials) {
    auto options = popOptions(Tls::StartTls);
    // Both lines in one write: the second would be read as the first post-TLS reply.
    options.replies["STLS"] = "+OK Begin TLS\r\n+OK injected\r\n";
    FakePop3Server pop(options, {{message("m1")}});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port(), "acct", "starttls")});

    auto result = harness.run();

    expectAccountFailed(result, "acct", "response injection");
    EXPECT_FALSE(pop.sawCredentials()) << pop.transcript();
    EXPECT_EQ(pop.server().tlsEstablished(), 0u) << pop.transcript();
    expectNothingDelivered();
}

TEST_F(HostilePop3, StartTlsWorkingCredentialsOnlyAfterHandshake) {
    FakePop3Server pop(popOptions(Tls::StartTls), {{message("m1")}});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port(), "acct", "starttls")});

    auto result = harness.run();

    EXPECT_EQ(result.exitCode, 0) << result.describe() << pop.transcript();
    ASSERT_EQ(target.messages().size(), 1u) << target.transcript();
    EXPECT_EQ(pop.server().tlsEstablished(), 1u);
    std::string transcript = pop.transcript();
    auto established = transcript.find("TLS established");
    auto user = transcript.find("C: USER");
    ASSERT_NE(established, std::string::npos) << transcript;
    ASSERT_NE(user, std::string::npos) << transcript;
    EXPECT_LT(established, user) << "credentials before TLS:\n" << transcript;
    EXPECT_EQ(pop.server().countLines("CAPA"), 2u) << "CAPA must be re-read after TLS:\n" << transcript;
}

// ---- stalls ---------------------------------------------------------------------------------

TEST_F(HostilePop3, StalledGreetingTimesOutAndOtherAccountsStillDeliver) {
    ScriptedServer silent(Script().stall(60s));
    FakePop3Server good(popOptions(), {{message("good1")}});
    harness.writeConfig(lmtpTarget(target.port()),
                        {accountFor(silent.port(), "stalled"), accountFor(good.port(), "good")});

    auto result = harness.run();

    expectAccountFailed(result, "stalled", "sent nothing for 2 s");
    EXPECT_NE(result.err.find("account=good poll ok"), std::string::npos) << result.describe();
    EXPECT_EQ(target.messages().size(), 1u) << target.transcript();
    EXPECT_TRUE(silent.received().empty()) << silent.transcript();
}

TEST_F(HostilePop3, StalledTlsHandshakeTimesOutAndOtherAccountsStillDeliver) {
    // Accepts TCP, then says nothing: the client's ClientHello goes unanswered.
    ScriptedServer silent(Script().stall(60s));
    FakePop3Server good(popOptions(), {{message("good1")}});
    harness.writeConfig(lmtpTarget(target.port()),
                        {accountFor(silent.port(), "stalltls", "implicit"), accountFor(good.port(), "good")});

    auto result = harness.run({}, std::chrono::seconds(40));

    expectAccountFailedAny(result, "stalltls", kTimeoutWords);
    EXPECT_NE(result.err.find("account=good poll ok"), std::string::npos) << result.describe();
    EXPECT_EQ(target.messages().size(), 1u) << target.transcript();
}

TEST_F(HostilePop3, StalledStartTlsHandshakeTimesOut) {
    // STLS is answered +OK, then the server never takes part in the handshake.
    Script script;
    script.sendLine("+OK ready")
        .expectLine("CAPA")
        .send("+OK\r\nUSER\r\nUIDL\r\nSTLS\r\n.\r\n")
        .expectLine("STLS")
        .sendLine("+OK go ahead")
        .stall(60s);
    ScriptedServer server(script);
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(server.port(), "stalltls", "starttls")});

    auto result = harness.run({}, std::chrono::seconds(40));

    expectAccountFailedAny(result, "stalltls", kTimeoutWords);
    EXPECT_TRUE(server.failures().empty()) << server.transcript();
    EXPECT_FALSE(server.receivedContains("pop3-Secret-7Qx"));
}

// ---- certificates -----------------------------------------------------------------------------

class HostilePop3Certificates : public HostilePop3, public ::testing::WithParamInterface<CertKind> {};

TEST_P(HostilePop3Certificates, BadCertificateIsRefusedBeforeCredentials) {
    FakePop3Server pop(popOptions(Tls::Implicit, GetParam()), {{message("m1")}});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port(), "acct", "implicit")});

    auto result = harness.run();

    expectAccountFailed(result, "acct", "certificate");
    // The host name is checked once the handshake is done, so the handshake itself may complete;
    // but not one command may follow it.
    EXPECT_TRUE(pop.server().lines().empty()) << pop.transcript();
    EXPECT_FALSE(pop.sawCredentials()) << pop.transcript();
    expectNothingDelivered();
}

TEST_P(HostilePop3Certificates, BadCertificateIsRefusedWithStartTls) {
    FakePop3Server pop(popOptions(Tls::StartTls, GetParam()), {{message("m1")}});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port(), "acct", "starttls")});

    auto result = harness.run();

    expectAccountFailed(result, "acct", "certificate");
    EXPECT_FALSE(pop.sawCredentials()) << pop.transcript();
    expectNothingDelivered();
}

INSTANTIATE_TEST_SUITE_P(Kinds, HostilePop3Certificates,
                         ::testing::Values(CertKind::Expired, CertKind::WrongHost, CertKind::UnknownCa),
                         [](const auto& info) { return toString(info.param); });

// A server that answers the ClientHello only after io_timeout (2 s) but before twice that:
// the client may time out, or finish the handshake and verify the certificate -- but it must
// never send credentials to a server whose certificate names another host.
TEST_F(HostilePop3, SlowImplicitTlsHandshakeDoesNotSkipHostNameVerification) {
    auto options = popOptions(Tls::Implicit, CertKind::WrongHost);
    options.delayBeforeTls = 3000ms;
    FakePop3Server pop(options, {{message("m1")}});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port(), "acct", "implicit")});

    auto result = harness.run();

    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_FALSE(pop.sawCredentials()) << "credentials sent to a server with a wrong-host certificate:\n"
                                       << pop.transcript() << result.describe();
    expectNothingDelivered();
}

TEST_F(HostilePop3, SlowImplicitTlsHandshakeDoesNotSkipFingerprintPin) {
    auto options = popOptions(Tls::Implicit, CertKind::Valid);
    options.delayBeforeTls = 3000ms;
    FakePop3Server pop(options, {{message("m1")}});
    auto account = accountFor(pop.port(), "acct", "implicit");
    account.fingerprint = certificateFingerprint(TestCa::shared().certFile(CertKind::WrongHost));
    harness.writeConfig(lmtpTarget(target.port()), {account});

    auto result = harness.run();

    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_FALSE(pop.sawCredentials()) << "credentials sent despite a tls_fingerprint mismatch:\n"
                                       << pop.transcript() << result.describe();
    expectNothingDelivered();
}

TEST_F(HostilePop3, SlowStartTlsHandshakeDoesNotSkipHostNameVerification) {
    auto options = popOptions(Tls::StartTls, CertKind::WrongHost);
    options.delayBeforeTls = 3000ms;
    FakePop3Server pop(options, {{message("m1")}});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port(), "acct", "starttls")});

    auto result = harness.run();

    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_FALSE(pop.sawCredentials()) << "credentials sent to a server with a wrong-host certificate:\n"
                                       << pop.transcript() << result.describe();
    expectNothingDelivered();
}

TEST_F(HostilePop3, ValidCertificateWithImplicitTlsDelivers) {
    FakePop3Server pop(popOptions(Tls::Implicit), {{message("m1")}});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port(), "acct", "implicit")});

    auto result = harness.run();

    EXPECT_EQ(result.exitCode, 0) << result.describe() << pop.transcript();
    EXPECT_EQ(target.messages().size(), 1u) << target.transcript();
}

TEST_F(HostilePop3, FingerprintPinMismatchIsRefused) {
    FakePop3Server pop(popOptions(Tls::Implicit), {{message("m1")}});
    auto account = accountFor(pop.port(), "acct", "implicit");
    // A valid chain, but not the pinned certificate.
    account.fingerprint = certificateFingerprint(TestCa::shared().certFile(CertKind::WrongHost));
    harness.writeConfig(lmtpTarget(target.port()), {account});

    auto result = harness.run();

    expectAccountFailed(result, "acct", "tls_fingerprint");
    EXPECT_FALSE(pop.sawCredentials()) << pop.transcript();
    expectNothingDelivered();
}

TEST_F(HostilePop3, FingerprintPinMatchDelivers) {
    FakePop3Server pop(popOptions(Tls::Implicit), {{message("m1")}});
    auto account = accountFor(pop.port(), "acct", "implicit");
    account.fingerprint = certificateFingerprint(TestCa::shared().certFile(CertKind::Valid));
    harness.writeConfig(lmtpTarget(target.port()), {account});

    auto result = harness.run();

    EXPECT_EQ(result.exitCode, 0) << result.describe() << pop.transcript();
    EXPECT_EQ(target.messages().size(), 1u) << target.transcript();
}

// examples/team-archive.toml: "A server with a self-signed certificate: pin it instead of
// trusting the world." A certificate from a CA nobody trusts, pinned, no ca_file.
TEST_F(HostilePop3, FingerprintPinOfUntrustedCertificateDeliversAsDocumented) {
    FakePop3Server pop(popOptions(Tls::Implicit, CertKind::UnknownCa), {{message("m1")}});
    auto account = accountFor(pop.port(), "acct", "implicit");
    account.caFile.clear();
    account.fingerprint = certificateFingerprint(TestCa::shared().certFile(CertKind::UnknownCa));
    harness.writeConfig(lmtpTarget(target.port()), {account});

    auto result = harness.run();

    EXPECT_EQ(result.exitCode, 0) << result.describe() << pop.transcript();
    EXPECT_EQ(target.messages().size(), 1u) << target.transcript();
}

// ---- malformed server output --------------------------------------------------------------

TEST_F(HostilePop3, OversizedGreetingIsRefused) {
    auto options = popOptions();
    options.replies["GREETING"] = "+OK " + std::string(70 * 1024, 'A');  // and no line end
    FakePop3Server pop(options, {{message("m1")}});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port())});

    auto result = harness.run();

    expectAccountFailed(result, "acct", "longer than the limit");
    EXPECT_FALSE(pop.sawCredentials()) << pop.transcript();
    expectNothingDelivered();
}

TEST_F(HostilePop3, OversizedListingLineIsRefused) {
    FakePop3Message bad{message("m1")};
    bad.uidl = std::string(70 * 1024, 'u');
    FakePop3Server pop(popOptions(), {bad});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port())});

    auto result = harness.run();

    expectAccountFailed(result, "acct", "longer than the limit");
    expectNothingDelivered();
    EXPECT_EQ(pop.deleCount(), 0u);
}

class HostilePop3ListSizes : public HostilePop3, public ::testing::WithParamInterface<std::string> {};

TEST_P(HostilePop3ListSizes, MalformedListSizeIsRefused) {
    FakePop3Message good{message("m1")};
    FakePop3Message bad{message("m2")};
    bad.listSize = GetParam();
    FakePop3Server pop(popOptions(), {good, bad});
    auto account = accountFor(pop.port());
    account.keep = false;
    harness.writeConfig(lmtpTarget(target.port()), {account});

    auto result = harness.run();

    expectAccountFailed(result, "acct", "malformed LIST line");
    expectNothingDelivered();
    EXPECT_EQ(pop.deleCount(), 0u) << pop.transcript();
    EXPECT_EQ(pop.remaining(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Sizes, HostilePop3ListSizes,
                         ::testing::Values("-5", "abc", "12abc", "99999999999999999999999", "0x10", "+7", "1 2"),
                         [](const auto& info) {
                             std::string name;
                             for (char c : info.param) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                             return "size_" + name + "_" + std::to_string(info.index);
                         });

class HostilePop3Uidls : public HostilePop3, public ::testing::WithParamInterface<std::string> {};

TEST_P(HostilePop3Uidls, MalformedUidlIsRefusedAndLoggedEscaped) {
    FakePop3Message bad{message("m1")};
    bad.uidl = GetParam();
    FakePop3Server pop(popOptions(), {bad});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port())});

    auto result = harness.run();

    expectAccountFailed(result, "acct", "malformed UIDL line");
    expectNothingDelivered();
    EXPECT_EQ(pop.deleCount(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Uidls, HostilePop3Uidls,
                         ::testing::Values("abc def",
                                           "abc\x01"
                                           "def",
                                           "abc\x1b[31mred", "tab\there", std::string(71, 'x')),
                         [](const auto& info) { return "uidl_" + std::to_string(info.index); });

TEST_F(HostilePop3, ControlCharactersInUidlAppearEscapedInTheLog) {
    FakePop3Message bad{message("m1")};
    bad.uidl = "abc\x1b[31mred";
    FakePop3Server pop(popOptions(), {bad});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port())});

    auto result = harness.run();

    EXPECT_NE(result.err.find("abc\\x1b[31mred"), std::string::npos) << escapeBytes(result.err, 4000);
    EXPECT_EQ(result.err.find('\x1b'), std::string::npos) << escapeBytes(result.err, 4000);
}

TEST_F(HostilePop3, FormatSpecifiersAndEscapesInServerTextAreLoggedEscaped) {
    // A first, good poll registers the account in the ledger; the second meets the hostile text.
    FakePop3Server good(popOptions(), {{message("m1")}});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(good.port())});
    auto first = harness.run();
    ASSERT_EQ(first.exitCode, 0) << first.describe();

    auto options = popOptions();
    options.replies["PASS"] = "-ERR %s%n{}\x1b[31m%x{0}\r\n";
    FakePop3Server pop(options, {{message("m1")}});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port())});

    auto result = harness.run();

    expectAccountFailed(result, "acct", "-ERR %s%n{}\\x1b[31m%x{0}");
    EXPECT_EQ(result.err.find('\x1b'), std::string::npos) << escapeBytes(result.err, 4000);

    auto status = harness.status();
    EXPECT_EQ(status.exitCode, 0) << status.describe();
    EXPECT_NE(status.out.find("%s%n{}\\x1b[31m"), std::string::npos) << status.describe();
    EXPECT_FALSE(hasRawControlBytes(status.out)) << escapeBytes(status.out, 4000);
}

// An account that never gets past login (wrong password, bad certificate) is exactly the one an
// operator must see failing in `status`.
TEST_F(HostilePop3, StatusShowsTheFailureOfAnAccountThatNeverGotPastLogin) {
    auto options = popOptions();
    options.password = "not-what-the-config-says";
    FakePop3Server pop(options, {{message("m1")}});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port())});

    auto result = harness.run();
    expectAccountFailed(result, "acct", "invalid user name or password");

    auto status = harness.status();
    EXPECT_EQ(status.exitCode, 0) << status.describe();
    EXPECT_EQ(status.out.find("never polled"), std::string::npos) << status.describe();
    EXPECT_NE(status.out.find("invalid user name or password"), std::string::npos) << status.describe();
}

TEST_F(HostilePop3, FormatSpecifiersInGreetingErrAreLoggedEscaped) {
    auto options = popOptions();
    options.replies["GREETING"] = "-ERR %n%n%n%s{}{:>99999}\x07\x1b]0;owned\x07\r\n";
    FakePop3Server pop(options, {{message("m1")}});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port())});

    auto result = harness.run();

    expectAccountFailed(result, "acct", "%n%n%n%s{}{:>99999}\\x07\\x1b]0;owned\\x07");
    EXPECT_FALSE(pop.sawCredentials());
}

// ---- message content ----------------------------------------------------------------------

TEST_F(HostilePop3, DotLinesAndBareLfArriveByteExact) {
    std::string body =
        ".\r\n"
        "..\r\n"
        "...\r\n"
        ".leading dot\r\n"
        "A001 OK\r\n"
        "A001 OK LOGIN completed\r\n"
        "bare lf line\n"
        "\n"
        ".\n"
        "..\n"
        "+OK not a status\r\n"
        "-ERR not a status either\r\n"
        "last line\r\n";
    std::string content = message("dots", body);
    FakePop3Options options = popOptions();
    options.capabilities.push_back("PIPELINING");
    FakePop3Server pop(options, {{content}, {message("second", "x\r\n.\r\n")}});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port())});

    auto result = harness.run();

    ASSERT_EQ(result.exitCode, 0) << result.describe() << pop.transcript();
    auto messages = target.messages();
    ASSERT_EQ(messages.size(), 2u) << target.transcript();
    // The order of delivery is not fixed (several target connections): find by subject.
    int found = 0;
    for (const auto& data : messages) {
        if (data.find("Subject: dots") != std::string::npos) {
            EXPECT_EQ(withoutTraceHeaders(data, "acct"), crlf(content));
            ++found;
        } else {
            EXPECT_EQ(withoutTraceHeaders(data, "acct"), crlf(message("second", "x\r\n.\r\n")));
        }
    }
    EXPECT_EQ(found, 1);
    EXPECT_TRUE(target.server().failures().empty()) << target.transcript();
}

// A server listing a small size and then sending far more than max_message_size: what it lists
// cannot be trusted, and an unbounded body would fill the spool.
TEST_F(HostilePop3, RetrBodyFarLargerThanListedAndMaxSizeIsNotDelivered) {
    FakePop3Message liar{message("liar", std::string(2 * 1024 * 1024, 'x') + "\r\n")};
    liar.listSize = "300";
    FakePop3Server pop(popOptions(), {liar});
    auto account = accountFor(pop.port());
    account.extra = "max_message_size = \"100KB\"\n";
    account.keep = false;
    harness.writeConfig(lmtpTarget(target.port()), {account});

    auto result = harness.run();

    expectAccountFailed(result, "acct", "more than");
    for (const auto& transaction : target.transactions())
        EXPECT_LE(transaction.data.size(), 100u * 1000u + 1024u)
            << "a message far over max_message_size was delivered (" << transaction.data.size() << " bytes)";
    EXPECT_EQ(pop.deleCount(), 0u) << "deleted a message it should not have taken";
}

// Two different messages under one UIDL: neither can be identified, so both are delivered once
// and neither is ever deleted, however often the account is polled.
TEST_F(HostilePop3, RepeatedUidlIsDeliveredOnceAndNeverDeleted) {
    FakePop3Message first{message("twin-a")};
    FakePop3Message second{message("twin-b")};
    first.uidl = second.uidl = "same-uid";
    FakePop3Server pop(popOptions(), {first, second});
    auto account = accountFor(pop.port());
    account.keep = false;
    harness.writeConfig(lmtpTarget(target.port()), {account});

    auto run1 = harness.run();
    auto run2 = harness.run();

    EXPECT_EQ(run1.exitCode, 0) << run1.describe();
    EXPECT_EQ(run2.exitCode, 0) << run2.describe();
    EXPECT_EQ(target.messages().size(), 2u) << target.transcript();
    EXPECT_EQ(pop.deleCount(), 0u) << pop.transcript();
    EXPECT_EQ(pop.remaining(), 2u);
}

// `check` connects, negotiates TLS and logs in: with a bad certificate it must stop before USER.
TEST_F(HostilePop3, CheckCommandRefusesBadCertificateBeforeCredentials) {
    FakePop3Server pop(popOptions(Tls::Implicit, CertKind::WrongHost), {{message("m1")}});
    harness.writeConfig(lmtpTarget(target.port()), {accountFor(pop.port(), "acct", "implicit")});

    auto result = harness.command("check");

    EXPECT_FALSE(result.timedOut) << result.describe();
    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_NE(result.out.find("acct: FAILED"), std::string::npos) << result.describe();
    EXPECT_NE(result.out.find("certificate"), std::string::npos) << result.describe();
    EXPECT_FALSE(pop.sawCredentials()) << pop.transcript();
    expectNothingDelivered();
}

// ---- faults in the byte stream (FaultProxy) -------------------------------------------------

TEST_F(HostilePop3, OneByteSegmentsBothWaysStillDeliverByteExact) {
    std::string content = message("segments", ".\r\n..\r\nA001 OK\r\nbare\nend\r\n");
    FakePop3Server pop(popOptions(), {{content}});
    FaultPlan plan;
    plan.toClient.oneByteSegments = true;
    plan.toServer.oneByteSegments = true;
    FaultProxy popProxy(pop.host(), pop.port(), plan);
    FaultProxy targetProxy(target.host(), target.port(), plan);
    auto targetConfig = lmtpTarget(target.port());
    targetConfig.port = targetProxy.port();
    harness.writeConfig(targetConfig, {accountFor(popProxy.port())});

    auto result = harness.run();

    ASSERT_EQ(result.exitCode, 0) << result.describe() << pop.transcript();
    auto messages = target.messages();
    ASSERT_EQ(messages.size(), 1u) << target.transcript();
    EXPECT_EQ(withoutTraceHeaders(messages[0], "acct"), crlf(content));
    EXPECT_GT(popProxy.bytesToClient(), content.size());
}

TEST_F(HostilePop3, ConnectionCutInTheMiddleOfRetrLosesNothingAndDeletesNothing) {
    std::string content = message("big", std::string(300 * 1024, 'b') + "\r\n");
    FakePop3Server pop(popOptions(), {{content}});
    FaultPlan plan;
    plan.toClient.cutAfter = 150 * 1024;  // well into the body of RETR 1
    FaultProxy proxy(pop.host(), pop.port(), plan);
    auto account = accountFor(proxy.port());
    account.keep = false;
    harness.writeConfig(lmtpTarget(target.port()), {account});

    auto first = harness.run();

    expectAccountFailed(first, "acct", "closed the connection");
    EXPECT_EQ(proxy.cuts(), 1u);
    expectNothingDelivered();
    EXPECT_EQ(pop.deleCount(), 0u) << pop.transcript();
    EXPECT_EQ(pop.remaining(), 1u);

    proxy.setPlan({});
    auto second = harness.run();

    EXPECT_EQ(second.exitCode, 0) << second.describe();
    auto messages = target.messages();
    ASSERT_EQ(messages.size(), 1u) << target.transcript();
    EXPECT_EQ(withoutTraceHeaders(messages[0], "acct"), crlf(content));
    EXPECT_EQ(pop.deleCount(), 1u) << pop.transcript();
    EXPECT_EQ(pop.remaining(), 0u);
}

TEST_F(HostilePop3, StallInTheMiddleOfRetrTimesOutAndDeletesNothing) {
    std::string content = message("stalled", std::string(300 * 1024, 's') + "\r\n");
    FakePop3Server pop(popOptions(), {{content}});
    FaultPlan plan;
    plan.toClient.stallAfter = 100 * 1024;
    plan.toClient.stallFor = 60s;
    FaultProxy proxy(pop.host(), pop.port(), plan);
    auto account = accountFor(proxy.port());
    account.keep = false;
    harness.writeConfig(lmtpTarget(target.port()), {account});

    auto result = harness.run();

    expectAccountFailed(result, "acct", "sent nothing for 2 s");
    expectNothingDelivered();
    EXPECT_EQ(pop.deleCount(), 0u);
    EXPECT_EQ(pop.remaining(), 1u);
}

}  // namespace
}  // namespace mc::testing
