// Mistakes a new user makes with a source, through the binary (`check`, as they would try it),
// against scripted servers: each error names the problem and its fix.

#include <algorithm>
#include <cctype>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/TestCa.hpp"
#include "tests/support/fakes/CollectorHarness.hpp"
#include "tests/support/fakes/ScriptedServer.hpp"

namespace mc::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class CliErrors : public ::testing::Test {
protected:
    // `check` for one account; the target's verdict (nothing listens there) is not looked at.
    std::string check(AccountConfig account) {
        TargetConfig target;
        target.port = 1;  // nothing listens
        harness_.writeConfig(target, {account});
        auto result = harness_.command("check", {"--account", account.name});
        EXPECT_EQ(result.exitCode, 1) << result.describe();
        const std::string prefix = account.name + ": FAILED - ";
        auto at = result.out.find(prefix);
        EXPECT_NE(at, std::string::npos) << result.describe();
        if (at == std::string::npos) return "";
        return result.out.substr(at, result.out.find('\n', at) - at);
    }

    static AccountConfig account(std::uint16_t port, const std::string& protocol, const std::string& tls) {
        AccountConfig config;
        config.port = port;
        config.protocol = protocol;
        config.tls = tls;
        if (tls != "none") config.caFile = TestCa::shared().caFile();
        return config;
    }

    CollectorHarness harness_{"2s"};
};

TEST_F(CliErrors, ImplicitTlsOnAPlainTextPortSaysToUseStartTlsOrTheTlsPort) {
    ScriptedServer pop(Script().sendLine("+OK POP3 ready").stall(5s));
    auto line = check(account(pop.port(), "pop3", "implicit"));
    EXPECT_THAT(line, HasSubstr("answered in plain text, not TLS"));
    EXPECT_THAT(line, HasSubstr("tls = \"starttls\""));
    EXPECT_THAT(line, HasSubstr("995"));
}

TEST_F(CliErrors, APop3AccountOnAnImapPortSaysToSetProtocolImap) {
    ScriptedServer imap(Script().sendLine("* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] Dovecot ready.").stall(5s));
    auto line = check(account(imap.port(), "pop3", "none"));
    EXPECT_THAT(line, HasSubstr("unexpected reply to greeting: * OK [CAPABILITY IMAP4rev1"));
    EXPECT_THAT(line, HasSubstr("is an IMAP server: set protocol = \"imap\""));
}

TEST_F(CliErrors, AnImapAccountOnAPop3PortSaysToSetProtocolPop3) {
    ScriptedServer pop(Script().sendLine("+OK Dovecot ready.").stall(5s));
    auto line = check(account(pop.port(), "imap", "none"));
    EXPECT_THAT(line, HasSubstr("is a POP3 server: set protocol = \"pop3\""));
}

TEST_F(CliErrors, AServerThatSaysNothingIsNamedAsSuch) {
    ScriptedServer silent(Script().stall(10s));
    auto line = check(account(silent.port(), "pop3", "none"));
    EXPECT_THAT(line, HasSubstr("sent nothing for 2 s after accepting the connection: no greeting"));
    EXPECT_THAT(line, HasSubstr("is port " + std::to_string(silent.port()) + " the right one"));
}

TEST_F(CliErrors, NothingListeningSaysToCheckHostAndPort) {
    auto line = check(account(1, "imap", "implicit"));
    EXPECT_THAT(line, HasSubstr("nothing listens on port 1 of 127.0.0.1: check host and port"));
    EXPECT_THAT(line, HasSubstr("993"));
}

// fetchmail names the certificate it refused; we also give the sha256 to pin and both ways to
// trust it, and the pin then works.
TEST_F(CliErrors, ARefusedCertificateIsNamedWithItsSha256AndBothWaysToTrustIt) {
    const auto& ca = TestCa::shared();
    ScriptedServer imap(Script()
                            .startTls(ca.certFile(CertKind::UnknownCa), ca.keyFile(CertKind::UnknownCa))
                            .sendLine("* OK ready")
                            .stall(5s));
    auto line = check(account(imap.port(), "imap", "implicit"));
    std::string sha256 = certificateFingerprint(ca.certFile(CertKind::UnknownCa));
    sha256.erase(std::remove(sha256.begin(), sha256.end(), ':'), sha256.end());
    std::transform(sha256.begin(), sha256.end(), sha256.begin(), [](unsigned char c) { return std::tolower(c); });
    EXPECT_THAT(line, HasSubstr("certificate verify failed"));
    EXPECT_THAT(line, HasSubstr("subject "));
    EXPECT_THAT(line, HasSubstr("issuer "));
    EXPECT_THAT(line, HasSubstr("valid until 2"));
    EXPECT_THAT(line, HasSubstr("tls_fingerprint = \"" + sha256 + "\""));
    EXPECT_THAT(line, HasSubstr("ca_file = "));

    auto pinned = account(imap.port(), "imap", "implicit");
    pinned.fingerprint = sha256;
    EXPECT_THAT(check(pinned), ::testing::Not(HasSubstr("certificate")));
}

TEST_F(CliErrors, AnExpiredCertificateIsNamedAsTheOperatorsToRenew) {
    const auto& ca = TestCa::shared();
    ScriptedServer imap(
        Script().startTls(ca.certFile(CertKind::Expired), ca.keyFile(CertKind::Expired)).sendLine("* OK").stall(5s));
    auto line = check(account(imap.port(), "imap", "implicit"));
    EXPECT_THAT(line, HasSubstr("expired 2020"));
    EXPECT_THAT(line, HasSubstr("the server operator's to renew"));
}

}  // namespace
}  // namespace mc::testing
