// Hostile IMAP sources, end to end: the real mailcollector binary and config file against a
// scripted fake IMAP server (tests/support/fakes/FakeImapServer), for what Dovecot will not do:
// literals split across reads, bodies that look like protocol, unsolicited EXPUNGE and BYE in
// the middle of a fetch, PREAUTH, STARTTLS response injection, absurd literal sizes. Each test
// checks the exit code, the account-scoped error, the exact bytes delivered to a fake LMTP
// target, and what the fake recorded (no credential before TLS, nothing deleted by accident).

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "tests/support/TestCa.hpp"
#include "tests/support/fakes/CollectorHarness.hpp"
#include "tests/support/fakes/FakeImapServer.hpp"
#include "tests/support/fakes/FakeSmtpTarget.hpp"
#include "tests/support/fakes/ScriptedServer.hpp"

namespace mc::testing {
namespace {

using namespace std::chrono_literals;
using Tls = FakeImapOptions::Tls;

std::string message(const std::string& subject, const std::string& body = "Hello.\r\n") {
    return "Return-Path: <sender@example.net>\r\n"
           "From: Sender <sender@example.net>\r\n"
           "To: alice@example.com\r\n"
           "Subject: " +
           subject +
           "\r\n"
           "Message-ID: <" +
           subject +
           "@example.net>\r\n"
           "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
           "\r\n" +
           body;
}

FakeImapOptions imapOptions(Tls tls = Tls::None, CertKind cert = CertKind::Valid) {
    FakeImapOptions options;
    options.tls = tls;
    if (tls != Tls::None) {
        options.certFile = TestCa::shared().certFile(cert);
        options.keyFile = TestCa::shared().keyFile(cert);
    }
    return options;
}

FakeImapFolder inbox(std::vector<FakeImapMessage> messages) {
    FakeImapFolder folder;
    folder.messages = std::move(messages);
    return folder;
}

AccountConfig accountFor(const FakeImapServer& imap, const std::string& tls = "none", bool keep = true) {
    AccountConfig account;
    account.port = imap.port();
    account.tls = tls;
    account.username = imap.options().user;
    account.password = imap.options().password;
    account.keep = keep;
    if (tls != "none") account.caFile = TestCa::shared().caFile();
    return account;
}

// Command lines without their tags.
std::vector<std::string> withoutTags(const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    for (const auto& line : lines) out.push_back(line.substr(line.find(' ') + 1));
    return out;
}

class HostileImap : public ::testing::Test {
protected:
    CollectorHarness harness{"2s"};
    FakeSmtpTarget target{lmtpOptions()};

    // CollectorHarness writes POP3 accounts; these are IMAP ones, with FOLDERS.
    void writeConfig(const std::vector<AccountConfig>& accounts, const std::string& folders = "[\"INBOX\"]") {
        TargetConfig targetConfig;
        targetConfig.protocol = "lmtp";
        targetConfig.port = target.port();
        std::vector<AccountConfig> imapAccounts = accounts;
        for (auto& account : imapAccounts) account.extra = "folders = " + folders + "\n" + account.extra;
        std::string toml = harness.writeConfig(targetConfig, imapAccounts);
        for (std::size_t at; (at = toml.find("protocol = \"pop3\"")) != std::string::npos;)
            toml.replace(at, 17, "protocol = \"imap\"");
        writeFile(harness.configPath(), toml, 0600);
    }

    void expectAccountFailed(const ProcessResult& result, const std::string& needle,
                             const std::string& account = "acct") {
        EXPECT_FALSE(result.timedOut) << result.describe();
        EXPECT_EQ(result.exitCode, 1) << result.describe();
        EXPECT_NE(result.err.find("account=" + account + " poll failed"), std::string::npos) << result.describe();
        EXPECT_NE(result.err.find(needle), std::string::npos) << "stderr lacks '" << needle << "':\n"
                                                              << result.describe();
        EXPECT_FALSE(hasRawControlBytes(result.err)) << escapeBytes(result.err, 4000);
    }
    void expectNothingDelivered() { EXPECT_TRUE(target.transactions().empty()) << target.transcript(); }
    // Nothing was even marked for deletion, let alone expunged.
    void expectNothingDeleted(const FakeImapServer& imap) {
        EXPECT_EQ(imap.countCommands("UID STORE"), 0u) << imap.transcript();
        EXPECT_EQ(imap.countCommands("UID EXPUNGE"), 0u) << imap.transcript();
        EXPECT_EQ(imap.countCommands("UID MOVE"), 0u) << imap.transcript();
    }
    // A bare EXPUNGE or CLOSE would also remove other clients' \Deleted mail.
    void expectNoBareExpunge(const FakeImapServer& imap) {
        EXPECT_EQ(imap.countCommands("EXPUNGE"), 0u) << imap.transcript();
        EXPECT_EQ(imap.countCommands("CLOSE"), 0u) << imap.transcript();
    }
    // Every delivered message by subject: subject -> content as the source had it.
    std::map<std::string, std::string> deliveredBySubject() {
        std::map<std::string, std::string> out;
        for (const auto& data : target.messages()) {
            std::string content = withoutTraceHeaders(data);
            auto at = content.find("Subject: ");
            std::string subject = content.substr(at + 9, content.find("\r\n", at) - at - 9);
            EXPECT_EQ(out.count(subject), 0u) << "delivered twice: " << subject;
            out[subject] = content;
        }
        return out;
    }
};

// ---- the byte stream --------------------------------------------------------------------------

TEST_F(HostileImap, LiteralsSplitAcrossReadsArriveByteExact) {
    std::string content = message("split", "first line\r\n" + std::string(3000, 'x') + "\r\nlast line\r\n");
    FakeImapMessage split{content};
    // The FETCH response is "* 1 FETCH (UID 1 BODY[] {NNNN}\r\n<content>)\r\n": cut inside the
    // literal's size, between its CR and LF, inside the content, and before the closing ")".
    std::string head = "* 1 FETCH (UID 1 BODY[] {" + std::to_string(content.size()) + "}\r\n";
    split.splitAt = {head.size() - 5,
                     head.size() - 1,
                     head.size() + 10,
                     head.size() + 2000,
                     head.size() + content.size(),
                     head.size() + content.size() + 1};
    FakeImapMessage second{message("after-split", "a\r\n")};
    second.splitAt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26};
    second.pause = 10ms;
    FakeImapServer imap(imapOptions(), {inbox({split, second})});
    writeConfig({accountFor(imap, "none", false)});

    auto result = harness.run();

    ASSERT_EQ(result.exitCode, 0) << result.describe() << imap.transcript();
    auto delivered = deliveredBySubject();
    ASSERT_EQ(delivered.size(), 2u) << target.transcript();
    EXPECT_EQ(delivered["split"], content);
    EXPECT_EQ(delivered["after-split"], message("after-split", "a\r\n"));
    EXPECT_TRUE(imap.uids("INBOX").empty()) << "both delivered, so both removed";
    expectNoBareExpunge(imap);
}

TEST_F(HostileImap, BodyThatLooksLikeProtocolArrivesByteExactAndTheSessionStaysInStep) {
    std::string body =
        "* 1 EXISTS\r\n"
        "* BYE not really\r\n"
        "A001 OK done\r\n"
        "A3 OK UID FETCH completed\r\n"
        "A4 NO [ALERT] not a reply\r\n"
        "+ go ahead\r\n"
        ")\r\n"
        "{5}\r\n"
        "* 2 FETCH (UID 9 BODY[] {3}\r\n"
        ".\r\n"
        "last line\r\n";
    std::string lookalike = message("lookalike", body);
    FakeImapServer imap(imapOptions(), {inbox({{lookalike}, {message("plain")}})});
    writeConfig({accountFor(imap, "none", false)});

    auto result = harness.run();

    ASSERT_EQ(result.exitCode, 0) << result.describe() << imap.transcript();
    auto delivered = deliveredBySubject();
    ASSERT_EQ(delivered.size(), 2u) << target.transcript();
    EXPECT_EQ(delivered["lookalike"], lookalike);
    EXPECT_EQ(delivered["plain"], message("plain"));
    // Deleted by UID, exactly these two.
    EXPECT_EQ(imap.expunged("INBOX"), (std::vector<std::uint32_t>{1, 2}));
    EXPECT_EQ(withoutTags(imap.commands("UID STORE")),
              std::vector<std::string>{"UID STORE 1:2 +FLAGS.SILENT (\\Deleted)"})
        << imap.transcript();
    expectNoBareExpunge(imap);
    for (const auto& line : imap.commands("UID FETCH"))
        EXPECT_NE(line.find("BODY.PEEK[]"), std::string::npos) << "a fetch that would set \\Seen: " << line;
}

TEST_F(HostileImap, UnsolicitedExpungeMidFetchDeliversTheRestAndDeletesOnlyWhatWasDelivered) {
    FakeImapMessage first{message("one")};
    first.expungeAfter = 2;  // another client expunges message 2 while we fetch
    FakeImapServer imap(imapOptions(), {inbox({first, {message("two")}, {message("three")}})});
    writeConfig({accountFor(imap, "none", false)});

    auto result = harness.run();

    ASSERT_EQ(result.exitCode, 0) << result.describe() << imap.transcript();
    auto delivered = deliveredBySubject();
    EXPECT_EQ(delivered.size(), 2u) << target.transcript();
    EXPECT_EQ(delivered["one"], message("one"));
    EXPECT_EQ(delivered["three"], message("three"));
    EXPECT_EQ(delivered.count("two"), 0u);
    EXPECT_EQ(imap.expunged("INBOX"), (std::vector<std::uint32_t>{2, 1, 3}));
    for (const auto& line : imap.commands("UID STORE"))
        EXPECT_EQ(line.find(" 2"), std::string::npos) << "asked to delete the message it never got: " << line;
    expectNoBareExpunge(imap);

    auto again = harness.run();
    EXPECT_EQ(again.exitCode, 0) << again.describe();
    EXPECT_EQ(target.messages().size(), 2u);
}

TEST_F(HostileImap, ByeMidFetchFailsTheAccountDeletesNothingAndTheNextRunDeliversEachOnce) {
    FakeImapMessage first{message("one")};
    first.sendAfter = "* BYE [UNAVAILABLE] server shutting down\r\n";
    first.closeAfter = true;
    FakeImapFolder work;
    work.name = "Work";
    work.messages = {{message("work")}};
    FakeImapServer imap(imapOptions(), {inbox({first, {message("two")}, {message("three")}}), work});
    writeConfig({accountFor(imap, "none", false)}, "[\"INBOX\", \"Work\"]");

    auto result = harness.run();

    // The connection is gone: the account stops there (no attempt at the next folder on it), and
    // the error is the server's.
    expectAccountFailed(result, "server closed the connection: server shutting down");
    EXPECT_EQ(imap.countCommands("EXAMINE \"Work\"") + imap.countCommands("SELECT \"Work\""), 0u);
    expectNothingDeleted(imap);
    EXPECT_EQ(imap.uids("INBOX").size(), 3u);
    EXPECT_LE(target.messages().size(), 1u);

    auto second = harness.run();  // the server behaves now

    ASSERT_EQ(second.exitCode, 0) << second.describe() << imap.transcript();
    auto delivered = deliveredBySubject();  // fails on a duplicate
    EXPECT_EQ(delivered.size(), 4u) << target.transcript();
    EXPECT_TRUE(imap.uids("INBOX").empty());
    EXPECT_TRUE(imap.uids("Work").empty());
    expectNoBareExpunge(imap);
}

TEST_F(HostileImap, StallInsideALiteralTimesOutAndDeletesNothing) {
    FakeImapMessage stalled{message("stalled", std::string(10000, 's') + "\r\n")};
    stalled.splitAt = {500};
    stalled.pause = 60s;
    FakeImapServer imap(imapOptions(), {inbox({stalled})});
    writeConfig({accountFor(imap, "none", false)});

    auto result = harness.run();

    expectAccountFailed(result, "sent nothing for 2 s");
    expectNothingDelivered();
    expectNothingDeleted(imap);
}

// ---- sizes ------------------------------------------------------------------------------------

class HostileImapLiteralSizes : public HostileImap, public ::testing::WithParamInterface<const char*> {};

TEST_P(HostileImapLiteralSizes, AbsurdLiteralSizeInAFetchIsRefused) {
    FakeImapMessage liar{message("liar")};
    liar.fetchReply = "* 1 FETCH (UID 1 BODY[] {" + std::string(GetParam()) + "}\r\n" + message("liar") + ")\r\n";
    FakeImapServer imap(imapOptions(), {inbox({liar, {message("fine")}})});
    writeConfig({accountFor(imap, "none", false)});

    auto result = harness.run({}, std::chrono::seconds(30));

    expectAccountFailed(result, "literal");
    expectNothingDeleted(imap);
    for (const auto& transaction : target.transactions())
        EXPECT_EQ(transaction.data.find("Subject: liar"), std::string::npos) << "delivered a refused message";
}

INSTANTIATE_TEST_SUITE_P(Sizes, HostileImapLiteralSizes,
                         ::testing::Values("99999999999",           // 100 GB: above max_message_size
                                           "18446744073709551615",  // 2^64-1
                                           "18446744073709551616",  // 2^64: overflows
                                           "999999999999999999999999999"));

TEST_F(HostileImap, AbsurdLiteralSizeInAListIsRefused) {
    FakeImapOptions options = imapOptions();
    options.replies["LIST"] = "* LIST () \"/\" {4000000000}\r\nINBOX\r\n{tag} OK LIST done\r\n";
    FakeImapServer imap(options, {inbox({{message("m1")}})});
    writeConfig({accountFor(imap)}, "[\"*\"]");

    auto result = harness.run({}, std::chrono::seconds(30));

    expectAccountFailed(result, "literal");
    expectNothingDelivered();
}

TEST_F(HostileImap, BodyFarLargerThanListedAndMaxSizeIsNotDelivered) {
    FakeImapMessage liar{message("liar", std::string(2 * 1024 * 1024, 'x') + "\r\n")};
    liar.listedSize = 300;
    FakeImapServer imap(imapOptions(), {inbox({liar})});
    auto account = accountFor(imap, "none", false);
    account.extra = "max_message_size = \"100KB\"\n";
    writeConfig({account});

    auto result = harness.run();

    expectAccountFailed(result, "literal larger than the limit");
    for (const auto& transaction : target.transactions())
        EXPECT_LE(transaction.data.size(), 100u * 1000u + 1024u) << "a message far over max_message_size was delivered";
    expectNothingDeleted(imap);
}

// ---- greeting, STARTTLS and credentials -------------------------------------------------------

TEST_F(HostileImap, PreauthGreetingIsRefusedWhenStartTlsIsRequired) {
    FakeImapOptions options = imapOptions(Tls::StartTls);
    options.preauth = true;
    FakeImapServer imap(options, {inbox({{message("m1")}})});
    writeConfig({accountFor(imap, "starttls")});

    auto result = harness.run();

    expectAccountFailed(result, "PREAUTH");
    EXPECT_EQ(imap.countCommands("STARTTLS"), 0u) << imap.transcript();
    EXPECT_EQ(imap.countCommands("SELECT") + imap.countCommands("EXAMINE"), 0u) << imap.transcript();
    EXPECT_FALSE(imap.sawCredentials()) << imap.transcript();
    expectNothingDelivered();
}

TEST_F(HostileImap, PreauthGreetingWithoutTlsRequirementSkipsTheLogin) {
    FakeImapOptions options = imapOptions();
    options.preauth = true;
    FakeImapServer imap(options, {inbox({{message("m1")}})});
    writeConfig({accountFor(imap)});

    auto result = harness.run();

    ASSERT_EQ(result.exitCode, 0) << result.describe() << imap.transcript();
    EXPECT_EQ(deliveredBySubject()["m1"], message("m1"));
    EXPECT_FALSE(imap.sawCredentials()) << "no LOGIN on a PREAUTH connection:\n" << imap.transcript();
}

TEST_F(HostileImap, StartTlsResponseInjectionIsRefusedBeforeCredentials) {
    FakeImapOptions options = imapOptions(Tls::StartTls);
    // Both in one write: the injected capability list would be read as the first post-TLS reply.
    options.replies["STARTTLS"] = "{tag} OK Begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN LOGIN-REFERRALS\r\n";
    FakeImapServer imap(options, {inbox({{message("m1")}})});
    writeConfig({accountFor(imap, "starttls")});

    auto result = harness.run();

    expectAccountFailed(result, "response injection");
    EXPECT_FALSE(imap.sawCredentials()) << imap.transcript();
    EXPECT_EQ(imap.server().tlsEstablished(), 0u) << imap.transcript();
    expectNothingDelivered();
}

TEST_F(HostileImap, StartTlsRequiredButNotOfferedFailsBeforeCredentials) {
    FakeImapOptions options = imapOptions(Tls::StartTls);
    options.offerStartTls = false;
    FakeImapServer imap(options, {inbox({{message("m1")}})});
    writeConfig({accountFor(imap, "starttls")});

    auto result = harness.run();

    expectAccountFailed(result, "does not offer STARTTLS");
    EXPECT_EQ(imap.countCommands("STARTTLS"), 0u);
    EXPECT_FALSE(imap.sawCredentials()) << imap.transcript();
    expectNothingDelivered();
}

TEST_F(HostileImap, StartTlsRefusedFailsBeforeCredentials) {
    FakeImapOptions options = imapOptions(Tls::StartTls);
    options.replies["STARTTLS"] = "{tag} NO [UNAVAILABLE] TLS is broken today\r\n";
    FakeImapServer imap(options, {inbox({{message("m1")}})});
    writeConfig({accountFor(imap, "starttls")});

    auto result = harness.run();

    expectAccountFailed(result, "STARTTLS refused");
    EXPECT_FALSE(imap.sawCredentials()) << imap.transcript();
    EXPECT_EQ(imap.server().tlsEstablished(), 0u);
    expectNothingDelivered();
}

TEST_F(HostileImap, StartTlsWorkingCredentialsOnlyAfterHandshakeAndCapabilitiesReread) {
    FakeImapServer imap(imapOptions(Tls::StartTls), {inbox({{message("m1")}})});
    writeConfig({accountFor(imap, "starttls")});

    auto result = harness.run();

    ASSERT_EQ(result.exitCode, 0) << result.describe() << imap.transcript();
    EXPECT_EQ(deliveredBySubject()["m1"], message("m1"));
    EXPECT_EQ(imap.server().tlsEstablished(), 1u);
    std::string transcript = imap.transcript();
    auto established = transcript.find("TLS established");
    auto credentials = transcript.find(" AUTHENTICATE ");
    if (credentials == std::string::npos) credentials = transcript.find(" LOGIN ");
    ASSERT_NE(established, std::string::npos) << transcript;
    ASSERT_NE(credentials, std::string::npos) << transcript;
    EXPECT_LT(established, credentials) << "credentials before TLS:\n" << transcript;
    // The capabilities from before TLS may be forged: they are asked for again over TLS.
    auto capability = transcript.find(" CAPABILITY", established);
    EXPECT_LT(capability, credentials) << "capabilities must be re-read after TLS:\n" << transcript;
}

TEST_F(HostileImap, BadCertificateWithImplicitTlsIsRefusedBeforeCredentials) {
    FakeImapServer imap(imapOptions(Tls::Implicit, CertKind::WrongHost), {inbox({{message("m1")}})});
    writeConfig({accountFor(imap, "implicit")});

    auto result = harness.run();

    expectAccountFailed(result, "certificate");
    EXPECT_FALSE(imap.sawCredentials()) << imap.transcript();
    expectNothingDelivered();
}

TEST_F(HostileImap, LoginDisabledWithoutSaslPlainFailsBeforeCredentials) {
    FakeImapOptions options = imapOptions();
    options.capabilities = {"IMAP4rev1", "UIDPLUS", "LOGINDISABLED"};
    FakeImapServer imap(options, {inbox({{message("m1")}})});
    writeConfig({accountFor(imap)});

    auto result = harness.run();

    expectAccountFailed(result, "LOGIN");
    EXPECT_FALSE(imap.sawCredentials()) << imap.transcript();
    expectNothingDelivered();
}

TEST_F(HostileImap, FormatSpecifiersAndControlBytesInServerTextAreLoggedEscaped) {
    FakeImapOptions options = imapOptions();
    options.replies["LOGIN"] = "{tag} NO [AUTHENTICATIONFAILED] %s%n%x {} \x1b[31mred\x07\r\n";
    options.capabilities = {"IMAP4rev1", "UIDPLUS"};
    FakeImapServer imap(options, {inbox({{message("m1")}})});
    writeConfig({accountFor(imap)});

    auto result = harness.run();

    expectAccountFailed(result, "authentication refused");
    EXPECT_NE(result.err.find("%s%n%x {}"), std::string::npos) << result.describe();
    EXPECT_NE(result.err.find("\\x1b[31mred\\x07"), std::string::npos) << result.describe();
}

// "Trojan Source": a folder named "Invoices<U+202E>fdp.exe" (modified UTF-7 "&IC4-") would show as
// "Invoicesexe.pdf" and reorder the rest of its line; `check`, which names each folder, and the
// run's log show the override as bytes, like a control character.
TEST_F(HostileImap, BidiControlsInAFolderNameAreShownEscaped) {
    FakeImapFolder invoices = inbox({{message("m2")}});
    invoices.name = "Invoices&IC4-fdp.exe";
    FakeImapServer imap(imapOptions(), {inbox({{message("m1")}}), invoices});
    writeConfig({accountFor(imap)}, "[\"*\"]");

    auto check = harness.command("check");
    ASSERT_EQ(check.exitCode, 0) << check.describe();
    EXPECT_NE(check.out.find("Invoices\\xe2\\x80\\xaefdp.exe: 1 messages"), std::string::npos) << check.describe();
    EXPECT_EQ((check.out + check.err).find("\xe2\x80\xae"), std::string::npos) << escapeBytes(check.out, 4000);

    auto run = harness.run();
    ASSERT_EQ(run.exitCode, 0) << run.describe();
    EXPECT_EQ(deliveredBySubject().size(), 2u);
    EXPECT_EQ(run.err.find("\xe2\x80\xae"), std::string::npos) << escapeBytes(run.err, 4000);
}

// ---- deletion -----------------------------------------------------------------------------------

TEST_F(HostileImap, WithoutUidplusOrMoveTheMailIsKeptAndNoBareExpungeIsSent) {
    FakeImapOptions options = imapOptions();
    options.capabilities = {"IMAP4rev1", "AUTH=PLAIN"};
    FakeImapMessage foreign{message("foreign")};
    foreign.flags = {"\\Deleted"};  // another client's deletion in progress
    FakeImapServer imap(options, {inbox({{message("m1")}, foreign, {message("m2")}})});
    writeConfig({accountFor(imap, "none", false)});

    auto result = harness.run();

    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_NE(result.err.find("neither UIDPLUS nor MOVE"), std::string::npos) << result.describe();
    auto delivered = deliveredBySubject();
    EXPECT_EQ(delivered.size(), 2u);
    EXPECT_EQ(delivered.count("foreign"), 0u) << "a message another client is deleting is not collected";
    EXPECT_EQ(imap.uids("INBOX").size(), 3u);
    expectNothingDeleted(imap);
    expectNoBareExpunge(imap);
}

TEST_F(HostileImap, MoveOnlyServerGetsTheDeliveredMessagesMovedToTrash) {
    FakeImapOptions options = imapOptions();
    options.capabilities = {"IMAP4rev1", "MOVE", "SPECIAL-USE", "AUTH=PLAIN"};
    FakeImapFolder trash;
    trash.name = "Deleted Items";
    trash.listFlags = {"\\HasNoChildren", "\\Trash"};
    FakeImapServer imap(options, {inbox({{message("m1")}, {message("m2")}}), trash});
    writeConfig({accountFor(imap, "none", false)});

    auto result = harness.run();

    ASSERT_EQ(result.exitCode, 0) << result.describe() << imap.transcript();
    EXPECT_EQ(target.messages().size(), 2u);
    EXPECT_EQ(withoutTags(imap.commands("UID MOVE")), std::vector<std::string>{"UID MOVE 1:2 \"Deleted Items\""})
        << imap.transcript();
    EXPECT_TRUE(imap.uids("INBOX").empty());
    EXPECT_EQ(imap.uids("Deleted Items").size(), 2u);
    expectNoBareExpunge(imap);
}

TEST_F(HostileImap, FolderThatCannotBeOpenedFailsAloneAndTheOthersAreCollected) {
    FakeImapFolder work;
    work.name = "Work";
    work.messages = {{message("work")}};
    FakeImapServer imap(imapOptions(), {inbox({{message("inbox")}}), work});
    writeConfig({accountFor(imap)}, "[\"Missing\", \"INBOX\", \"Work\"]");

    auto result = harness.run();

    expectAccountFailed(result, "Missing");
    auto delivered = deliveredBySubject();
    EXPECT_EQ(delivered.size(), 2u) << result.describe();
}

}  // namespace
}  // namespace mc::testing
