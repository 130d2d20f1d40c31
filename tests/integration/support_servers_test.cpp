// The test-support layer itself: the private Dovecot, smtp-sink, the test CA, and the process
// helpers work as the other integration tests expect them to.

#include <sys/stat.h>

#include <Poco/Net/Context.h>
#include <Poco/Net/SSLException.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/DovecotServer.hpp"
#include "tests/support/Process.hpp"
#include "tests/support/SmtpSink.hpp"
#include "tests/support/TempDir.hpp"
#include "tests/support/TestCa.hpp"
#include "tests/support/TextClient.hpp"

namespace mc::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;
using namespace std::chrono_literals;

std::string message(const std::string& subject, const std::string& body) {
    return "From: Sender <sender@example.org>\nTo: alice@example.org\nSubject: " + subject + "\nMessage-ID: <" +
           subject + "@example.org>\n\n" + body;
}

// Sends CONTENT ("\n" line ends) as DATA: CRLF line ends, dot-stuffed, terminated.
void sendData(TextClient& client, const std::string& content) {
    std::string wire;
    std::size_t start = 0;
    while (start < content.size()) {
        std::size_t end = content.find('\n', start);
        std::string line = content.substr(start, end == std::string::npos ? end : end - start);
        if (!line.empty() && line[0] == '.') wire += '.';
        wire += line + "\r\n";
        if (end == std::string::npos) break;
        start = end + 1;
    }
    wire += ".\r\n";
    client.writeRaw(wire);
}

std::string joinLines(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& line : lines) text += line + "\n";
    return text;
}

void pop3Login(TextClient& client, const std::string& user, const std::string& password) {
    ASSERT_THAT(client.command("USER " + user), StartsWith("+OK"));
    ASSERT_THAT(client.command("PASS " + password), StartsWith("+OK"));
}

// --- Dovecot -----------------------------------------------------------------------------

TEST(DovecotServerTest, Pop3ListsSeededMessagesInSeedOrder) {
    DovecotServer dovecot;
    dovecot.addUser("alice", "alice-pw");
    const std::vector<std::string> seeded = {message("first", "one\n"), message("second", ".leading dot\ntwo\n"),
                                             message("third", "three\n")};
    for (const auto& content : seeded) dovecot.seed("alice", "INBOX", content);

    TextClient pop3(dovecot.host(), dovecot.pop3Port());
    ASSERT_THAT(pop3.readLine(), StartsWith("+OK"));
    pop3Login(pop3, "alice", "alice-pw");
    ASSERT_THAT(pop3.command("LIST"), StartsWith("+OK"));
    EXPECT_THAT(pop3.readDotTerminated(), SizeIs(3));
    ASSERT_THAT(pop3.command("UIDL"), StartsWith("+OK"));
    std::vector<std::string> uidl = pop3.readDotTerminated();
    ASSERT_THAT(uidl, SizeIs(3));
    std::set<std::string> uids;
    for (const auto& line : uidl) uids.insert(line.substr(line.find(' ') + 1));
    EXPECT_THAT(uids, SizeIs(3));
    for (int number = 1; number <= 3; ++number) {
        ASSERT_THAT(pop3.command("RETR " + std::to_string(number)), StartsWith("+OK"));
        EXPECT_EQ(joinLines(pop3.readDotTerminated()), seeded[number - 1]) << number;
    }
    EXPECT_THAT(pop3.command("QUIT"), StartsWith("+OK"));
}

TEST(DovecotServerTest, WrongPasswordIsRefused) {
    DovecotServer dovecot;
    dovecot.addUser("alice", "alice-pw");
    TextClient pop3(dovecot.host(), dovecot.pop3Port());
    ASSERT_THAT(pop3.readLine(), StartsWith("+OK"));
    ASSERT_THAT(pop3.command("USER alice"), StartsWith("+OK"));
    EXPECT_THAT(pop3.command("PASS wrong"), StartsWith("-ERR"));
}

TEST(DovecotServerTest, SeededFolderIsVisibleOverImap) {
    DovecotServer dovecot;
    dovecot.addUser("bob", "bob-pw");
    dovecot.seed("bob", "Work/2019", message("archived", "old\n"));
    dovecot.seed("bob", "INBOX", message("current", "new\n"));

    TextClient imap(dovecot.host(), dovecot.imapPort());
    ASSERT_THAT(imap.readLine(), StartsWith("* OK"));
    imap.writeLine("a LOGIN bob bob-pw");
    ASSERT_THAT(imap.readUntilTagged("a").back(), StartsWith("a OK"));
    imap.writeLine("b LIST \"\" \"*\"");
    std::vector<std::string> list = imap.readUntilTagged("b");
    EXPECT_THAT(joinLines(list), HasSubstr("\"/\" Work/2019"));
    imap.writeLine("c SELECT Work/2019");
    EXPECT_THAT(joinLines(imap.readUntilTagged("c")), HasSubstr("* 1 EXISTS"));
    EXPECT_THAT(dovecot.messages("bob", "Work/2019"), ElementsAre(message("archived", "old\n")));
    EXPECT_THAT(dovecot.messages("bob"), ElementsAre(message("current", "new\n")));
}

TEST(DovecotServerTest, LmtpDeliveryShowsUpInMessages) {
    DovecotServer dovecot;
    dovecot.addUser("me", "me-pw");
    const std::string content = message("lmtp", "line\n.dotted line\nünïcödé\n");

    TextClient lmtp(dovecot.host(), dovecot.lmtpPort());
    ASSERT_THAT(lmtp.readLine(), StartsWith("220"));
    lmtp.writeLine("LHLO test.example");
    ASSERT_THAT(lmtp.readReply().back(), StartsWith("250"));
    ASSERT_THAT(lmtp.command("MAIL FROM:<sender@example.org>"), StartsWith("250"));
    ASSERT_THAT(lmtp.command("RCPT TO:<me>"), StartsWith("250"));
    ASSERT_THAT(lmtp.command("RCPT TO:<me+alice@localhost>"), StartsWith("250"));
    EXPECT_THAT(lmtp.command("RCPT TO:<nosuchuser>"), StartsWith("550"));
    ASSERT_THAT(lmtp.command("DATA"), StartsWith("354"));
    sendData(lmtp, content);
    EXPECT_THAT(lmtp.readLine(), StartsWith("250"));  // LMTP: one reply per accepted recipient
    EXPECT_THAT(lmtp.readLine(), StartsWith("250"));
    lmtp.command("QUIT");

    ASSERT_TRUE(dovecot.waitForMessages("me", 1)) << dovecot.log();
    std::vector<std::string> inbox = dovecot.messages("me");
    ASSERT_THAT(inbox, SizeIs(1));
    EXPECT_THAT(inbox[0], StartsWith("Return-Path: <sender@example.org>\n"));
    EXPECT_EQ(DovecotServer::stripTraceHeaders(inbox[0]), content);
    std::vector<std::string> labelled = dovecot.messages("me", "alice");
    ASSERT_THAT(labelled, SizeIs(1));
    EXPECT_EQ(DovecotServer::stripTraceHeaders(labelled[0]), content);
    EXPECT_THAT(dovecot.messageFiles("me"), SizeIs(1));
}

TEST(DovecotServerTest, StripTraceHeadersKeepsOtherReceivedHeaders) {
    const std::string original =
        "Received: from a by mailcollector (mailcollector 0.1.0) for <x>; date\nSubject: s\n\nb\n";
    const std::string delivered =
        "Return-Path: <s@example.org>\nDelivered-To: me\nReceived: from test ([127.0.0.1])\n"
        "\tby localhost with LMTP\n\tid abc\n\tfor <me>; Thu, 26 Nov 2026 03:39:11 +0000\n" +
        original;
    EXPECT_EQ(DovecotServer::stripTraceHeaders(delivered), original);
    EXPECT_EQ(DovecotServer::stripTraceHeaders(original), original);
}

TEST(DovecotServerTest, Pop3sAndStlsVerifyAgainstCaFile) {
    DovecotServer dovecot;
    dovecot.addUser("alice", "alice-pw");
    auto context = verifyingClientContext(dovecot.caFile());

    TextClient pop3s(dovecot.host(), dovecot.pop3sPort(), context, "localhost");
    ASSERT_THAT(pop3s.readLine(), StartsWith("+OK"));
    pop3Login(pop3s, "alice", "alice-pw");
    EXPECT_THAT(pop3s.command("STAT"), StartsWith("+OK 0 0"));

    TextClient stls(dovecot.host(), dovecot.pop3Port());
    ASSERT_THAT(stls.readLine(), StartsWith("+OK"));
    ASSERT_THAT(stls.command("STLS"), StartsWith("+OK"));
    stls.startTls(context, "localhost");
    pop3Login(stls, "alice", "alice-pw");

    TextClient imaps(dovecot.host(), dovecot.imapsPort(), context, "localhost");
    EXPECT_THAT(imaps.readLine(), StartsWith("* OK"));
}

TEST(DovecotServerTest, ValidCertificateMatchesTheLoopbackAddress) {
    DovecotServer dovecot;
    auto context = verifyingClientContext(dovecot.caFile());
    TextClient pop3s(dovecot.host(), dovecot.pop3sPort(), context, "127.0.0.1");
    EXPECT_THAT(pop3s.readLine(), StartsWith("+OK"));
}

class BadCertificateTest : public ::testing::TestWithParam<CertKind> {};

TEST_P(BadCertificateTest, VerifyingClientRefusesIt) {
    DovecotServer dovecot(GetParam());
    // The server itself is fine: a client that does not verify gets the greeting...
    Poco::Net::Context::Params lax;
    lax.verificationMode = Poco::Net::Context::VERIFY_NONE;
    lax.loadDefaultCAs = false;
    verifyingClientContext(dovecot.caFile());  // initializes Poco's SSL
    Poco::Net::Context::Ptr laxContext = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, lax);
    TextClient unverified(dovecot.host(), dovecot.pop3sPort(), laxContext, "localhost");
    EXPECT_THAT(unverified.readLine(), StartsWith("+OK"));

    // ...but one that verifies against the test CA refuses the certificate.
    auto strict = verifyingClientContext(dovecot.caFile());
    EXPECT_THROW(TextClient(dovecot.host(), dovecot.pop3sPort(), strict, "localhost"), Poco::Net::SSLException)
        << toString(GetParam());
    EXPECT_THROW(TextClient(dovecot.host(), dovecot.imapsPort(), strict, "localhost"), Poco::Net::SSLException)
        << toString(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Kinds, BadCertificateTest,
                         ::testing::Values(CertKind::Expired, CertKind::WrongHost, CertKind::UnknownCa),
                         [](const auto& info) { return toString(info.param); });

TEST(TestCaTest, SharedSetHasEveryFile) {
    const TestCa& ca = TestCa::shared();
    EXPECT_TRUE(std::filesystem::exists(ca.caFile()));
    EXPECT_TRUE(std::filesystem::exists(ca.otherCaFile()));
    for (CertKind kind : {CertKind::Valid, CertKind::Expired, CertKind::WrongHost, CertKind::UnknownCa}) {
        EXPECT_TRUE(std::filesystem::exists(ca.certFile(kind))) << toString(kind);
        EXPECT_TRUE(std::filesystem::exists(ca.keyFile(kind))) << toString(kind);
    }
    ProcessResult verify = runProcess({"openssl", "verify", "-CAfile", ca.caFile(), ca.certFile(CertKind::Valid)});
    EXPECT_TRUE(verify.ok()) << verify.describe();
}

// --- smtp-sink ---------------------------------------------------------------------------

TEST(SmtpSinkTest, DumpsAcceptedMessageWithEnvelope) {
    SmtpSink sink;
    const std::string content = message("sink", "body\n.dotted\n\nlast line\n");
    TextClient smtp(sink.host(), sink.port());
    ASSERT_THAT(smtp.readLine(), StartsWith("220"));
    smtp.writeLine("EHLO client.example");
    ASSERT_THAT(smtp.readReply().back(), StartsWith("250"));
    ASSERT_THAT(smtp.command("MAIL FROM:<sender@example.org> BODY=8BITMIME"), StartsWith("250"));
    ASSERT_THAT(smtp.command("RCPT TO:<one@example.org>"), StartsWith("250"));
    ASSERT_THAT(smtp.command("RCPT TO:<two@example.org>"), StartsWith("250"));
    ASSERT_THAT(smtp.command("DATA"), StartsWith("354"));
    sendData(smtp, content);
    ASSERT_THAT(smtp.readLine(), StartsWith("250"));
    smtp.command("QUIT");

    // The dump is complete when smtp-sink answers "." -- no waiting needed.
    std::vector<SinkTransaction> transactions = sink.transactions();
    ASSERT_THAT(transactions, SizeIs(1));
    EXPECT_EQ(transactions[0].protocol, "ESMTP");
    EXPECT_EQ(transactions[0].heloArgs, "client.example");
    EXPECT_EQ(transactions[0].mailArgs, "<sender@example.org> BODY=8BITMIME");
    EXPECT_THAT(transactions[0].rcptArgs, ElementsAre("<one@example.org>", "<two@example.org>"));
    EXPECT_THAT(sink.messages(), ElementsAre(content));
}

TEST(SmtpSinkTest, SpeaksLmtp) {
    SmtpSink sink({.lmtp = true});
    TextClient lmtp(sink.host(), sink.port());
    ASSERT_THAT(lmtp.readLine(), StartsWith("220"));
    lmtp.writeLine("LHLO client.example");
    ASSERT_THAT(lmtp.readReply().back(), StartsWith("250"));
    ASSERT_THAT(lmtp.command("MAIL FROM:<>"), StartsWith("250"));
    ASSERT_THAT(lmtp.command("RCPT TO:<a@example.org>"), StartsWith("250"));
    ASSERT_THAT(lmtp.command("RCPT TO:<b@example.org>"), StartsWith("250"));
    ASSERT_THAT(lmtp.command("DATA"), StartsWith("354"));
    sendData(lmtp, message("lmtp", "x\n"));
    EXPECT_THAT(lmtp.readLine(), StartsWith("250"));
    EXPECT_THAT(lmtp.readLine(), StartsWith("250"));
    ASSERT_TRUE(sink.waitForTransactions(1));
    EXPECT_EQ(sink.transactions()[0].protocol, "LMTP");
    EXPECT_THAT(sink.messages(), ElementsAre(message("lmtp", "x\n")));
}

TEST(SmtpSinkTest, HardRejectAtEndOfData) {
    SmtpSink sink({.extraFlags = {"-f", "."}});
    TextClient smtp(sink.host(), sink.port());
    ASSERT_THAT(smtp.readLine(), StartsWith("220"));
    smtp.writeLine("EHLO client.example");
    ASSERT_THAT(smtp.readReply().back(), StartsWith("250"));
    ASSERT_THAT(smtp.command("MAIL FROM:<sender@example.org>"), StartsWith("250"));
    ASSERT_THAT(smtp.command("RCPT TO:<one@example.org>"), StartsWith("250"));
    ASSERT_THAT(smtp.command("DATA"), StartsWith("354"));
    sendData(smtp, message("rejected", "no\n"));
    EXPECT_THAT(smtp.readLine(), StartsWith("5"));
    EXPECT_THAT(sink.messages(), SizeIs(0));
    EXPECT_THAT(sink.transactions(), SizeIs(1));  // dumped before it answered
}

TEST(SmtpSinkTest, SoftRejectAtRcpt) {
    SmtpSink sink({.extraFlags = {"-r", "RCPT"}});
    TextClient smtp(sink.host(), sink.port());
    ASSERT_THAT(smtp.readLine(), StartsWith("220"));
    smtp.writeLine("EHLO client.example");
    ASSERT_THAT(smtp.readReply().back(), StartsWith("250"));
    ASSERT_THAT(smtp.command("MAIL FROM:<sender@example.org>"), StartsWith("250"));
    EXPECT_THAT(smtp.command("RCPT TO:<one@example.org>"), StartsWith("4"));
    EXPECT_THAT(smtp.command("RSET"), StartsWith("250"));
    smtp.command("QUIT");
    EXPECT_THAT(sink.transactions(), SizeIs(0));
}

// --- processes and directories -----------------------------------------------------------

TEST(ProcessTest, CapturesExitCodeAndOutput) {
    ProcessResult result = runProcess({"sh", "-c", "echo out; echo \"$MC_X\" >&2; exit 3"}, {{"MC_X", "env ok"}});
    EXPECT_EQ(result.exitCode, 3);
    EXPECT_EQ(result.out, "out\n");
    EXPECT_EQ(result.err, "env ok\n");
    EXPECT_FALSE(result.timedOut);
}

TEST(ProcessTest, PassesInputAndWorkingDir) {
    TempDir dir;
    ProcessSpec spec;
    spec.argv = {"sh", "-c", "pwd; cat"};
    spec.workingDir = dir.path();
    spec.input = "from stdin";
    ProcessResult result = runProcess(spec);
    EXPECT_EQ(result.out, dir.str() + "\nfrom stdin");
}

TEST(ProcessTest, KillsOnTimeoutAndDoesNotWaitForDaemons) {
    auto start = std::chrono::steady_clock::now();
    ProcessResult slow = runProcess({"sleep", "30"}, {}, 1s);
    EXPECT_TRUE(slow.timedOut);
    EXPECT_EQ(slow.termSignal, SIGKILL);
    // A child that leaves something running with our stdout open must not block us.
    ProcessResult daemonizing = runProcess({"sh", "-c", "setsid sleep 3 & echo started"});
    EXPECT_EQ(daemonizing.out, "started\n");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
    EXPECT_THROW(runProcess({"/nonexistent/program"}), std::runtime_error);
}

TEST(ProcessTest, BackgroundProcessCanBeKilledMidRun) {
    BackgroundProcess process({"sh", "-c", "echo ready; exec sleep 30"});
    ASSERT_TRUE(process.waitForOutput("ready", 5s));
    EXPECT_TRUE(process.running());
    EXPECT_FALSE(process.wait(50ms).has_value());
    ProcessResult result = process.stop(SIGKILL);
    EXPECT_EQ(result.termSignal, SIGKILL);
    EXPECT_EQ(result.out, "ready\n");
    EXPECT_FALSE(process.running());
}

TEST(ProcessTest, ChildDiesWithTheThreadThatStartedIt) {
    std::unique_ptr<BackgroundProcess> process;
    std::thread([&process] {
        process = std::make_unique<BackgroundProcess>(std::vector<std::string>{"sleep", "30"});
    }).join();
    std::optional<ProcessResult> result = process->wait(5s);
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->termSignal, SIGKILL);
}

TEST(TempDirTest, IsRemovedUnlessKept) {
    std::filesystem::path path;
    {
        TempDir dir("mc-tempdir-test");
        path = dir.path();
        dir.writeFile("a/b.txt", "x", 0600);
        EXPECT_EQ(readFile(path / "a" / "b.txt"), "x");
        struct stat info {};
        ASSERT_EQ(::stat(path.c_str(), &info), 0);
        EXPECT_EQ(info.st_mode & 0777, 0700u);
    }
    if (std::getenv("MC_KEEP_TEST_DIRS") == nullptr) {
        EXPECT_FALSE(std::filesystem::exists(path));
    }
    EXPECT_GT(freeLoopbackPort(), 0);
}

}  // namespace
}  // namespace mc::testing
