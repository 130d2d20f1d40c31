// POP3 servers that re-use UIDLs or send other bodies than they list, with keep = false: nothing
// is deleted that was not verified, nothing is delivered on trust. The real binary and config;
// scripted servers, since real ones do not lie on demand.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "tests/support/fakes/CollectorHarness.hpp"
#include "tests/support/fakes/FakePop3Server.hpp"
#include "tests/support/fakes/FakeSmtpTarget.hpp"

namespace mc::testing {
namespace {

// Messages of one length whatever the (equally long) NAME: a re-used UIDL then also matches the
// recorded size, as in the reported loss.
std::string message(const std::string& name) {
    return "From: Sender <sender@example.net>\r\n"
           "To: alice@example.com\r\n"
           "Subject: " +
           name +
           "\r\n"
           "Message-ID: <" +
           name +
           "@example.net>\r\n"
           "\r\n"
           "Body of " +
           name + ".\r\n";
}

FakePop3Message numbered(const std::string& name, const std::string& uidl) {
    FakePop3Message m{message(name)};
    m.uidl = uidl;
    return m;
}

AccountConfig keepFalse(std::uint16_t port) {
    AccountConfig account;
    account.port = port;
    account.keep = false;
    return account;
}

class HostilePop3Verify : public ::testing::Test {
protected:
    CollectorHarness harness{"2s"};
    FakeSmtpTarget target{lmtpOptions()};
};

// The server numbers its UIDLs by message number and the reply to QUIT is lost: the deletions
// happened, mailcollector cannot know. The next session lists three new messages under the same
// UIDLs and sizes; they are told apart by their headers (TOP n 0), fetched and delivered, and
// only then deleted.
TEST_F(HostilePop3Verify, UidlsReusedAfterALostQuitReplyDeleteNothingUnfetched) {
    FakePop3Options options;
    options.loseQuitReply = true;
    FakePop3Server pop(options, {numbered("old-1", "1"), numbered("old-2", "2"), numbered("old-3", "3")});
    harness.writeConfig(lmtpTarget(target.port()), {keepFalse(pop.port())});

    auto first = harness.run();
    ASSERT_EQ(first.exitCode, 0) << first.describe();
    ASSERT_EQ(pop.remaining(), 0u) << "the server committed the deletions without saying so";
    ASSERT_EQ(target.messages().size(), 3u);

    for (auto& m : {numbered("new-1", "1"), numbered("new-2", "2"), numbered("new-3", "3")}) pop.addMessage(m);
    options.loseQuitReply = false;
    pop.setOptions(options);
    auto second = harness.run();

    EXPECT_EQ(second.exitCode, 0) << second.describe();
    EXPECT_EQ(subjectsOf(target.messages()),
              (std::set<std::string>{"old-1", "old-2", "old-3", "new-1", "new-2", "new-3"}))
        << target.transcript();
    EXPECT_EQ(target.messages().size(), 6u);
    EXPECT_NE(second.err.find("3 message(s) listed under a delivered UID have other headers"), std::string::npos)
        << second.describe();
    EXPECT_TRUE(pop.server().sawLine("TOP 1 0")) << pop.transcript();
    EXPECT_EQ(pop.remaining(), 0u) << "delivered in this session, so deleted";
}

// A server without TOP cannot confirm a leftover is the message delivered: it stays.
TEST_F(HostilePop3Verify, LeftoverIsKeptWhenTheServerCannotConfirmItsHeaders) {
    FakePop3Options options;
    options.replies["QUIT"] = "";  // the connection ends without QUIT's reply: nothing committed
    FakePop3Server pop(options, {numbered("kept-1", "a")});
    harness.writeConfig(lmtpTarget(target.port()), {keepFalse(pop.port())});
    ASSERT_EQ(harness.run().exitCode, 0);
    ASSERT_EQ(pop.remaining(), 1u);

    options.replies.clear();
    options.replies["TOP"] = "-ERR TOP not supported\r\n";
    pop.setOptions(options);
    auto second = harness.run();

    EXPECT_EQ(second.exitCode, 0) << second.describe();
    EXPECT_NE(second.err.find("1 message(s) due for deletion kept"), std::string::npos) << second.describe();
    EXPECT_EQ(pop.deleCount(), 1u) << "only the first session's DELE\n" << pop.transcript();
    EXPECT_EQ(pop.remaining(), 1u);
    EXPECT_EQ(target.messages().size(), 1u);
}

// The same leftover with an honest TOP: verified, then deleted.
TEST_F(HostilePop3Verify, LeftoverWithTheRecordedHeadersIsDeleted) {
    FakePop3Options options;
    options.replies["QUIT"] = "";
    FakePop3Server pop(options, {numbered("left-1", "a")});
    harness.writeConfig(lmtpTarget(target.port()), {keepFalse(pop.port())});
    ASSERT_EQ(harness.run().exitCode, 0);
    ASSERT_EQ(pop.remaining(), 1u);

    pop.setOptions(FakePop3Options{});
    auto second = harness.run();

    EXPECT_EQ(second.exitCode, 0) << second.describe();
    EXPECT_EQ(pop.remaining(), 0u) << pop.transcript();
    EXPECT_EQ(target.messages().size(), 1u) << "verified by its headers: not fetched or sent again";
}

// A body shorter than LIST announced, twice: not delivered, not deleted, pending with a reason;
// the other messages are collected.
TEST_F(HostilePop3Verify, BodyShorterThanListedIsNeitherDeliveredNorDeleted) {
    FakePop3Message short1{message("short-1")};
    short1.listSize = std::to_string(short1.content.size() + 40);
    FakePop3Server pop(FakePop3Options{},
                       {FakePop3Message{message("whole-1")}, short1, FakePop3Message{message("whole-2")}});
    harness.writeConfig(lmtpTarget(target.port()), {keepFalse(pop.port())});

    auto result = harness.run();

    EXPECT_EQ(subjectsOf(target.messages()), (std::set<std::string>{"whole-1", "whole-2"})) << target.transcript();
    EXPECT_EQ(pop.server().countLines("RETR 2"), 2u) << "fetched once more before giving up\n" << pop.transcript();
    EXPECT_FALSE(pop.server().sawLine("DELE 2")) << pop.transcript();
    EXPECT_EQ(pop.remaining(), 1u);
    std::string reason = "server sent " + std::to_string(short1.content.size()) + " bytes, listed " +
                         std::to_string(short1.content.size() + 40);
    EXPECT_NE(result.err.find(reason), std::string::npos) << result.describe();
}

// A RETR reply cut after the header block, LIST saying the whole size: never delivered, never
// deleted, fetched once more before giving up.
TEST_F(HostilePop3Verify, TruncatedRetrBodyIsNeverDeliveredOrDeleted) {
    FakePop3Message truncated{message("trunc-1")};
    std::string header = truncated.content.substr(0, truncated.content.find("\r\n\r\n") + 4);
    truncated.retrReply = "+OK\r\n" + header + ".\r\n";
    FakePop3Server pop(FakePop3Options{}, {truncated});
    harness.writeConfig(lmtpTarget(target.port()), {keepFalse(pop.port())});

    auto result = harness.run();

    EXPECT_TRUE(target.messages().empty()) << "a cut body must never be delivered\n" << target.transcript();
    EXPECT_EQ(pop.server().countLines("RETR 1"), 2u) << pop.transcript();
    EXPECT_EQ(pop.deleCount(), 0u) << pop.transcript();
    EXPECT_EQ(pop.remaining(), 1u);
    EXPECT_NE(result.err.find("server sent " + std::to_string(header.size()) + " bytes, listed " +
                              std::to_string(truncated.content.size())),
              std::string::npos)
        << result.describe();
}

}  // namespace
}  // namespace mc::testing
