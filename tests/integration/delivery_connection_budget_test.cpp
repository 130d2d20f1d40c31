// [target] max_connections end to end: the mailcollector binary collects six POP3S accounts of a
// real private Dovecot into an IMAP target user of a Dovecot that limits logins per user and IP
// (mail_max_userip_connections), as every Dovecot (10) and Gmail (15) does.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "tests/support/DovecotServer.hpp"
#include "tests/support/Process.hpp"
#include "tests/support/TempDir.hpp"

namespace mc::testing {
namespace {

constexpr int kAccounts = 6;

class ConnectionBudgetTest : public ::testing::Test {
protected:
    // Seeds every account with MESSAGES messages of their own subject, each some KB long so that
    // delivering takes long enough for the accounts' connections to overlap.
    void seedAccounts(DovecotServer& dovecot, int messages) {
        dovecot.addUser("me", "me-Secret-2Hv");
        for (int account = 0; account < kAccounts; ++account) {
            std::string user = "user" + std::to_string(account);
            dovecot.addUser(user, user + "-secret");
            for (int i = 0; i < messages; ++i) {
                std::string subject = user + " message " + std::to_string(i);
                dovecot.seed(
                    user, "INBOX",
                    "From: " + user + "@example.org\nSubject: " + subject + "\n\n" + std::string(8 * 1024, 'x') + "\n");
                expected_.insert(subject);
            }
        }
    }

    // Default settings except what TARGET_EXTRA adds to [target].
    std::string writeConfig(const DovecotServer& dovecot, const std::string& targetExtra) {
        writeFile(work_.str() + "/me.pw", "me-Secret-2Hv\n", 0600);
        std::string toml =
            "[collector]\nledger = \"ledger.db\"\nquarantine_dir = \"quarantine\"\nhttp_listen = \"\"\n"
            "io_timeout = \"60s\"\n\n[target]\nprotocol = \"imap\"\nhost = \"localhost\"\nport = " +
            std::to_string(dovecot.imapsPort()) + "\nca_file = \"" + dovecot.caFile() +
            "\"\nusername = \"me\"\npassword_file = \"" + work_.str() + "/me.pw\"\n" + targetExtra + "\n";
        for (int account = 0; account < kAccounts; ++account) {
            std::string user = "user" + std::to_string(account);
            std::string passwordFile = work_.str() + "/" + user + ".pw";
            writeFile(passwordFile, user + "-secret\n", 0600);
            toml += "[[account]]\nname = \"" + user +
                    "\"\nprotocol = \"pop3\"\nhost = \"localhost\"\nport = " + std::to_string(dovecot.pop3sPort()) +
                    "\nca_file = \"" + dovecot.caFile() + "\"\nusername = \"" + user + "\"\npassword_file = \"" +
                    passwordFile + "\"\n\n";
        }
        return work_.writeFile("mailcollector.toml", toml, 0600).string();
    }

    ProcessResult run(const std::string& config) {
        return runProcess({MC_BINARY, "run", "-c", config, "--once"}, {}, std::chrono::seconds(400));
    }

    // Subject -> how many copies the target holds.
    static std::map<std::string, int> delivered(const DovecotServer& dovecot) {
        std::map<std::string, int> copies;
        for (const auto& message : dovecot.messages("me")) {
            auto at = message.find("\nSubject: ");
            if (at == std::string::npos) continue;
            at += 10;
            ++copies[message.substr(at, message.find('\n', at) - at)];
        }
        return copies;
    }

    static std::string wholeLog(const DovecotServer& dovecot) {
        std::ifstream in(dovecot.logFile());
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

    void expectEachDeliveredOnce(const DovecotServer& dovecot) {
        auto copies = delivered(dovecot);
        std::set<std::string> subjects;
        for (const auto& [subject, count] : copies) {
            EXPECT_EQ(count, 1) << subject << " delivered " << count << " times";
            subjects.insert(subject);
        }
        EXPECT_EQ(subjects, expected_);
    }

    std::set<std::string> expected_;
    TempDir work_{"mc-connection-budget"};
};

// Dovecot's default limit of 10 logins per user and IP, mailcollector's defaults (max_parallel 8,
// connections 4): without the budget up to 24 connections log in at once and most are refused.
TEST_F(ConnectionBudgetTest, SixAccountsWithDefaultsStayWithinDovecotsLimitOfTen) {
    DovecotOptions options;
    options.maxUserIpConnections = 10;
    DovecotServer dovecot(options);
    seedAccounts(dovecot, 30);
    auto config = writeConfig(dovecot, "");

    auto result = run(config);
    EXPECT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_EQ(result.err.find("refused the credentials"), std::string::npos) << result.err;
    EXPECT_EQ(wholeLog(dovecot).find("Maximum number of connections"), std::string::npos)
        << "no login was turned away: at most 8 connections at once\n"
        << dovecot.log();
    expectEachDeliveredOnce(dovecot);

    auto again = run(config);
    EXPECT_EQ(again.exitCode, 0) << again.describe();
    expectEachDeliveredOnce(dovecot);
}

// A target stricter than max_connections: the refused logins ("NO [LIMIT] ...") are a busy target,
// waited for and retried, never a credential error and never a reason to quarantine.
TEST_F(ConnectionBudgetTest, TargetAllowingFewerLoginsThanMaxConnectionsIsWaitedFor) {
    DovecotOptions options;
    options.maxUserIpConnections = 3;
    DovecotServer dovecot(options);
    seedAccounts(dovecot, 12);
    auto config = writeConfig(dovecot, "max_connections = 8");

    std::string output;
    for (int attempt = 0; attempt < 4 && delivered(dovecot).size() < expected_.size(); ++attempt) {
        auto result = run(config);
        output += result.err;
        EXPECT_NE(result.exitCode, 2) << result.describe();
        EXPECT_NE(result.exitCode, 3) << result.describe();
    }
    EXPECT_NE(wholeLog(dovecot).find("Maximum number of connections"), std::string::npos)
        << "the target turned logins away, as the test intends\n"
        << dovecot.log();
    EXPECT_EQ(output.find("refused the credentials"), std::string::npos) << output;
    EXPECT_EQ(output.find("; quarantined in"), std::string::npos) << output;
    EXPECT_EQ(output.find("rejected by the target"), std::string::npos) << output;
    expectEachDeliveredOnce(dovecot);
    auto status = runProcess({MC_BINARY, "status", "-c", config, "--json"});
    EXPECT_EQ(status.out.find("\"quarantined\":1"), std::string::npos) << status.out;
    EXPECT_NE(status.out.find("\"quarantined\":0"), std::string::npos) << status.out;
}

}  // namespace
}  // namespace mc::testing
