// Byte budgets, end to end: the real mailcollector binary against scripted servers that send
// volumes (endless CAPA, UIDL lines far beyond RFC 1939, floods of untagged FETCH responses,
// bodies nobody asked for, huge literals in a listing) and against an IMAP server that labels one
// message's body as another's. Each test measures the child's peak resident set (wait4
// ru_maxrss) against the 64 MB a poll may take, checks that the hostile account failed with the
// limit named while a healthy account in the same config delivered. The fakes generate their
// volumes while sending: nothing large is built in the test's memory.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/fakes/CollectorHarness.hpp"
#include "tests/support/fakes/FakeImapServer.hpp"
#include "tests/support/fakes/FakePop3Server.hpp"
#include "tests/support/fakes/FakeSmtpTarget.hpp"
#include "tests/support/fakes/ScriptedServer.hpp"

namespace mc::testing {
namespace {

constexpr long kPollMemoryBudgetKb = 64 * 1024;

std::string message(const std::string& subject, const std::string& body = "Hello.\r\n") {
    return "From: Sender <sender@example.net>\r\n"
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

// Sends COUNT copies of what LINE(i) returns, in batches, stopping when the client is gone.
template <typename LineFor>
bool sendGenerated(ScriptedConnection& c, std::size_t count, LineFor line) {
    std::string batch;
    for (std::size_t i = 0; i < count; ++i) {
        batch += line(i);
        if (batch.size() >= 256 * 1024) {
            if (!c.send(batch)) return false;
            batch.clear();
        }
    }
    return batch.empty() || c.send(batch);
}

class HostileBudget : public ::testing::Test {
protected:
    CollectorHarness harness{"5s"};
    FakeSmtpTarget target{lmtpOptions()};
    FakePop3Server goodPop{FakePop3Options{}, {{message("healthy")}}};

    AccountConfig pop3Account(std::uint16_t port, const std::string& name) {
        AccountConfig account;
        account.name = name;
        account.port = port;
        return account;
    }
    AccountConfig imapAccount(const FakeImapServer& imap, const std::string& name, bool keep = true) {
        AccountConfig account;
        account.name = name;
        account.protocol = "imap";
        account.port = imap.port();
        account.username = imap.options().user;
        account.password = imap.options().password;
        account.keep = keep;
        account.extra = "folders = [\"INBOX\"]\n";
        return account;
    }
    // The hostile account plus the healthy POP3 one.
    void writeConfig(const AccountConfig& hostile) {
        TargetConfig config;
        config.protocol = "lmtp";
        config.port = target.port();
        harness.writeConfig(config, {hostile, pop3Account(goodPop.port(), "good")});
    }
    bool delivered(const std::string& subject) {
        for (const auto& data : target.messages())
            if (data.find("Subject: " + subject + "\r\n") != std::string::npos) return true;
        return false;
    }
    // The hostile account failed naming LIMIT, the healthy one delivered, and the whole run
    // stayed within the memory budget.
    void expectLimitHit(const ProcessResult& result, const std::string& limit) {
        EXPECT_FALSE(result.timedOut) << result.describe();
        EXPECT_EQ(result.exitCode, 1) << result.describe();
        EXPECT_NE(result.err.find("account=bad poll failed"), std::string::npos) << result.describe();
        EXPECT_NE(result.err.find(limit), std::string::npos) << "stderr lacks '" << limit << "':\n"
                                                             << result.describe();
        EXPECT_TRUE(delivered("healthy")) << target.transcript();
        expectWithinMemoryBudget(result);
    }
    void expectWithinMemoryBudget(const ProcessResult& result) {
        RecordProperty("peak_rss_kb", std::to_string(result.peakRssKb));
        EXPECT_GT(result.peakRssKb, 0);
        EXPECT_LT(result.peakRssKb, kPollMemoryBudgetKb) << "peak RSS " << result.peakRssKb << " KiB";
    }
};

// ---- POP3 ---------------------------------------------------------------------------------------

TEST_F(HostileBudget, Pop3EndlessCapaBeforeLoginFailsTheAccountWithinTheBudget) {
    // Reachable by anyone on the path before STLS: 160 MB of capabilities.
    FakePop3Options options;
    options.generatedReplies["CAPA"] = [](ScriptedConnection& c) {
        if (!c.send("+OK capabilities follow\r\n")) return false;
        std::string filler(8000, 'X');
        return sendGenerated(c, 20'000, [&](std::size_t) { return "X-CAP " + filler + "\r\n"; }) && c.send(".\r\n");
    };
    FakePop3Server bad(options, {{message("m1")}});
    writeConfig(pop3Account(bad.port(), "bad"));

    auto result = harness.run({}, std::chrono::seconds(60));

    expectLimitHit(result, "CAPA listing exceeds the limit of");
    EXPECT_FALSE(bad.sawCredentials()) << bad.transcript();
}

TEST_F(HostileBudget, Pop3UidlLinesLongerThanRfc1939FailTheAccountWithinTheBudget) {
    FakePop3Options options;
    options.generatedReplies["UIDL"] = [](ScriptedConnection& c) {
        if (!c.send("+OK\r\n")) return false;
        std::string filler(7000, 'u');
        return sendGenerated(c, 20'000, [&](std::size_t i) { return std::to_string(i + 1) + " " + filler + "\r\n"; }) &&
               c.send(".\r\n");
    };
    FakePop3Server bad(options, {{message("m1")}});
    writeConfig(pop3Account(bad.port(), "bad"));

    auto result = harness.run({}, std::chrono::seconds(60));

    expectLimitHit(result, "UIDL longer than the limit of 70 characters");
}

// ---- IMAP ---------------------------------------------------------------------------------------

TEST_F(HostileBudget, ImapFloodOfUntaggedFetchResponsesFailsTheAccountWithinTheBudget) {
    // One message in the folder, four million listing responses for it.
    FakeImapOptions options;
    options.generatedReplies["FETCH"] = [](ScriptedConnection& c, const std::string& tag) {
        return sendGenerated(c, 4'000'000,
                             [](std::size_t i) {
                                 std::string n = std::to_string(i + 1);
                                 return "* " + n + " FETCH (UID " + n + " RFC822.SIZE 100)\r\n";
                             }) &&
               c.send(tag + " OK FETCH done\r\n");
    };
    FakeImapFolder folder;
    folder.messages = {message("m1")};
    FakeImapServer bad(options, {folder});
    writeConfig(imapAccount(bad, "bad"));

    auto result = harness.run({}, std::chrono::seconds(60));

    expectLimitHit(result, "untagged responses to one command");
}

TEST_F(HostileBudget, ImapHugeLiteralsInAListingResponseFailTheAccountWithinTheBudget) {
    // Five 20 MB literals in one listing response: nothing we keep, all of it held as it stood.
    FakeImapOptions options;
    options.generatedReplies["FETCH"] = [](ScriptedConnection& c, const std::string& tag) {
        const std::size_t size = 20'000'000;
        std::string chunk(1 << 20, 'L');
        if (!c.send("* 1 FETCH (UID 1 RFC822.SIZE 100")) return false;
        for (int i = 0; i < 5; ++i) {
            if (!c.send(" X-JUNK {" + std::to_string(size) + "}\r\n")) return false;
            for (std::size_t sent = 0; sent < size; sent += chunk.size())
                if (!c.send(std::string_view(chunk).substr(0, std::min(chunk.size(), size - sent)))) return false;
        }
        return c.send(")\r\n" + tag + " OK FETCH done\r\n");
    };
    FakeImapFolder folder;
    folder.messages = {message("m1")};
    FakeImapServer bad(options, {folder});
    writeConfig(imapAccount(bad, "bad"));

    auto result = harness.run({}, std::chrono::seconds(60));

    expectLimitHit(result, "bytes held per response");
}

TEST_F(HostileBudget, ImapBodiesWithoutUidAreDroppedAndTheRequestedOneDelivered) {
    // Before the real answer, 300 bodies of 1 MB that carry no UID (and so answer nothing asked).
    FakeImapFolder folder;
    FakeImapMessage wanted{message("wanted")};
    std::string junk(1'000'000, 'j');
    folder.messages = {wanted};
    FakeImapOptions options;
    const std::string content = wanted.content;
    options.generatedReplies["UID FETCH"] = [content, junk](ScriptedConnection& c, const std::string& tag) {
        for (int i = 0; i < 300; ++i)
            if (!c.send("* " + std::to_string(i + 2) + " FETCH (BODY[] {" + std::to_string(junk.size()) + "}\r\n") ||
                !c.send(junk) || !c.send(")\r\n"))
                return false;
        return c.send("* 1 FETCH (UID 1 BODY[] {" + std::to_string(content.size()) + "}\r\n" + content + ")\r\n" + tag +
                      " OK FETCH done\r\n");
    };
    FakeImapServer bad(options, {folder});
    writeConfig(imapAccount(bad, "bad"));

    auto result = harness.run({}, std::chrono::seconds(60));

    EXPECT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_TRUE(delivered("wanted")) << target.transcript();
    EXPECT_TRUE(delivered("healthy")) << target.transcript();
    EXPECT_EQ(target.messages().size(), 2u) << target.transcript();
    EXPECT_NE(result.err.find("not asked for"), std::string::npos) << result.describe();
    expectWithinMemoryBudget(result);
}

// ---- IMAP bodies labelled as another message (issue: UID 2's body delivered as UID 3) -----------

class LyingImapLabels : public HostileBudget, public ::testing::WithParamInterface<bool> {};

// false: the lie keeps the true sequence number (and so differs in size from the listing);
// true: another message's sequence number, with content of the same size.
TEST_P(LyingImapLabels, BodyLabelledWithAnotherUidIsNeitherDeliveredNorDeleted) {
    bool sameSize = GetParam();
    std::string second = message("second", "Second body.\r\n");
    std::string third = sameSize ? message("thirdx", "Second body.\r\n") : message("third", "Third body, longer.\r\n");
    ASSERT_EQ(sameSize, second.size() == third.size());
    FakeImapMessage lie{third};
    lie.fetchReply = "* " + std::string(sameSize ? "2" : "3") + " FETCH (UID 3 BODY[] {" +
                     std::to_string(second.size()) + "}\r\n" + second + ")\r\n";
    FakeImapFolder folder;
    folder.messages = {FakeImapMessage{message("first")}, FakeImapMessage{second}, lie};
    FakeImapServer bad(FakeImapOptions{}, {folder});
    writeConfig(imapAccount(bad, "bad", /*keep=*/false));

    auto result = harness.run({}, std::chrono::seconds(60));

    EXPECT_FALSE(result.timedOut) << result.describe();
    EXPECT_NE(result.err.find("uid=3 left pending"), std::string::npos) << result.describe();
    std::size_t secondCopies = 0;
    for (const auto& data : target.messages())
        if (data.find("Subject: second\r\n") != std::string::npos) ++secondCopies;
    EXPECT_EQ(secondCopies, 1u) << target.transcript();
    EXPECT_TRUE(delivered("first"));
    // UID 3 was never delivered: it stays on the server.
    EXPECT_EQ(bad.uids("INBOX"), std::vector<std::uint32_t>{3}) << bad.transcript();
    auto status = harness.status();
    EXPECT_NE(status.out.find("pending 1;"), std::string::npos) << status.describe();
}

INSTANTIATE_TEST_SUITE_P(Labels, LyingImapLabels, ::testing::Bool());

}  // namespace
}  // namespace mc::testing
