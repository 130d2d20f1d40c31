// Bytes unchanged, end to end: the mailcollector binary collects, with keep = false, messages
// that scripted POP3 and IMAP sources serve with CR CR LF line ends (as Courier serves Maildir
// files stored with CRLF) and with lone CRs (in a header, in the body, at the end), 8-bit bytes and
// a long line, into every kind of target: a real private Postfix delivering into a Maildir, a
// real Dovecot over LMTP and over IMAP APPEND, and a scripted SMTP target that records the exact
// bytes on the wire. Each delivered message must be the original with its line ends made CRLF
// (the Maildir targets store "\n"), each lone CR a space, nothing else changed: no header split,
// no blank line inserted into the header block.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "tests/support/DovecotServer.hpp"
#include "tests/support/PostfixServer.hpp"
#include "tests/support/fakes/CollectorHarness.hpp"
#include "tests/support/fakes/FakeImapServer.hpp"
#include "tests/support/fakes/FakePop3Server.hpp"
#include "tests/support/fakes/FakeSmtpTarget.hpp"

namespace mc::testing {
namespace {

constexpr const char* kAccount = "bytes";
constexpr const char* kTargetPassword = "me-Secret-2Hv";

struct Sample {
    std::string served;     // what the source serves
    std::string delivered;  // what the target must receive (CRLF line ends)
};

std::vector<Sample> samples() {
    const std::string longLine(1500, 'x');
    return {
        // Courier: a Maildir file stored with CRLF is served as CR CR LF. Each run of CRs before
        // the LF is one line end: no blank line after each header, a folded header stays folded.
        {"From: Courier <c@example.net>\r\r\nTo: me@example.org\r\r\nSubject: served as CR CR LF\r\r\n"
         "Message-ID: <crcrlf@example.net>\r\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\r\n"
         "X-Folded: first\r\r\n\tsecond\r\r\n\r\r\nBody line\r\r\n\r\r\n.leading dot\r\r\nlast\r\r\n",
         "From: Courier <c@example.net>\r\nTo: me@example.org\r\nSubject: served as CR CR LF\r\n"
         "Message-ID: <crcrlf@example.net>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
         "X-Folded: first\r\n\tsecond\r\n\r\nBody line\r\n\r\n.leading dot\r\nlast\r\n"},
        // Lone CRs: in the Subject (a line break there would split the header, and what follows
        // would become a header of its own) and in the body. (A CR as the very last byte cannot
        // be served over POP3, whose framing ends every message with a line end.)
        {"From: Lone <l@example.net>\r\nTo: me@example.org\r\nSubject: one\rtwo\r\n"
         "Message-ID: <lonecr@example.net>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
         "X-Eight-Bit: Gr\xc3\xbc\xc3\x9f"
         "e \xff\r\n\r\nA lone\rCR in the body, 8-bit \xe9, and a long line:\r\n" +
             longLine + "\r\na lone CR before a space:\r \r\n",
         "From: Lone <l@example.net>\r\nTo: me@example.org\r\nSubject: one two\r\n"
         "Message-ID: <lonecr@example.net>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
         "X-Eight-Bit: Gr\xc3\xbc\xc3\x9f"
         "e \xff\r\n\r\nA lone CR in the body, 8-bit \xe9, and a long line:\r\n" +
             longLine + "\r\na lone CR before a space:  \r\n"},
        // Bare LF line ends, a lone CR just before the end of the header block, CR CR LF mixed in.
        {"From: Mixed <m@example.net>\nTo: me@example.org\nSubject: bare LF\nMessage-ID: <mixed@example.net>\n"
         "Date: Mon, 1 Jan 2024 10:00:00 +0000\nX-Last: a\rb\n\nbody\r\r\r\nend\n",
         "From: Mixed <m@example.net>\r\nTo: me@example.org\r\nSubject: bare LF\r\nMessage-ID: <mixed@example.net>\r\n"
         "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nX-Last: a b\r\n\r\nbody\r\nend\r\n"},
    };
}

constexpr int kLoneCrs = 4;  // in the samples above

std::string withLfLineEnds(std::string text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i)
        if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) out += text[i];
    return out;
}

// The message after our trace lines (Received: ... by mailcollector, X-Mailcollector-Account:),
// skipping what the target itself put in front of them.
std::string afterOurHeaders(const std::string& stored, const std::string& lineEnd) {
    const std::string received = "Received: from 127.0.0.1 by mailcollector";
    const std::string account = "X-Mailcollector-Account: " + std::string(kAccount) + lineEnd;
    auto ours = stored.find(received);
    auto at = stored.find(account);
    if (ours == std::string::npos || at == std::string::npos || at < ours)
        return "missing our trace lines in:\n" + stored.substr(0, 600);
    return stored.substr(at + account.size());
}

enum class Source { Pop3, Imap };
enum class Target { WireSmtp, Postfix, DovecotLmtp, DovecotImap };

std::string nameOf(Source source) { return source == Source::Pop3 ? "Pop3" : "Imap"; }
std::string nameOf(Target target) {
    switch (target) {
        case Target::WireSmtp:
            return "WireSmtp";
        case Target::Postfix:
            return "Postfix";
        case Target::DovecotLmtp:
            return "DovecotLmtp";
        case Target::DovecotImap:
            return "DovecotImap";
    }
    return "?";
}

class BytesUnchanged : public ::testing::TestWithParam<std::tuple<Source, Target>> {
protected:
    CollectorHarness harness{"10s"};
};

TEST_P(BytesUnchanged, CrCrLfAndLoneCrMessagesArriveIntactAndAreDeleted) {
    const auto [sourceKind, targetKind] = GetParam();
    if (targetKind == Target::Postfix && !PostfixServer::available()) GTEST_SKIP() << "Postfix is not installed";

    std::unique_ptr<FakePop3Server> pop3;
    std::unique_ptr<FakeImapServer> imap;
    AccountConfig account;
    account.name = kAccount;
    account.keep = false;
    if (sourceKind == Source::Pop3) {
        std::vector<FakePop3Message> messages;
        for (const auto& sample : samples()) messages.emplace_back(sample.served);
        pop3 = std::make_unique<FakePop3Server>(FakePop3Options{}, messages);
        account.port = pop3->port();
    } else {
        FakeImapFolder inbox;
        for (const auto& sample : samples()) inbox.messages.emplace_back(sample.served);
        FakeImapOptions options;
        imap = std::make_unique<FakeImapServer>(options, std::vector<FakeImapFolder>{inbox});
        account.protocol = "imap";
        account.password = options.password;
        account.port = imap->port();
    }

    std::unique_ptr<FakeSmtpTarget> wire;
    std::unique_ptr<PostfixServer> postfix;
    std::unique_ptr<DovecotServer> dovecot;
    TargetConfig target;
    switch (targetKind) {
        case Target::WireSmtp:
            wire = std::make_unique<FakeSmtpTarget>();
            target.protocol = "smtp";
            target.port = wire->port();
            break;
        case Target::Postfix:
            postfix = std::make_unique<PostfixServer>();
            target.protocol = "smtp";
            target.port = postfix->port();
            target.recipient = postfix->address("me");
            break;
        case Target::DovecotLmtp:
        case Target::DovecotImap:
            dovecot = std::make_unique<DovecotServer>();
            dovecot->addUser("me", kTargetPassword);
            target.recipient = "me";
            if (targetKind == Target::DovecotLmtp) {
                target.port = dovecot->lmtpPort();
            } else {
                target.protocol = "imap";
                target.port = dovecot->imapPort();
                target.username = "me";
                target.password = kTargetPassword;
            }
            break;
    }
    harness.writeConfig(target, {account});

    auto result = harness.run();
    ASSERT_EQ(result.exitCode, 0) << result.describe() << (postfix ? postfix->log() : "")
                                  << (dovecot ? dovecot->log() : "");
    EXPECT_NE(result.err.find("account=bytes poll ok"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("delivered=3 "), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("lone_crs=" + std::to_string(kLoneCrs) + " "), std::string::npos) << result.err;

    std::multiset<std::string> expected, delivered;
    const bool storesLf = targetKind != Target::WireSmtp;
    for (const auto& sample : samples())
        expected.insert(storesLf ? withLfLineEnds(sample.delivered) : sample.delivered);
    switch (targetKind) {
        case Target::WireSmtp:
            for (const auto& transaction : wire->transactions()) {
                delivered.insert(afterOurHeaders(transaction.data, "\r\n"));
                // SIZE= announces exactly what DATA carries (RFC 1870: CRLF counted, stuffing not).
                EXPECT_NE(transaction.mailFrom.find(" SIZE=" + std::to_string(transaction.data.size()) + " "),
                          std::string::npos)
                    << transaction.mailFrom << " for " << transaction.data.size() << " bytes";
            }
            break;
        case Target::Postfix:
            ASSERT_TRUE(postfix->waitForMessages("me", 3)) << postfix->log();
            for (const auto& message : postfix->messages("me")) delivered.insert(afterOurHeaders(message, "\n"));
            break;
        case Target::DovecotLmtp:
        case Target::DovecotImap:
            for (const auto& message : dovecot->messages("me")) delivered.insert(afterOurHeaders(message, "\n"));
            break;
    }
    EXPECT_EQ(delivered, expected);

    // keep = false: delivered, so deleted from the source.
    if (pop3) EXPECT_EQ(pop3->remaining(), 0u) << pop3->transcript();
    if (imap) EXPECT_TRUE(imap->uids("INBOX").empty()) << imap->transcript();
}

INSTANTIATE_TEST_SUITE_P(
    SourcesAndTargets, BytesUnchanged,
    ::testing::Combine(::testing::Values(Source::Pop3, Source::Imap),
                       ::testing::Values(Target::WireSmtp, Target::Postfix, Target::DovecotLmtp, Target::DovecotImap)),
    [](const auto& info) { return nameOf(std::get<0>(info.param)) + "To" + nameOf(std::get<1>(info.param)); });

// ---- UTF-8 mode: servers that downgrade 8-bit headers unless asked not to --------------------

std::string eightBitMessage(const std::string& id) {
    return "From: J\xc3\xb6rg <j@example.net>\r\nTo: me@example.org\r\nSubject: Gr\xc3\xbc\xc3\x9f"
           "e\r\n"
           "Message-ID: <" +
           id + "@example.net>\r\n\r\nHallo.\r\n";
}

class Utf8Mode : public ::testing::Test {
protected:
    CollectorHarness harness{"5s"};
    FakeSmtpTarget target;

    TargetConfig smtpTarget() {
        TargetConfig config;
        config.protocol = "smtp";
        config.port = target.port();
        return config;
    }
};

// RFC 6856: a POP3 server that lists UTF8 in CAPA gets the UTF8 command (Courier otherwise
// downgrades 8-bit headers); one that refuses it before login is asked again after login.
TEST_F(Utf8Mode, Pop3SendsUtf8WhenCapaListsIt) {
    FakePop3Options options;
    options.capabilities.push_back("UTF8 USER");
    options.replies["UTF8"] = "+OK UTF8 enabled\r\n";
    FakePop3Server pop3(options, {FakePop3Message(eightBitMessage("pop-utf8"))});
    AccountConfig account;
    account.port = pop3.port();
    harness.writeConfig(smtpTarget(), {account});

    auto result = harness.run();
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_EQ(pop3.server().countLines("UTF8"), 1u) << pop3.transcript();
    ASSERT_EQ(target.messages().size(), 1u);
    EXPECT_NE(target.messages()[0].find("Subject: Gr\xc3\xbc\xc3\x9f"
                                        "e\r\n"),
              std::string::npos);
}

TEST_F(Utf8Mode, Pop3AsksAgainAfterLoginWhenRefusedBeforeAndNotAtAllWhenNotOffered) {
    FakePop3Options options;
    options.capabilities.push_back("UTF8");
    options.replies["UTF8"] = "-ERR not in this state\r\n";
    FakePop3Server refusing(options, {FakePop3Message(eightBitMessage("refused"))});
    FakePop3Server plain(FakePop3Options{}, {FakePop3Message(eightBitMessage("plain"))});
    AccountConfig first, second;
    first.name = "refusing";
    first.port = refusing.port();
    second.name = "plain";
    second.port = plain.port();
    harness.writeConfig(smtpTarget(), {first, second});

    auto result = harness.run();
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_EQ(refusing.server().countLines("UTF8"), 2u) << refusing.transcript();
    EXPECT_EQ(plain.server().countLines("UTF8"), 0u) << plain.transcript();
    EXPECT_EQ(target.messages().size(), 2u);
}

// RFC 6855: ENABLE UTF8=ACCEPT when offered; mailbox names are then UTF-8 on the wire (LIST gives
// them so, SELECT/EXAMINE must send them so), not modified UTF-7.
TEST_F(Utf8Mode, ImapEnablesUtf8AcceptAndUsesUtf8MailboxNames) {
    FakeImapOptions options;
    options.capabilities.push_back("ENABLE");
    options.capabilities.push_back("UTF8=ACCEPT");
    options.replies["ENABLE"] = "* ENABLED UTF8=ACCEPT\r\n{tag} OK Enabled\r\n";
    FakeImapFolder inbox, drafts;
    inbox.messages.emplace_back(eightBitMessage("inbox"));
    drafts.name = "Entw\xc3\xbcrfe 2024";
    drafts.uidValidity = 2000;
    drafts.messages.emplace_back(eightBitMessage("entwuerfe"));
    FakeImapServer imap(options, {inbox, drafts});
    AccountConfig account;
    account.protocol = "imap";
    account.password = options.password;
    account.port = imap.port();
    account.extra = "folders = [\"*\"]";
    harness.writeConfig(smtpTarget(), {account});

    auto result = harness.run();
    ASSERT_EQ(result.exitCode, 0) << result.describe() << imap.transcript();
    EXPECT_EQ(imap.countCommands("ENABLE UTF8=ACCEPT"), 1u) << imap.transcript();
    EXPECT_EQ(target.messages().size(), 2u) << result.err << imap.transcript();
    bool selectedUtf8 = false;
    for (const char* verb : {"EXAMINE", "SELECT"})
        for (const auto& command : imap.commands(verb))
            selectedUtf8 |= command.find("\"Entw\xc3\xbcrfe 2024\"") != std::string::npos;
    EXPECT_TRUE(selectedUtf8) << imap.transcript();
    EXPECT_EQ(imap.transcript().find("Entw&APw-rfe"), std::string::npos) << imap.transcript();
}

}  // namespace
}  // namespace mc::testing
