// The IMAP APPEND target end to end: the mailcollector binary with a config file, a real private
// Dovecot as POP3S source and as IMAP target (user "me"), and a scripted fake target for what
// Dovecot will not do on demand (Gmail labels, quota and refusals, no LITERAL+, BYE mid-APPEND).

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <set>
#include <string>

#include "delivery/MessageTarget.hpp"
#include "tests/support/DovecotServer.hpp"
#include "tests/support/Process.hpp"
#include "tests/support/TempDir.hpp"
#include "tests/support/fakes/FakeImapTarget.hpp"

namespace mc::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUmlautLabel = "Entwürfe";
constexpr const char* kUmlautWire = "Entw&APw-rfe";

std::vector<std::string> trickyMessages() {
    return {
        "Return-Path: <sender@example.org>\nFrom: sender@example.org\nSubject: plain\n"
        "Message-ID: <plain@example.org>\n\nHello.\n",
        "From: dots@example.org\nSubject: dots\n\n.\n..\n.leading dot\n...three\nend\n",
        "From: long@example.org\nSubject: long lines\n\n" + std::string(1200, 'a') + "\n" +
            std::string(70 * 1024, 'b') + "\nshort\n",
        "From: j@example.org\nSubject: 8bit\nContent-Type: text/plain; charset=utf-8\n\nGrüße aus Köln \xff\xfe\n",
        "From: nonl@example.org\nSubject: no final newline\n\nlast line without newline",
    };
}

// A message bigger than the 1 MiB in-memory limit: it is spooled and streamed from disk.
std::string bigMessage() {
    std::string body;
    for (int i = 0; body.size() < 3 * 1024 * 1024; ++i)
        body += "line " + std::to_string(i) + " " + std::string(60, 'x') + "\n";
    return "From: big@example.org\nSubject: big\n\n" + body;
}

// The message without our Received:, X-Mailcollector-Account: and X-Mailcollector-Labels: lines
// (Dovecot stores APPENDed mail with "\n" line ends and adds nothing).
std::string withoutAddedHeaders(const std::string& stored, const std::string& account) {
    if (stored.rfind("Received: from ", 0) != 0 || stored.find("by mailcollector") == std::string::npos)
        return "missing our Received: line in:\n" + stored.substr(0, 300);
    std::string marker = "X-Mailcollector-Account: " + account + "\n";
    auto at = stored.find(marker);
    if (at == std::string::npos) return "missing " + marker + " in:\n" + stored.substr(0, 300);
    std::string rest = stored.substr(at + marker.size());
    if (rest.rfind("X-Mailcollector-Labels: ", 0) == 0) rest = rest.substr(rest.find('\n') + 1);
    return rest;
}

std::multiset<std::string> asSet(const std::vector<std::string>& items) { return {items.begin(), items.end()}; }

std::multiset<std::string> expectedSet(std::vector<std::string> originals) {
    for (auto& message : originals)
        if (message.back() != '\n') message += "\n";  // a CRLF is added to a last line without one
    return asSet(originals);
}

class ImapTargetTest : public ::testing::Test {
protected:
    void SetUp() override {
        dovecot_.addUser("alice", "alice-secret");
        dovecot_.addUser("bob", "bob-secret");
        dovecot_.addUser("me", "me-Secret-2Hv");
    }

    // TARGET: the [target] lines after protocol; ACCOUNTS: [[account]] name -> extra lines.
    std::string writeConfig(const std::string& target,
                            const std::vector<std::pair<std::string, std::string>>& accounts) {
        std::string toml =
            "[collector]\nledger = \"ledger.db\"\nquarantine_dir = \"quarantine\"\n"
            "http_listen = \"\"\nio_timeout = \"10s\"\n\n[target]\nprotocol = \"imap\"\n" +
            target + "\n";
        for (const auto& [user, extra] : accounts) {
            std::string passwordFile = work_.str() + "/" + user + ".pw";
            writeFile(passwordFile, user + "-secret\n", 0600);
            toml += "[[account]]\nname = \"" + user + "-old\"\nprotocol = \"pop3\"\nhost = \"localhost\"\nport = " +
                    std::to_string(dovecot_.pop3sPort()) + "\ntls = \"implicit\"\nca_file = \"" + dovecot_.caFile() +
                    "\"\nusername = \"" + user + "\"\npassword_file = \"" + passwordFile + "\"\n" + extra + "\n";
        }
        return work_.writeFile("mailcollector.toml", toml, 0600).string();
    }

    std::string dovecotTarget(const std::string& tls = "implicit", const std::string& password = "me-Secret-2Hv") {
        writeFile(work_.str() + "/me.pw", password + "\n", 0600);
        std::uint16_t port = tls == "implicit" ? dovecot_.imapsPort() : dovecot_.imapPort();
        return "host = \"localhost\"\nport = " + std::to_string(port) + "\ntls = \"" + tls + "\"\nca_file = \"" +
               dovecot_.caFile() + "\"\nusername = \"me\"\npassword_file = \"" + work_.str() + "/me.pw\"\n";
    }

    std::string fakeTarget(const FakeImapTarget& fake) {
        return "host = \"127.0.0.1\"\nport = " + std::to_string(fake.port()) +
               "\ntls = \"none\"\nusername = \"me\"\npassword = \"target-Secret-7Qw\"\nconnections = 1\n";
    }

    ProcessResult run(const std::string& config) {
        return runProcess({MC_BINARY, "run", "-c", config, "--once"}, {}, std::chrono::seconds(300));
    }
    ProcessResult status(const std::string& config) {
        return runProcess({MC_BINARY, "status", "-c", config, "--json"});
    }

    std::vector<fs::path> quarantined(const std::string& account) {
        std::vector<fs::path> files;
        fs::path dir = work_.path() / "quarantine" / account;
        if (fs::exists(dir))
            for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
        return files;
    }

    DovecotServer dovecot_;
    TempDir work_{"mc-imap-target"};
};

// ---- real Dovecot --------------------------------------------------------------------------

TEST_F(ImapTargetTest, DeliversByteExactOverImapsOnceAndEmptiesTheSource) {
    auto originals = trickyMessages();
    originals.push_back(bigMessage());
    for (const auto& message : originals) dovecot_.seed("alice", "INBOX", message);
    auto config = writeConfig(dovecotTarget(), {{"alice", "keep = false"}});

    auto result = run(config);
    ASSERT_EQ(result.exitCode, 0) << result.describe() << dovecot_.log();
    auto stored = dovecot_.messages("me");
    ASSERT_EQ(stored.size(), originals.size()) << result.err;
    std::vector<std::string> delivered;
    for (const auto& message : stored) delivered.push_back(withoutAddedHeaders(message, "alice-old"));
    EXPECT_EQ(asSet(delivered), expectedSet(originals));
    EXPECT_EQ(stored[0].find("X-Mailcollector-Labels:"), std::string::npos) << "no labels configured";
    EXPECT_EQ(dovecot_.messages("alice").size(), 0u) << "keep = false deletes what the target took";
    // Appended without flags: unread (maildir new/ or no S flag).
    for (const auto& file : dovecot_.messageFiles("me"))
        EXPECT_EQ(file.filename().string().find(":2,S"), std::string::npos) << file;

    auto again = run(config);
    ASSERT_EQ(again.exitCode, 0) << again.describe();
    EXPECT_EQ(dovecot_.messages("me").size(), originals.size());
    EXPECT_NE(again.err.find("delivered=0"), std::string::npos) << again.err;
}

TEST_F(ImapTargetTest, LabelsBecomeFoldersAndArchiveSkipsInboxOverStartTls) {
    dovecot_.seed("alice", "INBOX", "Subject: alice 1\n\none\n");
    dovecot_.seed("alice", "INBOX", "Subject: alice 2\n\ntwo\n");
    dovecot_.seed("bob", "INBOX", "Subject: bob 1\n\narchived\n");
    auto config = writeConfig(dovecotTarget("starttls"),
                              {{"alice", std::string("labels = [\"") + kUmlautLabel + "\", \"Work/2019\"]"},
                               {"bob", "labels = [\"Archiv\"]\narchive = true"}});

    auto check = runProcess({MC_BINARY, "check", "-c", config});
    EXPECT_EQ(check.exitCode, 0) << check.describe();
    EXPECT_NE(check.out.find("target: OK"), std::string::npos) << check.out;

    auto result = run(config);
    ASSERT_EQ(result.exitCode, 0) << result.describe() << dovecot_.log();
    auto inbox = dovecot_.messages("me");
    ASSERT_EQ(inbox.size(), 2u) << "alice's two; bob's are archived";
    for (const auto& message : inbox)
        EXPECT_NE(message.find("X-Mailcollector-Account: alice-old\n"), std::string::npos);
    EXPECT_NE(inbox[0].find(std::string("X-Mailcollector-Labels: ") + kUmlautLabel + ", Work/2019\n"),
              std::string::npos)
        << inbox[0];
    for (const char* folder : {kUmlautWire, "Work/2019"}) {
        auto filed = dovecot_.messages("me", folder);
        ASSERT_EQ(filed.size(), 2u) << folder;
        EXPECT_EQ(asSet(filed), asSet(inbox)) << folder;
    }
    auto archived = dovecot_.messages("me", "Archiv");
    ASSERT_EQ(archived.size(), 1u);
    EXPECT_NE(archived[0].find("archived"), std::string::npos);

    auto again = run(config);
    EXPECT_EQ(again.exitCode, 0) << again.describe();
    EXPECT_EQ(dovecot_.messages("me").size(), 2u) << "nothing delivered twice";
    EXPECT_EQ(dovecot_.messages("me", kUmlautWire).size(), 2u);
}

TEST_F(ImapTargetTest, WrongTargetPasswordFailsClearlyAndLosesNothing) {
    for (int i = 0; i < 3; ++i) dovecot_.seed("alice", "INBOX", "Subject: w" + std::to_string(i) + "\n\nx\n");
    auto config = writeConfig(dovecotTarget("implicit", "wrong-password"), {{"alice", "keep = false"}});

    auto check = runProcess({MC_BINARY, "check", "-c", config});
    EXPECT_NE(check.exitCode, 0);
    EXPECT_NE(check.out.find("refused the credentials"), std::string::npos) << check.describe();

    auto result = run(config);
    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_NE(result.err.find("refused the credentials"), std::string::npos) << result.err;
    EXPECT_EQ(result.err.find("wrong-password"), std::string::npos) << "the password is never logged";
    EXPECT_EQ(dovecot_.messages("alice").size(), 3u) << "nothing deleted";
    EXPECT_EQ(dovecot_.messages("me").size(), 0u);
    EXPECT_TRUE(quarantined("alice-old").empty());

    config = writeConfig(dovecotTarget(), {{"alice", "keep = false"}});
    auto fixed = run(config);
    ASSERT_EQ(fixed.exitCode, 0) << fixed.describe();
    EXPECT_EQ(dovecot_.messages("me").size(), 3u);
    EXPECT_EQ(dovecot_.messages("alice").size(), 0u);
}

TEST_F(ImapTargetTest, UntrustedTargetCertificateFailsAndLosesNothing) {
    dovecot_.seed("alice", "INBOX", "Subject: tls\n\nx\n");
    std::string target = dovecotTarget();
    target.erase(target.find("ca_file"), target.find('\n', target.find("ca_file")) + 1 - target.find("ca_file"));
    auto config = writeConfig(target, {{"alice", "keep = false"}});
    auto result = run(config);
    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_NE(result.err.find("certificate"), std::string::npos) << result.err;
    EXPECT_EQ(dovecot_.messages("alice").size(), 1u);
    EXPECT_EQ(dovecot_.messages("me").size(), 0u);
}

// ---- scripted fake target through the binary -------------------------------------------------

TEST_F(ImapTargetTest, OverQuotaDefersAndTheNextRunDelivers) {
    dovecot_.seed("alice", "INBOX", "Subject: quota\n\nx\n");
    FakeImapTargetOptions options;
    options.appendReplies = {"{tag} NO [OVERQUOTA] Quota exceeded (mailbox for user is full)\r\n"};
    FakeImapTarget fake(options);
    auto config = writeConfig(fakeTarget(fake), {{"alice", "keep = false"}});

    auto first = run(config);
    EXPECT_EQ(first.exitCode, 0) << first.describe();
    EXPECT_NE(first.err.find("OVERQUOTA"), std::string::npos) << first.err;
    EXPECT_TRUE(fake.appended().empty());
    EXPECT_TRUE(quarantined("alice-old").empty());
    EXPECT_EQ(dovecot_.messages("alice").size(), 1u);
    EXPECT_NE(status(config).out.find("\"pending\":1"), std::string::npos) << status(config).out;

    auto second = run(config);
    ASSERT_EQ(second.exitCode, 0) << second.describe();
    ASSERT_EQ(fake.appended("INBOX").size(), 1u) << fake.transcript();
    EXPECT_NE(fake.appended()[0].content.find("Subject: quota\r\n\r\nx\r\n"), std::string::npos);
    EXPECT_EQ(dovecot_.messages("alice").size(), 0u);
    EXPECT_TRUE(fake.failures().empty()) << fake.transcript();
}

TEST_F(ImapTargetTest, RefusalWithoutCodeQuarantinesAndDeletesNothing) {
    dovecot_.seed("alice", "INBOX", "Subject: refused\n\nthe target refuses this\n");
    FakeImapTargetOptions options;
    options.appendReplies = {"{tag} NO Message contains invalid header\r\n"};
    FakeImapTarget fake(options);
    auto config = writeConfig(fakeTarget(fake), {{"alice", "keep = false"}});

    auto result = run(config);
    // Every message of the poll refused alike: a failed poll that names the reply.
    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_NE(result.err.find("target refused all 1 messages with: "), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("quarantined"), std::string::npos) << result.err;
    auto files = quarantined("alice-old");
    ASSERT_EQ(files.size(), 1u);
    EXPECT_NE(readFile(files[0]).find("the target refuses this"), std::string::npos);
    EXPECT_EQ(dovecot_.messages("alice").size(), 1u) << "a rejected message is never deleted";
    EXPECT_NE(status(config).out.find("\"quarantined\":1"), std::string::npos);
    ASSERT_EQ(run(config).exitCode, 0);
    EXPECT_EQ(fake.commands("APPEND").size(), 1u) << "not retried by itself";
}

// ---- scripted fake target through makeTarget ------------------------------------------------

class ImapTargetSessionTest : public ::testing::Test {
protected:
    std::unique_ptr<delivery::MessageTarget> target(const FakeImapTarget& fake, std::string folder = "INBOX") {
        return target(fake.port(), std::move(folder));
    }

    std::unique_ptr<delivery::MessageTarget> target(std::uint16_t port, std::string folder = "INBOX",
                                                    net::TlsMode tls = net::TlsMode::None) {
        delivery::TargetOptions options;
        options.protocol = delivery::TargetProtocol::Imap;
        options.connect.host = "127.0.0.1";
        options.connect.port = port;
        options.connect.timeout = std::chrono::seconds(5);
        options.tls = tls;
        options.username = "me";
        options.password = "target-Secret-7Qw";
        options.folder = std::move(folder);
        return delivery::makeTarget(std::move(options));
    }

    delivery::MessageBody body(const std::string& content) {
        delivery::MessageBody message(work_.str());
        message.append(content);
        message.finish();
        return message;
    }

    delivery::OutgoingMessage message(const delivery::MessageBody& content, std::vector<std::string> labels = {},
                                      bool archive = false) {
        delivery::OutgoingMessage out;
        out.headerPrefix = "X-Mailcollector-Account: a\r\n";
        out.body = &content;
        out.account = "a";
        out.labels = std::move(labels);
        out.archive = archive;
        return out;
    }

    TempDir work_{"mc-imap-session"};
};

TEST_F(ImapTargetSessionTest, GmailAppendsOnceAndSetsLabelsWithXGmLabels) {
    FakeImapTargetOptions options;
    options.capabilities = {"IMAP4rev1", "UNSELECT", "LITERAL+", "UIDPLUS", "X-GM-EXT-1"};
    options.folders = {"INBOX", "[Google Mail]/All Mail"};
    options.listEntries = {R"((\HasNoChildren) "/" "INBOX")", R"((\HasNoChildren \All) "/" "[Google Mail]/All Mail")"};
    FakeImapTarget fake(options);
    auto imap = target(fake);
    imap->open();

    auto content = body("Subject: gmail\n\nx\n");
    auto result = imap->deliver(message(content, {"old-isp", kUmlautLabel}));
    EXPECT_EQ(result.outcome, delivery::DeliveryOutcome::Accepted) << result.reply << fake.transcript();
    result = imap->deliver(message(content, {"Work/2019"}, true));
    EXPECT_EQ(result.outcome, delivery::DeliveryOutcome::Accepted) << result.reply << fake.transcript();
    imap->close();

    auto inbox = fake.appended("INBOX");
    ASSERT_EQ(inbox.size(), 1u) << fake.transcript();
    EXPECT_EQ(inbox[0].content, "X-Mailcollector-Account: a\r\nSubject: gmail\r\n\r\nx\r\n");
    EXPECT_EQ(inbox[0].gmailLabels, (std::vector<std::string>{"old-isp", kUmlautWire}));
    auto archived = fake.appended("[Google Mail]/All Mail");  // found by its \All attribute
    ASSERT_EQ(archived.size(), 1u) << fake.transcript();
    EXPECT_EQ(archived[0].gmailLabels, (std::vector<std::string>{"Work/2019"}));
    EXPECT_EQ(fake.appended().size(), 2u) << "one APPEND per message, no label folders";
    EXPECT_TRUE(fake.commands("CREATE").empty());
    EXPECT_EQ(fake.commands("LIST").size(), 1u) << "the \\All folder is looked up once per connection";
    auto stores = fake.commands("UID STORE");
    ASSERT_EQ(stores.size(), 2u);
    EXPECT_EQ(stores[0], "UID STORE 1 +X-GM-LABELS (\"old-isp\" \"Entw&APw-rfe\")");
    EXPECT_TRUE(fake.failures().empty()) << fake.transcript();
}

TEST_F(ImapTargetSessionTest, WithoutLiteralPlusWaitsForTheContinuationAndCreatesMissingFolders) {
    FakeImapTargetOptions options;
    options.capabilities = {"IMAP4rev1", "UIDPLUS"};  // no LITERAL+, no AUTH=PLAIN: LOGIN
    FakeImapTarget fake(options);
    auto imap = target(fake, "Archive");
    auto content = body("Subject: sync\n\n.dot stays\n");
    for (int i = 0; i < 2; ++i) {
        auto result = imap->deliver(message(content, {"Work/2019"}));
        ASSERT_EQ(result.outcome, delivery::DeliveryOutcome::Accepted) << result.reply << fake.transcript();
    }
    imap->close();
    EXPECT_TRUE(fake.failures().empty()) << fake.transcript();
    auto appends = fake.commands("APPEND");
    ASSERT_FALSE(appends.empty());
    for (const auto& line : appends) EXPECT_EQ(line.find("+}"), std::string::npos) << line;
    // Label folder first, the target folder last; each created once on NO [TRYCREATE].
    auto stored = fake.appended();
    ASSERT_EQ(stored.size(), 4u) << fake.transcript();
    EXPECT_EQ(stored[0].folder, "Work/2019");
    EXPECT_EQ(stored[1].folder, "Archive");
    EXPECT_EQ(stored[0].content, "X-Mailcollector-Account: a\r\nSubject: sync\r\n\r\n.dot stays\r\n");
    EXPECT_EQ(fake.commands("CREATE"), (std::vector<std::string>{"CREATE \"Work/2019\"", "CREATE \"Archive\""}));
    EXPECT_EQ(fake.commands("LOGIN").size(), 1u) << "one connection for both messages";
}

TEST_F(ImapTargetSessionTest, ByeMidAppendDefersAndReconnects) {
    FakeImapTargetOptions options;
    options.appendReplies = {"BYE"};
    FakeImapTarget fake(options);
    auto imap = target(fake);
    auto content = body("Subject: bye\n\nx\n");
    auto result = imap->deliver(message(content));
    EXPECT_EQ(result.outcome, delivery::DeliveryOutcome::Deferred) << result.reply;
    EXPECT_TRUE(result.connectionLost);
    EXPECT_NE(result.reply.find("closed the connection"), std::string::npos) << result.reply;
    result = imap->deliver(message(content));
    EXPECT_EQ(result.outcome, delivery::DeliveryOutcome::Accepted) << result.reply << fake.transcript();
    imap->close();
    EXPECT_EQ(fake.appended().size(), 1u);
    EXPECT_EQ(fake.commands("LOGIN").size(), 2u) << "a fresh connection after the BYE";
}

TEST_F(ImapTargetSessionTest, LaterFolderFailureIsReportedWithWhatIsAlreadyDone) {
    FakeImapTargetOptions options;
    options.folders = {"INBOX", "a"};
    options.appendReplies = {"{tag} OK [APPENDUID 1 7] done\r\n", "{tag} NO [OVERQUOTA] full\r\n"};
    FakeImapTarget fake(options);
    auto imap = target(fake);
    auto content = body("Subject: two\n\nx\n");
    auto result = imap->deliver(message(content, {"a"}));
    EXPECT_EQ(result.outcome, delivery::DeliveryOutcome::Deferred) << result.reply;
    EXPECT_FALSE(result.connectionLost);
    EXPECT_NE(result.reply.find("APPEND to 'INBOX': NO [OVERQUOTA] full (already in a"), std::string::npos)
        << result.reply;

    options.appendReplies = {"{tag} BAD Invalid arguments\r\n"};
    FakeImapTarget refusing(options);
    imap = target(refusing);
    result = imap->deliver(message(content));
    EXPECT_EQ(result.outcome, delivery::DeliveryOutcome::Rejected) << result.reply;
}

// A minimal scripted target without LITERAL+ (so APPEND's literal waits for "+"): LOGIN and
// CAPABILITY succeed, APPEND calls ON_APPEND (tag), LOGOUT ends the connection.
Script scriptedTarget(std::function<bool(ScriptedConnection&, const std::string& tag)> onAppend) {
    return Script()
        .sendLine("* OK [CAPABILITY IMAP4rev1] ready")
        .onEachLine([onAppend](ScriptedConnection& c, const std::string& line) {
            std::string tag = line.substr(0, line.find(' '));
            std::string rest = line.substr(std::min(line.size(), tag.size() + 1));
            if (startsWithNoCase(rest, "LOGIN")) return c.send(tag + " OK Logged in\r\n");
            if (startsWithNoCase(rest, "CAPABILITY"))
                return c.send("* CAPABILITY IMAP4rev1\r\n" + tag + " OK done\r\n");
            if (startsWithNoCase(rest, "APPEND")) return onAppend(c, tag);
            if (startsWithNoCase(rest, "LOGOUT")) {
                c.send("* BYE Logging out\r\n" + tag + " OK Logout completed.\r\n");
                c.close();
                return false;
            }
            return c.send(tag + " BAD Unknown command\r\n");
        });
}

// A tagged OK to APPEND before the client sent the synchronizing literal cannot mean the message
// was stored: counting it as accepted would let keep = false delete the only copy.
TEST_F(ImapTargetSessionTest, TaggedOkBeforeTheLiteralIsNotAccepted) {
    ScriptedServer server(scriptedTarget([](ScriptedConnection& c, const std::string& tag) {
        return c.send(tag + " OK [APPENDUID 1 1] Append completed.\r\n");  // no "+", literal never read
    }));
    auto imap = target(server.port());
    auto content = body("Subject: never sent\n\nx\n");
    auto result = imap->deliver(message(content));
    EXPECT_NE(result.outcome, delivery::DeliveryOutcome::Accepted) << result.reply << server.transcript();
    EXPECT_EQ(result.outcome, delivery::DeliveryOutcome::Deferred) << result.reply;
    EXPECT_TRUE(result.connectionLost) << "a server out of step is not talked to again";
    imap->close();
    EXPECT_FALSE(server.receivedContains("never sent"));
}

// Every folder and label is checked before the first APPEND: a name that cannot be sent must not
// leave copies in the folders before it (which every later poll would add to again).
TEST_F(ImapTargetSessionTest, UnsendableNameIsFoundBeforeAnyAppend) {
    std::string tooLong(1100, 'x');  // longer than a quoted string may be
    FakeImapTargetOptions options;
    options.folders = {"INBOX", "a"};
    FakeImapTarget fake(options);
    auto imap = target(fake);
    auto content = body("Subject: long\n\nx\n");
    EXPECT_THROW(imap->deliver(message(content, {"a", tooLong})), delivery::TargetError);
    imap->close();
    EXPECT_TRUE(fake.appended().empty()) << fake.transcript();

    options.capabilities = {"IMAP4rev1", "LITERAL+", "UIDPLUS", "X-GM-EXT-1"};
    FakeImapTarget gmail(options);
    imap = target(gmail);
    EXPECT_THROW(imap->deliver(message(content, {"ok", tooLong})), delivery::TargetError);
    imap->close();
    EXPECT_TRUE(gmail.appended().empty()) << gmail.transcript();
}

// The spool file fails to read while the literal is being sent: the server still waits for the
// rest of the literal, so the connection must be dropped, never used for another command (its
// bytes would complete the literal, and what follows would be read as commands).
TEST_F(ImapTargetSessionTest, BodyReadFailureMidLiteralDropsTheConnection) {
    delivery::MessageBody content(work_.str(), 16);  // spooled to an unlinked file at once
    content.append("Subject: spooled\n\n" + std::string(100, 'y') + "\n");
    content.finish();
    ASSERT_TRUE(content.spooled());
    int spoolFd = -1;
    for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
        std::error_code error;
        auto link = fs::read_symlink(entry.path(), error).string();
        if (!error && link.rfind(work_.str(), 0) == 0 && link.find("(deleted)") != std::string::npos)
            spoolFd = std::stoi(entry.path().filename().string());
    }
    ASSERT_GE(spoolFd, 0);
    int directoryFd = ::open(work_.str().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(directoryFd, 0);
    ScriptedServer server(scriptedTarget([&](ScriptedConnection& c, const std::string&) {
        ::dup2(directoryFd, spoolFd);  // the size is counted; reading the body now fails (EISDIR)
        if (!c.send("+ go ahead\r\n")) return false;
        c.drain(Millis(3'000));  // the literal's bytes and whatever else the client sends
        return false;
    }));
    auto imap = target(server.port());
    EXPECT_ANY_THROW(imap->deliver(message(content)));
    imap->close();
    server.stop();
    ::close(directoryFd);
    std::string received = server.received();
    auto append = received.find("APPEND");
    ASSERT_NE(append, std::string::npos) << server.transcript();
    EXPECT_EQ(received.find("LOGOUT", append), std::string::npos) << "a command was sent into the unfinished literal:\n"
                                                                  << server.transcript();
}

// Bytes after the go-ahead to STARTTLS would be read as if they came over TLS: refused, and no
// credential is sent.
TEST_F(ImapTargetSessionTest, StartTlsResponseInjectionIsRefusedBeforeLogin) {
    ScriptedServer server(Script()
                              .sendLine("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready")
                              .expectMatch("M\\d+ STARTTLS")
                              .send("M1 OK Begin TLS negotiation now\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n")
                              .stall(Millis(500)));
    auto imap = target(server.port(), "INBOX", net::TlsMode::StartTls);
    std::string error;
    try {
        imap->open();
    } catch (const std::exception& e) {
        error = e.what();
    }
    EXPECT_NE(error.find("injection"), std::string::npos) << error;
    imap->close();
    server.stop();
    EXPECT_FALSE(server.receivedContains("target-Secret-7Qw")) << server.transcript();
    EXPECT_FALSE(server.sawLine("M2")) << server.transcript();
}

// The target speaks through the same IMAP connection layer as the source, budgets included: a
// reply drowned in untagged responses is not trusted, the message stays pending on the source.
TEST_F(ImapTargetTest, UntaggedFloodBeforeTheAppendReplyIsNotTrustedAndDeletesNothing) {
    dovecot_.seed("alice", "INBOX", "Subject: flooded\n\nx\n");
    std::string flood;
    for (int i = 0; i < 20'000; ++i) flood += "* OK still storing\r\n";
    FakeImapTargetOptions options;
    options.appendReplies = {flood + "{tag} OK [APPENDUID 1 1] done\r\n"};
    FakeImapTarget fake(options);
    auto config = writeConfig(fakeTarget(fake), {{"alice", "keep = false"}});

    auto result = run(config);

    EXPECT_NE(result.err.find("untagged responses to one command"), std::string::npos) << result.describe();
    EXPECT_EQ(dovecot_.messages("alice").size(), 1u);
    EXPECT_NE(status(config).out.find("\"pending\":1"), std::string::npos) << status(config).out;
}

}  // namespace
}  // namespace mc::testing
