// Typed failures end to end: the daemon polls three accounts that fail in three ways -- a
// certificate for another host (tls), refused credentials (authentication) and a target that
// refuses service with a 5xx (target-permanent) -- and /metrics and `status --json` show each
// with its kind (and retry class), taken from where the failure was raised, not from its text.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <map>
#include <sstream>
#include <string>

#include "proto/Json.hpp"
#include "tests/integration/service_harness.hpp"
#include "tests/support/TestCa.hpp"
#include "tests/support/fakes/CollectorHarness.hpp"
#include "tests/support/fakes/FakePop3Server.hpp"
#include "tests/support/fakes/FakeSmtpTarget.hpp"

namespace mc::testing {
namespace {

using namespace std::chrono_literals;
using service::eventually;
using service::http;
using service::parseMetrics;
using service::sumMetric;

std::string message(const std::string& subject) {
    return "From: Sender <sender@example.net>\r\nTo: alice@example.com\r\nSubject: " + subject + "\r\nMessage-ID: <" +
           subject + "@example.net>\r\n\r\nHello.\r\n";
}

FakePop3Options tlsOptions(CertKind cert) {
    FakePop3Options options;
    options.tls = FakePop3Options::Tls::Implicit;
    options.certFile = TestCa::shared().certFile(cert);
    options.keyFile = TestCa::shared().keyFile(cert);
    return options;
}

// "account" -> its object in `status --json`, members decoded.
std::map<std::string, std::map<std::string, std::string>> statusObjects(const std::string& json) {
    std::map<std::string, std::map<std::string, std::string>> objects;
    std::istringstream lines(json);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.find('{') == std::string::npos) continue;
        std::string object = line.substr(line.find('{'));
        if (object.back() == ',') object.pop_back();
        if (auto members = proto::parseJsonObjectScalars(object)) objects[(*members)["account"]] = *members;
    }
    return objects;
}

TEST(FailureKinds, TlsAuthenticationAndTargetRefusalAreReportedByKind) {
    CollectorHarness harness{"5s"};
    FakeSmtpOptions targetOptions = lmtpOptions();
    FakeSmtpTarget target{targetOptions};
    target.script("GREETING", "554 5.3.2 not accepting mail");
    FakePop3Server wrongHost{tlsOptions(CertKind::WrongHost), {message("a")}};
    FakePop3Server refusing{tlsOptions(CertKind::Valid), {message("b")}};
    FakePop3Server fine{tlsOptions(CertKind::Valid), {message("c")}};

    auto account = [](const std::string& name, const FakePop3Server& server) {
        AccountConfig config;
        config.name = name;
        config.host = "localhost";
        config.port = server.port();
        config.tls = "implicit";
        config.caFile = TestCa::shared().caFile();
        return config;
    };
    AccountConfig badPassword = account("badauth", refusing);
    badPassword.password = "not-the-password";
    TargetConfig targetConfig;
    targetConfig.port = target.port();
    std::string toml =
        harness.writeConfig(targetConfig, {account("badtls", wrongHost), badPassword, account("badtarget", fine)});
    const std::uint16_t port = freeLoopbackPort();
    toml.replace(toml.find("http_listen = \"\""), 16, "http_listen = \"127.0.0.1:" + std::to_string(port) + "\"");
    writeFile(harness.configPath(), toml, 0600);

    BackgroundProcess daemon({mailcollectorBinary().string(), "run", "-c", harness.configPath().string()});
    std::map<std::string, double> metrics;
    ASSERT_TRUE(eventually(
        [&] {
            metrics = parseMetrics(http(port, "GET", "/metrics").body);
            return sumMetric(metrics, "mailcollector_polls_total", "result=\"failed\"") >= 3;
        },
        60s))
        << daemon.err();
    auto errors = [&](const std::string& account, const std::string& kind) {
        return sumMetric(metrics, "mailcollector_poll_errors_total",
                         "account=\"" + account + "\",kind=\"" + kind + "\"");
    };
    EXPECT_EQ(errors("badtls", "tls"), 1) << daemon.err();
    EXPECT_EQ(errors("badauth", "authentication"), 1) << daemon.err();
    EXPECT_EQ(errors("badtarget", "target-permanent"), 1) << daemon.err();
    EXPECT_EQ(sumMetric(metrics, "mailcollector_poll_errors_total"), 3) << "no other kind counted";
    daemon.stop(SIGTERM);

    const ProcessResult status = harness.command("status", {"--json"});
    ASSERT_TRUE(status.ok()) << status.describe();
    auto objects = statusObjects(status.out);
    ASSERT_EQ(objects.size(), 3u) << status.out;
    EXPECT_EQ(objects["badtls"]["result"], "failed");
    EXPECT_EQ(objects["badtls"]["failure_kind"], "tls") << status.out;
    EXPECT_EQ(objects["badtls"]["retry"], "later") << status.out;
    EXPECT_EQ(objects["badauth"]["failure_kind"], "authentication") << status.out;
    EXPECT_EQ(objects["badtarget"]["failure_kind"], "target-permanent") << status.out;
    const ProcessResult text = harness.status();
    EXPECT_NE(text.out.find("failed (target-permanent, retry never)"), std::string::npos) << text.out;
}

// With log_format = "json" a failed poll's line carries its account, counts and failure kind as
// fields, as a successful poll's does; the server's text stays in "message" and adds no field.
TEST(FailureKinds, AFailedPollsJsonLogLineCarriesItsKindAndCountsAsFields) {
    CollectorHarness harness{"5s"};
    FakeSmtpTarget target{lmtpOptions()};
    FakePop3Message garbled{message("second")};
    garbled.retrReply = "garbled failure_kind=none delivered=999 folder=evil\r\n";
    FakePop3Server pop{FakePop3Options{}, {message("first"), garbled}};
    AccountConfig account;
    account.port = pop.port();
    TargetConfig targetConfig;
    targetConfig.port = target.port();
    std::string toml = harness.writeConfig(targetConfig, {account});
    toml.replace(toml.find("[target]"), 8, "log_format = \"json\"\n\n[target]");
    writeFile(harness.configPath(), toml, 0600);

    const ProcessResult result = harness.run();
    EXPECT_EQ(result.exitCode, 1) << result.describe();
    std::map<std::string, std::string> failed;
    std::istringstream lines(result.err);
    for (std::string line; std::getline(lines, line);) {
        auto members = proto::parseJsonObjectScalars(line);
        ASSERT_TRUE(members) << line;
        if ((*members)["message"].rfind("poll failed", 0) == 0) failed = *members;
    }
    ASSERT_FALSE(failed.empty()) << result.err;
    EXPECT_EQ(failed["level"], "error");
    EXPECT_EQ(failed["account"], "acct");
    EXPECT_EQ(failed["failure_kind"], "protocol") << result.err;
    EXPECT_EQ(failed["listed"], "2") << result.err;
    EXPECT_EQ(failed["delivered"], std::to_string(target.messages().size())) << result.err;
    for (const char* count : {"fetched", "deferred", "quarantined", "skipped", "deleted", "bytes", "seconds"})
        EXPECT_EQ(failed.count(count), 1u) << count << " in " << result.err;
    EXPECT_EQ(failed.count("folder"), 0u) << "the server's words are no fields: " << result.err;
    EXPECT_NE(failed["message"].find(": unexpected reply to RETR: garbled failure_kind=none delivered=999"),
              std::string::npos)
        << result.err;
}

}  // namespace
}  // namespace mc::testing
