// The poll reads its wall time from the injected Clock (PollControl::clock): delete_after_days
// counts days on it, and the trace header and the quarantine file name carry its time. In-process
// against a fake POP3 source and a fake LMTP target, with a SQLite ledger and a FakeClock.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "collector/AccountPoller.hpp"
#include "collector/ledger/SqliteLedgerStore.hpp"
#include "config/Config.hpp"
#include "tests/support/FakeClock.hpp"
#include "tests/support/TempDir.hpp"
#include "tests/support/fakes/FakePop3Server.hpp"
#include "tests/support/fakes/FakeSmtpTarget.hpp"

namespace mc::testing {
namespace {

using namespace std::chrono_literals;
constexpr std::chrono::hours kDay{24};

const std::string kMessage = "From: a@example.org\r\nSubject: clock\r\nMessage-ID: <clock@example.org>\r\n\r\nbody\r\n";

class CollectorClockTest : public ::testing::Test {
protected:
    config::Config configWith(const std::string& accountLines) const {
        const std::string text =
            "[collector]\nledger = \"" + (dir_ / "ledger.db").string() + "\"\nquarantine_dir = \"" +
            (dir_ / "quarantine").string() +
            "\"\n\n[target]\nprotocol = \"lmtp\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(target_.port()) +
            "\ntls = \"none\"\nrecipient = \"me@example.org\"\n\n"
            "[[account]]\nname = \"acct\"\nprotocol = \"pop3\"\nhost = \"127.0.0.1\"\nport = " +
            std::to_string(source_.port()) +
            "\ntls = \"none\"\nusername = \"alice\"\npassword = \"pop3-Secret-7Qx\"\n" + accountLines;
        return config::parseConfig(text, (dir_ / "mailcollector.toml").string());
    }

    collector::PollReport poll(const config::Config& config, FakeClock& clock) {
        ledger::SqliteLedgerStore ledger((dir_ / "ledger.db").string());
        collector::PollControl control;
        control.clock = &clock;
        return collector::pollAccount(config, config.accounts.at(0), ledger, control);
    }

    TempDir dir_;
    FakePop3Server source_{FakePop3Options{}, {FakePop3Message(kMessage)}};
    FakeSmtpTarget target_{lmtpOptions()};
};

TEST_F(CollectorClockTest, DeleteAfterDaysCountsDaysOnTheInjectedClock) {
    // The ledger stamps deliveries with the machine's time: the fake clock starts there.
    FakeClock clock(std::chrono::system_clock::now());
    const auto config = configWith("keep = true\ndelete_after_days = 30\n");

    auto report = poll(config, clock);
    ASSERT_TRUE(report.ok) << report.error;
    ASSERT_EQ(report.delivered, 1u);
    EXPECT_EQ(source_.remaining(), 1u);

    clock.advance(29 * kDay);
    report = poll(config, clock);
    ASSERT_TRUE(report.ok) << report.error;
    EXPECT_EQ(report.deleted, 0u);
    EXPECT_EQ(source_.remaining(), 1u) << "deleted before its 30 days were up";

    clock.advance(2 * kDay);
    report = poll(config, clock);
    ASSERT_TRUE(report.ok) << report.error;
    EXPECT_EQ(report.deleted, 1u);
    EXPECT_EQ(source_.remaining(), 0u) << source_.transcript();
    EXPECT_EQ(target_.messages().size(), 1u) << "delivered again";
}

TEST_F(CollectorClockTest, TheTraceHeaderAndTheQuarantineNameCarryTheClocksTime) {
    FakeClock clock;  // 2023-11-14 22:13:20 UTC
    clock.advance(1h);
    target_.script("DOT", "550 5.7.1 refused");
    const auto config = configWith("keep = true\n");

    const auto report = poll(config, clock);
    ASSERT_EQ(report.quarantined, 1u) << report.error;
    const auto transactions = target_.transactions();
    ASSERT_EQ(transactions.size(), 1u);
    EXPECT_NE(transactions[0].data.find("; Tue, 14 Nov 2023 23:13:20 +0000\r\n"), std::string::npos)
        << transactions[0].data.substr(0, 300);

    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_ / "quarantine"))
        if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
    ASSERT_EQ(names.size(), 1u);
    EXPECT_EQ(names[0].rfind("1700003600-", 0), 0u) << names[0];
}

}  // namespace
}  // namespace mc::testing
