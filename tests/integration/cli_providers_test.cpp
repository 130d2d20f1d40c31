// Provider presets and refusals through the binary: an account given only by its address (and a
// password file) validates and `check` names the server the preset chose; scripted servers
// replaying each provider's documented refusal text make the poll fail with that provider's fix,
// and a throttled reply backs off instead of blaming the credentials.

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/fakes/CollectorHarness.hpp"
#include "tests/support/fakes/FakeImapServer.hpp"
#include "tests/support/fakes/FakePop3Server.hpp"

namespace mc::testing {
namespace {

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

TEST(CliProviders, AnAddressAloneValidatesAndCheckShowsTheResolvedServer) {
    TempDir dir("mc-providers");
    auto secret = dir.writeFile("gmail.secret", "app-password\n", 0600);
    auto config = dir.writeFile("mc.toml",
                                "[collector]\nledger = \"ledger.db\"\nquarantine_dir = \"q\"\nio_timeout = \"2s\"\n"
                                "http_listen = \"\"\n"
                                "[target]\nprotocol = \"lmtp\"\nhost = \"127.0.0.1\"\nport = 1\ntls = \"none\"\n"
                                "recipient = \"me\"\n"
                                "[[account]]\nname = \"old-gmail\"\nprotocol = \"imap\"\nusername = \"me@gmail.com\"\n"
                                "password_file = \"" +
                                    secret.string() +
                                    "\"\n"
                                    "[[account]]\nname = \"old-mailru\"\nusername = \"me@mail.ru\"\n"
                                    "password_file = \"" +
                                    secret.string() + "\"\n",
                                0600);
    auto validate = runProcess({mailcollectorBinary().string(), "validate", "-c", config.string()});
    ASSERT_TRUE(validate.ok()) << validate.describe();
    auto show = runProcess({mailcollectorBinary().string(), "config", "show", "-c", config.string()});
    ASSERT_TRUE(show.ok()) << show.describe();
    EXPECT_TRUE(
        contains(show.out, "provider = \"gmail\"\nprotocol = \"imap\"\nhost = \"imap.gmail.com\"\nport = 993\n"))
        << show.describe();
    EXPECT_TRUE(contains(show.out, "max_bytes_per_day = 2500000000\n")) << show.describe();
    // No network here: the logins fail, but each verdict first names the server the preset chose.
    auto check = runProcess({mailcollectorBinary().string(), "check", "-c", config.string()});
    EXPECT_EQ(check.exitCode, 1) << check.describe();
    EXPECT_TRUE(contains(check.out,
                         "old-gmail: FAILED - imap.gmail.com:993 IMAP, implicit TLS (Gmail preset, server from the "
                         "preset): "))
        << check.describe();
    EXPECT_TRUE(contains(check.out, "old-mailru: FAILED - pop.mail.ru:995 POP3, implicit TLS (Mail.ru preset"))
        << check.describe();
}

TEST(CliProviders, AnUnknownDomainWithoutHostIsRefusedWithTheFix) {
    TempDir dir("mc-providers");
    auto config = dir.writeFile("mc.toml",
                                "[target]\nhost = \"127.0.0.1\"\nrecipient = \"me\"\n"
                                "[[account]]\nname = \"isp\"\nusername = \"me@isp.example\"\npassword_env = \"P\"\n",
                                0600);
    auto validate = runProcess({mailcollectorBinary().string(), "validate", "-c", config.string()});
    EXPECT_EQ(validate.exitCode, 2) << validate.describe();
    EXPECT_TRUE(contains(validate.out + validate.err, "set host (and port, tls), or provider = one of: gmail"))
        << validate.describe();
}

// The logins fail before any message is fetched: the target is never contacted.
const TargetConfig kUnusedTarget{.port = 1};

struct Refusal {
    const char* provider;
    const char* protocol;
    const char* reply;  // as the provider sends it, CRLF included
    const char* hint;   // what the poll's error must then say
};

// The texts as Gmail, Microsoft, Yandex, Mail.ru and Yahoo send them (their help pages and
// client bug reports quote them).
const Refusal kRefusals[] = {
    {"gmail", "pop3",
     "-ERR [SYS/PERM] Your account is not enabled for POP access. Please visit your Gmail settings page "
     "and enable your account for POP access.\r\n",
     "hint: turn on POP in Gmail: Settings > See all settings > Forwarding and POP/IMAP"},
    {"gmail", "pop3", "-ERR [AUTH] Username and password not accepted.\r\n", "myaccount.google.com/apppasswords"},
    {"gmail", "imap",
     "{tag} NO [ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 "
     "(Failure)\r\n",
     "myaccount.google.com/apppasswords"},
    {"gmail", "imap",
     "{tag} NO [ALERT] Please log in via your web browser: https://support.google.com/mail/accounts/"
     "answer/78754 (Failure)\r\n",
     "Google blocked the sign-in"},
    {"outlook", "imap", "{tag} NO LOGIN failed.\r\n", "oauth2_provider = \"microsoft\""},
    {"office365", "pop3", "-ERR Logon failure: unknown user name or bad password.\r\n", "use OAuth2"},
    {"yandex", "imap",
     "{tag} NO [AUTHENTICATIONFAILED] LOGIN invalid credentials or IMAP is disabled sc=cYXlpv732Cg1_010534\r\n",
     "Settings > Email clients"},
    {"mailru", "imap",
     "{tag} NO [AUTHENTICATIONFAILED] NEOBHODIM parol prilozheniya https://help.mail.ru/mail/security/protection/"
     "external / Aplication password is REQUIRED\r\n",
     "Passwords for external applications"},
    {"yahoo", "imap", "{tag} NO [AUTHENTICATIONFAILED] LOGIN Invalid credentials\r\n", "Generate app password"},
};

TEST(CliProviders, EachProvidersRefusalNamesItsFix) {
    for (const auto& refusal : kRefusals) {
        SCOPED_TRACE(std::string(refusal.provider) + ": " + refusal.reply);
        CollectorHarness harness;
        AccountConfig account;
        account.name = "old";
        account.protocol = refusal.protocol;
        account.extra = std::string("provider = \"") + refusal.provider + "\"\n";
        std::unique_ptr<FakePop3Server> pop3;
        std::unique_ptr<FakeImapServer> imap;
        if (std::string(refusal.protocol) == "pop3") {
            FakePop3Options options;
            options.capabilities = {"UIDL", "USER"};  // USER/PASS, as Gmail's POP does
            options.replies["PASS"] = refusal.reply;
            pop3 = std::make_unique<FakePop3Server>(options);
            account.port = pop3->port();
        } else {
            FakeImapOptions options;
            options.capabilities = {"IMAP4rev1"};  // LOGIN only
            options.replies["LOGIN"] = refusal.reply;
            imap = std::make_unique<FakeImapServer>(options);
            account.port = imap->port();
            account.password = "imap-Secret-4Kp";
        }
        harness.writeConfig(kUnusedTarget, {account});
        auto run = harness.run();
        EXPECT_EQ(run.exitCode, 1) << run.describe();
        EXPECT_TRUE(contains(run.out + run.err, refusal.hint)) << run.describe();
    }
}

TEST(CliProviders, AThrottledAccountBacksOffWithoutBlamingItsPassword) {
    CollectorHarness harness;
    FakeImapOptions options;
    options.capabilities = {"IMAP4rev1"};
    options.replies["LOGIN"] = "{tag} NO [ALERT] Account exceeded command or bandwidth limits. (Failure)\r\n";
    FakeImapServer imap(options);
    AccountConfig account;
    account.name = "old";
    account.protocol = "imap";
    account.port = imap.port();
    account.password = "imap-Secret-4Kp";
    account.extra = "provider = \"gmail\"\n";
    harness.writeConfig(kUnusedTarget, {account});
    auto run = harness.run();
    EXPECT_EQ(run.exitCode, 1) << run.describe();
    EXPECT_TRUE(contains(run.out + run.err, "the provider is throttling this account")) << run.describe();
    EXPECT_FALSE(contains(run.out + run.err, "apppasswords")) << run.describe();
    auto status = harness.status();
    EXPECT_TRUE(contains(status.out, "throttled")) << status.describe();
}

}  // namespace
}  // namespace mc::testing
