// The POP3 core end to end, at the level the user sees: the mailcollector binary with a config
// file, a real private Dovecot (POP3, POP3S, LMTP) and Postfix's smtp-sink as targets.

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "collector/ledger/SqliteLedgerStore.hpp"
#include "tests/support/DovecotServer.hpp"
#include "tests/support/Process.hpp"
#include "tests/support/SmtpSink.hpp"
#include "tests/support/TempDir.hpp"
#include "tests/support/TestCa.hpp"

namespace mc::testing {
namespace {

struct AccountSpec {
    std::string name;
    std::string user;
    std::string password;
    std::uint16_t port = 0;
    std::string tls = "implicit";
    std::string extra;  // more TOML lines for the account
};

struct TargetSpec {
    std::string protocol = "lmtp";
    std::uint16_t port = 0;
    std::string recipient = "me";
    std::string extra;
};

class Pop3CollectTest : public ::testing::Test {
protected:
    void SetUp() override {
        dovecot_.addUser("alice", "alice-secret");
        dovecot_.addUser("bob", "bob-secret");
        dovecot_.addUser("me", "me-secret");
    }

    std::string writeConfig(const TargetSpec& target, const std::vector<AccountSpec>& accounts) {
        std::string toml =
            "[collector]\nledger = \"ledger.db\"\nquarantine_dir = \"quarantine\"\n"
            "http_listen = \"\"\nio_timeout = \"10s\"\n\n";
        toml += "[target]\nprotocol = \"" + target.protocol +
                "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(target.port) + "\ntls = \"none\"\nrecipient = \"" +
                target.recipient + "\"\n" + target.extra + "\n";
        for (const auto& account : accounts) {
            std::string passwordFile = work_.str() + "/" + account.name + ".pw";
            writeFile(passwordFile, account.password + "\n", 0600);
            toml += "[[account]]\nname = \"" + account.name + "\"\nprotocol = \"pop3\"\n" +
                    "host = \"localhost\"\nport = " + std::to_string(account.port) + "\ntls = \"" + account.tls +
                    "\"\nca_file = \"" + dovecot_.caFile() + "\"\nusername = \"" + account.user +
                    "\"\npassword_file = \"" + passwordFile + "\"\nlabels = [\"" + account.name + "\"]\n" +
                    account.extra + "\n";
        }
        return work_.writeFile("mailcollector.toml", toml, 0600).string();
    }

    AccountSpec alice(std::string extra = "") {
        return {"alice-old", "alice", "alice-secret", dovecot_.pop3sPort(), "implicit", std::move(extra)};
    }
    AccountSpec bob(std::string extra = "") {
        return {"bob-old", "bob", "bob-secret", dovecot_.pop3Port(), "starttls", std::move(extra)};
    }
    TargetSpec lmtpTarget() { return TargetSpec{"lmtp", dovecot_.lmtpPort(), "me", ""}; }

    ProcessResult run(const std::string& config, std::vector<std::string> more = {},
                      std::map<std::string, std::string> env = {}) {
        std::vector<std::string> argv{MC_BINARY, "run", "-c", config, "--once"};
        argv.insert(argv.end(), more.begin(), more.end());
        return runProcess(argv, env, std::chrono::seconds(300));
    }

    ProcessResult status(const std::string& config) {
        return runProcess({MC_BINARY, "status", "-c", config, "--json"});
    }

    DovecotServer dovecot_;
    TempDir work_{"mc-pop3"};
};

// Messages with the edge cases of RELIABILITY: dots at line starts, a lone ".", long lines,
// 8-bit bytes, a last line without newline.
std::vector<std::string> trickyMessages() {
    std::vector<std::string> messages;
    messages.push_back(
        "Return-Path: <sender@example.org>\nFrom: sender@example.org\nTo: alice@old\n"
        "Subject: plain\nMessage-ID: <plain@example.org>\n\nHello.\n");
    messages.push_back("From: dots@example.org\nSubject: dots\n\n.\n..\n.leading dot\n...three\nend\n");
    messages.push_back("From: long@example.org\nSubject: long lines\n\n" + std::string(1200, 'a') + "\n" +
                       std::string(70 * 1024, 'b') + "\nshort\n");
    messages.push_back(
        "From: =?UTF-8?Q?J=C3=BCrgen?= <j@example.org>\nSubject: 8bit\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        "Grüße aus Köln — ½ € \xff\xfe\n");
    messages.push_back("From: nonl@example.org\nSubject: no final newline\n\nlast line without newline");
    return messages;
}

// What the target received, without Dovecot's LMTP trace lines and our own added lines.
std::string withoutAddedHeaders(const std::string& delivered, const std::string& account) {
    std::string message = DovecotServer::stripTraceHeaders(delivered);
    std::string marker = "X-Mailcollector-Account: " + account + "\n";
    auto at = message.find(marker);
    if (at == std::string::npos) return "missing " + marker + " in:\n" + message;
    std::string rest = message.substr(at + marker.size());
    if (rest.rfind("X-Mailcollector-Labels: ", 0) == 0) rest = rest.substr(rest.find('\n') + 1);
    std::string before = message.substr(0, at);
    if (before.rfind("Received: from ", 0) != 0 || before.find("by mailcollector") == std::string::npos)
        return "missing our Received: line in:\n" + message;
    return rest;
}

std::multiset<std::string> asSet(const std::vector<std::string>& items) { return {items.begin(), items.end()}; }

TEST_F(Pop3CollectTest, DeliversEveryMessageByteExactOverPop3sAndStls) {
    auto originals = trickyMessages();
    for (const auto& message : originals) dovecot_.seed("alice", "INBOX", message);
    for (const auto& message : originals) dovecot_.seed("bob", "INBOX", message);
    auto config = writeConfig(lmtpTarget(), {alice(), bob()});

    auto result = run(config);
    ASSERT_EQ(result.exitCode, 0) << result.describe() << dovecot_.log();

    auto delivered = dovecot_.messages("me");
    ASSERT_EQ(delivered.size(), 2 * originals.size());
    std::vector<std::string> fromAlice, fromBob;
    for (const auto& message : delivered) {
        if (message.find("X-Mailcollector-Account: alice-old\n") != std::string::npos)
            fromAlice.push_back(withoutAddedHeaders(message, "alice-old"));
        else
            fromBob.push_back(withoutAddedHeaders(message, "bob-old"));
    }
    std::vector<std::string> expected = originals;
    expected[4] += "\n";  // a message must end with a line ending on the wire
    EXPECT_EQ(asSet(fromAlice), asSet(expected));
    EXPECT_EQ(asSet(fromBob), asSet(expected));
    EXPECT_NE(delivered.front().find("X-Mailcollector-Labels: "), std::string::npos);

    // keep = true (default): the sources still hold everything.
    EXPECT_EQ(dovecot_.messages("alice").size(), originals.size());
    EXPECT_EQ(dovecot_.messages("bob").size(), originals.size());
}

TEST_F(Pop3CollectTest, SecondRunDeliversNothing) {
    for (int i = 0; i < 5; ++i)
        dovecot_.seed("alice", "INBOX", "Subject: m" + std::to_string(i) + "\n\nbody " + std::to_string(i) + "\n");
    auto config = writeConfig(lmtpTarget(), {alice()});
    ASSERT_EQ(run(config).exitCode, 0);
    ASSERT_EQ(dovecot_.messages("me").size(), 5u);
    auto again = run(config);
    ASSERT_EQ(again.exitCode, 0) << again.describe();
    EXPECT_EQ(dovecot_.messages("me").size(), 5u);
    EXPECT_NE(again.err.find("delivered=0"), std::string::npos) << again.err;

    // A message arriving later is the only one delivered next time.
    dovecot_.seed("alice", "INBOX", "Subject: late\n\nlate\n");
    ASSERT_EQ(run(config).exitCode, 0);
    auto delivered = dovecot_.messages("me");
    ASSERT_EQ(delivered.size(), 6u);
    EXPECT_NE(delivered.back().find("Subject: late"), std::string::npos);
}

// A server that rebuilds its UIDLs (Dovecot's include the folder's UIDVALIDITY; Courier's come
// from courierpop3dsizelist, Cyrus's from a re-created mailbox) lists every message under a new
// UIDL: what was delivered before is recognised by its content, recorded, and not sent again.
TEST_F(Pop3CollectTest, MailboxWhoseUidlsTheServerRebuiltIsNotDeliveredAgain) {
    for (int i = 0; i < 4; ++i)
        dovecot_.seed("alice", "INBOX", "Subject: m" + std::to_string(i) + "\n\nbody " + std::to_string(i) + "\n");
    auto config = writeConfig(lmtpTarget(), {alice()});
    ASSERT_EQ(run(config).exitCode, 0);
    ASSERT_EQ(dovecot_.messages("me").size(), 4u);
    auto firstUidl = [&] {
        auto listed = runProcess({"sqlite3", (work_.path() / "ledger.db").string(),
                                  "SELECT uid FROM messages WHERE state = 'delivered' ORDER BY uid LIMIT 1"});
        return listed.out;
    };
    const std::string before = firstUidl();
    // Dovecot renumbers the mailbox under a new UIDVALIDITY, which its UIDLs include (it takes
    // UIDVALIDITYs from the clock: retried, bounded). A new message arrives each time.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int arrivals = 0;
    ProcessResult last;
    do {
        for (const auto& entry : std::filesystem::directory_iterator(dovecot_.maildir("alice", "INBOX"))) {
            const std::string name = entry.path().filename().string();
            if (name == "dovecot-uidlist" || name.rfind("dovecot.index", 0) == 0) std::filesystem::remove(entry.path());
        }
        dovecot_.seed("alice", "INBOX", "Subject: new" + std::to_string(arrivals++) + "\n\nnew\n");
        last = run(config);
        ASSERT_EQ(last.exitCode, 0) << last.describe();
    } while (firstUidl() == before && std::chrono::steady_clock::now() < deadline);
    ASSERT_NE(firstUidl(), before) << "Dovecot kept its UIDVALIDITY";
    EXPECT_NE(last.err.find("known="), std::string::npos) << last.err;
    std::multiset<std::string> subjects;
    for (const auto& message : dovecot_.messages("me")) {
        auto at = message.find("Subject: ");
        subjects.insert(message.substr(at, message.find('\n', at) - at));
    }
    for (int i = 0; i < 4; ++i) EXPECT_EQ(subjects.count("Subject: m" + std::to_string(i)), 1u) << i;
    for (int i = 0; i < arrivals; ++i) EXPECT_EQ(subjects.count("Subject: new" + std::to_string(i)), 1u) << i;
    EXPECT_EQ(subjects.size(), static_cast<std::size_t>(4 + arrivals));
}

TEST_F(Pop3CollectTest, CheckCountsTheMessagesTheLedgerHasNotSeenAndChangesNothing) {
    for (int i = 0; i < 4; ++i)
        dovecot_.seed("alice", "INBOX", "Subject: m" + std::to_string(i) + "\n\nbody " + std::to_string(i) + "\n");
    auto config = writeConfig(lmtpTarget(), {alice()});
    ASSERT_EQ(run(config).exitCode, 0);
    for (int i = 4; i < 7; ++i)
        dovecot_.seed("alice", "INBOX", "Subject: m" + std::to_string(i) + "\n\nbody " + std::to_string(i) + "\n");
    for (int pass = 0; pass < 2; ++pass) {
        auto check = runProcess({MC_BINARY, "check", "-c", config});
        ASSERT_EQ(check.exitCode, 0) << check.describe();
        EXPECT_NE(check.out.find("alice-old: OK - localhost:"), std::string::npos) << check.out;
        EXPECT_NE(check.out.find(" POP3, implicit TLS: 7 messages, 3 new; TLS verified"), std::string::npos)
            << check.out;
    }
    EXPECT_EQ(dovecot_.messages("me").size(), 4u);
    ASSERT_EQ(run(config).exitCode, 0);
    EXPECT_EQ(dovecot_.messages("me").size(), 7u) << "the 3 new ones, as check said";
}

TEST_F(Pop3CollectTest, KeepFalseEmptiesTheSourceAfterDelivery) {
    for (int i = 0; i < 20; ++i) dovecot_.seed("alice", "INBOX", "Subject: k" + std::to_string(i) + "\n\nx\n");
    auto config = writeConfig(lmtpTarget(), {alice("keep = false")});
    auto result = run(config);
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_EQ(dovecot_.messages("me").size(), 20u);
    EXPECT_EQ(dovecot_.messages("alice").size(), 0u);
    auto json = status(config).out;
    EXPECT_NE(json.find("\"deleted\":20"), std::string::npos) << json;
    // The ledger forgets rows whose messages left the server; nothing is delivered again.
    ASSERT_EQ(run(config).exitCode, 0);
    EXPECT_EQ(dovecot_.messages("me").size(), 20u);
}

// Delivered with keep = true, then keep = false: a later session deletes the messages once TOP n 0
// shows Dovecot still holds the ones delivered (the honest server is never refused).
TEST_F(Pop3CollectTest, LaterSessionDeletesDeliveredMessagesAfterCheckingTheirHeaders) {
    for (const auto& message : trickyMessages()) dovecot_.seed("alice", "INBOX", message);
    ASSERT_EQ(run(writeConfig(lmtpTarget(), {alice()})).exitCode, 0);
    ASSERT_EQ(dovecot_.messages("me").size(), 5u);
    ASSERT_EQ(dovecot_.messages("alice").size(), 5u);

    auto result = run(writeConfig(lmtpTarget(), {alice("keep = false")}));

    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_EQ(dovecot_.messages("alice").size(), 0u) << result.describe();
    EXPECT_EQ(dovecot_.messages("me").size(), 5u) << "verified by headers: nothing fetched or sent again";
    EXPECT_EQ(result.err.find("other headers"), std::string::npos) << result.describe();
    EXPECT_EQ(result.err.find("server sent"), std::string::npos) << result.describe();
}

// Rows from a ledger older than the header hash: deleted when the Message-ID matches; without
// one, fetched again and deleted since its content is the one delivered (not sent twice).
TEST_F(Pop3CollectTest, RowsWithoutHeaderHashAreVerifiedByMessageIdOrContent) {
    dovecot_.seed("alice", "INBOX", "From: a@example.org\nSubject: with id\nMessage-ID: <v1@example.org>\n\nx\n");
    dovecot_.seed("alice", "INBOX", "From: a@example.org\nSubject: without id\n\ny\n");
    ASSERT_EQ(run(writeConfig(lmtpTarget(), {alice()})).exitCode, 0);
    ASSERT_EQ(dovecot_.messages("me").size(), 2u);
    ledger::SqliteLedgerStore((work_.path() / "ledger.db").string())
        .executeForTesting("UPDATE messages SET header_hash = ''");

    auto result = run(writeConfig(lmtpTarget(), {alice("keep = false")}));

    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_EQ(dovecot_.messages("alice").size(), 0u) << result.describe();
    EXPECT_EQ(dovecot_.messages("me").size(), 2u);
}

TEST_F(Pop3CollectTest, TransientTargetFailureKeepsMessagesPendingUntilTheNextRun) {
    for (int i = 0; i < 3; ++i) dovecot_.seed("alice", "INBOX", "Subject: t" + std::to_string(i) + "\n\nx\n");
    SmtpSink failing(SmtpSinkOptions{false, {"-r", "."}});  // 4xx after the data
    auto config = writeConfig(TargetSpec{"smtp", failing.port(), "me@localhost", ""}, {alice("keep = false")});
    auto first = run(config);
    EXPECT_EQ(first.exitCode, 0) << first.describe();  // the poll ran; messages are pending
    EXPECT_TRUE(failing.messages().empty());
    EXPECT_EQ(dovecot_.messages("alice").size(), 3u) << "nothing may be deleted before delivery";
    EXPECT_NE(status(config).out.find("\"pending\":3"), std::string::npos) << status(config).out;

    SmtpSink working;
    config = writeConfig(TargetSpec{"smtp", working.port(), "me@localhost", ""}, {alice("keep = false")});
    auto second = run(config);
    ASSERT_EQ(second.exitCode, 0) << second.describe();
    EXPECT_EQ(working.messages().size(), 3u);
    EXPECT_EQ(dovecot_.messages("alice").size(), 0u);
}

TEST_F(Pop3CollectTest, PermanentRejectionQuarantinesAndDeletesNothing) {
    dovecot_.seed("alice", "INBOX", "Subject: refused\n\nthe target will refuse this\n");
    SmtpSink refusing(SmtpSinkOptions{false, {"-f", "."}});  // 5xx after the data
    auto config = writeConfig(TargetSpec{"smtp", refusing.port(), "me@localhost", ""}, {alice("keep = false")});
    auto result = run(config);
    // Every message of the poll refused alike: a failed poll that names the reply.
    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_NE(result.err.find("target refused all 1 messages with: "), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("quarantined"), std::string::npos) << result.err;
    EXPECT_EQ(dovecot_.messages("alice").size(), 1u) << "a rejected message is never deleted";
    auto quarantine = work_.path() / "quarantine" / "alice-old";
    ASSERT_TRUE(std::filesystem::exists(quarantine));
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(quarantine)) files.push_back(entry.path());
    ASSERT_EQ(files.size(), 1u);
    EXPECT_NE(readFile(files[0]).find("the target will refuse this"), std::string::npos);
    EXPECT_NE(status(config).out.find("\"quarantined\":1"), std::string::npos);
    // Not retried by itself, still not deleted.
    ASSERT_EQ(run(config).exitCode, 0);
    EXPECT_EQ(dovecot_.messages("alice").size(), 1u);
}

TEST_F(Pop3CollectTest, UsesTheReturnPathAsEnvelopeSender) {
    dovecot_.seed("alice", "INBOX", "Return-Path: <orig@example.org>\nSubject: a\n\nx\n");
    dovecot_.seed("alice", "INBOX", "Return-Path: <>\nSubject: bounce\n\nx\n");
    dovecot_.seed("alice", "INBOX", "Subject: no return path\n\nx\n");
    SmtpSink sink;
    auto config = writeConfig(TargetSpec{"smtp", sink.port(), "me@localhost", ""}, {alice()});
    ASSERT_EQ(run(config).exitCode, 0);
    auto transactions = sink.transactions();
    ASSERT_EQ(transactions.size(), 3u);
    std::multiset<std::string> senders;
    for (const auto& t : transactions) senders.insert(t.mailArgs.substr(0, t.mailArgs.find(' ')));
    EXPECT_EQ(senders, (std::multiset<std::string>{"<orig@example.org>", "<>", "<me@localhost>"}));
    for (const auto& t : transactions) EXPECT_EQ(t.rcptArgs, std::vector<std::string>{"<me@localhost>"});
}

TEST_F(Pop3CollectTest, SubaddressLabelDeliveryFilesIntoTheLabelFolder) {
    dovecot_.seed("alice", "INBOX", "Subject: labelled\n\nx\n");
    TargetSpec target = lmtpTarget();
    target.extra = "label_delivery = \"subaddress\"";
    auto config = writeConfig(target, {alice()});
    auto result = run(config);
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    // RCPT TO me+alice-old: Dovecot files it into me's folder "alice-old", not INBOX.
    EXPECT_TRUE(dovecot_.messages("me").empty());
    auto filed = dovecot_.messages("me", "alice-old");
    ASSERT_EQ(filed.size(), 1u) << dovecot_.log();
    EXPECT_NE(filed[0].find("Subject: labelled"), std::string::npos);
}

TEST_F(Pop3CollectTest, FetchNewSkipsWhatWasThereBefore) {
    dovecot_.seed("alice", "INBOX", "Subject: old\n\nold\n");
    auto config = writeConfig(lmtpTarget(), {alice("fetch = \"new\"")});
    ASSERT_EQ(run(config).exitCode, 0);
    EXPECT_EQ(dovecot_.messages("me").size(), 0u);
    dovecot_.seed("alice", "INBOX", "Subject: new\n\nnew\n");
    ASSERT_EQ(run(config).exitCode, 0);
    auto delivered = dovecot_.messages("me");
    ASSERT_EQ(delivered.size(), 1u);
    EXPECT_NE(delivered[0].find("Subject: new"), std::string::npos);
}

TEST_F(Pop3CollectTest, OversizedMessagesAreSkippedAndReported) {
    dovecot_.seed("alice", "INBOX", "Subject: small\n\nx\n");
    dovecot_.seed("alice", "INBOX", "Subject: big\n\n" + std::string(20000, 'x') + "\n");
    auto config = writeConfig(lmtpTarget(), {alice("max_message_size = \"10KB\"\nkeep = false")});
    auto result = run(config);
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_NE(result.err.find("max_message_size"), std::string::npos) << result.err;
    auto delivered = dovecot_.messages("me");
    ASSERT_EQ(delivered.size(), 1u);
    EXPECT_NE(delivered[0].find("Subject: small"), std::string::npos);
    EXPECT_EQ(dovecot_.messages("alice").size(), 1u) << "a skipped message is never deleted";
    EXPECT_NE(status(config).out.find("\"skipped\":1"), std::string::npos);
}

TEST_F(Pop3CollectTest, LargeMessageIsSpooledAndArrivesIntact) {
    std::string big = "Subject: big\n\n";
    for (int i = 0; big.size() < 6 * 1024 * 1024; ++i) big += "line " + std::to_string(i) + " .x\n.\n";
    dovecot_.seed("alice", "INBOX", big);
    SmtpSink sink;
    auto config = writeConfig(TargetSpec{"smtp", sink.port(), "me@localhost", ""}, {alice()});
    auto result = run(config);
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    auto messages = sink.messages();
    ASSERT_EQ(messages.size(), 1u);
    auto at = messages[0].find("Subject: big\n");
    ASSERT_NE(at, std::string::npos);
    EXPECT_TRUE(messages[0].substr(at) == big) << "the big message was altered";
}

TEST_F(Pop3CollectTest, BadAccountsFailAloneWithAClearError) {
    dovecot_.seed("bob", "INBOX", "Subject: fine\n\nx\n");
    AccountSpec wrongPassword = alice();
    wrongPassword.password = "not-the-password";
    AccountSpec noTls = bob();
    noTls.name = "plain-port-as-tls";  // implicit TLS against the plain POP3 port
    noTls.tls = "implicit";
    auto config = writeConfig(lmtpTarget(), {wrongPassword, noTls, bob()});
    auto result = run(config);
    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_NE(result.err.find("account=alice-old poll failed"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("authentication"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("account=plain-port-as-tls poll failed"), std::string::npos) << result.err;
    EXPECT_EQ(result.err.find("not-the-password"), std::string::npos) << "secrets never appear in logs";
    EXPECT_EQ(dovecot_.messages("me").size(), 1u) << "the good account still delivered";
}

TEST_F(Pop3CollectTest, TargetWithRequiredStartTlsIsVerified) {
    dovecot_.seed("alice", "INBOX", "Subject: over tls\n\nx\n");
    TargetSpec target = lmtpTarget();
    // Dovecot's LMTP offers STARTTLS; the target's certificate is checked like any source's.
    auto config = writeConfig(target, {alice()});
    std::string toml = readFile(config);
    auto at = toml.find("tls = \"none\"");
    toml.replace(at, 12, "tls = \"starttls\"\nca_file = \"" + dovecot_.caFile() + "\"");
    toml.replace(toml.find("host = \"127.0.0.1\""), 18, "host = \"localhost\"");
    writeFile(config, toml, 0600);
    auto result = run(config);
    ASSERT_EQ(result.exitCode, 0) << result.describe() << toml;
    EXPECT_EQ(dovecot_.messages("me").size(), 1u);

    // Without the CA the same target is refused, and the message stays pending.
    dovecot_.seed("alice", "INBOX", "Subject: second\n\nx\n");
    toml.replace(toml.find("ca_file = \"" + dovecot_.caFile() + "\"\nrecipient"), 12 + dovecot_.caFile().size(), "");
    writeFile(config, toml, 0600);
    auto refused = run(config);
    EXPECT_EQ(refused.exitCode, 1) << refused.describe() << toml;
    EXPECT_NE(refused.err.find("certificate"), std::string::npos) << refused.err;
    EXPECT_EQ(dovecot_.messages("me").size(), 1u);
    EXPECT_NE(status(config).out.find("\"pending\":1"), std::string::npos) << status(config).out;
}

TEST(Pop3CertificateTest, UntrustedServerCertificatesAreRefused) {
    for (CertKind kind : {CertKind::Expired, CertKind::WrongHost, CertKind::UnknownCa}) {
        DovecotServer dovecot(kind);
        dovecot.addUser("alice", "alice-secret");
        dovecot.addUser("me", "me-secret");
        dovecot.seed("alice", "INBOX", "Subject: x\n\nx\n");
        TempDir work("mc-cert");
        writeFile(work.path() / "pw", "alice-secret\n", 0600);
        std::string toml =
            "[collector]\nledger = \"ledger.db\"\nquarantine_dir = \"q\"\nhttp_listen = \"\"\n"
            "[target]\nprotocol = \"lmtp\"\nhost = \"127.0.0.1\"\ntls = \"none\"\nport = " +
            std::to_string(dovecot.lmtpPort()) + "\nrecipient = \"me\"\n" +
            "[[account]]\nname = \"a\"\nprotocol = \"pop3\"\nhost = \"localhost\"\nport = " +
            std::to_string(dovecot.pop3sPort()) + "\nca_file = \"" + dovecot.caFile() +
            "\"\nusername = \"alice\"\npassword_file = \"pw\"\n";
        auto config = work.writeFile("c.toml", toml, 0600).string();
        auto result = runProcess({MC_BINARY, "run", "-c", config, "--once"});
        EXPECT_EQ(result.exitCode, 1) << result.describe();
        EXPECT_NE(result.err.find("certificate"), std::string::npos) << result.err;
        EXPECT_TRUE(dovecot.messages("me").empty());
    }
}

// Without ca_file the system store is trusted: OpenSSL's certificate directory (here SSL_CERT_DIR)
// and bundle (SSL_CERT_FILE). When the directory holds every certificate of the bundle under its
// hash name ("1a2b3c4d.0", as update-ca-certificates keeps /etc/ssl/certs), it is read as chains
// need it instead of parsing the bundle at start; a bundle with a certificate the directory lacks
// (a CA added by hand) or a directory without hash names gets both loaded. Either way a server
// whose CA is in neither is refused.
TEST(Pop3CertificateTest, SystemStoreIsTheHashedDirectoryWhenItHoldsTheBundleElseBoth) {
    DovecotServer dovecot;
    dovecot.addUser("alice", "alice-secret");
    dovecot.addUser("me", "me-secret");
    TempDir work("mc-system-store");
    writeFile(work.path() / "pw", "alice-secret\n", 0600);
    auto config =
        work.writeFile("c.toml",
                       "[collector]\nledger = \"ledger.db\"\nquarantine_dir = \"q\"\nhttp_listen = \"\"\n"
                       "[target]\nprotocol = \"lmtp\"\nhost = \"127.0.0.1\"\ntls = \"none\"\nport = " +
                           std::to_string(dovecot.lmtpPort()) + "\nrecipient = \"me\"\n" +
                           "[[account]]\nname = \"a\"\nprotocol = \"pop3\"\nhost = \"localhost\"\nport = " +
                           std::to_string(dovecot.pop3sPort()) + "\nusername = \"alice\"\npassword_file = \"pw\"\n",
                       0600)
            .string();
    auto hashedDir = [&](const std::string& name, const std::string& caFile) {
        auto hash = runProcess({"openssl", "x509", "-hash", "-noout", "-in", caFile});
        EXPECT_TRUE(hash.ok()) << hash.describe();
        std::filesystem::create_directories(work.path() / name);
        if (!hash.out.empty()) std::filesystem::copy_file(caFile, work.path() / name / (hash.out.substr(0, 8) + ".0"));
        return (work.path() / name).string();
    };
    const std::string trusted = hashedDir("trusted", dovecot.caFile());
    const std::string unrelated = hashedDir("unrelated", TestCa::shared().otherCaFile());
    const std::string noBundle = (work.path() / "no-bundle.pem").string();
    auto run = [&](const std::string& dir, const std::string& file) {
        return runProcess({MC_BINARY, "run", "-c", config, "--once"}, {{"SSL_CERT_DIR", dir}, {"SSL_CERT_FILE", file}});
    };

    dovecot.seed("alice", "INBOX", "Subject: one\n\nx\n");
    auto byHashName = run(trusted, noBundle);
    EXPECT_EQ(byHashName.exitCode, 0) << byHashName.describe();
    EXPECT_EQ(dovecot.messages("me").size(), 1u);

    dovecot.seed("alice", "INBOX", "Subject: two\n\nx\n");
    auto otherCa = run(unrelated, noBundle);
    EXPECT_EQ(otherCa.exitCode, 1) << otherCa.describe();
    EXPECT_NE(otherCa.err.find("certificate"), std::string::npos) << otherCa.err;
    EXPECT_EQ(dovecot.messages("me").size(), 1u);

    std::filesystem::create_directories(work.path() / "empty");
    auto fromBundle = run((work.path() / "empty").string(), dovecot.caFile());
    EXPECT_EQ(fromBundle.exitCode, 0) << fromBundle.describe();
    EXPECT_EQ(dovecot.messages("me").size(), 2u);

    dovecot.seed("alice", "INBOX", "Subject: three\n\nx\n");
    auto addedByHand = run(unrelated, dovecot.caFile());
    EXPECT_EQ(addedByHand.exitCode, 0) << addedByHand.describe();
    EXPECT_EQ(dovecot.messages("me").size(), 3u);

    dovecot.seed("alice", "INBOX", "Subject: four\n\nx\n");
    auto bundleInTheDirectory = run(trusted, dovecot.caFile());
    EXPECT_EQ(bundleInTheDirectory.exitCode, 0) << bundleInTheDirectory.describe();
    EXPECT_EQ(dovecot.messages("me").size(), 4u);
}

// kill -9 in the middle of a large run, then a re-run: every message delivered, at most one
// duplicate per message in flight, nothing deleted that was not delivered.
TEST_F(Pop3CollectTest, KillNineMidRunThenRerunDeliversEachMessageOnce) {
    constexpr int kMessages = 400;
    for (int i = 0; i < kMessages; ++i)
        dovecot_.seed("alice", "INBOX",
                      "Subject: crash " + std::to_string(i) + "\nMessage-ID: <c" + std::to_string(i) + "@x>\n\n" +
                          std::string(2000, 'z') + "\n");
    auto config = writeConfig(lmtpTarget(), {alice("keep = false")});
    {
        BackgroundProcess collector({MC_BINARY, "run", "-c", config, "--once"});
        ASSERT_TRUE(dovecot_.waitForMessages("me", 100, std::chrono::seconds(60)));
        collector.sendSignal(SIGKILL);
        ASSERT_TRUE(collector.wait(std::chrono::seconds(10)).has_value());
    }
    auto rerun = run(config);
    ASSERT_EQ(rerun.exitCode, 0) << rerun.describe();
    std::map<std::string, int> copies;
    for (const auto& message : dovecot_.messages("me")) {
        auto at = message.find("Subject: crash ");
        ASSERT_NE(at, std::string::npos);
        ++copies[message.substr(at, message.find('\n', at) - at)];
    }
    EXPECT_EQ(copies.size(), std::size_t(kMessages)) << "every message delivered";
    int duplicates = 0;
    for (const auto& [subject, count] : copies) duplicates += count - 1;
    EXPECT_LE(duplicates, 4) << "at most one duplicate per message in flight (4 connections)";
    EXPECT_EQ(dovecot_.messages("alice").size(), 0u);
}

// The same through the deterministic crash points of the per-message order.
class Pop3CrashPointTest : public Pop3CollectTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(Pop3CrashPointTest, CrashAtEachStepLosesNothing) {
    constexpr int kMessages = 30;
    for (int i = 0; i < kMessages; ++i)
        dovecot_.seed("alice", "INBOX", "Subject: step " + std::to_string(i) + "\n\nbody\n");
    // One target connection, so exactly one message is in flight at the crash.
    TargetSpec target = lmtpTarget();
    target.extra = "connections = 1";
    auto config = writeConfig(target, {alice("keep = false")});
    // Per-message points crash at the 10th message; per-session points at their only pass.
    std::string point = GetParam();
    bool perSession = point == "after-dele" || point == "before-quit";
    auto crashed = run(config, {}, {{"MC_CRASH_AT", perSession ? point : point + ":10"}});
    EXPECT_EQ(crashed.termSignal, SIGKILL) << crashed.describe();
    EXPECT_GE(dovecot_.messages("alice").size(), 1u) << "no deletion can have happened before QUIT";
    auto rerun = run(config);
    ASSERT_EQ(rerun.exitCode, 0) << rerun.describe();
    std::map<std::string, int> copies;
    for (const auto& message : dovecot_.messages("me")) {
        auto at = message.find("Subject: step ");
        ++copies[message.substr(at, message.find('\n', at) - at)];
    }
    EXPECT_EQ(copies.size(), std::size_t(kMessages));
    int duplicates = 0;
    for (const auto& [subject, count] : copies) duplicates += count - 1;
    // Only a crash between the target's 2xx and the ledger commit may double that one message.
    EXPECT_EQ(duplicates, point == "after-accept" ? 1 : 0);
    EXPECT_EQ(dovecot_.messages("alice").size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Steps, Pop3CrashPointTest,
                         ::testing::Values("after-fetch", "after-accept", "after-commit", "after-dele", "before-quit"));

}  // namespace
}  // namespace mc::testing
