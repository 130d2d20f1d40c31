// OAuth2 end to end: the real mailcollector binary against a fake HTTPS token/device endpoint
// (tests/support/fakes/FakeOAuth2Server) and fake POP3/IMAP servers that accept only the expected
// access token. Checks delivery, refresh-token rotation (file rewritten 0600), account-scoped
// failures that name the problem and carry no secret, the token command, `check`, and the
// device flow of `oauth2 authorize`.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/support/TestCa.hpp"
#include "tests/support/fakes/CollectorHarness.hpp"
#include "tests/support/fakes/FakeImapServer.hpp"
#include "tests/support/fakes/FakeOAuth2Server.hpp"
#include "tests/support/fakes/FakePop3Server.hpp"
#include "tests/support/fakes/FakeSmtpTarget.hpp"

namespace mc::testing {
namespace {

std::string message(const std::string& subject) {
    return "From: Sender <sender@example.net>\r\nTo: alice@example.com\r\nSubject: " + subject + "\r\nMessage-ID: <" +
           subject + "@example.net>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nHello.\r\n";
}

FakeOAuth2Options providerOptions() {
    FakeOAuth2Options options;
    options.certFile = TestCa::shared().certFile(CertKind::Valid);
    options.keyFile = TestCa::shared().keyFile(CertKind::Valid);
    return options;
}

mode_t fileMode(const std::filesystem::path& path) {
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0 ? (info.st_mode & 0777) : 0;
}

class OAuth2EndToEnd : public ::testing::Test {
protected:
    CollectorHarness harness{"5s"};
    FakeSmtpTarget target{lmtpOptions()};
    FakeOAuth2Options providerSettings = providerOptions();

    TargetConfig lmtp() const {
        TargetConfig config;
        config.port = target.port();
        return config;
    }

    // An account that refreshes its token at PROVIDER; the secret files live in the harness dir.
    AccountConfig oauthAccount(const std::string& name, std::uint16_t port, const FakeOAuth2Server& provider,
                               const std::string& protocol = "pop3") {
        harness.dir().writeFile(name + ".client-secret", providerSettings.clientSecret + "\n", 0600);
        harness.dir().writeFile(name + ".refresh", providerSettings.refreshToken + "\n", 0600);
        AccountConfig account;
        account.name = name;
        account.protocol = protocol;
        account.port = port;
        account.tls = "implicit";
        account.caFile = TestCa::shared().caFile();  // also trusted for the token endpoint
        account.password.clear();
        account.extra =
            "oauth2_provider = \"google\"\n"
            "oauth2_client_id = " +
            tomlString(providerSettings.clientId) + "\n" +
            "oauth2_client_secret_file = " + tomlString(name + ".client-secret") + "\n" +
            "oauth2_refresh_token_file = " + tomlString(name + ".refresh") + "\n" +
            "oauth2_token_url = " + tomlString(provider.tokenUrl()) + "\n" +
            "oauth2_device_url = " + tomlString(provider.deviceUrl()) + "\n";
        return account;
    }

    // No secret of any kind in what the program printed.
    void expectNoSecrets(const ProcessResult& result, const std::vector<std::string>& more = {}) {
        std::vector<std::string> secrets = {providerSettings.clientSecret,
                                            providerSettings.refreshToken,
                                            providerSettings.accessToken,
                                            providerSettings.rotatedRefreshToken,
                                            providerSettings.deviceRefreshToken,
                                            providerSettings.deviceCode,
                                            base64EncodeForTest(providerSettings.accessToken).substr(0, 12)};
        secrets.insert(secrets.end(), more.begin(), more.end());
        for (const auto& secret : secrets) {
            if (secret.empty()) continue;
            EXPECT_EQ(result.out.find(secret), std::string::npos) << secret << "\n" << result.describe();
            EXPECT_EQ(result.err.find(secret), std::string::npos) << secret << "\n" << result.describe();
        }
    }

    FakePop3Options popWithToken(const std::string& token) {
        FakePop3Options options;
        options.tls = FakePop3Options::Tls::Implicit;
        options.certFile = TestCa::shared().certFile(CertKind::Valid);
        options.keyFile = TestCa::shared().keyFile(CertKind::Valid);
        options.capabilities.push_back("SASL PLAIN XOAUTH2");
        options.accessToken = token;
        return options;
    }
};

TEST_F(OAuth2EndToEnd, Pop3RefreshesTheTokenDeliversAndKeepsTheRotatedRefreshToken) {
    providerSettings.rotatedRefreshToken = "rotated-Refresh-2Cd";
    FakeOAuth2Server provider(providerSettings);
    FakePop3Server pop(popWithToken(providerSettings.accessToken), {message("one")});
    harness.writeConfig(lmtp(), {oauthAccount("gmail", pop.port(), provider)});

    auto result = harness.run();
    ASSERT_TRUE(result.ok()) << result.describe() << pop.transcript();
    EXPECT_EQ(target.messages().size(), 1u) << target.transcript();
    EXPECT_TRUE(provider.failures().empty()) << provider.failures().front();
    EXPECT_EQ(provider.count("refresh_token"), 1u);
    EXPECT_TRUE(pop.server().sawLine("AUTH XOAUTH2 ")) << pop.transcript();
    // The rotated refresh token replaced the old one, 0600.
    auto refreshFile = harness.dir() / "gmail.refresh";
    EXPECT_EQ(readFile(refreshFile), providerSettings.rotatedRefreshToken + "\n");
    EXPECT_EQ(fileMode(refreshFile), 0600u);
    expectNoSecrets(result);

    // The next process refreshes with the rotated token (the old one is no longer accepted).
    pop.addMessage(message("two"));
    auto second = harness.run();
    ASSERT_TRUE(second.ok()) << second.describe();
    EXPECT_EQ(target.messages().size(), 2u);
    EXPECT_EQ(provider.requests().back().form.at("refresh_token"), providerSettings.rotatedRefreshToken);
    expectNoSecrets(second);
}

TEST_F(OAuth2EndToEnd, ImapOAuthBearerWithoutSaslIrUsesTheContinuation) {
    FakeOAuth2Server provider(providerSettings);
    FakeImapOptions imapOptions;
    imapOptions.tls = FakeImapOptions::Tls::Implicit;
    imapOptions.certFile = TestCa::shared().certFile(CertKind::Valid);
    imapOptions.keyFile = TestCa::shared().keyFile(CertKind::Valid);
    imapOptions.capabilities = {"IMAP4rev1", "UIDPLUS", "AUTH=OAUTHBEARER"};
    imapOptions.accessToken = providerSettings.accessToken;
    FakeImapFolder inbox;
    inbox.messages = {message("imap-one")};
    FakeImapServer imap(imapOptions, {inbox});
    auto account = oauthAccount("outlook", imap.port(), provider, "imap");
    account.extra += "idle = false\n";
    harness.writeConfig(lmtp(), {account});

    auto result = harness.run();
    ASSERT_TRUE(result.ok()) << result.describe() << imap.transcript();
    EXPECT_EQ(target.messages().size(), 1u);
    auto commands = imap.commands("AUTHENTICATE");
    ASSERT_EQ(commands.size(), 1u);
    EXPECT_EQ(commands[0].substr(commands[0].find(' ') + 1), "AUTHENTICATE OAUTHBEARER");  // no SASL-IR
    expectNoSecrets(result);

    // `check` logs in the same way.
    auto check = harness.command("check");
    EXPECT_TRUE(check.ok()) << check.describe();
    EXPECT_EQ(imap.countCommands("AUTHENTICATE"), 2u);
    expectNoSecrets(check);
}

TEST_F(OAuth2EndToEnd, RevokedGrantFailsThatAccountOnlyAndSaysWhy) {
    providerSettings.revoked = true;
    FakeOAuth2Server provider(providerSettings);
    FakePop3Server revokedPop(popWithToken(providerSettings.accessToken), {message("never")});
    FakePop3Options passwordOptions;
    FakePop3Server passwordPop(passwordOptions, {message("fine")});
    AccountConfig passwordAccount;
    passwordAccount.name = "isp";
    passwordAccount.port = passwordPop.port();
    harness.writeConfig(lmtp(), {oauthAccount("gmail", revokedPop.port(), provider), passwordAccount});

    auto result = harness.run();
    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_NE(result.err.find("account=gmail poll failed"), std::string::npos) << result.describe();
    EXPECT_NE(result.err.find("invalid_grant (Token has been expired or revoked.)"), std::string::npos)
        << result.describe();
    EXPECT_NE(result.err.find("oauth2 authorize"), std::string::npos) << result.describe();
    EXPECT_EQ(result.err.find("account=isp poll failed"), std::string::npos) << result.describe();
    EXPECT_EQ(target.messages().size(), 1u);    // the other account's message
    EXPECT_FALSE(revokedPop.sawCredentials());  // no login attempted without a token
    expectNoSecrets(result);
}

TEST_F(OAuth2EndToEnd, WrongAccessTokenGetsTheErrorChallengeAndACleanError) {
    FakePop3Server pop(popWithToken("the-Right-Token"), {message("never")});
    AccountConfig account;
    account.name = "cmd";
    account.port = pop.port();
    account.tls = "implicit";
    account.caFile = TestCa::shared().caFile();
    account.password.clear();
    account.extra = "auth = \"xoauth2\"\noauth2_token_command = \"printf 'wrong-Token-3Zz\\\\n'\"\n";
    harness.writeConfig(lmtp(), {account});

    auto result = harness.run();
    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_NE(result.err.find("account=cmd poll failed"), std::string::npos) << result.describe();
    EXPECT_NE(result.err.find("rejected the access token (status 401, scope https://mail.google.com/)"),
              std::string::npos)
        << result.describe();
    // The client answered the error challenge with an empty line (XOAUTH2), then got -ERR.
    auto lines = pop.server().lines();
    auto auth = std::find_if(lines.begin(), lines.end(), [](const auto& l) { return l.rfind("AUTH XOAUTH2", 0) == 0; });
    ASSERT_NE(auth, lines.end()) << pop.transcript();
    ASSERT_NE(auth + 1, lines.end()) << pop.transcript();
    EXPECT_EQ(*(auth + 1), "");
    expectNoSecrets(result, {"wrong-Token-3Zz", "the-Right-Token"});
    EXPECT_TRUE(target.messages().empty());
}

TEST_F(OAuth2EndToEnd, ImapXoauth2WithSaslIrAndAWrongTokenFailsCleanly) {
    FakeImapOptions imapOptions;
    imapOptions.tls = FakeImapOptions::Tls::Implicit;
    imapOptions.certFile = TestCa::shared().certFile(CertKind::Valid);
    imapOptions.keyFile = TestCa::shared().keyFile(CertKind::Valid);
    imapOptions.capabilities = {"IMAP4rev1", "UIDPLUS", "SASL-IR", "AUTH=XOAUTH2", "AUTH=OAUTHBEARER"};
    imapOptions.accessToken = "the-Right-Token";
    FakeImapServer imap(imapOptions);
    AccountConfig account;
    account.name = "imapcmd";
    account.protocol = "imap";
    account.port = imap.port();
    account.tls = "implicit";
    account.caFile = TestCa::shared().caFile();
    account.password.clear();
    account.extra = "idle = false\noauth2_token_command = \"printf 'wrong-Token-3Zz\\\\n'\"\n";
    harness.writeConfig(lmtp(), {account});

    auto result = harness.run();
    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_NE(result.err.find("account=imapcmd poll failed"), std::string::npos) << result.describe();
    EXPECT_NE(result.err.find("AUTHENTICATE XOAUTH2) refused: the server rejected the access token (status 401"),
              std::string::npos)
        << result.describe();
    auto lines = imap.server().lines();
    auto auth = std::find_if(lines.begin(), lines.end(),
                             [](const auto& l) { return l.find(" AUTHENTICATE XOAUTH2 ") != std::string::npos; });
    ASSERT_NE(auth, lines.end()) << imap.transcript();  // SASL-IR: the initial response on the line
    ASSERT_NE(auth + 1, lines.end()) << imap.transcript();
    EXPECT_EQ(*(auth + 1), "");  // the empty answer to the error challenge
    expectNoSecrets(result, {"wrong-Token-3Zz", "the-Right-Token"});
}

TEST_F(OAuth2EndToEnd, TokenCommandWithALongTokenUsesThePop3Continuation) {
    std::string token = "long-" + std::string(300, 'T');
    FakePop3Server pop(popWithToken(token), {message("cmd")});
    AccountConfig account;
    account.name = "cmd";
    account.port = pop.port();
    account.tls = "implicit";
    account.caFile = TestCa::shared().caFile();
    account.password.clear();
    account.extra = "oauth2_token_command = \"printf '" + token + "\\\\n'\"\n";  // auth = auto
    harness.writeConfig(lmtp(), {account});

    auto result = harness.run();
    ASSERT_TRUE(result.ok()) << result.describe() << pop.transcript();
    EXPECT_EQ(target.messages().size(), 1u);
    EXPECT_TRUE(pop.server().sawLine("AUTH XOAUTH2")) << pop.transcript();
    for (const auto& line : pop.server().lines())  // RFC 5034: AUTH lines stay within 255 octets
        if (line.rfind("AUTH", 0) == 0) EXPECT_LE(line.size() + 2, 255u) << line;
    expectNoSecrets(result, {token});
}

TEST_F(OAuth2EndToEnd, AuthorizeRunsTheDeviceFlowAndStoresTheRefreshToken) {
    FakeOAuth2Server provider(providerSettings);
    auto account = oauthAccount("gmail", 1, provider);
    harness.writeConfig(lmtp(), {account});
    std::filesystem::remove(harness.dir() / "gmail.refresh");

    auto result = harness.command("oauth2", {"authorize", "--account", "gmail"});
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_NE(result.out.find("https://www.google.com/device"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find(providerSettings.userCode), std::string::npos) << result.out;
    EXPECT_TRUE(provider.failures().empty()) << provider.failures().front();
    EXPECT_EQ(provider.count("/device"), 1u);
    EXPECT_EQ(provider.count("urn:ietf:params:oauth:grant-type:device_code"), 3u);  // pending twice, then granted
    auto refreshFile = harness.dir() / "gmail.refresh";
    EXPECT_EQ(readFile(refreshFile), providerSettings.deviceRefreshToken + "\n");
    EXPECT_EQ(fileMode(refreshFile), 0600u);
    expectNoSecrets(result);
}

TEST_F(OAuth2EndToEnd, AuthorizeReportsADenial) {
    providerSettings.pendingPolls = 0;
    providerSettings.denied = true;
    FakeOAuth2Server provider(providerSettings);
    harness.writeConfig(lmtp(), {oauthAccount("gmail", 1, provider)});
    std::filesystem::remove(harness.dir() / "gmail.refresh");

    auto result = harness.command("oauth2", {"authorize", "--account", "gmail"});
    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_NE(result.err.find("the authorization was denied"), std::string::npos) << result.describe();
    EXPECT_FALSE(std::filesystem::exists(harness.dir() / "gmail.refresh"));
    auto unknown = harness.command("oauth2", {"authorize", "--account", "nobody"});
    EXPECT_EQ(unknown.exitCode, 2) << unknown.describe();
}

}  // namespace
}  // namespace mc::testing
