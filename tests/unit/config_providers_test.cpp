// Provider presets: an address or a provider name resolves to the documented server, what the
// loader fills in from a preset, and the hints for each provider's refusal texts.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/Config.hpp"
#include "config/Providers.hpp"

namespace mc::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kTarget = R"([target]
host = "mail.example.org"
recipient = "me@example.org"
[[account]]
name = "a"
password_file = "/run/secret"
)";

AccountSettings account(const std::string& body) {
    return parseConfig(std::string(kTarget) + body, "/etc/mc.toml").accounts.at(0);
}

std::string accountError(const std::string& body) {
    try {
        parseConfig(std::string(kTarget) + body, "/etc/mc.toml");
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

TEST(ProviderPresets, EveryPresetIsComplete) {
    for (const auto& preset : providerPresets()) {
        EXPECT_FALSE(preset.source.empty()) << preset.id;
        EXPECT_FALSE(preset.imap.host.empty() && preset.pop3.host.empty()) << preset.id;
        EXPECT_EQ(findProvider(preset.id), &preset);
        for (auto domain : preset.domains)
            EXPECT_EQ(providerForAddress(std::string("x@") + std::string(domain)), &preset);
    }
}

TEST(ProviderPresets, ResolvesAddressesNamesAndHosts) {
    ASSERT_NE(providerForAddress("Someone@GoogleMail.com"), nullptr);
    EXPECT_EQ(providerForAddress("someone@googlemail.com")->id, "gmail");
    EXPECT_EQ(providerForAddress("x@hotmail.co.uk")->id, "outlook");
    EXPECT_EQ(providerForAddress("x@inbox.ru")->id, "mailru");
    EXPECT_EQ(providerForAddress("x@example.org"), nullptr);
    // Yahoo! JAPAN is a service of its own (imap.mail.yahoo.co.jp, its own login), not Yahoo Mail;
    // mail.ua is not among the domains Mail.ru documents.
    EXPECT_EQ(providerForAddress("x@yahoo.co.jp"), nullptr);
    EXPECT_EQ(providerForAddress("x@mail.ua"), nullptr);
    EXPECT_EQ(providerForAddress("no-at-sign"), nullptr);
    EXPECT_EQ(findProvider("Microsoft365")->id, "office365");
    EXPECT_EQ(findProvider("nope"), nullptr);
    EXPECT_EQ(providerForHost("POP.MAIL.RU.")->id, "mailru");
    EXPECT_EQ(providerForHost("pop.example.net"), nullptr);
}

TEST(ProviderPresets, HostOmittedTakesTheServerFromTheAddress) {
    auto gmail = account("protocol = \"imap\"\nusername = \"me@gmail.com\"\n");
    EXPECT_EQ(gmail.provider, "gmail");
    EXPECT_TRUE(gmail.serverFromPreset);
    EXPECT_EQ(gmail.endpoint.host, "imap.gmail.com");
    EXPECT_EQ(gmail.endpoint.port, 993);
    EXPECT_EQ(gmail.endpoint.tls, TlsMode::Implicit);
    EXPECT_EQ(gmail.oauth2Provider, "google");
    EXPECT_EQ(gmail.maxBytesPerDay, 2500ull * 1000 * 1000);  // Gmail's IMAP download limit
    auto mailru = account("username = \"me@mail.ru\"\n");    // pop3 by default, as in the seed article
    EXPECT_EQ(mailru.endpoint.host, "pop.mail.ru");
    EXPECT_EQ(mailru.endpoint.port, 995);
    EXPECT_EQ(describeServer(mailru), "pop.mail.ru:995 POP3, implicit TLS (Mail.ru preset, server from the preset)");
}

TEST(ProviderPresets, ExplicitSettingsWin) {
    auto custom = account(
        "provider = \"gmail\"\nhost = \"127.0.0.1\"\nport = 1995\ntls = \"none\"\nusername = \"me@corp.example\"\n"
        "max_bytes_per_day = \"0\"\n");
    EXPECT_EQ(custom.provider, "gmail");
    EXPECT_FALSE(custom.serverFromPreset);
    EXPECT_EQ(custom.endpoint.host, "127.0.0.1");
    EXPECT_EQ(custom.endpoint.port, 1995);
    EXPECT_EQ(custom.maxBytesPerDay, 0u);
    auto typed = account("host = \"pop.gmail.com\"\nusername = \"me@corp.example\"\n");
    EXPECT_EQ(typed.provider, "gmail");  // known by its host: hints and limits apply
    EXPECT_EQ(typed.maxBytesPerDay, 1250ull * 1000 * 1000);
    auto starttls = account("protocol = \"imap\"\nusername = \"me@yandex.ru\"\ntls = \"starttls\"\n");
    EXPECT_EQ(starttls.endpoint.host, "imap.yandex.com");
    EXPECT_EQ(starttls.endpoint.port, 143);
    auto plain = account("host = \"pop.example.net\"\nusername = \"me@gmail.com\"\n");
    EXPECT_EQ(plain.provider, "");  // a host of its own: the address says nothing about it
}

TEST(ProviderPresets, ErrorsSayWhatToWrite) {
    EXPECT_THAT(accountError("username = \"me@example.org\"\n"),
                HasSubstr("host: missing required key; no provider preset is known for \"me@example.org\""));
    EXPECT_THAT(accountError("provider = \"gmial\"\nusername = \"me@example.org\"\n"),
                HasSubstr("unknown provider \"gmial\"; known: gmail, outlook"));
    EXPECT_THAT(accountError("username = \"me@icloud.com\"\n"),
                HasSubstr("protocol: iCloud Mail offers no POP3; set protocol = \"imap\""));
    EXPECT_THAT(accountError("username = \"me@gmail.com\"\nmax_bytes_per_day = \"lots\"\n"),
                HasSubstr("max_bytes_per_day: expected a size"));
    EXPECT_THAT(accountError("username = \"me@gmail.com\"\nmax_messages_per_poll = -1\n"),
                HasSubstr("max_messages_per_poll"));
}

TEST(ProviderRefusals, EachProvidersTextGetsItsHint) {
    struct Case {
        const char* provider;
        const char* reply;
        const char* hint;
    } cases[] = {
        {"gmail", "-ERR [SYS/PERM] Your account is not enabled for POP access.", "Enable POP"},
        {"gmail",
         "NO [ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833",
         "apppasswords"},
        {"gmail", "-ERR [AUTH] Web login required: https://support.google.com/mail/answer/78754", "from a browser"},
        {"gmail", "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)", "app password"},
        {"outlook", "NO LOGIN failed.", "oauth2_provider = \"microsoft\""},
        {"office365", "NO AUTHENTICATE failed.", "use OAuth2"},
        {"yandex", "NO [AUTHENTICATIONFAILED] LOGIN invalid credentials or IMAP is disabled", "Email clients"},
        {"yandex", "-ERR [AUTH] login failure or POP3 disabled, try later", "App passwords"},
        {"mailru", "NO NEOBHODIM parol prilozheniya / Aplication password is REQUIRED", "external applications"},
        {"yahoo", "NO [AUTHENTICATIONFAILED] LOGIN Invalid credentials", "Generate app password"},
        {"gmx", "-ERR authentication failed", "POP3 & IMAP"},
    };
    for (const auto& c : cases) {
        auto hint = loginRefusalHint(findProvider(c.provider), c.reply, true);
        ASSERT_TRUE(hint.has_value()) << c.provider << ": " << c.reply;
        EXPECT_THAT(*hint, HasSubstr(c.hint)) << c.provider << ": " << c.reply;
    }
    // Without a provider, "LOGIN failed" is only a wrong password: no provider's advice.
    EXPECT_FALSE(loginRefusalHint(nullptr, "NO LOGIN failed.", true).has_value());
    EXPECT_FALSE(loginRefusalHint(findProvider("posteo"), "-ERR bad password", true).has_value());
}

TEST(ProviderRefusals, ThrottledReplies) {
    EXPECT_TRUE(isThrottledReply("* NO [THROTTLED] slow down"));
    EXPECT_TRUE(isThrottledReply("NO [ALERT] Account exceeded command or bandwidth limits. (Failure)"));
    EXPECT_FALSE(isThrottledReply("NO [AUTHENTICATIONFAILED] Invalid credentials"));
}

}  // namespace
}  // namespace mc::config
