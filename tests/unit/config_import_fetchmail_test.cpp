// `import fetchmailrc`: fetchmail's lexer and grammar (escapes, noise words, NAME state, several
// users per poll, defaults, skip, syntax errors with their line), the mapping decisions, and the
// round trip: the printed TOML, read by the real loader, gives the expected AccountSettings.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/Config.hpp"
#include "config/FetchmailrcImporter.hpp"
#include "config/Importers.hpp"
#include "tests/unit/config_import_helpers.hpp"

namespace mc::config::importer {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

const RcOption* option(const std::vector<RcOption>& options, const std::string& name) {
    for (const auto& o : options)
        if (o.name == name) return &o;
    return nullptr;
}

Fetchmailrc parsed(const std::string& text) {
    Fetchmailrc rc = parseFetchmailrc(text);
    EXPECT_EQ(rc.error, "") << "line " << rc.errorLine;
    return rc;
}

ImportResult imported(const std::string& text) {
    ImportOptions options;
    options.localUser = "localme";
    return importFetchmailrc(text, "/home/me/.fetchmailrc", options);
}

// ---- grammar ------------------------------------------------------------------------------

TEST(FetchmailrcGrammar, QuotedStringsAndFetchmailEscapes) {
    auto rc = parsed(
        "poll h user u password \"a\\x22b\\042c\\\\d\\n\\65\" is 'single quoted' here\n"
        "poll h2 user \"two\\\n"
        "lines\" pass \"multi\n"
        "line\"\n");
    ASSERT_EQ(rc.entries.size(), 2u);
    const RcUser& user = rc.entries[0].users.at(0);
    EXPECT_EQ(option(user.options, "password")->values.at(0), "a\"b\"c\\d\nA");
    EXPECT_EQ(user.localNames, std::vector<std::string>{"single quoted"});
    EXPECT_EQ(rc.entries[1].users.at(0).remote, "twolines");
    EXPECT_EQ(option(rc.entries[1].users.at(0).options, "password")->values.at(0), "multi\nline");
}

// A backslash does not protect a quote: the quoted string ends at the first one, and where the
// bare word around it is longer, the bare word (quotes included) wins -- as fetchmail reads it.
TEST(FetchmailrcGrammar, QuotesFollowFetchmailsLongestMatch) {
    auto rc = parsed("poll h user u password \"pw-\\\"alice\\\"\" is me here\n");
    EXPECT_EQ(option(rc.entries.at(0).users.at(0).options, "password")->values.at(0), "\"pw-\"alice\"\"");
}

TEST(FetchmailrcGrammar, NoiseWordsPunctuationAndComments) {
    auto rc = parsed(
        "# a comment\n"
        "poll pop.example.net with proto pop3: # trailing comment\n"
        "   user \"jsmith\", with password \"has # inside\", is jws here;\n"
        "   and wants options keep, fetchall\n");
    ASSERT_EQ(rc.entries.size(), 1u);
    const RcEntry& entry = rc.entries[0];
    EXPECT_EQ(entry.name, "pop.example.net");
    EXPECT_EQ(entry.line, 2);
    EXPECT_EQ(option(entry.serverOptions, "protocol")->values.at(0), "pop3");
    const RcUser& user = entry.users.at(0);
    EXPECT_EQ(user.remote, "jsmith");
    EXPECT_EQ(user.line, 3);
    EXPECT_EQ(option(user.options, "password")->values.at(0), "has # inside");
    EXPECT_EQ(user.localNames, std::vector<std::string>{"jws"});
    EXPECT_NE(option(user.options, "keep"), nullptr);
    EXPECT_EQ(option(user.options, "fetchall")->line, 4);
}

TEST(FetchmailrcGrammar, NamesAfterUserAndPasswordMayLookLikeKeywords) {
    auto rc = parsed("poll h user keep pass 12345 is poll here nokeep no ssl");
    const RcUser& user = rc.entries.at(0).users.at(0);
    EXPECT_EQ(user.remote, "keep");
    EXPECT_EQ(option(user.options, "password")->values.at(0), "12345");
    EXPECT_EQ(user.localNames, std::vector<std::string>{"poll"});
    EXPECT_TRUE(option(user.options, "keep")->negated);
    EXPECT_TRUE(option(user.options, "ssl")->negated);
}

TEST(FetchmailrcGrammar, SeveralUsersDefaultsSkipAndGlobals) {
    auto rc = parsed(
        "set daemon 300\nset postmaster = \"pm\"\nset no bouncemail\n"
        "defaults proto imap user \"dflt\" keep\n"
        "poll pop.provider.net proto pop3 port 3111\n"
        "   user \"jsmith\" with pass \"secret1\" is \"smith\" here\n"
        "   user jones with pass \"secret2\" is \"jjones\" here keep\n"
        "skip other.example.org pass \"x\"\n");
    ASSERT_EQ(rc.globals.size(), 3u);
    EXPECT_EQ(rc.globals[0].values.at(0), "300");
    EXPECT_EQ(rc.globals[1].values.at(0), "pm");
    EXPECT_TRUE(rc.globals[2].negated);
    ASSERT_EQ(rc.entries.size(), 3u);
    EXPECT_EQ(rc.entries[0].kind, RcEntry::Kind::Defaults);
    EXPECT_EQ(rc.entries[1].users.size(), 2u);
    EXPECT_EQ(rc.entries[1].users[1].remote, "jones");
    EXPECT_EQ(rc.entries[1].users[1].line, 7);
    EXPECT_EQ(option(rc.entries[1].serverOptions, "port")->values.at(0), "3111");
    EXPECT_EQ(rc.entries[2].kind, RcEntry::Kind::Skip);
    EXPECT_EQ(rc.entries[2].users.size(), 1u);  // user options without `user`
    EXPECT_EQ(rc.entries[2].users[0].remote, "");
}

TEST(FetchmailrcGrammar, UserHereIsThereAndMultidropMappings) {
    auto rc = parsed(
        "poll h user esr here is eric there\n"
        "poll h2 user maildrop pass s to golux 'hurkle'='happy' snark here\n");
    EXPECT_EQ(rc.entries[0].users[0].remote, "eric");
    EXPECT_EQ(rc.entries[0].users[0].localNames, std::vector<std::string>{"esr"});
    EXPECT_EQ(rc.entries[1].users[0].localNames, (std::vector<std::string>{"golux", "hurkle=happy", "snark"}));
}

TEST(FetchmailrcGrammar, SyntaxErrorsNameTheirLineAndNeverASecret) {
    auto afterUser = parseFetchmailrc("poll h\n  user u pass \"hunter2\"\n  keep\n  proto pop3\n");
    EXPECT_EQ(afterUser.errorLine, 4);
    EXPECT_THAT(afterUser.error, HasSubstr("server option"));
    EXPECT_TRUE(afterUser.entries.empty());

    auto stray = parseFetchmailrc("set daemon 60\n\npoll h user u pass secret1 there-be-dragons\n");
    EXPECT_EQ(stray.errorLine, 3);
    EXPECT_THAT(stray.error, AllOf(HasSubstr("a string"), Not(HasSubstr("dragons"))));

    auto unterminated = parseFetchmailrc("poll h\nuser u pass \"no end\n\n");
    EXPECT_EQ(unterminated.errorLine, 2);
    EXPECT_THAT(unterminated.error, HasSubstr("unterminated"));

    auto notAnEntry = parseFetchmailrc("keep\n");
    EXPECT_EQ(notAnEntry.errorLine, 1);
    EXPECT_THAT(notAnEntry.error, HasSubstr("expected set, poll, skip or defaults"));

    auto badProto = parseFetchmailrc("\npoll h proto smtp\n");
    EXPECT_EQ(badProto.errorLine, 2);

    auto result = importFetchmailrc("poll h\nuser u pass \"hunter2\" bogus\n", "/x/rc");
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.errorText().rfind("/x/rc:2: ", 0), 0u) << result.errorText();
    EXPECT_THAT(result.errorText(), Not(HasSubstr("hunter2")));
}

// ---- mapping ------------------------------------------------------------------------------

TEST(FetchmailrcMapping, GmailPop3WithSslKeepsAndFetchesNew) {
    auto result = imported(
        "set daemon 600\n"
        "poll pop.gmail.com with proto POP3 and options no dns\n"
        "  user 'me@gmail.com' there with password 'p\"w' is localme here options ssl keep\n");
    Config config = roundTrip(result);
    ASSERT_EQ(config.accounts.size(), 1u);
    const AccountSettings& a = config.accounts[0];
    EXPECT_EQ(a.name, "me-gmail.com-pop.gmail.com");
    EXPECT_EQ(a.protocol, SourceProtocol::Pop3);
    EXPECT_EQ(a.endpoint.host, "pop.gmail.com");
    EXPECT_EQ(a.endpoint.port, 995);
    EXPECT_EQ(a.endpoint.tls, TlsMode::Implicit);
    EXPECT_EQ(a.username, "me@gmail.com");
    EXPECT_EQ(a.password.kind, SecretSource::Kind::Inline);
    EXPECT_EQ(a.password.reference, "p\"w");
    EXPECT_TRUE(a.keep);
    EXPECT_EQ(a.fetch, FetchPolicy::New);
    EXPECT_EQ(a.interval, std::chrono::seconds(600));
    EXPECT_EQ(config.target.protocol, TargetProtocol::Smtp);
    EXPECT_EQ(config.target.endpoint.host, "localhost");
    EXPECT_EQ(config.target.endpoint.port, 25);
    EXPECT_EQ(config.target.endpoint.tls, TlsMode::None);
    EXPECT_EQ(config.target.recipient, "localme");
    EXPECT_FALSE(warned(result, "ssl"));
}

TEST(FetchmailrcMapping, ImapWithFoldersNoKeepAndNoSsl) {
    auto result = imported(
        "poll imap.example.org proto imap service 1143 interval 3\n"
        "  user \"ann\" pass \"x\" folders INBOX, Lists \"Other Stuff\" limit 2000000 idle\n"
        "  smtphost mail.example.org/587 smtpaddress example.org is ann here\n");
    Config config = roundTrip(result);
    ASSERT_EQ(config.accounts.size(), 1u);
    const AccountSettings& a = config.accounts[0];
    EXPECT_EQ(a.protocol, SourceProtocol::Imap);
    EXPECT_EQ(a.endpoint.port, 1143);
    EXPECT_EQ(a.endpoint.tls, TlsMode::StartTls);
    EXPECT_EQ(a.folders, (std::vector<std::string>{"INBOX", "Lists", "Other Stuff"}));
    EXPECT_FALSE(a.keep);  // fetchmail deletes by default
    EXPECT_EQ(a.fetch, FetchPolicy::All);
    EXPECT_EQ(a.maxMessageSize, 2000000u);
    EXPECT_TRUE(a.idle);
    EXPECT_EQ(a.interval, std::chrono::seconds(300));  // no daemon: the default
    EXPECT_TRUE(warned(result, "STARTTLS"));
    EXPECT_TRUE(warned(result, "set daemon"));
    EXPECT_EQ(config.target.endpoint.host, "mail.example.org");
    EXPECT_EQ(config.target.endpoint.port, 587);
    EXPECT_EQ(config.target.endpoint.tls, TlsMode::StartTls);
    EXPECT_EQ(config.target.recipient, "ann@example.org");
    EXPECT_THAT(renderToml(result.config), HasSubstr("keep = false"));
}

TEST(FetchmailrcMapping, DefaultsApplyAndUsersBecomeAccounts) {
    auto result = imported(
        "set daemon 120\n"
        "defaults proto pop3 user \"jsmith\" ssl keep fetchall\n"
        "poll pop.provider.net pass \"secret1\"\n"
        "poll pop.provider.net\n"
        "   user \"jsmith\" with pass \"secret2\" is \"smith\" here nokeep\n"
        "   user jones with pass \"secret3\" is \"jjones\" here\n");
    Config config = roundTrip(result);
    ASSERT_EQ(config.accounts.size(), 3u);
    EXPECT_EQ(config.accounts[0].name, "jsmith-pop.provider.net");
    EXPECT_EQ(config.accounts[0].username, "jsmith");
    EXPECT_TRUE(config.accounts[0].keep);
    EXPECT_EQ(config.accounts[0].fetch, FetchPolicy::All);  // fetchall
    EXPECT_EQ(config.accounts[0].endpoint.tls, TlsMode::Implicit);
    EXPECT_EQ(config.accounts[1].name, "jsmith-pop.provider.net-2");
    EXPECT_FALSE(config.accounts[1].keep);
    EXPECT_EQ(config.accounts[2].username, "jones");
    EXPECT_EQ(config.accounts[2].password.reference, "secret3");
    EXPECT_EQ(config.accounts[2].interval, std::chrono::seconds(120));
    // three local recipients, one target: the first wins, the others are warned about
    EXPECT_EQ(config.target.recipient, "localme");
    EXPECT_TRUE(warned(result, "account jones-pop.provider.net delivered to smtp localhost for jjones"));
}

TEST(FetchmailrcMapping, WhatCannotBeTranslatedIsWarnedAndCommented) {
    auto result = imported(
        "poll h via pop.example.net proto apop auth cram-md5 plugin \"ssh x\"\n"
        "  user u is me here ssl sslfingerprint \"AA:BB\" sslcommonname other.example.net\n"
        "  mda \"/usr/bin/procmail -d %T\" flush antispam 571 550\n"
        "skip old.example.net user v pass w ssl\n"
        "poll relay.example.net proto etrn\n");
    Config config = roundTrip(result);
    ASSERT_EQ(config.accounts.size(), 1u);  // skip: commented out; etrn: not a mailbox
    const AccountSettings& a = config.accounts[0];
    EXPECT_EQ(a.endpoint.host, "pop.example.net");
    EXPECT_EQ(a.password.kind, SecretSource::Kind::Env);
    EXPECT_EQ(a.password.reference, "MC_PASSWORD_U_POP_EXAMPLE_NET");
    for (const char* needle : {"apop", "cram-md5", "plugin", "MD5 pin", "sslcommonname", "mda", "flush", "antispam",
                               "no password", "skip", "etrn"})
        EXPECT_TRUE(warned(result, needle)) << needle;
    for (const auto& warning : result.config.warnings) {
        EXPECT_EQ(warning.file, "/home/me/.fetchmailrc");
        EXPECT_GT(warning.line, 0) << warning.text;
    }
    std::string text = renderToml(result.config);
    EXPECT_THAT(text, HasSubstr("# sslfingerprint is an MD5 pin"));
    EXPECT_THAT(text, HasSubstr("# name = \"v-old.example.net\""));
    EXPECT_THAT(text, HasSubstr("PLACEHOLDER"));
}

TEST(FetchmailrcMapping, NoPasswordEverInAWarning) {
    auto result = imported(
        "poll h proto pop3 user u pass \"hunter2\" sslfingerprint \"x\" mda \"m\"\n"
        "poll h2 user v pass \"hunter3\" is a b here\n");
    ASSERT_TRUE(result.ok());
    EXPECT_FALSE(result.config.warnings.empty());
    for (const auto& warning : result.config.warnings)
        EXPECT_THAT(warning.text, AllOf(Not(HasSubstr("hunter2")), Not(HasSubstr("hunter3"))));
}

// Found by fuzz_fetchmailrc: huge numbers saturate instead of overflowing (int) or printing an
// integer TOML cannot hold, and a warning about an entry without `user` names the entry's line.
TEST(FetchmailrcMapping, HugeNumbersSaturateAndEveryWarningHasALine) {
    auto result = imported(
        "set daemon 99999999999\n"
        "poll h proto pop3 interval 3 user u pass p limit 99999999999999999999999\n");
    Config config = roundTrip(result);
    ASSERT_EQ(config.accounts.size(), 1u);
    EXPECT_EQ(config.accounts[0].interval, std::chrono::seconds(2147483647));
    EXPECT_EQ(config.accounts[0].maxMessageSize, 9223372036854775807u);

    auto noUser = imported(
        "defaults is a b here\npoll first.example.net\n\npoll second.example.net smtphost relay.example.net\n");
    ASSERT_TRUE(noUser.ok());
    EXPECT_TRUE(warned(noUser, "multidrop"));
    EXPECT_TRUE(warned(noUser, "delivered to"));
    for (const auto& warning : noUser.config.warnings) EXPECT_GT(warning.line, 0) << warning.text;
}

// ---- the files bench/run.sh and bench/service.sh write (real fetchmail accepts them) -------

TEST(FetchmailrcFixtures, BenchRunPop3AndImap) {
    const std::string pop3 =
        "# Generated by bench/run.sh\nset no syslog\nset no bouncemail\n"
        "poll bench-alice via 127.0.0.1 service 39995 proto pop3 uidl\n"
        "  user \"alice\" there with password \"pw-alice\" is \"me\" here\n"
        "  options keep ssl sslcertfile \"/tmp/ca.pem\" sslcertck sslcommonname \"localhost\"\n"
        "  smtphost 127.0.0.1/2424 lmtp smtpname \"me@localhost\"\n"
        "poll bench-bob via 127.0.0.1 service 39995 proto pop3 uidl\n"
        "  user \"bob\" there with password \"pw-bob\" is \"me\" here\n"
        "  options keep ssl sslcertfile \"/tmp/ca.pem\" sslcertck sslcommonname \"localhost\"\n"
        "  smtphost 127.0.0.1/2424 lmtp smtpname \"me@localhost\"\n";
    auto result = imported(pop3);
    Config config = roundTrip(result);
    ASSERT_EQ(config.accounts.size(), 2u);
    EXPECT_EQ(config.accounts[1].name, "bob-127.0.0.1");
    EXPECT_EQ(config.accounts[1].endpoint.port, 39995);
    EXPECT_EQ(config.accounts[1].endpoint.caFile, "/tmp/ca.pem");
    EXPECT_EQ(config.accounts[1].fetch, FetchPolicy::New);
    EXPECT_EQ(config.target.protocol, TargetProtocol::Lmtp);
    EXPECT_EQ(config.target.endpoint.host, "127.0.0.1");
    EXPECT_EQ(config.target.endpoint.port, 2424);
    EXPECT_EQ(config.target.endpoint.tls, TlsMode::None);
    EXPECT_EQ(config.target.recipient, "me@localhost");
    EXPECT_FALSE(warned(result, "delivered to"));  // the same target twice

    const std::string imap =
        "poll bench-alice via 127.0.0.1 service 39993 proto imap\n"
        "  user \"alice\" there with password \"pw\" is \"me\" here\n"
        "  folder \"INBOX\"\n"
        "  options keep fetchall ssl sslcertfile \"/tmp/ca.pem\" sslcertck sslcommonname \"localhost\"\n"
        "  smtphost 127.0.0.1/2424 lmtp smtpname \"me@localhost\"\n";
    Config imapConfig = roundTrip(imported(imap));
    ASSERT_EQ(imapConfig.accounts.size(), 1u);
    EXPECT_EQ(imapConfig.accounts[0].protocol, SourceProtocol::Imap);
    EXPECT_EQ(imapConfig.accounts[0].folders, std::vector<std::string>{"INBOX"});
    EXPECT_EQ(imapConfig.accounts[0].fetch, FetchPolicy::All);
    EXPECT_FALSE(imapConfig.accounts[0].idle);  // fetchmail's default
}

TEST(FetchmailrcFixtures, BenchServiceOneLinePerAccount) {
    std::string rc = "set no bouncemail\nset no syslog\nset idfile \"/srv/fm/fetchids\"\n";
    for (const char* name : {"acct001", "acct002", "acct003"})
        rc += std::string("poll localhost proto pop3 service 39995 uidl user \"") + name +
              "\" there with password \"s-" + name +
              "\" is \"me\" here options keep ssl sslcertck sslcertfile \"/tmp/ca.pem\" smtphost "
              "127.0.0.1/2525 lmtp smtpname \"me@localhost\"\n";
    Config config = roundTrip(imported(rc));
    ASSERT_EQ(config.accounts.size(), 3u);
    EXPECT_EQ(config.accounts[2].name, "acct003-localhost");
    EXPECT_EQ(config.accounts[2].password.reference, "s-acct003");
    EXPECT_EQ(config.target.endpoint.port, 2525);
}

// `is '' here` (seen in a public rc file) names nobody: the local user receives, and the result
// loads, instead of recipient = "" that validate refuses.
TEST(FetchmailrcTarget, AnEmptyLocalNameMeansTheLocalUser) {
    auto result = imported("poll pop.example.net proto pop3 user \"me\" there with password \"pw\" is '' here\n");
    ASSERT_TRUE(result.ok()) << result.errorText();
    EXPECT_EQ(result.config.target.recipient, "localme");
    for (const auto& warning : result.config.warnings) EXPECT_EQ(warning.text.find("multidrop"), std::string::npos);
}

}  // namespace
}  // namespace mc::config::importer
