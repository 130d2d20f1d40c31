// Each layer's exception carries its failure kind, whatever its text says.

#include <gtest/gtest.h>

#include "collector/AccountPoller.hpp"
#include "collector/imap/ImapSession.hpp"
#include "collector/ledger/LedgerStore.hpp"
#include "collector/oauth2/TokenEndpoint.hpp"
#include "collector/pop3/Pop3Session.hpp"
#include "config/Config.hpp"
#include "delivery/MessageTarget.hpp"

namespace mc::collector {
namespace {

proto::FailureKind kindOf(const proto::Failure& failure) { return failure.failureKind(); }

TEST(FailureKinds, EachLayerRaisesItsKind) {
    using K = proto::FailureKind;
    EXPECT_EQ(kindOf(Pop3Error("authentication (USER/PASS) refused", false, true)), K::Authentication);
    EXPECT_EQ(kindOf(Pop3Error("malformed UIDL line: certificate timed out")), K::Protocol);
    EXPECT_EQ(kindOf(ImapError("authentication refused: NO", true)), K::Authentication);
    EXPECT_EQ(kindOf(ImapError("UID FETCH refused: NO")), K::Protocol);
    EXPECT_EQ(kindOf(ImapError(K::Limit, "server exceeded the limit of 10000 untagged responses")), K::Limit);
    EXPECT_EQ(kindOf(Pop3Error(K::Limit, "server UIDL listing exceeds the limit")), K::Limit);
    EXPECT_EQ(kindOf(ledger::LedgerError("disk I/O error")), K::Ledger);
    EXPECT_EQ(kindOf(config::ConfigError("cannot read password file")), K::Config);
    EXPECT_EQ(kindOf(oauth2::OAuth2Error("invalid_grant")), K::Authentication);
    EXPECT_EQ(kindOf(delivery::TargetError("target greeting refused: 554")), K::TargetPermanent);
    EXPECT_EQ(kindOf(delivery::TargetError("target refused the credentials: 454", true)), K::TargetTransient);
}

TEST(FailureKinds, TheLedgerKeepsTheKindWithTheResult) {
    PollReport report;
    report.ok = true;
    EXPECT_EQ(pollResultText(report), "ok");
    report.deferred = 2;
    EXPECT_EQ(pollResultText(report), "partial");
    report.ok = false;
    report.failure = proto::FailureKind::TargetTransient;
    EXPECT_EQ(pollResultText(report), "failed:target-transient");
    const auto parsed = parsePollResult("failed:target-transient");
    EXPECT_EQ(parsed.result, "failed");
    EXPECT_EQ(parsed.failure, proto::FailureKind::TargetTransient);
    const auto old = parsePollResult("failed");  // written before kinds were kept
    EXPECT_EQ(old.result, "failed");
    EXPECT_FALSE(old.failure.has_value());
    EXPECT_EQ(parsePollResult("ok").result, "ok");
}

}  // namespace
}  // namespace mc::collector
