// A valid but very large POP3 mailbox, end to end: the real binary polls a scripted server that
// lists N messages with 70-character UIDLs (the longest RFC 1939 allows) against a ledger that
// already holds a row for each, first with one new message, then after the first message left the
// server (every message number shifts, so the whole listing is compared again). Each run must stay
// within the 64 MB a poll may take (wait4 ru_maxrss) and within 64 bytes per message above an
// empty poll: the listing, the ledger rows and the plan are held compactly, never copied per
// message. N is 300,000 here (about 30 s); MC_LARGE_MAILBOX_MESSAGES=1000000 runs the million
// (measured: 59 MB peak). The server generates its listing while sending; sqlite3 fills the ledger.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/support/Process.hpp"
#include "tests/support/fakes/CollectorHarness.hpp"
#include "tests/support/fakes/FakeSmtpTarget.hpp"
#include "tests/support/fakes/ScriptedServer.hpp"

namespace mc::testing {
namespace {

constexpr long kPollMemoryBudgetKb = 64 * 1024;
constexpr long kBytesPerMessage = 64;
const std::size_t kMessages = [] {
    const char* count = std::getenv("MC_LARGE_MAILBOX_MESSAGES");
    return count ? std::stoul(count) : 300'000ul;
}();
constexpr const char* kListedSize = "1000";

// Message i's UIDL: 70 characters.
std::string uidlOf(std::size_t i) {
    char text[80];
    std::snprintf(text, sizeof text, "u%069zu", i);
    return text;
}

const std::string kNewest =
    "From: a@example.net\r\nTo: b@example.org\r\nSubject: the newest\r\nMessage-ID: <newest@example.net>\r\n\r\n"
    "Hello.\r\n";

// Messages first..last of the mailbox, numbered from 1; the last one is kNewest, the others are
// only ever listed (the ledger knows them).
struct Mailbox {
    std::atomic<std::size_t> first{1}, last{0};
    std::size_t count() const { return last - first + 1; }
    std::string listedSize(std::size_t i) const { return i == last ? std::to_string(kNewest.size()) : kListedSize; }
};

template <typename LineFor>
bool sendListing(ScriptedConnection& c, std::size_t count, LineFor line) {
    std::string batch = "+OK\r\n";
    for (std::size_t n = 1; n <= count; ++n) {
        batch += line(n);
        if (batch.size() >= 256 * 1024) {
            if (!c.send(batch)) return false;
            batch.clear();
        }
    }
    return c.send(batch + ".\r\n");
}

Script largePop3(Mailbox& box) {
    return Script().sendLine("+OK ready").onEachLine([&box](ScriptedConnection& c, const std::string& line) {
        const std::string verb = line.substr(0, line.find(' '));
        const std::string arg = line.find(' ') == std::string::npos ? "" : line.substr(line.find(' ') + 1);
        const std::size_t count = box.last >= box.first ? box.count() : 0;
        auto messageAt = [&](std::size_t n) { return box.first + n - 1; };
        if (verb == "CAPA") return c.send("+OK\r\nUIDL\r\nUSER\r\nTOP\r\n.\r\n");
        if (verb == "USER" || verb == "PASS" || verb == "NOOP") return c.send("+OK\r\n");
        if (verb == "STAT") return c.send("+OK " + std::to_string(count) + " " + std::to_string(count * 1000) + "\r\n");
        if ((verb == "UIDL" || verb == "LIST") && !arg.empty()) {
            const std::size_t n = std::stoul(arg);
            if (n < 1 || n > count) return c.send("-ERR no such message\r\n");
            const std::size_t i = messageAt(n);
            return c.send("+OK " + arg + " " + (verb == "UIDL" ? uidlOf(i) : box.listedSize(i)) + "\r\n");
        }
        if (verb == "UIDL")
            return sendListing(c, count,
                               [&](std::size_t n) { return std::to_string(n) + " " + uidlOf(messageAt(n)) + "\r\n"; });
        if (verb == "LIST")
            return sendListing(c, count, [&](std::size_t n) {
                return std::to_string(n) + " " + box.listedSize(messageAt(n)) + "\r\n";
            });
        if (verb == "RETR" && !arg.empty() && messageAt(std::stoul(arg)) == box.last)
            return c.send("+OK\r\n" + kNewest + ".\r\n");
        if (verb == "QUIT") {
            c.send("+OK bye\r\n");
            return false;
        }
        return c.send("-ERR not here\r\n");
    });
}

class LargeMailbox : public ::testing::Test {
protected:
    CollectorHarness harness{"30s"};
    FakeSmtpTarget target{lmtpOptions()};
    Mailbox box;
    ScriptedServer pop{ScriptedServer::ScriptFor([this](std::size_t) { return largePop3(box); })};

    void SetUp() override {
        AccountConfig account;
        account.name = "big";
        account.port = pop.port();
        TargetConfig config;
        config.protocol = "lmtp";
        config.port = target.port();
        harness.writeConfig(config, {account});
    }
    std::string sql(const std::string& statement) {
        auto result = runProcess({"sqlite3", harness.ledgerPath().string(), statement});
        EXPECT_TRUE(result.ok()) << result.describe();
        return result.out;
    }
    // Under the budget, and per message above what an empty poll took.
    void expectWithinMemoryBudget(const ProcessResult& result, const ProcessResult& empty) {
        RecordProperty("peak_rss_kb", std::to_string(result.peakRssKb));
        EXPECT_GT(result.peakRssKb, 0);
        EXPECT_LT(result.peakRssKb, kPollMemoryBudgetKb) << "peak RSS " << result.peakRssKb << " KiB";
        const long perMessage = (result.peakRssKb - empty.peakRssKb) * 1024 / static_cast<long>(kMessages);
        EXPECT_LT(perMessage, kBytesPerMessage)
            << "peak RSS " << result.peakRssKb << " KiB, " << empty.peakRssKb << " KiB for an empty mailbox";
    }
};

TEST_F(LargeMailbox, AMillionMessagesArePolledWithinTheBudgetFirstAndAgain) {
    // An empty mailbox first: the ledger and the account's row exist, later polls are not first ones.
    auto empty = harness.run({}, std::chrono::seconds(60));
    ASSERT_TRUE(empty.ok()) << empty.describe();
    sql("WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < " +
        std::to_string(kMessages - 1) +
        ") INSERT INTO messages (account, folder, uid_validity, uid, size, state, content_hash, first_seen_at,"
        " delivered_at) SELECT 'big', '', 0, printf('u%069d', i), " +
        kListedSize + ", 'delivered', printf('%064d', i), 1, 1 FROM seq;");
    box.last = kMessages;

    auto first = harness.run({}, std::chrono::seconds(300));

    ASSERT_TRUE(first.ok()) << first.describe().substr(0, 4000);
    EXPECT_NE(first.err.find("listed=" + std::to_string(kMessages)), std::string::npos) << first.err;
    ASSERT_EQ(target.messages().size(), 1u) << "only the message the ledger does not know";
    EXPECT_NE(target.messages()[0].find("Subject: the newest"), std::string::npos);
    expectWithinMemoryBudget(first, empty);

    // The first message left the server: every number shifts, the listing is compared whole again.
    box.first = 2;
    auto again = harness.run({}, std::chrono::seconds(300));

    ASSERT_TRUE(again.ok()) << again.describe().substr(0, 4000);
    EXPECT_EQ(target.messages().size(), 1u) << "nothing fetched twice";
    EXPECT_EQ(sql("SELECT COUNT(*) FROM messages WHERE account = 'big';"), std::to_string(kMessages - 1) + "\n");
    EXPECT_EQ(sql("SELECT COUNT(*) FROM messages WHERE uid = '" + uidlOf(1) + "';"), "0\n")
        << "the row of the message that left is forgotten";
    expectWithinMemoryBudget(again, empty);
}

}  // namespace
}  // namespace mc::testing
