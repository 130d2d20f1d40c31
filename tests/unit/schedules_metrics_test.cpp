// The Prometheus exposition of the service's metrics, and how poll errors are classified.

#include <gtest/gtest.h>

#include <sstream>

#include "schedules/Metrics.hpp"

namespace mc::schedules {
namespace {

collector::PollReport report(const std::string& account, bool ok, double seconds) {
    collector::PollReport r;
    r.account = account;
    r.ok = ok;
    r.seconds = seconds;
    return r;
}

bool has(const std::string& text, const std::string& line) {
    std::istringstream lines(text);
    std::string each;
    while (std::getline(lines, each))
        if (each == line) return true;
    return false;
}

TEST(MetricsTest, CountsMessagesBytesAndPollsPerAccount) {
    Metrics metrics;
    metrics.setAccounts({"alice", "bob"});
    auto first = report("alice", true, 0.3);
    first.delivered = 5;
    first.deleted = 2;
    first.skipped = 1;
    first.bytes = 1234;
    metrics.recordPoll(first, 3, 1700000000);
    auto second = report("alice", true, 2);
    second.delivered = 1;
    second.deferred = 4;
    second.quarantined = 1;
    second.bytes = 100;
    metrics.recordPoll(second, 4, 1700000060);
    const std::string text = metrics.render();
    EXPECT_TRUE(has(text, R"(mailcollector_messages_total{account="alice",outcome="delivered"} 6)")) << text;
    EXPECT_TRUE(has(text, R"(mailcollector_messages_total{account="alice",outcome="deferred"} 4)"));
    EXPECT_TRUE(has(text, R"(mailcollector_messages_total{account="alice",outcome="quarantined"} 1)"));
    EXPECT_TRUE(has(text, R"(mailcollector_messages_total{account="alice",outcome="skipped"} 1)"));
    EXPECT_TRUE(has(text, R"(mailcollector_messages_total{account="alice",outcome="deleted"} 2)"));
    EXPECT_TRUE(has(text, R"(mailcollector_messages_total{account="bob",outcome="delivered"} 0)"))
        << "configured accounts are exported from the start";
    EXPECT_TRUE(has(text, R"(mailcollector_bytes_total{account="alice"} 1334)"));
    EXPECT_TRUE(has(text, R"(mailcollector_pending_messages{account="alice"} 4)"));
    EXPECT_TRUE(has(text, R"(mailcollector_polls_total{account="alice",result="ok"} 1)"));
    EXPECT_TRUE(has(text, R"(mailcollector_polls_total{account="alice",result="partial"} 1)"));
    EXPECT_TRUE(has(text, R"(mailcollector_last_poll_timestamp_seconds{account="alice"} 1700000060)"));
    EXPECT_TRUE(has(text, "# TYPE mailcollector_messages_total counter"));
    EXPECT_TRUE(has(text, "# TYPE mailcollector_pending_messages gauge"));
    EXPECT_TRUE(has(text, "# TYPE mailcollector_poll_duration_seconds histogram"));
}

TEST(MetricsTest, DurationHistogramIsCumulative) {
    Metrics metrics;
    metrics.setAccounts({"a"});
    for (double seconds : {0.01, 0.3, 0.3, 4.0, 7200.0})
        metrics.recordPoll(report("a", true, seconds), std::nullopt, 1);
    const std::string text = metrics.render();
    EXPECT_TRUE(has(text, R"(mailcollector_poll_duration_seconds_bucket{le="0.05"} 1)")) << text;
    EXPECT_TRUE(has(text, R"(mailcollector_poll_duration_seconds_bucket{le="0.25"} 1)"));
    EXPECT_TRUE(has(text, R"(mailcollector_poll_duration_seconds_bucket{le="0.5"} 3)"));
    EXPECT_TRUE(has(text, R"(mailcollector_poll_duration_seconds_bucket{le="5"} 4)"));
    EXPECT_TRUE(has(text, R"(mailcollector_poll_duration_seconds_bucket{le="1800"} 4)"));
    EXPECT_TRUE(has(text, R"(mailcollector_poll_duration_seconds_bucket{le="+Inf"} 5)"));
    EXPECT_TRUE(has(text, "mailcollector_poll_duration_seconds_count 5"));
    EXPECT_TRUE(has(text, "mailcollector_poll_duration_seconds_sum 7204.61"));
}

TEST(MetricsTest, ErrorsAreCountedByKindAndRemovedAccountsDisappear) {
    Metrics metrics;
    metrics.setAccounts({"a", "gone"});
    auto failed = report("a", false, 1);
    failed.error = "pop.example.net:995 sent nothing for 120 s";
    failed.failure = proto::FailureKind::Timeout;
    metrics.recordPoll(failed, std::nullopt, 1);
    metrics.recordPoll(failed, std::nullopt, 2);
    metrics.setConsecutiveFailures("a", 2);
    metrics.setPollsInFlight(3);
    std::string text = metrics.render();
    EXPECT_TRUE(has(text, R"(mailcollector_poll_errors_total{account="a",kind="timeout"} 2)")) << text;
    EXPECT_TRUE(has(text, R"(mailcollector_polls_total{account="a",result="failed"} 2)"));
    EXPECT_TRUE(has(text, R"(mailcollector_consecutive_failures{account="a"} 2)"));
    EXPECT_TRUE(has(text, "mailcollector_polls_in_flight 3"));
    EXPECT_TRUE(has(text, "mailcollector_accounts 2"));
    metrics.setAccounts({"a", "new"});
    text = metrics.render();
    EXPECT_EQ(text.find("gone"), std::string::npos);
    EXPECT_TRUE(has(text, R"(mailcollector_poll_errors_total{account="a",kind="timeout"} 2)")) << "kept across reloads";
    EXPECT_TRUE(has(text, R"(mailcollector_bytes_total{account="new"} 0)"));
}

TEST(MetricsTest, EveryLineIsACommentOrASample) {
    Metrics metrics;
    metrics.setAccounts({"a.b-c_d"});
    std::istringstream lines(metrics.render());
    std::string line;
    int samples = 0;
    while (std::getline(lines, line)) {
        ASSERT_FALSE(line.empty());
        if (line[0] == '#') {
            EXPECT_TRUE(line.rfind("# HELP mailcollector_", 0) == 0 || line.rfind("# TYPE mailcollector_", 0) == 0)
                << line;
            continue;
        }
        ++samples;
        EXPECT_EQ(line.rfind("mailcollector_", 0), 0u) << line;
        const auto space = line.rfind(' ');
        ASSERT_NE(space, std::string::npos) << line;
        EXPECT_NO_THROW((void)std::stod(line.substr(space + 1))) << line;
    }
    EXPECT_GT(samples, 20);
}

// The label is the kind carried by the report, never read from the error text.
TEST(PollErrorKindTest, IsTheReportsFailureKind) {
    collector::PollReport r;
    r.error = "authentication refused: -ERR [AUTH] bad password (timed out, certificate, target ...)";
    r.failure = proto::FailureKind::Authentication;
    EXPECT_EQ(pollErrorKind(r), "authentication");
    r.failure = proto::FailureKind::TargetPermanent;
    EXPECT_EQ(pollErrorKind(r), "target-permanent");
    r.failure = proto::FailureKind::Tls;
    EXPECT_EQ(pollErrorKind(r), "tls");
    r.ledgerFailed = true;
    EXPECT_EQ(pollErrorKind(r), "ledger");
    collector::PollReport stopped;
    stopped.interrupted = true;
    stopped.error = "interrupted: stopping after 3 of 9 messages; the rest is collected next time";
    EXPECT_EQ(pollErrorKind(stopped), "interrupted");
}

}  // namespace
}  // namespace mc::schedules
