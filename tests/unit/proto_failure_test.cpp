// Failure kinds and retry classes: names for metrics and status, and the class of each kind.

#include <gtest/gtest.h>

#include "proto/Failure.hpp"

namespace mc::proto {
namespace {

TEST(FailureKind, NamesRoundTrip) {
    for (FailureKind kind : {FailureKind::Network, FailureKind::Tls, FailureKind::Authentication, FailureKind::Protocol,
                             FailureKind::Limit, FailureKind::Timeout, FailureKind::TargetTransient,
                             FailureKind::TargetPermanent, FailureKind::Ledger, FailureKind::Interrupted,
                             FailureKind::Config, FailureKind::Unsupported, FailureKind::Throttled}) {
        const auto name = failureKindName(kind);
        EXPECT_EQ(parseFailureKind(name), kind) << name;
    }
    EXPECT_EQ(failureKindName(FailureKind::TargetPermanent), "target-permanent");
    EXPECT_FALSE(parseFailureKind("auth").has_value());
    EXPECT_FALSE(parseFailureKind("").has_value());
}

TEST(FailureKind, RetryClasses) {
    EXPECT_EQ(retryClassOf(FailureKind::Network), RetryClass::Later);
    EXPECT_EQ(retryClassOf(FailureKind::Timeout), RetryClass::Later);
    EXPECT_EQ(retryClassOf(FailureKind::TargetTransient), RetryClass::Later);
    EXPECT_EQ(retryClassOf(FailureKind::Authentication), RetryClass::Never);
    EXPECT_EQ(retryClassOf(FailureKind::Tls), RetryClass::Later);  // certificates get renewed
    EXPECT_EQ(retryClassOf(FailureKind::TargetPermanent), RetryClass::Never);
    EXPECT_EQ(retryClassOf(FailureKind::Config), RetryClass::Never);
    EXPECT_EQ(retryClassOf(FailureKind::Throttled), RetryClass::Later);  // back off, do not blame credentials
    EXPECT_EQ(retryClassOf(FailureKind::Interrupted), RetryClass::Now);
    EXPECT_EQ(retryClassName(RetryClass::Never), "never");
    const Failure failure(FailureKind::Tls, "certificate refused");
    EXPECT_EQ(failure.failureKind(), FailureKind::Tls);
    EXPECT_EQ(failure.retry(), RetryClass::Later);
}

}  // namespace
}  // namespace mc::proto
