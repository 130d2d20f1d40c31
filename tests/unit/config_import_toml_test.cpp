// The shared half of `import`: TOML quoting (checked by parsing it back with the real loader),
// account names, and the choice of the one target.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/Config.hpp"
#include "config/Importers.hpp"

namespace mc::config::importer {
namespace {

using ::testing::HasSubstr;

// The password as the loader reads it back from `password = <tomlString(value)>`.
std::string roundTrip(const std::string& value) {
    std::string text =
        "[target]\nhost = \"localhost\"\nrecipient = \"me\"\n[[account]]\nname = \"a\"\n"
        "host = \"pop.example.net\"\nusername = \"u\"\npassword = " +
        tomlString(value) + "\n";
    return parseConfig(text, "/tmp/x.toml").accounts.at(0).password.reference;
}

TEST(ImportToml, EscapesQuotesBackslashesAndControlCharacters) {
    EXPECT_EQ(tomlString("plain"), "\"plain\"");
    EXPECT_EQ(tomlString("a\"b\\c"), "\"a\\\"b\\\\c\"");
    EXPECT_EQ(tomlString("tab\there\nnl\r\b\f"), "\"tab\\there\\nnl\\r\\b\\f\"");
    EXPECT_EQ(tomlString(std::string("nul\0x", 5)), "\"nul\\u0000x\"");
    EXPECT_EQ(tomlString("\x1b[0m\x7f"), "\"\\u001B[0m\\u007F\"");
}

TEST(ImportToml, PassesUtf8ThroughAndReadsStrayBytesAsLatin1) {
    EXPECT_EQ(tomlString("Ünïcode ✓ 😀"), "\"Ünïcode ✓ 😀\"");
    EXPECT_EQ(tomlString("caf\xe9"), "\"caf\\u00E9\"");
    EXPECT_TRUE(isValidUtf8("Ünïcode ✓ 😀"));
    EXPECT_FALSE(isValidUtf8("caf\xe9"));
    EXPECT_FALSE(isValidUtf8("\xc0\xaf"));      // overlong '/'
    EXPECT_FALSE(isValidUtf8("\xed\xa0\x80"));  // a surrogate
}

TEST(ImportToml, EveryEscapedStringParsesBackToItself) {
    for (std::string value : {"p\"a\\ss", "tab\tand\nnewline", "\x01\x1f\x7f end", "Ünïcode ✓",
                              "'single' \"double\" \\\\ # not a comment", "trailing\\"})
        EXPECT_EQ(roundTrip(value), value) << value;
}

TEST(ImportToml, AccountNamesAreSanitisedAndUnique) {
    EXPECT_EQ(accountName("jsmith", "pop.example.net", {}), "jsmith-pop.example.net");
    EXPECT_EQ(accountName("Bob@Gmail.com", "imap.gmail.com", {}), "bob-gmail.com-imap.gmail.com");
    EXPECT_EQ(accountName("a b/c", "h", {}), "a-b-c-h");
    EXPECT_EQ(accountName("", "", {}), "account");
    EXPECT_EQ(accountName("u", "h", {"u-h"}), "u-h-2");
    EXPECT_EQ(accountName("u", "h", {"u-h", "u-h-2"}), "u-h-3");
}

TEST(ImportToml, OneTargetTheFirstWinsAndDifferencesAreWarnings) {
    ImportedConfig config;
    TargetWish first, same, other;
    first.target.protocol = "lmtp";
    first.target.host = "127.0.0.1";
    first.target.port = 24;
    first.target.recipient = "me";
    first.account = "a";
    same = first;
    same.account = "b";
    other = first;
    other.account = "c";
    other.target.recipient = "you";
    other.file = "rc";
    other.line = 7;
    chooseTarget(config, {first, same, other}, {});
    EXPECT_EQ(config.target.recipient, "me");
    ASSERT_EQ(config.warnings.size(), 1u);
    EXPECT_EQ(config.warnings[0].line, 7);
    EXPECT_THAT(config.warnings[0].text, HasSubstr("account c delivered to lmtp 127.0.0.1:24 for you"));
}

TEST(ImportToml, RenderedDisabledAccountsAreCommentedOut) {
    ImportedConfig config;
    config.target.recipient = "me";
    ImportedAccount account;
    account.name = "off";
    account.host = "pop.example.net";
    account.username = "u";
    account.password = "secret";
    account.disabled = true;
    config.accounts.push_back(account);
    std::string text = renderToml(config);
    EXPECT_THAT(text, HasSubstr("# [[account]]\n# name = \"off\"\n"));
    EXPECT_TRUE(parseConfig(text, "/tmp/x.toml").accounts.empty());
}

}  // namespace
}  // namespace mc::config::importer
