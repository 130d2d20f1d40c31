// Hostile or failing SMTP/LMTP targets, end to end: the real mailcollector binary and config,
// a fake POP3 source and a scripted fake target. Checks that temporary failures leave messages
// pending (and undeleted) for the next run, permanent ones quarantine them, the sender fallback
// works, the duplicate window after a lost final reply re-delivers, and STARTTLS/AUTH ordering.

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

constexpr const char* kTargetUser = "collector@example.org";
constexpr const char* kTargetPassword = "target-Secret-9Zk";

std::string message(const std::string& subject, const std::string& returnPath = "<sender@example.net>",
                    const std::string& body = "Hello.\r\n") {
    return "Return-Path: " + returnPath +
           "\r\n"
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

// The message without the trace lines (Received:, X-Mailcollector-*) put in front of it.
std::string withoutAddedLines(const std::string& data) {
    std::size_t position = 0;
    for (;;) {
        std::size_t end = data.find("\r\n", position);
        if (end == std::string::npos) break;
        std::string line = data.substr(position, end - position);
        bool trace = (line.rfind("Received: from ", 0) == 0 && line.find("by mailcollector") != std::string::npos) ||
                     line.rfind("X-Mailcollector-", 0) == 0;
        if (!trace) break;
        position = end + 2;
    }
    return data.substr(position);
}

FakeSmtpOptions smtpOptions(bool lmtp = false) {
    FakeSmtpOptions options;
    options.lmtp = lmtp;
    return options;
}

FakeSmtpOptions tlsSmtpOptions(FakeSmtpOptions::Tls tls, CertKind cert = CertKind::Valid) {
    FakeSmtpOptions options;
    options.tls = tls;
    options.certFile = TestCa::shared().certFile(cert);
    options.keyFile = TestCa::shared().keyFile(cert);
    options.authMechanisms = "PLAIN LOGIN";
    options.user = kTargetUser;
    options.password = kTargetPassword;
    return options;
}

TargetConfig targetFor(const FakeSmtpTarget& target, std::uint16_t port = 0) {
    TargetConfig config;
    config.protocol = target.options().lmtp ? "lmtp" : "smtp";
    config.port = port ? port : target.port();
    return config;
}

TargetConfig tlsTargetFor(const FakeSmtpTarget& target, const std::string& tls) {
    TargetConfig config = targetFor(target);
    config.tls = tls;
    config.caFile = TestCa::shared().caFile();
    config.username = kTargetUser;
    config.password = kTargetPassword;
    return config;
}

AccountConfig accountFor(const FakePop3Server& pop, bool keep = true) {
    AccountConfig account;
    account.name = "acct";
    account.port = pop.port();
    account.keep = keep;
    return account;
}

class HostileSmtp : public ::testing::Test {
protected:
    CollectorHarness harness{"2s"};

    static bool sawAuth(const FakeSmtpTarget& target) {
        return target.server().sawLine("AUTH") || target.server().receivedContains(kTargetPassword);
    }
    void expectAccountFailed(const ProcessResult& result, const std::string& needle) {
        EXPECT_FALSE(result.timedOut) << result.describe();
        EXPECT_EQ(result.exitCode, 1) << result.describe();
        EXPECT_NE(result.err.find("account=acct poll failed"), std::string::npos) << result.describe();
        EXPECT_NE(result.err.find(needle), std::string::npos) << "stderr lacks '" << needle << "':\n"
                                                              << result.describe();
        EXPECT_FALSE(hasRawControlBytes(result.err)) << escapeBytes(result.err, 4000);
    }
    std::string statusText() {
        auto status = harness.status();
        EXPECT_EQ(status.exitCode, 0) << status.describe();
        return status.out;
    }
};

// ---- a well-behaved target with a long EHLO ---------------------------------------------------

TEST_F(HostileSmtp, MultiLineEhloIsUnderstood) {
    auto options = smtpOptions();
    options.extensions = {
        "PIPELINING",    "SIZE 52428800", "ETRN",     "AUTH=LOGIN", "ENHANCEDSTATUSCODES",
        "8BITMIME",      "DSN",           "SMTPUTF8", "CHUNKING",   "X-VENDOR-EXTENSION with some parameters",
        "DELIVERBY 300", "BINARYMIME",    "VRFY",     "HELP"};
    for (int i = 0; i < 20; ++i) options.extensions.push_back("X-FILLER-" + std::to_string(i));
    FakeSmtpTarget target(options);
    FakePop3Server pop({}, {{message("m1")}});
    harness.writeConfig(targetFor(target), {accountFor(pop)});

    auto result = harness.run();

    ASSERT_EQ(result.exitCode, 0) << result.describe() << target.transcript();
    auto transactions = target.transactions();
    ASSERT_EQ(transactions.size(), 1u) << target.transcript();
    EXPECT_TRUE(transactions[0].accepted);
    EXPECT_NE(transactions[0].mailFrom.find("SIZE="), std::string::npos) << transactions[0].mailFrom;
    EXPECT_NE(transactions[0].mailFrom.find("BODY=8BITMIME"), std::string::npos) << transactions[0].mailFrom;
    EXPECT_EQ(withoutAddedLines(transactions[0].data), message("m1"));
    EXPECT_TRUE(target.server().failures().empty()) << target.transcript();
}

// ---- temporary failures: pending, not deleted, delivered by the next run --------------------

struct TransientCase {
    std::string name;
    std::string verb;
    std::string reply;
    bool lmtp;
};

void PrintTo(const TransientCase& c, std::ostream* out) { *out << c.name; }

class HostileSmtpTransient : public HostileSmtp, public ::testing::WithParamInterface<TransientCase> {};

TEST_P(HostileSmtpTransient, MessageStaysPendingAndNextRunDeliversIt) {
    auto options = smtpOptions(GetParam().lmtp);
    options.replies[GetParam().verb] = {GetParam().reply};
    FakeSmtpTarget target(options);
    FakePop3Server pop({}, {{message("m1")}});
    harness.writeConfig(targetFor(target), {accountFor(pop, /*keep=*/false)});

    auto first = harness.run();

    EXPECT_FALSE(first.timedOut) << first.describe();
    EXPECT_EQ(first.exitCode, 0) << first.describe();  // the poll ran; the message is pending
    EXPECT_NE(first.err.find("account=acct uid=uid-1 delivery deferred"), std::string::npos) << first.describe();
    EXPECT_NE(first.err.find("deferred=1"), std::string::npos) << first.describe();
    EXPECT_TRUE(target.messages().empty()) << target.transcript();
    EXPECT_EQ(pop.deleCount(), 0u) << pop.transcript();
    EXPECT_NE(statusText().find("pending 1"), std::string::npos);

    auto second = harness.run();

    EXPECT_EQ(second.exitCode, 0) << second.describe();
    auto messages = target.messages();
    ASSERT_EQ(messages.size(), 1u) << target.transcript();
    EXPECT_EQ(withoutAddedLines(messages[0]), message("m1"));
    EXPECT_EQ(pop.deleCount(), 1u) << pop.transcript();
    EXPECT_EQ(pop.remaining(), 0u);
    std::string status = statusText();
    // keep = false: delivered, then deleted from the source (counted as deleted).
    EXPECT_NE(status.find("deleted 1"), std::string::npos) << status;
    EXPECT_NE(status.find("pending 0"), std::string::npos) << status;
}

INSTANTIATE_TEST_SUITE_P(
    Replies, HostileSmtpTransient,
    ::testing::Values(TransientCase{"smtp_421_at_mail", "MAIL", "421 4.3.2 service shutting down", false},
                      TransientCase{"smtp_451_at_mail", "MAIL", "451 4.3.0 try again later", false},
                      TransientCase{"smtp_452_at_rcpt", "RCPT", "452 4.2.2 mailbox full", false},
                      TransientCase{"lmtp_452_at_rcpt", "RCPT", "452 4.2.2 mailbox full", true},
                      TransientCase{"smtp_451_at_data", "DATA", "451 4.3.0 no", false},
                      TransientCase{"smtp_451_after_dot", "DOT", "451 4.3.0 queue trouble", false},
                      TransientCase{"lmtp_421_at_mail", "MAIL", "421 4.3.2 going down", true}),
    [](const auto& info) { return info.param.name; });

// ---- a target with too many connections: waited for, never a refusal ------------------------

class HostileSmtpBusy : public HostileSmtp, public ::testing::WithParamInterface<TransientCase> {};

TEST_P(HostileSmtpBusy, TooManyConnectionsIsWaitedForAndTheMessageDeliveredInTheSameRun) {
    auto options = smtpOptions(GetParam().lmtp);
    options.authMechanisms = "PLAIN";
    options.user = kTargetUser;
    options.password = kTargetPassword;
    options.replies[GetParam().verb] = {GetParam().reply};
    FakeSmtpTarget target(options);
    FakePop3Server pop({}, {{message("m1")}});
    auto config = targetFor(target);
    config.username = kTargetUser;
    config.password = kTargetPassword;
    harness.writeConfig(config, {accountFor(pop, /*keep=*/false)});

    auto result = harness.run();

    EXPECT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_NE(result.err.find("too many connections to the target: " + GetParam().reply), std::string::npos)
        << result.describe();
    EXPECT_EQ(result.err.find("refused"), std::string::npos) << result.describe();
    auto messages = target.messages();
    ASSERT_EQ(messages.size(), 1u) << target.transcript();
    EXPECT_EQ(withoutAddedLines(messages[0]), message("m1"));
    EXPECT_EQ(pop.deleCount(), 1u) << pop.transcript();
}

INSTANTIATE_TEST_SUITE_P(
    Replies, HostileSmtpBusy,
    ::testing::Values(TransientCase{"smtp_421_greeting", "GREETING", "421 4.7.0 Too many connections", false},
                      TransientCase{"smtp_554_greeting_too_many", "GREETING",
                                    "554 5.7.1 Too many concurrent SMTP connections", false},
                      TransientCase{"lmtp_421_at_lhlo", "EHLO", "421 4.3.2 Service not available", true},
                      TransientCase{"smtp_454_at_auth", "AUTH", "454 4.7.0 Temporary authentication failure", false}),
    [](const auto& info) { return info.param.name; });

// ---- permanent rejection: quarantined, never deleted --------------------------------------

struct PermanentCase {
    std::string name;
    std::string reply;
    bool lmtp;
};

void PrintTo(const PermanentCase& c, std::ostream* out) { *out << c.name; }

class HostileSmtpPermanent : public HostileSmtp, public ::testing::WithParamInterface<PermanentCase> {};

TEST_P(HostileSmtpPermanent, RejectionAfterDataQuarantinesAndKeepsTheSource) {
    auto options = smtpOptions(GetParam().lmtp);
    options.replies["DOT"] = {GetParam().reply};
    FakeSmtpTarget target(options);
    FakePop3Server pop({}, {{message("m1")}});
    harness.writeConfig(targetFor(target), {accountFor(pop, /*keep=*/false)});

    auto first = harness.run();

    EXPECT_FALSE(first.timedOut) << first.describe();
    EXPECT_NE(first.err.find("account=acct uid=uid-1 rejected by the target"), std::string::npos) << first.describe();
    EXPECT_NE(first.err.find("quarantined in"), std::string::npos) << first.describe();
    EXPECT_NE(first.err.find(GetParam().reply.substr(0, 3)), std::string::npos) << first.describe();
    auto files = harness.quarantinedFiles();
    ASSERT_EQ(files.size(), 1u) << first.describe();
    EXPECT_EQ(readFile(files[0]), message("m1"));
    EXPECT_NE(statusText().find("quarantined 1"), std::string::npos);
    EXPECT_EQ(pop.deleCount(), 0u) << pop.transcript();

    auto second = harness.run();

    EXPECT_EQ(second.exitCode, 0) << second.describe();
    EXPECT_EQ(target.transactions().size(), 1u) << "a quarantined message was sent again:\n" << target.transcript();
    EXPECT_EQ(pop.deleCount(), 0u) << pop.transcript();
    EXPECT_EQ(pop.remaining(), 1u);
    EXPECT_EQ(harness.quarantinedFiles().size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Replies, HostileSmtpPermanent,
                         ::testing::Values(PermanentCase{"smtp_552", "552 5.3.4 message too big", false},
                                           PermanentCase{"smtp_554", "554 5.7.1 spam detected", false},
                                           PermanentCase{"lmtp_552", "552 5.2.2 over quota", true},
                                           PermanentCase{"lmtp_554", "554 5.6.0 content refused", true}),
                         [](const auto& info) { return info.param.name; });

// ---- MAIL FROM refused: the fallback sender -------------------------------------------------

class HostileSmtpSender : public HostileSmtp, public ::testing::WithParamInterface<bool> {};

TEST_P(HostileSmtpSender, MalformedReturnPathRefusedAtMailIsRetriedWithTheFallbackSender) {
    auto options = smtpOptions();
    if (!GetParam()) options.extensions = {"8BITMIME", "SIZE 52428800"};  // no PIPELINING
    options.replies["MAIL"] = {"553 5.1.7 sender address rejected: malformed"};
    FakeSmtpTarget target(options);
    std::string content = message("m1", "<weird..sender@@example>");
    FakePop3Server pop({}, {{content}});
    auto targetConfig = targetFor(target);
    harness.writeConfig(targetConfig, {accountFor(pop, /*keep=*/false)});

    auto result = harness.run();

    EXPECT_EQ(result.exitCode, 0) << result.describe() << target.transcript();
    auto froms = target.mailFroms();
    ASSERT_EQ(froms.size(), 2u) << target.transcript();
    EXPECT_EQ(froms[0].rfind("<weird..sender@@example>", 0), 0u) << froms[0];
    EXPECT_EQ(froms[1].rfind("<" + targetConfig.recipient + ">", 0), 0u) << froms[1];
    auto messages = target.messages();
    ASSERT_EQ(messages.size(), 1u) << target.transcript();
    EXPECT_EQ(withoutAddedLines(messages[0]), content);
    EXPECT_EQ(pop.deleCount(), 1u);
    EXPECT_TRUE(harness.quarantinedFiles().empty());
}

INSTANTIATE_TEST_SUITE_P(Pipelining, HostileSmtpSender, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "pipelined" : "lockstep"; });

// ---- the duplicate window: connection lost after the final dot ------------------------------

TEST_F(HostileSmtp, ConnectionDroppedAfterFinalDotIsPendingAndDeliveredAgainNextRun) {
    auto options = smtpOptions();
    options.replies["DOT"] = {kDropConnection};
    FakeSmtpTarget target(options);
    FakePop3Server pop({}, {{message("m1")}});
    harness.writeConfig(targetFor(target), {accountFor(pop, /*keep=*/false)});

    auto first = harness.run();

    EXPECT_FALSE(first.timedOut) << first.describe();
    EXPECT_EQ(first.exitCode, 0) << first.describe();
    EXPECT_NE(first.err.find("delivery deferred"), std::string::npos) << first.describe();
    ASSERT_EQ(target.transactions().size(), 1u) << target.transcript();
    EXPECT_EQ(target.transactions()[0].reply, "");
    EXPECT_EQ(pop.deleCount(), 0u) << "deleted although the target never confirmed:\n" << pop.transcript();
    EXPECT_NE(statusText().find("pending 1"), std::string::npos);

    auto second = harness.run();

    EXPECT_EQ(second.exitCode, 0) << second.describe();
    auto transactions = target.transactions();
    ASSERT_EQ(transactions.size(), 2u) << target.transcript();
    EXPECT_TRUE(transactions[1].accepted);
    // The same message twice: the accepted duplicate is the price of never losing one.
    EXPECT_EQ(withoutAddedLines(transactions[0].data), withoutAddedLines(transactions[1].data));
    EXPECT_EQ(pop.deleCount(), 1u) << pop.transcript();
}

TEST_F(HostileSmtp, ConnectionCutInTheMiddleOfDataIsPendingAndDeliveredNextRun) {
    FakeSmtpTarget target(smtpOptions());
    std::string content = message("big", "<sender@example.net>", std::string(300 * 1024, 'd') + "\r\n");
    FakePop3Server pop({}, {{content}});
    FaultPlan plan;
    plan.toServer.cutAfter = 150 * 1024;
    FaultProxy proxy(target.host(), target.port(), plan);
    harness.writeConfig(targetFor(target, proxy.port()), {accountFor(pop, /*keep=*/false)});

    auto first = harness.run();

    EXPECT_FALSE(first.timedOut) << first.describe();
    EXPECT_NE(first.err.find("delivery deferred"), std::string::npos) << first.describe();
    EXPECT_EQ(proxy.cuts(), 1u);
    EXPECT_TRUE(target.transactions().empty()) << target.transcript();
    EXPECT_EQ(pop.deleCount(), 0u);

    proxy.setPlan({});
    auto second = harness.run();

    EXPECT_EQ(second.exitCode, 0) << second.describe();
    auto messages = target.messages();
    ASSERT_EQ(messages.size(), 1u) << target.transcript();
    EXPECT_EQ(withoutAddedLines(messages[0]), content);
    EXPECT_EQ(pop.deleCount(), 1u);
}

// ---- STARTTLS, certificates and AUTH on the target side -------------------------------------

TEST_F(HostileSmtp, StartTlsRequiredButNotOfferedFailsBeforeAuth) {
    auto options = tlsSmtpOptions(FakeSmtpOptions::Tls::StartTls);
    options.offerStartTls = false;
    FakeSmtpTarget target(options);
    FakePop3Server pop({}, {{message("m1")}});
    harness.writeConfig(tlsTargetFor(target, "starttls"), {accountFor(pop, /*keep=*/false)});

    auto result = harness.run();

    expectAccountFailed(result, "does not offer STARTTLS");
    EXPECT_TRUE(target.server().sawLine("EHLO")) << target.transcript();
    EXPECT_FALSE(target.server().sawLine("STARTTLS")) << target.transcript();
    EXPECT_FALSE(sawAuth(target)) << target.transcript();
    EXPECT_FALSE(target.server().sawLine("MAIL")) << target.transcript();
    EXPECT_EQ(pop.deleCount(), 0u);
    EXPECT_EQ(pop.remaining(), 1u);
}

TEST_F(HostileSmtp, StartTlsRefusedFailsBeforeAuth) {
    auto options = tlsSmtpOptions(FakeSmtpOptions::Tls::StartTls);
    options.replies["STARTTLS"] = {"454 4.7.0 TLS not available due to temporary reason"};
    FakeSmtpTarget target(options);
    FakePop3Server pop({}, {{message("m1")}});
    harness.writeConfig(tlsTargetFor(target, "starttls"), {accountFor(pop, /*keep=*/false)});

    auto result = harness.run();

    expectAccountFailed(result, "STARTTLS");
    EXPECT_FALSE(sawAuth(target)) << target.transcript();
    EXPECT_EQ(pop.deleCount(), 0u);
}

TEST_F(HostileSmtp, StartTlsResponseInjectionIsRefusedBeforeAuth) {
    auto options = tlsSmtpOptions(FakeSmtpOptions::Tls::StartTls);
    options.replies["STARTTLS"] = {"220 2.0.0 go ahead\r\n250-injected\r\n250 AUTH PLAIN"};
    FakeSmtpTarget target(options);
    FakePop3Server pop({}, {{message("m1")}});
    harness.writeConfig(tlsTargetFor(target, "starttls"), {accountFor(pop, /*keep=*/false)});

    auto result = harness.run();

    expectAccountFailed(result, "response injection");
    EXPECT_FALSE(sawAuth(target)) << target.transcript();
    EXPECT_EQ(target.server().tlsEstablished(), 0u);
    EXPECT_EQ(pop.deleCount(), 0u);
}

TEST_F(HostileSmtp, StartTlsAndAuthWorkWithAuthOnlyAfterTls) {
    FakeSmtpTarget target(tlsSmtpOptions(FakeSmtpOptions::Tls::StartTls));
    FakePop3Server pop({}, {{message("m1")}});
    harness.writeConfig(tlsTargetFor(target, "starttls"), {accountFor(pop)});

    auto result = harness.run();

    ASSERT_EQ(result.exitCode, 0) << result.describe() << target.transcript();
    auto transactions = target.transactions();
    ASSERT_EQ(transactions.size(), 1u) << target.transcript();
    EXPECT_TRUE(transactions[0].secure);
    std::string transcript = target.transcript();
    auto established = transcript.find("TLS established");
    auto auth = transcript.find("C: AUTH");
    ASSERT_NE(established, std::string::npos) << transcript;
    ASSERT_NE(auth, std::string::npos) << transcript;
    EXPECT_LT(established, auth) << transcript;
    EXPECT_EQ(target.server().countLines("EHLO"), 2u) << "EHLO must be repeated after STARTTLS:\n" << transcript;
}

class HostileSmtpCertificates : public HostileSmtp, public ::testing::WithParamInterface<CertKind> {};

TEST_P(HostileSmtpCertificates, BadTargetCertificateFailsBeforeAuth) {
    FakeSmtpTarget target(tlsSmtpOptions(FakeSmtpOptions::Tls::StartTls, GetParam()));
    FakePop3Server pop({}, {{message("m1")}});
    harness.writeConfig(tlsTargetFor(target, "starttls"), {accountFor(pop, /*keep=*/false)});

    auto result = harness.run();

    EXPECT_FALSE(result.timedOut) << result.describe();
    EXPECT_NE(result.err.find("certificate"), std::string::npos) << result.describe();
    EXPECT_FALSE(sawAuth(target)) << target.transcript();
    EXPECT_FALSE(target.server().sawLine("MAIL")) << target.transcript();
    EXPECT_EQ(pop.deleCount(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Kinds, HostileSmtpCertificates,
                         ::testing::Values(CertKind::Expired, CertKind::WrongHost, CertKind::UnknownCa),
                         [](const auto& info) { return toString(info.param); });

// A target answering the TLS handshake only after io_timeout (but before twice that) must not
// get the credentials when its certificate names another host.
TEST_F(HostileSmtp, SlowTargetTlsHandshakeDoesNotSkipHostNameVerification) {
    auto options = tlsSmtpOptions(FakeSmtpOptions::Tls::Implicit, CertKind::WrongHost);
    options.delayBeforeTls = 3000ms;
    FakeSmtpTarget target(options);
    FakePop3Server pop({}, {{message("m1")}});
    harness.writeConfig(tlsTargetFor(target, "implicit"), {accountFor(pop, /*keep=*/false)});

    auto result = harness.run();

    EXPECT_FALSE(result.timedOut) << result.describe();
    EXPECT_FALSE(sawAuth(target)) << "target credentials sent to a wrong-host certificate:\n"
                                  << target.transcript() << result.describe();
    EXPECT_TRUE(target.messages().empty()) << target.transcript();
}

// ---- malformed target output -----------------------------------------------------------------

TEST_F(HostileSmtp, FormatSpecifiersInTargetGreetingAreLoggedEscaped) {
    auto options = smtpOptions();
    options.replies["GREETING"] = {"554 %s%n{}{:>99999}\x1b[31m no service for you"};
    FakeSmtpTarget target(options);
    FakePop3Server pop({}, {{message("m1")}});
    harness.writeConfig(targetFor(target), {accountFor(pop, /*keep=*/false)});

    auto result = harness.run();

    expectAccountFailed(result, "554 %s%n{}{:>99999}\\x1b[31m no service");
    EXPECT_EQ(result.err.find('\x1b'), std::string::npos) << escapeBytes(result.err, 4000);
    EXPECT_EQ(pop.deleCount(), 0u);
}

TEST_F(HostileSmtp, OversizedTargetReplyDefersWithoutCrashOrDeletion) {
    auto options = smtpOptions();
    options.replies["MAIL"] = {"250 " + std::string(70 * 1024, 'x')};
    FakeSmtpTarget target(options);
    FakePop3Server pop({}, {{message("m1")}});
    harness.writeConfig(targetFor(target), {accountFor(pop, /*keep=*/false)});

    auto result = harness.run();

    EXPECT_FALSE(result.timedOut) << result.describe();
    EXPECT_EQ(result.termSignal, 0) << result.describe();
    EXPECT_TRUE(result.exitCode == 0 || result.exitCode == 1) << result.describe();
    EXPECT_NE(result.err.find("account=acct"), std::string::npos) << result.describe();
    EXPECT_TRUE(target.messages().empty()) << target.transcript();
    EXPECT_EQ(pop.deleCount(), 0u);
    EXPECT_NE(statusText().find("pending 1"), std::string::npos);
}

TEST_F(HostileSmtp, MalformedTargetReplyDefersWithoutCrashOrDeletion) {
    auto options = smtpOptions();
    options.replies["RCPT"] = {"250-first line\r\n251 code changes mid-reply"};
    FakeSmtpTarget target(options);
    FakePop3Server pop({}, {{message("m1")}});
    harness.writeConfig(targetFor(target), {accountFor(pop, /*keep=*/false)});

    auto result = harness.run();

    EXPECT_FALSE(result.timedOut) << result.describe();
    EXPECT_EQ(result.termSignal, 0) << result.describe();
    EXPECT_TRUE(target.messages().empty()) << target.transcript();
    EXPECT_EQ(pop.deleCount(), 0u);
    EXPECT_NE(statusText().find("pending 1"), std::string::npos);
}

}  // namespace
}  // namespace mc::testing
