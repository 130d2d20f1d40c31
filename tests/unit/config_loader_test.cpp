// parseConfig / loadConfig: the structs a file turns into, the defaults, and the place every kind
// of error points at ("FILE:LINE: KEY: problem").

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/Config.hpp"

namespace mc::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* kPath = "/etc/mailcollector/config.toml";

// The smallest valid file; error tests append to it, so their line numbers start at 4.
constexpr const char* kMinimal = R"([target]
host = "mail.example.org"
recipient = "me@example.org"
)";

// Returns what() of the ConfigError that parsing throws, or "" when it does not throw.
std::string parseError(const std::string& text, const std::string& path = kPath) {
    try {
        parseConfig(text, path);
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

std::string accountError(const std::string& accountBody) {
    return parseError(std::string(kMinimal) + "[[account]]\n" + accountBody);
}

constexpr const char* kFull = R"(# everything set
[collector]
ledger = "state/ledger.db"
max_parallel = 16
http_listen = "[::1]:9000"
log_format = "json"
quarantine_dir = "/srv/mc/quarantine"
spool_dir = "/srv/mc/big"

[target]
protocol = "lmtp"
host = "10.0.0.5"
port = 2424
tls = "starttls"
username = "collector"
password_file = "secrets/target"
recipient = "me@example.org"
envelope_from = "collector@example.org"
folder = "Archive"
label_delivery = "subaddress"
connections = 2
max_connections = 12
ca_file = "ca.pem"
tls_fingerprint = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
allow_plaintext = false

[[account]]
name = "old-yandex"
protocol = "pop3"
host = "pop.yandex.ru"
port = 1995
tls = "implicit"
username = "old@yandex.ru"
password_env = "YANDEX_PW"
auth = "login"
keep = false
delete_after_days = 30
fetch = "new"
labels = ["yandex", "old"]
archive = true
max_message_size = "10MiB"
interval = "2m"
idle = false

[[account]]
name = "work.gmail_2"
protocol = "imap"
host = "imap.gmail.com"
username = "me@gmail.com"
auth = "xoauth2"
oauth2_provider = "google"
oauth2_client_id = "client-id"
oauth2_client_secret_file = "oauth/secret"
oauth2_refresh_token_file = "/var/lib/mc/refresh"
oauth2_token_url = "https://oauth2.googleapis.com/token"
oauth2_device_url = "https://oauth2.googleapis.com/device/code"
oauth2_token_command = ""
folders = ["INBOX", "[Gmail]/Sent Mail"]
max_message_size = 1000
interval = 45
ca_file = "/etc/ssl/extra.pem"
tls_fingerprint = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)";

TEST(ConfigLoader, FullConfigFillsEveryField) {
    Config config = parseConfig(kFull, "/etc/mc/mc.toml");
    EXPECT_EQ(config.path, "/etc/mc/mc.toml");

    EXPECT_EQ(config.collector.ledger, "/etc/mc/state/ledger.db");
    EXPECT_EQ(config.collector.maxParallel, 16);
    EXPECT_EQ(config.collector.httpListen, "[::1]:9000");
    EXPECT_EQ(config.collector.logFormat, "json");
    EXPECT_EQ(config.collector.quarantineDir, "/srv/mc/quarantine");
    EXPECT_EQ(config.collector.spoolDir, "/srv/mc/big");

    const TargetSettings& target = config.target;
    EXPECT_EQ(target.protocol, TargetProtocol::Lmtp);
    EXPECT_EQ(target.endpoint.host, "10.0.0.5");
    EXPECT_EQ(target.endpoint.port, 2424);
    EXPECT_EQ(target.endpoint.tls, TlsMode::StartTls);
    EXPECT_EQ(target.endpoint.caFile, "/etc/mc/ca.pem");
    EXPECT_EQ(target.endpoint.tlsFingerprint.size(), 95u);
    EXPECT_FALSE(target.endpoint.allowPlaintext);
    EXPECT_EQ(target.username, "collector");
    EXPECT_EQ(target.password.kind, SecretSource::Kind::File);
    EXPECT_EQ(target.password.reference, "/etc/mc/secrets/target");
    EXPECT_EQ(target.recipient, "me@example.org");
    EXPECT_EQ(target.envelopeFrom, "collector@example.org");
    EXPECT_EQ(target.folder, "Archive");
    EXPECT_EQ(target.labelDelivery, LabelDelivery::Subaddress);
    EXPECT_EQ(target.connections, 2);
    EXPECT_EQ(target.maxConnections, 12);

    ASSERT_EQ(config.accounts.size(), 2u);
    const AccountSettings& pop = config.accounts[0];
    EXPECT_EQ(pop.name, "old-yandex");
    EXPECT_EQ(pop.protocol, SourceProtocol::Pop3);
    EXPECT_EQ(pop.endpoint.host, "pop.yandex.ru");
    EXPECT_EQ(pop.endpoint.port, 1995);
    EXPECT_EQ(pop.endpoint.tls, TlsMode::Implicit);
    EXPECT_EQ(pop.username, "old@yandex.ru");
    EXPECT_EQ(pop.password.kind, SecretSource::Kind::Env);
    EXPECT_EQ(pop.password.reference, "YANDEX_PW");
    EXPECT_EQ(pop.auth, AuthMethod::Login);
    EXPECT_EQ(pop.folders, std::vector<std::string>{"INBOX"});
    EXPECT_FALSE(pop.keep);
    EXPECT_EQ(pop.deleteAfterDays, 30);
    EXPECT_EQ(pop.fetch, FetchPolicy::New);
    EXPECT_EQ(pop.labels, (std::vector<std::string>{"yandex", "old"}));
    EXPECT_TRUE(pop.archive);
    EXPECT_EQ(pop.maxMessageSize, 10u * 1024 * 1024);
    EXPECT_EQ(pop.interval, std::chrono::seconds(120));
    EXPECT_FALSE(pop.idle);
    EXPECT_EQ(pop.line, 27);

    const AccountSettings& imap = config.accounts[1];
    EXPECT_EQ(imap.name, "work.gmail_2");
    EXPECT_EQ(imap.protocol, SourceProtocol::Imap);
    EXPECT_EQ(imap.endpoint.port, 993);
    EXPECT_EQ(imap.password.kind, SecretSource::Kind::None);
    EXPECT_EQ(imap.auth, AuthMethod::XOAuth2);
    EXPECT_EQ(imap.oauth2Provider, "google");
    EXPECT_EQ(imap.oauth2ClientId, "client-id");
    EXPECT_EQ(imap.oauth2ClientSecretFile, "/etc/mc/oauth/secret");
    EXPECT_EQ(imap.oauth2RefreshTokenFile, "/var/lib/mc/refresh");
    EXPECT_EQ(imap.oauth2TokenUrl, "https://oauth2.googleapis.com/token");
    EXPECT_EQ(imap.oauth2DeviceUrl, "https://oauth2.googleapis.com/device/code");
    EXPECT_EQ(imap.oauth2TokenCommand, "");
    EXPECT_EQ(imap.folders, (std::vector<std::string>{"INBOX", "[Gmail]/Sent Mail"}));
    EXPECT_EQ(imap.maxMessageSize, 1000u);
    EXPECT_EQ(imap.interval, std::chrono::seconds(45));
    EXPECT_EQ(imap.endpoint.caFile, "/etc/ssl/extra.pem");
    EXPECT_EQ(imap.line, 45);

    EXPECT_EQ(config.findAccount("work.gmail_2"), &config.accounts[1]);
    EXPECT_EQ(config.findAccount("nope"), nullptr);
}

TEST(ConfigLoader, DefaultsFillWhatIsLeftOut) {
    Config config = parseConfig(std::string(kMinimal) + R"([[account]]
name = "a"
host = "pop.example.org"
username = "u"
password = "secret"
)",
                                kPath);
    EXPECT_EQ(config.collector.ledger, "/var/lib/mailcollector/ledger.db");
    EXPECT_EQ(config.collector.maxParallel, 8);
    EXPECT_EQ(config.collector.httpListen, "127.0.0.1:9780");
    EXPECT_EQ(config.collector.logFormat, "text");
    EXPECT_EQ(config.collector.quarantineDir, "/var/lib/mailcollector/quarantine");
    EXPECT_EQ(config.collector.spoolDir, "/var/lib/mailcollector/spool");
    EXPECT_EQ(config.collector.pollTimeout, std::chrono::hours(1));

    EXPECT_EQ(config.target.protocol, TargetProtocol::Smtp);
    EXPECT_EQ(config.target.endpoint.tls, TlsMode::StartTls);
    EXPECT_EQ(config.target.endpoint.port, 25);
    EXPECT_EQ(config.target.username, "");
    EXPECT_EQ(config.target.password.kind, SecretSource::Kind::None);
    EXPECT_EQ(config.target.envelopeFrom, "original");
    EXPECT_EQ(config.target.folder, "INBOX");
    EXPECT_EQ(config.target.labelDelivery, LabelDelivery::Header);
    EXPECT_EQ(config.target.connections, 4);
    EXPECT_EQ(config.target.maxConnections, 8);

    ASSERT_EQ(config.accounts.size(), 1u);
    const AccountSettings& account = config.accounts[0];
    EXPECT_EQ(account.protocol, SourceProtocol::Pop3);
    EXPECT_EQ(account.endpoint.tls, TlsMode::Implicit);
    EXPECT_EQ(account.endpoint.port, 995);
    EXPECT_EQ(account.password.kind, SecretSource::Kind::Inline);
    EXPECT_EQ(account.password.reference, "secret");
    EXPECT_EQ(account.auth, AuthMethod::Auto);
    EXPECT_EQ(account.folders, std::vector<std::string>{"INBOX"});
    EXPECT_TRUE(account.keep);
    EXPECT_EQ(account.deleteAfterDays, 0);
    EXPECT_EQ(account.fetch, FetchPolicy::All);
    EXPECT_TRUE(account.labels.empty());
    EXPECT_FALSE(account.archive);
    EXPECT_EQ(account.maxMessageSize, 50u * 1000 * 1000);
    EXPECT_EQ(account.interval, std::chrono::seconds(300));
    EXPECT_EQ(account.pollTimeout, std::chrono::seconds(0)) << "0: the collector's poll_timeout";
    EXPECT_TRUE(account.idle);
    EXPECT_EQ(account.line, 4);
}

TEST(ConfigLoader, PollTimeoutForAllAccountsAndPerAccount) {
    std::string text = "[collector]\npoll_timeout = \"3h\"\n" + std::string(kMinimal) + R"([[account]]
name = "a"
host = "pop.example.org"
username = "u"
password = "secret"
poll_timeout = "20m"
)";
    Config config = parseConfig(text, kPath);
    EXPECT_EQ(config.collector.pollTimeout, std::chrono::hours(3));
    EXPECT_EQ(config.accounts.at(0).pollTimeout, std::chrono::minutes(20));
}

TEST(ConfigLoader, NoAccountsIsValid) {
    Config config = parseConfig(kMinimal, kPath);
    EXPECT_TRUE(config.accounts.empty());
    EXPECT_TRUE(parseConfig("account = []\n" + std::string(kMinimal), kPath).accounts.empty());
}

TEST(ConfigLoader, TargetIsRequired) {
    EXPECT_EQ(parseError("", kPath), std::string(kPath) + ": target: required table [target] is missing");
    EXPECT_THAT(parseError("[collector]\nmax_parallel = 2\n"), StartsWith(std::string(kPath) + ": target: "));
}

TEST(ConfigLoader, OnlyOneTarget) {
    std::string text = R"([[target]]
host = "a"
recipient = "me@example.org"
)";
    EXPECT_EQ(parseError(text), std::string(kPath) + ":1: target: expected a table, found an array");
}

// Ports follow the protocol, the TLS mode and, for SMTP, whether we authenticate.
struct PortCase {
    const char* settings;
    std::uint16_t port;
};

class TargetPortDefault : public ::testing::TestWithParam<PortCase> {};

TEST_P(TargetPortDefault, FollowsProtocolAndTls) {
    std::string text =
        std::string("[target]\nhost = \"127.0.0.1\"\nrecipient = \"r@x.org\"\n") + GetParam().settings + "\n";
    EXPECT_EQ(parseConfig(text, kPath).target.endpoint.port, GetParam().port) << text;
}

INSTANTIATE_TEST_SUITE_P(ConfigLoader, TargetPortDefault,
                         ::testing::Values(PortCase{"protocol = \"smtp\"", 25},
                                           PortCase{"protocol = \"smtp\"\ntls = \"none\"", 25},
                                           PortCase{"protocol = \"smtp\"\ntls = \"implicit\"", 465},
                                           PortCase{"username = \"u\"\npassword_env = \"X\"", 587},
                                           PortCase{"username = \"u\"\npassword_env = \"X\"\ntls = \"implicit\"", 465},
                                           PortCase{"protocol = \"lmtp\"", 24},
                                           PortCase{"protocol = \"lmtp\"\ntls = \"none\"", 24},
                                           PortCase{"protocol = \"imap\"\nusername = \"u\"\npassword_env = \"X\"", 993},
                                           PortCase{"protocol = \"imap\"\nusername = \"u\"\npassword_env = \"X\"\n"
                                                    "tls = \"starttls\"",
                                                    143}));

TEST(ConfigLoader, TargetTlsDefaultFollowsProtocol) {
    Config imap = parseConfig(R"([target]
protocol = "imap"
host = "imap.example.org"
username = "me"
password_env = "PW"
)",
                              kPath);
    EXPECT_EQ(imap.target.endpoint.tls, TlsMode::Implicit);
    Config lmtp = parseConfig(std::string(kMinimal) + "protocol = \"lmtp\"\n", kPath);
    EXPECT_EQ(lmtp.target.endpoint.tls, TlsMode::StartTls);
}

TEST(ConfigLoader, AccountPortDefaults) {
    auto portFor = [](const std::string& settings) {
        std::string text = std::string(kMinimal) +
                           "[[account]]\nname = \"a\"\nhost = \"localhost\"\nusername = \"u\"\n"
                           "password_env = \"P\"\n" +
                           settings;
        return parseConfig(text, kPath).accounts.at(0).endpoint.port;
    };
    EXPECT_EQ(portFor(""), 995);
    EXPECT_EQ(portFor("tls = \"starttls\"\n"), 110);
    EXPECT_EQ(portFor("tls = \"none\"\n"), 110);
    EXPECT_EQ(portFor("protocol = \"imap\"\n"), 993);
    EXPECT_EQ(portFor("protocol = \"imap\"\ntls = \"starttls\"\n"), 143);
    EXPECT_EQ(portFor("protocol = \"imap\"\ntls = \"none\"\n"), 143);
}

TEST(ConfigLoader, RelativePathsFollowTheConfigFile) {
    Config config = parseConfig(R"([collector]
ledger = "../state/ledger.db"
quarantine_dir = "q/"

[target]
host = "localhost"
recipient = "me@example.org"
ca_file = "./ca.pem"
)",
                                "/etc/mc/sub/config.toml");
    EXPECT_EQ(config.collector.ledger, "/etc/mc/state/ledger.db");
    EXPECT_EQ(config.collector.quarantineDir, "/etc/mc/sub/q/");
    EXPECT_EQ(config.collector.spoolDir, "/etc/mc/sub/spool");
    EXPECT_EQ(config.target.endpoint.caFile, "/etc/mc/sub/ca.pem");
}

TEST(ConfigLoader, RelativeConfigPathStillGivesAbsolutePaths) {
    Config config = parseConfig(kMinimal, "config.toml");
    EXPECT_EQ(config.collector.ledger, "/var/lib/mailcollector/ledger.db");
    Config relative = parseConfig("[collector]\nledger = \"l.db\"\n" + std::string(kMinimal), "config.toml");
    EXPECT_EQ(relative.collector.ledger, (std::filesystem::current_path() / "l.db").string());
}

TEST(ConfigLoader, PostgresLedgerIsKeptAsIs) {
    std::string url = "postgresql://mc@db.example.org/mailcollector";
    Config config = parseConfig("[collector]\nledger = \"" + url + "\"\n" + std::string(kMinimal), kPath);
    EXPECT_EQ(config.collector.ledger, url);
}

TEST(ConfigLoader, EmptyHttpListenTurnsItOff) {
    Config config = parseConfig("[collector]\nhttp_listen = \"\"\n" + std::string(kMinimal), kPath);
    EXPECT_EQ(config.collector.httpListen, "");
}

TEST(ConfigLoader, HttpTokenFileIsAFileSecretRelativeToTheConfig) {
    EXPECT_EQ(parseConfig(kMinimal, kPath).collector.httpToken.kind, SecretSource::Kind::None);
    Config config = parseConfig("[collector]\nhttp_token_file = \"http.token\"\n" + std::string(kMinimal), kPath);
    EXPECT_EQ(config.collector.httpToken.kind, SecretSource::Kind::File);
    EXPECT_EQ(config.collector.httpToken.reference, "/etc/mailcollector/http.token");
}

TEST(ConfigLoader, EnumerationsIgnoreCase) {
    Config config = parseConfig(std::string(kMinimal) + "tls = \"STARTTLS\"\n", kPath);
    EXPECT_EQ(config.target.endpoint.tls, TlsMode::StartTls);
}

// ---- errors: every message starts with "FILE:LINE: KEY: " ---------------------------------

TEST(ConfigErrors, SyntaxErrorHasTomlLineAndDescription) {
    std::string error = parseError("[target]\nhost = \"x\"\nport = \n");
    EXPECT_THAT(error, StartsWith(std::string(kPath) + ":3: "));
    EXPECT_THAT(error, HasSubstr("expected"));
}

TEST(ConfigErrors, DuplicateTomlKeyIsASyntaxError) {
    EXPECT_THAT(parseError(std::string(kMinimal) + "host = \"y\"\n"), StartsWith(std::string(kPath) + ":4: "));
}

TEST(ConfigErrors, SyntaxErrorOnAPasswordLineQuotesNothingFromIt) {
    // toml++ would say "saw 'i'" or "unknown escape sequence '\q'": pieces of the password.
    std::string bare = parseError(std::string(kMinimal) + "password = trueish\n");
    EXPECT_THAT(bare, StartsWith(std::string(kPath) + ":4: "));
    EXPECT_THAT(bare, Not(HasSubstr("'i'")));
    std::string escape = parseError(std::string(kMinimal) + "\"password\" = \"ab\\qcd\"\n");
    EXPECT_THAT(escape, StartsWith(std::string(kPath) + ":4: "));
    EXPECT_THAT(escape, Not(HasSubstr("\\q")));
    // Elsewhere the detail stays, since it helps.
    EXPECT_THAT(parseError(std::string(kMinimal) + "folder = trueish\n"), HasSubstr("'i'"));
}

TEST(ConfigErrors, UnknownKeyNamesKeyAndSuggestsTheRightOne) {
    std::string error = parseError(std::string(kMinimal) + "recipeint = \"x\"\n");
    EXPECT_EQ(error, std::string(kPath) + ":4: target.recipeint: unknown key (did you mean \"recipient\"?)");
}

TEST(ConfigErrors, UnknownKeyInAccountWinsOverMissingKey) {
    // "hots" is a typo for "host"; saying "host is missing" would send the user looking elsewhere.
    std::string error = accountError("name = \"a\"\nhots = \"x\"\nusername = \"u\"\n");
    EXPECT_EQ(error, std::string(kPath) + ":6: account[a].hots: unknown key (did you mean \"host\"?)");
}

TEST(ConfigErrors, EveryBadKeyOfEveryTableInOnePassInFileOrder) {
    const std::string text = R"([collector]
max_parallel = 0
log_format = "xml"
verbose = true

[target]
host = "mail.example.org"
port = "25"
tls = "ssl"
recipient = "me@example.org"

[[account]]
name = "old-isp"
host = "pop.example.net"
username = "me"
password_env = "P"
keep = "yes"
interval = "often"
fetch = "some"

[[account]]
name = "work"
protocol = "imap"
hots = "imap.example.com"
username = "me"
password_env = "P"
delete_after_days = -1
)";
    const std::string p = kPath;
    EXPECT_EQ(parseError(text),
              p + ":2: collector.max_parallel: must be between 1 and 1024, found 0\n" + p +
                  ":3: collector.log_format: unknown value \"xml\"; expected one of: text, json\n" + p +
                  ":4: collector.verbose: unknown key\n" + p +
                  ":8: target.port: expected an integer, found a string\n" + p +
                  ":9: target.tls: unknown value \"ssl\"; expected one of: implicit, starttls, none\n" + p +
                  ":17: account[old-isp].keep: expected a boolean, found a string\n" + p +
                  ":18: account[old-isp].interval: expected a duration like \"30s\", \"5m\", \"1h\", "
                  "\"2d\" or a number of seconds\n" +
                  p + ":19: account[old-isp].fetch: unknown value \"some\"; expected one of: all, new\n" + p +
                  ":24: account[work].hots: unknown key (did you mean \"host\"?)\n" + p +
                  ":27: account[work].delete_after_days: must be between 0 and 2147483647, found -1");
}

TEST(ConfigErrors, UnknownTable) {
    EXPECT_EQ(parseError(std::string(kMinimal) + "[colector]\nmax_parallel = 1\n"),
              std::string(kPath) + ":4: colector: unknown table (did you mean \"collector\"?)");
    EXPECT_EQ(parseError(std::string(kMinimal) + "[target.extra]\nx = 1\n"),
              std::string(kPath) + ":4: target.extra: unknown table");
}

TEST(ConfigErrors, UnknownTopLevelKey) {
    EXPECT_EQ(parseError("verbose = true\n" + std::string(kMinimal)), std::string(kPath) + ":1: verbose: unknown key");
}

TEST(ConfigErrors, WrongType) {
    EXPECT_EQ(parseError(std::string(kMinimal) + "port = \"587\"\n"),
              std::string(kPath) + ":4: target.port: expected an integer, found a string");
    EXPECT_EQ(parseError("[collector]\nmax_parallel = 2.5\n" + std::string(kMinimal)),
              std::string(kPath) + ":2: collector.max_parallel: expected an integer, found a floating-point number");
    EXPECT_EQ(accountError("name = 7\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\n"),
              std::string(kPath) + ":5: account[0].name: expected a string, found an integer");
    EXPECT_EQ(accountError("name = \"a\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\n"
                           "keep = \"yes\"\n"),
              std::string(kPath) + ":9: account[a].keep: expected a boolean, found a string");
    EXPECT_EQ(parseError("collector = 3\n" + std::string(kMinimal)),
              std::string(kPath) + ":1: collector: expected a table, found an integer");
    EXPECT_EQ(parseError("account = 3\n" + std::string(kMinimal)),
              std::string(kPath) + ":1: account: expected [[account]] tables, found an integer");
}

TEST(ConfigErrors, WrongTypeInsideArray) {
    EXPECT_EQ(accountError("name = \"a\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\n"
                           "protocol = \"imap\"\nfolders = [\"INBOX\",\n  3]\n"),
              std::string(kPath) + ":11: account[a].folders: expected an array of strings, found an integer in it");
}

TEST(ConfigErrors, MissingRequiredKeyPointsAtTheTableHeader) {
    std::string text = std::string(kMinimal) + R"(
[[account]]
name = "first"
host = "h"
username = "u"
password_env = "P"

[[account]]
name = "second"
username = "u"
)";
    EXPECT_THAT(parseError(text), StartsWith(std::string(kPath) + ":11: account[second].host: missing required key; "));
    EXPECT_EQ(parseError("[target]\nrecipient = \"me@example.org\"\n"),
              std::string(kPath) + ":1: target.host: missing required key");
    EXPECT_EQ(accountError("host = \"h\"\nusername = \"u\"\npassword_env = \"P\"\n"),
              std::string(kPath) + ":4: account[0].name: missing required key");
    EXPECT_EQ(accountError("name = \"a\"\nhost = \"h\"\n"),
              std::string(kPath) + ":4: account[a].username: missing required key");
}

TEST(ConfigErrors, RecipientRequiredForSmtpAndLmtp) {
    EXPECT_EQ(parseError("\n[target]\nhost = \"h\"\n"),
              std::string(kPath) + ":2: target.recipient: missing required key (smtp and lmtp targets need it)");
    EXPECT_THAT(parseError("[target]\nprotocol = \"lmtp\"\nhost = \"h\"\n"),
                StartsWith(std::string(kPath) + ":1: target.recipient: "));
    EXPECT_EQ(parseError("[target]\nprotocol = \"imap\"\nhost = \"h\"\nusername = \"u\"\n"
                         "password_env = \"P\"\n"),
              "");
}

TEST(ConfigErrors, ImapTargetFolderAndLabelDelivery) {
    const std::string imap = "[target]\nprotocol = \"imap\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\n";
    EXPECT_EQ(parseConfig(imap + "folder = \"Archiv/Entwürfe\"\n", kPath).target.folder, "Archiv/Entwürfe");
    EXPECT_EQ(parseConfig(imap, kPath).target.folder, "INBOX");
    EXPECT_EQ(parseError(imap + "folder = \"a\\nb\"\n"),
              std::string(kPath) + ":6: target.folder: must be free of control characters");
    EXPECT_THAT(parseError(imap + "label_delivery = \"subaddress\"\n"),
                StartsWith(std::string(kPath) + ":6: target.label_delivery: \"subaddress\" is for smtp and lmtp"));
}

TEST(ConfigErrors, EnumerationListsAllowedValues) {
    EXPECT_EQ(parseError(std::string(kMinimal) + "tls = \"ssl\"\n"),
              std::string(kPath) + ":4: target.tls: unknown value \"ssl\"; expected one of: implicit, starttls, none");
    EXPECT_EQ(accountError("name = \"a\"\nprotocol = \"pop4\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\n"),
              std::string(kPath) + ":6: account[a].protocol: unknown value \"pop4\"; expected one of: pop3, imap");
    EXPECT_THAT(parseError("[collector]\nlog_format = \"xml\"\n" + std::string(kMinimal)),
                StartsWith(std::string(kPath) + ":2: collector.log_format: unknown value \"xml\""));
}

TEST(ConfigErrors, Ranges) {
    EXPECT_EQ(parseError(std::string(kMinimal) + "port = 0\n"),
              std::string(kPath) + ":4: target.port: must be between 1 and 65535, found 0");
    EXPECT_EQ(parseError(std::string(kMinimal) + "port = 65536\n"),
              std::string(kPath) + ":4: target.port: must be between 1 and 65535, found 65536");
    EXPECT_EQ(parseError("[collector]\nmax_parallel = 1025\n" + std::string(kMinimal)),
              std::string(kPath) + ":2: collector.max_parallel: must be between 1 and 1024, found 1025");
    EXPECT_THAT(parseError("[collector]\nmax_parallel = 0\n" + std::string(kMinimal)),
                StartsWith(std::string(kPath) + ":2: collector.max_parallel: "));
    EXPECT_THAT(parseError(std::string(kMinimal) + "connections = 33\n"),
                StartsWith(std::string(kPath) + ":4: target.connections: "));
    EXPECT_THAT(parseError(std::string(kMinimal) + "max_connections = 0\n"),
                StartsWith(std::string(kPath) + ":4: target.max_connections: "));
    EXPECT_THAT(accountError("name = \"a\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\n"
                             "delete_after_days = -1\n"),
                StartsWith(std::string(kPath) + ":9: account[a].delete_after_days: "));
}

TEST(ConfigErrors, DuplicateAccountNameReportsTheSecond) {
    std::string text = std::string(kMinimal) + R"([[account]]
name = "same"
host = "h"
username = "u"
password_env = "P"
[[account]]
host = "h2"
username = "u"
password_env = "P"
name = "same"
)";
    EXPECT_EQ(parseError(text), std::string(kPath) +
                                    ":13: account[1].name: duplicate account name \"same\" "
                                    "(first used on line 5)");
}

TEST(ConfigErrors, AccountNameCharacters) {
    EXPECT_EQ(accountError("name = \"my account\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\n"),
              std::string(kPath) + ":5: account[0].name: may contain only letters, digits, '.', '_' and '-'");
}

TEST(ConfigErrors, PlaintextToARemoteHostIsRefused) {
    std::string error = accountError(
        "name = \"a\"\nhost = \"pop.example.org\"\ntls = \"none\"\n"
        "username = \"u\"\npassword = \"hunter2\"\n");
    EXPECT_THAT(error, StartsWith(std::string(kPath) + ":7: account[a].tls: \"none\" "));
    EXPECT_THAT(error, HasSubstr("allow_plaintext"));
    EXPECT_THAT(error, Not(HasSubstr("hunter2")));
    EXPECT_THAT(parseError(std::string(kMinimal) + "tls = \"none\"\n"),
                StartsWith(std::string(kPath) + ":4: target.tls: "));
}

TEST(ConfigErrors, PlaintextIsFineOnLoopbackOrWhenAllowed) {
    for (const char* host :
         {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST", "localhost.", "::ffff:127.0.0.1"}) {
        std::string text = std::string("[target]\nhost = \"") + host + "\"\nrecipient = \"r@x.org\"\ntls = \"none\"\n";
        EXPECT_EQ(parseError(text), "") << host;
    }
    for (const char* host : {"128.0.0.1", "10.0.0.1", "::2", "localhost.example.org"}) {
        std::string text = std::string("[target]\nhost = \"") + host + "\"\nrecipient = \"r@x.org\"\ntls = \"none\"\n";
        EXPECT_NE(parseError(text), "") << host;
    }
    EXPECT_EQ(parseError(std::string(kMinimal) + "tls = \"none\"\nallow_plaintext = true\n"), "");
}

TEST(ConfigErrors, PasswordKeysAreExclusive) {
    std::string error = accountError(
        "name = \"a\"\nhost = \"h\"\nusername = \"u\"\npassword_file = \"/p\"\n"
        "password = \"hunter2\"\n");
    EXPECT_EQ(error, std::string(kPath) +
                         ":9: account[a].password: set only one of password, password_file, "
                         "password_env, password_command");
    EXPECT_THAT(
        parseError(std::string(kMinimal) + "username = \"u\"\npassword_env = \"A\"\npassword_command = \"b\"\n"),
        StartsWith(std::string(kPath) + ":6: target.password_command: set only one"));
}

TEST(ConfigErrors, AccountNeedsAPasswordOrTokenSource) {
    EXPECT_THAT(accountError("name = \"a\"\nhost = \"h\"\nusername = \"u\"\n"),
                StartsWith(std::string(kPath) + ":4: account[a].password: missing"));
    EXPECT_THAT(accountError("name = \"a\"\nhost = \"h\"\nusername = \"u\"\nauth = \"xoauth2\"\n"),
                StartsWith(std::string(kPath) + ":4: account[a].password: no token source"));
    EXPECT_EQ(accountError("name = \"a\"\nhost = \"h\"\nusername = \"u\"\nauth = \"oauthbearer\"\n"
                           "oauth2_token_command = \"get-token\"\n"),
              "");
}

TEST(ConfigErrors, TargetUsernameWithoutPassword) {
    EXPECT_THAT(parseError(std::string(kMinimal) + "username = \"me\"\n"),
                StartsWith(std::string(kPath) + ":4: target.username: is set but no password"));
    EXPECT_THAT(parseError(std::string(kMinimal) + "password_env = \"P\"\n"),
                StartsWith(std::string(kPath) + ":1: target.username: missing required key"));
    EXPECT_THAT(parseError("[target]\nprotocol = \"imap\"\nhost = \"h\"\n"),
                StartsWith(std::string(kPath) + ":1: target.username: missing required key"));
}

TEST(ConfigErrors, EmptyStringsAreRefusedWhereTheyMeanNothing) {
    EXPECT_EQ(accountError("name = \"a\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"\"\n"),
              std::string(kPath) + ":8: account[a].password_env: must not be empty");
    EXPECT_EQ(accountError("name = \"\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\n"),
              std::string(kPath) + ":5: account[0].name: must not be empty");
}

TEST(ConfigErrors, FoldersOnPop3) {
    std::string base = "name = \"a\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\n";
    EXPECT_EQ(accountError(base + "folders = [\"INBOX\"]\n"), "");
    EXPECT_EQ(accountError(base + "folders = [\"INBOX\", \"Sent\"]\n"),
              std::string(kPath) + ":9: account[a].folders: pop3 has only the INBOX; folders is for imap accounts");
    EXPECT_THAT(accountError(base + "protocol = \"imap\"\nfolders = []\n"),
                StartsWith(std::string(kPath) + ":10: account[a].folders: must list at least"));
    EXPECT_THAT(accountError(base + "protocol = \"imap\"\nfolders = [\"A\", \"A\"]\n"),
                StartsWith(std::string(kPath) + ":10: account[a].folders: \"A\" is listed twice"));
}

TEST(ConfigErrors, SizesAndIntervals) {
    std::string base = "name = \"a\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\n";
    EXPECT_THAT(accountError(base + "max_message_size = \"50 XB\"\n"),
                StartsWith(std::string(kPath) + ":9: account[a].max_message_size: expected a size"));
    EXPECT_THAT(accountError(base + "max_message_size = -5\n"),
                StartsWith(std::string(kPath) + ":9: account[a].max_message_size: "));
    EXPECT_EQ(accountError(base + "max_message_size = true\n"),
              std::string(kPath) +
                  ":9: account[a].max_message_size: expected a string or an integer, found a "
                  "boolean");
    EXPECT_EQ(accountError(base + "interval = \"5s\"\n"),
              std::string(kPath) + ":9: account[a].interval: must be at least 10s");
    EXPECT_EQ(accountError(base + "interval = 9\n"),
              std::string(kPath) + ":9: account[a].interval: must be at least 10s");
    EXPECT_THAT(accountError(base + "interval = \"soon\"\n"),
                StartsWith(std::string(kPath) + ":9: account[a].interval: expected a duration"));
    EXPECT_EQ(accountError(base + "interval = \"10s\"\n"), "");
}

TEST(ConfigErrors, FingerprintShape) {
    EXPECT_EQ(parseError(std::string(kMinimal) + "tls_fingerprint = \"abc\"\n"),
              std::string(kPath) +
                  ":4: target.tls_fingerprint: expected a SHA-256 fingerprint: 64 hex digits, "
                  "colons allowed");
}

TEST(ConfigErrors, HttpListenShape) {
    for (const char* bad : {"9780", "localhost", ":9780", "::1:9780", "127.0.0.1:0", "h:99999"})
        EXPECT_THAT(parseError("[collector]\nhttp_listen = \"" + std::string(bad) + "\"\n" + std::string(kMinimal)),
                    StartsWith(std::string(kPath) + ":2: collector.http_listen: "))
            << bad;
    for (const char* good : {"0.0.0.0:9780", "[::]:80", "localhost:1"})
        EXPECT_EQ(parseError("[collector]\nhttp_listen = \"" + std::string(good) + "\"\n" + std::string(kMinimal)), "")
            << good;
}

TEST(ConfigErrors, EnvelopeFrom) {
    EXPECT_THAT(parseError(std::string(kMinimal) + "envelope_from = \"nobody\"\n"),
                StartsWith(std::string(kPath) + ":4: target.envelope_from: "));
}

TEST(ConfigErrors, LabelsCannotCarryLineBreaks) {
    EXPECT_THAT(accountError("name = \"a\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\n"
                             "labels = [\"ok\", \"bad\\r\\nX-Injected: 1\"]\n"),
                StartsWith(std::string(kPath) + ":9: account[a].labels: "));
}

TEST(ConfigErrors, LabelsAndTheTargetFolderFitAnImapFolderName) {
    const std::string account = "name = \"a\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\n";
    EXPECT_EQ(accountError(account + "labels = [\"" + std::string(200, 'x') + "\"]\n"), "");
    EXPECT_EQ(accountError(account + "labels = [\"" + std::string(201, 'x') + "\"]\n"),
              std::string(kPath) + ":9: account[a].labels: a label may have at most 200 bytes");
    const std::string imap = "[target]\nprotocol = \"imap\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\n";
    EXPECT_EQ(parseError(imap + "folder = \"" + std::string(201, 'f') + "\"\n"),
              std::string(kPath) + ":6: target.folder: may have at most 200 bytes");
}

// ---- loadConfig: files and permissions -------------------------------------------------------

class LoadConfigTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (std::filesystem::temp_directory_path() / "mc-config-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& text, mode_t mode) {
        std::string path = (dir_ / name).string();
        std::ofstream(path) << text;
        ::chmod(path.c_str(), mode);
        return path;
    }

    std::filesystem::path dir_;
};

constexpr const char* kInlinePassword = R"([target]
host = "mail.example.org"
recipient = "me@example.org"

[[account]]
name = "a"
host = "pop.example.org"
username = "u"
password = "hunter2"
)";

TEST_F(LoadConfigTest, InlinePasswordInReadableFileIsRefused) {
    std::string path = write("config.toml", kInlinePassword, 0644);
    try {
        loadConfig(path);
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& error) {
        std::string message = error.what();
        EXPECT_THAT(message, StartsWith(path + ":9: account[a].password: "));
        EXPECT_THAT(message, HasSubstr("chmod 600"));
        EXPECT_THAT(message, HasSubstr("password_file"));
        EXPECT_THAT(message, HasSubstr("password_env"));
        EXPECT_THAT(message, Not(HasSubstr("hunter2")));
    }
    // Group-readable alone is enough to refuse.
    ::chmod(path.c_str(), 0640);
    EXPECT_THROW(loadConfig(path), ConfigError);
}

TEST_F(LoadConfigTest, InlinePasswordInPrivateFileIsAccepted) {
    std::string path = write("config.toml", kInlinePassword, 0600);
    Config config = loadConfig(path);
    EXPECT_EQ(config.path, path);
    ASSERT_EQ(config.accounts.size(), 1u);
    EXPECT_EQ(config.accounts[0].password.reference, "hunter2");
}

TEST_F(LoadConfigTest, ReadableFileWithoutInlinePasswordIsFine) {
    std::string path = write("config.toml", std::string(kMinimal) + "[collector]\nledger = \"l.db\"\n", 0644);
    Config config = loadConfig(path);
    EXPECT_EQ(config.collector.ledger, (dir_ / "l.db").string());
}

TEST_F(LoadConfigTest, ParseConfigDoesNotCheckPermissions) {
    EXPECT_NO_THROW(parseConfig(kInlinePassword, (dir_ / "config.toml").string()));
}

TEST_F(LoadConfigTest, MissingFileHasNoLine) {
    std::string path = (dir_ / "absent.toml").string();
    try {
        loadConfig(path);
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& error) {
        EXPECT_EQ(std::string(error.what()), path + ": cannot open: No such file or directory");
    }
}

TEST_F(LoadConfigTest, DirectoryIsNotAConfigFile) {
    try {
        loadConfig(dir_.string());
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& error) {
        EXPECT_EQ(std::string(error.what()), dir_.string() + ": not a regular file");
    }
}

TEST_F(LoadConfigTest, ErrorsFromAFileNameTheFile) {
    std::string path = write("broken.toml", std::string(kMinimal) + "port = \"x\"\n", 0600);
    EXPECT_THROW(
        {
            try {
                loadConfig(path);
            } catch (const ConfigError& error) {
                EXPECT_THAT(error.what(), StartsWith(path + ":4: target.port: "));
                throw;
            }
        },
        ConfigError);
}

// ---- one pass, plain words ------------------------------------------------------------------

TEST(ConfigErrors, EveryTablesFirstErrorIsReportedInOnePassWithAccountsByName) {
    std::string error = parseError(
        "[collector]\nmax_parallel = 0\n" + std::string(kMinimal) +
        "[[account]]\nname = \"old-isp\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\nport = 0\n"
        "[[account]]\nname = \"work\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\nkeep = \"yes\"\n");
    EXPECT_EQ(error, std::string(kPath) + ":2: collector.max_parallel: must be between 1 and 1024, found 0\n" + kPath +
                         ":11: account[old-isp].port: must be between 1 and 65535, found 0\n" + kPath +
                         ":17: account[work].keep: expected a boolean, found a string");
}

TEST(ConfigErrors, ACollectorKeyAfterTheLastAccountSaysWhereItBelongs) {
    std::string error = accountError(
        "name = \"a\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\n"
        "max_parallel = 4\n");
    EXPECT_THAT(error, StartsWith(std::string(kPath) + ":9: account[a].max_parallel: unknown key: it is a [collector] "
                                                       "key, and every key after an [[account]] header belongs to that "
                                                       "account; move it under [collector]"));
}

TEST(ConfigErrors, TomlSyntaxErrorsAreInPlainWordsWithTheLine) {
    EXPECT_THAT(accountError("name = \"a\"\nkeep = yes\n"),
                StartsWith(std::string(kPath) + ":6: TOML syntax error in `keep = yes`: the value is not one TOML "
                                                "knows: write text in double quotes (\"...\"), yes/no as true/false"));
    EXPECT_THAT(accountError("name = \"a\nkeep = true\n"), HasSubstr(":5: TOML syntax error in `name = \"a`: a string "
                                                                     "is not closed"));
    // A password line is never quoted back, not even in part.
    auto error = accountError("name = \"a\"\npassword = s3cret-yes\n");
    EXPECT_THAT(error, HasSubstr(":6: TOML syntax error: the value is not one TOML knows"));
    EXPECT_THAT(error, Not(HasSubstr("s3cret")));
}

}  // namespace
}  // namespace mc::config
