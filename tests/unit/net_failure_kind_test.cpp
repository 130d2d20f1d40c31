// The exceptions of the lower layers carry their failure kind, whatever their text says.

#include <gtest/gtest.h>

#include "net/Transport.hpp"

namespace mc::net {
namespace {

TEST(TransportErrorKind, MapsToFailureKinds) {
    auto kindOf = [](TransportErrorKind kind) {
        const proto::Failure& failure = TransportError(kind, "authentication refused, said the text");
        return failure.failureKind();
    };
    EXPECT_EQ(kindOf(TransportErrorKind::Connect), proto::FailureKind::Network);
    EXPECT_EQ(kindOf(TransportErrorKind::Closed), proto::FailureKind::Network);
    EXPECT_EQ(kindOf(TransportErrorKind::Timeout), proto::FailureKind::Timeout);
    EXPECT_EQ(kindOf(TransportErrorKind::Tls), proto::FailureKind::Tls);
    EXPECT_EQ(kindOf(TransportErrorKind::Certificate), proto::FailureKind::Tls);
    EXPECT_EQ(kindOf(TransportErrorKind::Protocol), proto::FailureKind::Protocol);
    EXPECT_EQ(TransportError(TransportErrorKind::Timeout, "x").kind(), TransportErrorKind::Timeout);
}

}  // namespace
}  // namespace mc::net
