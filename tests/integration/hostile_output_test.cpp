// Output hygiene, end to end through the mailcollector binary: a server flooding [ALERT]s costs
// a bounded amount of log (measured against a budget), and hostile text stored in the ledger
// (terminal escapes, CR LF, bytes that are not UTF-8) reaches neither the terminal raw through
// `status` nor invalid JSON through `status --json`.

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "proto/Json.hpp"
#include "proto/SafeText.hpp"
#include "tests/support/Process.hpp"
#include "tests/support/fakes/CollectorHarness.hpp"
#include "tests/support/fakes/FakeImapServer.hpp"
#include "tests/support/fakes/FakeSmtpTarget.hpp"

namespace mc::testing {
namespace {

using namespace std::chrono_literals;

// Under the budget of untagged responses one command may draw (kImapUntaggedSlack), so that
// the alerts themselves, not that limit, are what is measured.
constexpr int kAlerts = 9'000;
// What the whole run may log, alerts included; logged one line each they take 700 KB.
constexpr std::size_t kLogBudget = 32 * 1024;

class HostileOutput : public ::testing::Test {
protected:
    CollectorHarness harness{"5s"};
    FakeSmtpTarget target{lmtpOptions()};

    void writeImapConfig(const FakeImapServer& imap) {
        TargetConfig targetConfig;
        targetConfig.port = target.port();
        AccountConfig account;
        account.port = imap.port();
        account.username = imap.options().user;
        account.password = imap.options().password;
        account.extra = "folders = [\"INBOX\"]\n";
        std::string toml = harness.writeConfig(targetConfig, {account});
        toml.replace(toml.find("protocol = \"pop3\""), 17, "protocol = \"imap\"");
        writeFile(harness.configPath(), toml, 0600);
    }
};

// Half the alerts say the same thing, half differ (a counter): neither shape may flood the log.
TEST_F(HostileOutput, AlertFloodIsLoggedWithinBudget) {
    std::string flood;
    for (int i = 0; i < kAlerts; ++i)
        flood += i % 2 ? "* OK [ALERT] Your mailbox is over quota\r\n"
                       : "* OK [ALERT] quota warning " + std::to_string(i) + "\r\n";
    const std::string folder = "* 0 EXISTS\r\n* OK [UIDVALIDITY 1000] ok\r\n* OK [UIDNEXT 1] ok\r\n";
    FakeImapOptions options;
    options.replies["EXAMINE"] = flood + folder + "{tag} OK [READ-ONLY] EXAMINE done\r\n";
    options.replies["SELECT"] = flood + folder + "{tag} OK [READ-WRITE] SELECT done\r\n";
    FakeImapServer imap(options, {FakeImapFolder{}});
    writeImapConfig(imap);

    const ProcessResult result = harness.run({}, 120s);
    EXPECT_TRUE(result.ok()) << result.describe().substr(0, 4000);
    EXPECT_LT(result.err.size(), kLogBudget)
        << "logged " << result.err.size() << " bytes for " << kAlerts << " alerts:\n"
        << result.err.substr(0, 4000);
    EXPECT_NE(result.err.find("server alert for alice: Your mailbox is over quota"), std::string::npos)
        << result.err.substr(0, 4000);
    EXPECT_NE(result.err.find("more not logged"), std::string::npos) << "the rest are counted";
}

// Rows written by a (possibly other, older or hostile-fed) instance hold raw server text.
TEST_F(HostileOutput, StatusEscapesHostileLedgerText) {
    FakeImapServer imap(FakeImapOptions{}, {FakeImapFolder{}});
    writeImapConfig(imap);
    ASSERT_TRUE(harness.run().ok());
    // ESC ] 0 ; title BEL, clear screen, CR LF and a forged line, C1 CSI, invalid UTF-8, NUL-free.
    const std::string hostile =
        "cannot open folder '\x1b]0;owned\x07\x1b[2J\r\nacct: last poll ok; delivered 999\xc2\x9b"
        "31m\xff\xfe\xed\xa0\x80 Stra\xc3\x9f"
        "e'";
    std::string hex;
    for (unsigned char c : hostile) {
        static const char* kHex = "0123456789abcdef";
        hex += kHex[c >> 4];
        hex += kHex[c & 15];
    }
    const ProcessResult update = runProcess(
        {"sqlite3", harness.ledgerPath().string(),
         "UPDATE accounts SET last_error = CAST(X'" + hex + "' AS TEXT), last_result = CAST(X'" + hex + "' AS TEXT)"});
    ASSERT_TRUE(update.ok()) << update.describe();

    const ProcessResult status = harness.status();
    ASSERT_TRUE(status.ok()) << status.describe();
    EXPECT_FALSE(hasRawControlBytes(status.out)) << escapeBytes(status.out, 4000);
    EXPECT_TRUE(proto::isValidUtf8(status.out)) << escapeBytes(status.out, 4000);
    EXPECT_EQ(status.out.find("\xc2\x9b"), std::string::npos) << "C1 CSI reached the terminal";
    EXPECT_NE(status.out.find("Stra\xc3\x9f"
                              "e"),
              std::string::npos)
        << "valid UTF-8 stays readable";
    EXPECT_NE(status.out.find("\\x1b]0;owned"), std::string::npos) << status.out;
    std::size_t lines = 0;
    for (char c : status.out) lines += c == '\n';
    EXPECT_EQ(lines, 2u) << "one line for the account, one for its error: no forged line\n" << status.out;

    const ProcessResult json = harness.command("status", {"--json"});
    ASSERT_TRUE(json.ok()) << json.describe();
    EXPECT_TRUE(proto::isValidUtf8(json.out)) << escapeBytes(json.out, 4000);
    std::istringstream objects(json.out);
    std::string line;
    int parsed = 0;
    while (std::getline(objects, line)) {
        if (line.find('{') == std::string::npos) continue;
        std::string object = line.substr(line.find('{'));
        if (object.back() == ',') object.pop_back();
        const auto members = proto::parseJsonObjectScalars(object);
        ASSERT_TRUE(members.has_value()) << escapeBytes(object, 4000);
        EXPECT_EQ(members->at("account"), "acct");
        const std::string& error = members->at("last_error");
        EXPECT_NE(error.find("\x1b]0;owned\x07"), std::string::npos) << "JSON keeps the text, escaped";
        EXPECT_NE(error.find("\xef\xbf\xbd"), std::string::npos) << "invalid bytes become U+FFFD";
        ++parsed;
    }
    EXPECT_EQ(parsed, 1) << json.out;
}

}  // namespace
}  // namespace mc::testing
