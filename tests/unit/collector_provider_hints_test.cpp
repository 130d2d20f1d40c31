// A provider's refusals and throttling through the one failure-hint table (FailureHints).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "collector/FailureHints.hpp"

namespace mc::collector {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

config::AccountSettings gmailAccount() {
    config::AccountSettings gmail;
    gmail.provider = "gmail";
    gmail.endpoint.host = "pop.gmail.com";
    gmail.endpoint.port = 995;
    return gmail;
}

TEST(ProviderHints, ARefusedLoginNamesTheProvidersFix) {
    const std::string error =
        "authentication (USER/PASS) refused: -ERR [SYS/PERM] Your account is not enabled for POP access.";
    EXPECT_THAT(withFailureHint(gmailAccount(), error, proto::FailureKind::Authentication),
                HasSubstr(" -- hint: turn on POP in Gmail"));
    // Any other refused login of a preset's provider gets its setup notes.
    EXPECT_THAT(withFailureHint(gmailAccount(), "authentication refused: NO bad", proto::FailureKind::Authentication),
                HasSubstr("-- hint: Gmail: "));
    // Without a provider a refused login is only a wrong password.
    config::AccountSettings plain = gmailAccount();
    plain.provider.clear();
    EXPECT_EQ(withFailureHint(plain, "authentication refused: NO bad", proto::FailureKind::Authentication),
              "authentication refused: NO bad");
}

TEST(ProviderHints, AThrottledAccountIsNotToldToFixItsPassword) {
    const std::string error =
        "authentication refused: NO [ALERT] Account exceeded command or bandwidth limits. (Failure)";
    const std::string said = withFailureHint(gmailAccount(), error, proto::FailureKind::Throttled);
    EXPECT_THAT(said, HasSubstr("the provider is throttling this account"));
    EXPECT_THAT(said, Not(HasSubstr("apppasswords")));
}

TEST(ProviderHints, NetworkFailuresGetNoProviderAdvice) {
    const std::string error = "cannot connect to pop.gmail.com:995: timed out";
    EXPECT_EQ(withFailureHint(gmailAccount(), error, proto::FailureKind::Network), error);
}

}  // namespace
}  // namespace mc::collector
