// The IMAP source end to end, at the level the user sees: the mailcollector binary with a config
// file, a real private Dovecot (IMAP with STARTTLS, IMAPS, LMTP as the target), and a second
// IMAP client (TextClient) that looks at -- or meddles with -- the source mailboxes the way
// another mail program would.

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "collector/ledger/SqliteLedgerStore.hpp"
#include "tests/support/DovecotServer.hpp"
#include "tests/support/Process.hpp"
#include "tests/support/TempDir.hpp"
#include "tests/support/TextClient.hpp"

namespace mc::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Folder names as the maildir stores them (modified UTF-7, RFC 3501 5.1.3): Dovecot's default
// maildir layout keeps the IMAP name on disk, so seeding into ".Entw&APw-rfe.2020" creates the
// folder that IMAP clients see as "Entwürfe/2020".
constexpr const char* kUmlautFolderUtf8 = "Entwürfe/2020";
constexpr const char* kUmlautFolderWire = "Entw&APw-rfe/2020";
constexpr const char* kCyrillicFolderWire = "&BBAEQARFBDgEMg-";

// A second IMAP client on Dovecot's plain port: tagged commands, whole responses as lines.
class ImapProbe {
public:
    ImapProbe(const DovecotServer& dovecot, const std::string& user, const std::string& password)
        : client_(dovecot.host(), dovecot.imapPort()) {
        std::string greeting = client_.readLine();
        if (greeting.rfind("* OK", 0) != 0) throw std::runtime_error("unexpected greeting: " + greeting);
        expectOk("LOGIN " + user + " " + password);
    }
    ~ImapProbe() {
        try {
            command("LOGOUT");
        } catch (const std::exception&) {
        }
    }

    // Sends a command; returns every line up to and including the tagged one.
    std::vector<std::string> command(const std::string& line) {
        std::string tag = "P" + std::to_string(++tags_);
        client_.writeLine(tag + " " + line);
        return client_.readUntilTagged(tag);
    }
    std::vector<std::string> expectOk(const std::string& line) {
        auto lines = command(line);
        if (lines.back().find(" OK") == std::string::npos)
            throw std::runtime_error("'" + line + "' failed: " + lines.back());
        return lines;
    }

    // UID -> flags (as Dovecot lists them, e.g. "\Seen \Deleted"), of the folder's messages.
    std::map<std::uint32_t, std::string> flags(const std::string& wireFolder) {
        expectOk("EXAMINE \"" + wireFolder + "\"");
        std::map<std::uint32_t, std::string> result;
        for (const auto& line : expectOk("UID FETCH 1:* (FLAGS)")) {
            auto uidAt = line.find("UID ");
            auto flagsAt = line.find("FLAGS (");
            if (line.rfind("* ", 0) != 0 || uidAt == std::string::npos || flagsAt == std::string::npos) continue;
            std::uint32_t uid = std::stoul(line.substr(uidAt + 4));
            auto end = line.find(')', flagsAt);
            result[uid] = line.substr(flagsAt + 7, end - flagsAt - 7);
        }
        expectOk("CLOSE");  // EXAMINE'd: CLOSE expunges nothing
        return result;
    }

    std::uint32_t uidValidity(const std::string& wireFolder) {
        for (const auto& line : expectOk("STATUS \"" + wireFolder + "\" (UIDVALIDITY)")) {
            auto at = line.find("UIDVALIDITY ");
            if (line.rfind("* STATUS", 0) == 0 && at != std::string::npos) return std::stoul(line.substr(at + 12));
        }
        throw std::runtime_error("no UIDVALIDITY for " + wireFolder);
    }

    void append(const std::string& wireFolder, const std::string& content) {
        std::string tag = "P" + std::to_string(++tags_);
        client_.writeLine(tag + " APPEND \"" + wireFolder + "\" {" + std::to_string(content.size()) + "+}");
        client_.writeRaw(content);
        client_.writeLine("");
        auto lines = client_.readUntilTagged(tag);
        if (lines.back().find(" OK") == std::string::npos) throw std::runtime_error("APPEND failed: " + lines.back());
    }

private:
    TextClient client_;
    unsigned tags_ = 0;
};

struct AccountSpec {
    std::string name;
    std::string user;
    std::string password;
    std::uint16_t port = 0;
    std::string tls = "implicit";
    std::string folders = "[\"INBOX\"]";
    bool keep = true;
    std::string extra;  // more TOML lines for the account
};

class ImapCollectTest : public ::testing::Test {
protected:
    void SetUp() override {
        dovecot_.addUser("alice", "alice-secret");
        dovecot_.addUser("bob", "bob-secret");
        dovecot_.addUser("me", "me-secret");
    }

    std::string writeConfig(const std::vector<AccountSpec>& accounts, const std::string& collectorExtra = "") {
        std::string toml =
            "[collector]\nledger = \"ledger.db\"\nquarantine_dir = \"quarantine\"\n"
            "http_listen = \"\"\nio_timeout = \"10s\"\n" +
            collectorExtra + "\n";
        toml += "[target]\nprotocol = \"lmtp\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(dovecot_.lmtpPort()) +
                "\ntls = \"none\"\nrecipient = \"me\"\n\n";
        for (const auto& account : accounts) {
            std::string passwordFile = work_.str() + "/" + account.name + ".pw";
            writeFile(passwordFile, account.password + "\n", 0600);
            toml += "[[account]]\nname = \"" + account.name + "\"\nprotocol = \"imap\"\n" +
                    "host = \"localhost\"\nport = " + std::to_string(account.port) + "\ntls = \"" + account.tls +
                    "\"\nca_file = \"" + dovecot_.caFile() + "\"\nusername = \"" + account.user +
                    "\"\npassword_file = \"" + passwordFile + "\"\nfolders = " + account.folders +
                    "\nkeep = " + (account.keep ? "true" : "false") + "\nlabels = [\"" + account.name + "\"]\n" +
                    account.extra + "\n";
        }
        return work_.writeFile("mailcollector.toml", toml, 0600).string();
    }

    AccountSpec alice(std::string folders = "[\"INBOX\"]") {
        return {"alice-imaps", "alice", "alice-secret", dovecot_.imapsPort(), "implicit", std::move(folders), true, ""};
    }
    AccountSpec bob(std::string folders = "[\"INBOX\"]") {
        return {"bob-starttls", "bob", "bob-secret", dovecot_.imapPort(), "starttls", std::move(folders), true, ""};
    }

    ProcessResult run(const std::string& config, std::map<std::string, std::string> env = {}) {
        return runProcess({mailcollectorBinary().string(), "run", "-c", config, "--once"}, env,
                          std::chrono::seconds(300));
    }
    ProcessResult status(const std::string& config) {
        return runProcess({mailcollectorBinary().string(), "status", "-c", config, "--json"});
    }

    // The delivered messages of ACCOUNT, as they were on the source (our trace lines removed).
    std::multiset<std::string> deliveredFrom(const std::string& account) {
        std::multiset<std::string> result;
        for (const auto& message : dovecot_.messages("me")) {
            std::string content = DovecotServer::stripTraceHeaders(message);
            std::string marker = "X-Mailcollector-Account: " + account + "\n";
            auto at = content.find(marker);
            if (at == std::string::npos) continue;
            std::string rest = content.substr(at + marker.size());
            if (rest.rfind("X-Mailcollector-Labels: ", 0) == 0) rest = rest.substr(rest.find('\n') + 1);
            result.insert(rest);
        }
        return result;
    }

    DovecotServer dovecot_;
    TempDir work_{"mc-imap"};
};

std::string numbered(const std::string& tag, int i) {
    return "From: sender@example.org\nSubject: " + tag + " " + std::to_string(i) + "\nMessage-ID: <" + tag +
           std::to_string(i) + "@example.org>\n\nbody of " + tag + " " + std::to_string(i) + "\n";
}

// Edge cases of the content: lines that look like IMAP protocol, dots, 8-bit, a big one.
std::vector<std::string> trickyMessages() {
    return {
        "Return-Path: <sender@example.org>\nFrom: sender@example.org\nSubject: plain\n\nHello.\n",
        "From: proto@example.org\nSubject: protocol lookalikes\n\n* 1 EXISTS\nA001 OK done\n+ go ahead\n)\n"
        "* BYE not really\n{5}\n.\n..\n",
        "From: =?UTF-8?Q?J=C3=BCrgen?= <j@example.org>\nSubject: 8bit\nContent-Type: text/plain; "
        "charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n\nGrüße aus Köln — ½ €\n",
        "From: big@example.org\nSubject: big\n\n" + std::string(200 * 1024, 'b') + "\n" + std::string(1500, 'c') + "\n",
    };
}

TEST_F(ImapCollectTest, CollectsNestedAndNonAsciiFoldersByteExactOverImapsAndStartTls) {
    // alice: "*" over IMAPS -- every selectable folder but Trash, Junk and Drafts.
    std::map<std::string, std::vector<std::string>> aliceFolders = {
        {"INBOX", trickyMessages()},
        {"Work/2019", {numbered("work", 1), numbered("work", 2)}},
        {kUmlautFolderWire, {numbered("umlaut", 1)}},
        {kCyrillicFolderWire, {numbered("cyrillic", 1)}},
    };
    for (const auto& [folder, messages] : aliceFolders)
        for (const auto& message : messages) dovecot_.seed("alice", folder, message);
    dovecot_.seed("alice", "Trash", numbered("trash", 1));
    dovecot_.seed("alice", "Junk", numbered("junk", 1));
    dovecot_.seed("alice", "Drafts", numbered("draft", 1));
    // bob: named folders (UTF-8 in the config) over STARTTLS.
    dovecot_.seed("bob", "INBOX", numbered("bob-inbox", 1));
    dovecot_.seed("bob", kUmlautFolderWire, numbered("bob-umlaut", 1));
    dovecot_.seed("bob", "Work/2019", numbered("bob-work", 1));
    dovecot_.seed("bob", "Other", numbered("bob-other-not-listed", 1));
    auto config =
        writeConfig({alice("[\"*\"]"), bob(std::string("[\"INBOX\", \"") + kUmlautFolderUtf8 + "\", \"Work/2019\"]")});

    auto result = run(config);
    ASSERT_EQ(result.exitCode, 0) << result.describe() << dovecot_.log();

    std::multiset<std::string> expected;
    for (const auto& [folder, messages] : aliceFolders) expected.insert(messages.begin(), messages.end());
    EXPECT_EQ(deliveredFrom("alice-imaps"), expected);
    EXPECT_EQ(
        deliveredFrom("bob-starttls"),
        (std::multiset<std::string>{numbered("bob-inbox", 1), numbered("bob-umlaut", 1), numbered("bob-work", 1)}));
    EXPECT_EQ(dovecot_.messages("me").size(), 8u + 3u);
    // keep = true: the sources hold everything still.
    EXPECT_EQ(dovecot_.messages("alice", "Work/2019").size(), 2u);
    EXPECT_EQ(dovecot_.messages("alice", kUmlautFolderWire).size(), 1u);
    EXPECT_EQ(dovecot_.messages("alice", "Trash").size(), 1u);
}

TEST_F(ImapCollectTest, SecondRunDeliversNothingAndALaterMessageOnlyOnce) {
    for (int i = 0; i < 4; ++i) dovecot_.seed("alice", "INBOX", numbered("inbox", i));
    for (int i = 0; i < 3; ++i) dovecot_.seed("alice", "Work/2019", numbered("work", i));
    auto config = writeConfig({alice("[\"*\"]")});
    auto first = run(config);
    ASSERT_EQ(first.exitCode, 0) << first.describe();
    ASSERT_EQ(dovecot_.messages("me").size(), 7u);

    auto again = run(config);
    ASSERT_EQ(again.exitCode, 0) << again.describe();
    EXPECT_EQ(dovecot_.messages("me").size(), 7u);
    EXPECT_NE(again.err.find("delivered=0"), std::string::npos) << again.err;
    EXPECT_NE(again.err.find("fetched=0"), std::string::npos) << "nothing is even fetched again:\n" << again.err;

    dovecot_.seed("alice", "Work/2019", numbered("late", 1));
    ASSERT_EQ(run(config).exitCode, 0);
    auto delivered = dovecot_.messages("me");
    ASSERT_EQ(delivered.size(), 8u);
    EXPECT_NE(delivered.back().find("Subject: late 1"), std::string::npos);
}

TEST_F(ImapCollectTest, KeepRunLeavesFlagsOnTheSourceUnchanged) {
    for (int i = 0; i < 4; ++i) dovecot_.seed("alice", "INBOX", numbered("flags", i));
    dovecot_.seed("alice", "Work/2019", numbered("flags-work", 1));
    std::map<std::uint32_t, std::string> inboxBefore, workBefore;
    {
        ImapProbe probe(dovecot_, "alice", "alice-secret");
        // One message read and one flagged by another client; the rest unread.
        probe.expectOk("SELECT INBOX");
        probe.expectOk("STORE 2 +FLAGS (\\Seen)");
        probe.expectOk("STORE 3 +FLAGS (\\Flagged)");
        probe.expectOk("CLOSE");
        inboxBefore = probe.flags("INBOX");
        workBefore = probe.flags("Work/2019");
    }
    ASSERT_EQ(inboxBefore.size(), 4u);
    auto seenCount = [](const std::map<std::uint32_t, std::string>& flags) {
        return std::count_if(flags.begin(), flags.end(),
                             [](const auto& entry) { return entry.second.find("\\Seen") != std::string::npos; });
    };
    ASSERT_EQ(seenCount(inboxBefore), 1);
    // bob's folder is opened read-write (SELECT, not EXAMINE), since delete_after_days may delete
    // later: only BODY.PEEK keeps the fetch from setting \Seen there.
    for (int i = 0; i < 3; ++i) dovecot_.seed("bob", "INBOX", numbered("bob-flags", i));
    std::map<std::uint32_t, std::string> bobBefore;
    {
        ImapProbe probe(dovecot_, "bob", "bob-secret");
        bobBefore = probe.flags("INBOX");
    }
    auto bobAccount = bob();
    bobAccount.extra = "delete_after_days = 30\n";
    auto config = writeConfig({bobAccount, alice("[\"INBOX\", \"Work/2019\"]")});

    auto result = run(config);
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    ASSERT_EQ(dovecot_.messages("me").size(), 8u);

    ImapProbe probe(dovecot_, "alice", "alice-secret");
    auto inboxAfter = probe.flags("INBOX");
    auto workAfter = probe.flags("Work/2019");
    // \Recent is per session and not a stored flag; every other flag must be as before.
    auto withoutRecent = [](std::map<std::uint32_t, std::string> flags) {
        for (auto& [uid, text] : flags) {
            auto at = text.find("\\Recent");
            if (at != std::string::npos) text.erase(at, 7);
            while (!text.empty() && text.back() == ' ') text.pop_back();
            while (!text.empty() && text.front() == ' ') text.erase(0, 1);
        }
        return flags;
    };
    EXPECT_EQ(withoutRecent(inboxAfter), withoutRecent(inboxBefore));
    EXPECT_EQ(withoutRecent(workAfter), withoutRecent(workBefore));
    ImapProbe bobProbe(dovecot_, "bob", "bob-secret");
    EXPECT_EQ(withoutRecent(bobProbe.flags("INBOX")), withoutRecent(bobBefore));
    EXPECT_EQ(seenCount(bobProbe.flags("INBOX")), 0);
    // On disk too: only the message read by the other client carries the maildir S flag.
    int seenFiles = 0;
    for (const auto& file : dovecot_.messageFiles("alice", "INBOX")) {
        std::string name = file.filename().string();
        auto info = name.find(":2,");
        if (info != std::string::npos && name.find('S', info) != std::string::npos) ++seenFiles;
    }
    EXPECT_EQ(seenFiles, 1);
}

TEST_F(ImapCollectTest, KeepFalseRemovesExactlyTheDeliveredAndLeavesAnotherClientsDeletedMessage) {
    for (int i = 0; i < 4; ++i) dovecot_.seed("alice", "INBOX", numbered("mine", i));
    for (int i = 0; i < 2; ++i) dovecot_.seed("alice", "Work/2019", numbered("work", i));
    std::uint32_t foreignUid = 0;
    {
        // Another client marks message 3 for deletion, without expunging it (yet).
        ImapProbe probe(dovecot_, "alice", "alice-secret");
        probe.expectOk("SELECT INBOX");
        for (const auto& line : probe.expectOk("STORE 3 +FLAGS (\\Deleted)")) {
            auto at = line.find("UID ");
            if (at != std::string::npos) foreignUid = std::stoul(line.substr(at + 4));
        }
        if (foreignUid == 0) foreignUid = 3;  // Dovecot numbers seeded mail 1, 2, 3, ...
        probe.expectOk("LOGOUT");
    }
    auto account = alice("[\"INBOX\", \"Work/2019\"]");
    account.keep = false;
    auto config = writeConfig({account});

    auto result = run(config);
    ASSERT_EQ(result.exitCode, 0) << result.describe();

    auto delivered = deliveredFrom("alice-imaps");
    EXPECT_EQ(delivered, (std::multiset<std::string>{numbered("mine", 0), numbered("mine", 1), numbered("mine", 3),
                                                     numbered("work", 0), numbered("work", 1)}))
        << "a message another client is deleting is not collected";
    ImapProbe probe(dovecot_, "alice", "alice-secret");
    auto inbox = probe.flags("INBOX");
    ASSERT_EQ(inbox.size(), 1u) << "exactly the delivered messages are gone";
    EXPECT_EQ(inbox.begin()->first, foreignUid);
    EXPECT_NE(inbox.begin()->second.find("\\Deleted"), std::string::npos) << inbox.begin()->second;
    EXPECT_EQ(dovecot_.messages("alice", "INBOX"), std::vector<std::string>{numbered("mine", 2)});
    EXPECT_TRUE(probe.flags("Work/2019").empty());
    EXPECT_NE(status(config).out.find("\"deleted\":5"), std::string::npos) << status(config).out;

    // Nothing is delivered again, and the other client's message is still left alone.
    auto again = run(config);
    ASSERT_EQ(again.exitCode, 0) << again.describe();
    EXPECT_EQ(dovecot_.messages("me").size(), 5u);
    EXPECT_EQ(dovecot_.messages("alice", "INBOX").size(), 1u);
}

// Delivered with keep = true, then keep = false: the later session fetches the header blocks
// (BODY.PEEK[HEADER]) of the delivered messages, finds them as recorded and deletes them.
TEST_F(ImapCollectTest, LaterSessionDeletesDeliveredMessagesAfterCheckingTheirHeaders) {
    for (const auto& message : trickyMessages()) dovecot_.seed("alice", "INBOX", message);
    ASSERT_EQ(run(writeConfig({alice()})).exitCode, 0);
    ASSERT_EQ(dovecot_.messages("me").size(), 4u);

    auto account = alice();
    account.keep = false;
    auto result = run(writeConfig({account}));

    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_EQ(dovecot_.messages("alice", "INBOX").size(), 0u) << result.describe();
    EXPECT_EQ(dovecot_.messages("me").size(), 4u) << "verified by headers: nothing fetched or sent again";
    EXPECT_EQ(result.err.find("other headers"), std::string::npos) << result.describe();
}

// Deletes Dovecot's UID list and indexes of a folder: Dovecot renumbers the messages under a
// new UIDVALIDITY, as after the folder was deleted and re-created with the same messages.
void renumber(const DovecotServer& dovecot, const std::string& user, const std::string& wireFolder) {
    for (const auto& entry : fs::directory_iterator(dovecot.maildir(user, wireFolder))) {
        std::string name = entry.path().filename().string();
        if (name == "dovecot-uidlist" || name.rfind("dovecot.index", 0) == 0) fs::remove(entry.path());
    }
}

// Renumbers alice's folder until Dovecot gives it another UIDVALIDITY (it hands them out from the
// clock: retried, bounded); returns the new one, 0 when it kept the old.
std::uint32_t renumberUntilNewValidity(const DovecotServer& dovecot, const std::string& wireFolder) {
    std::uint32_t before = 0, after = 0;
    {
        ImapProbe probe(dovecot, "alice", "alice-secret");
        before = probe.uidValidity(wireFolder);
    }
    auto deadline = std::chrono::steady_clock::now() + 10s;
    do {
        renumber(dovecot, "alice", wireFolder);
        ImapProbe probe(dovecot, "alice", "alice-secret");
        after = probe.uidValidity(wireFolder);
    } while (after == before && std::chrono::steady_clock::now() < deadline);
    return after == before ? 0 : after;
}

TEST_F(ImapCollectTest, NewUidValidityWithTheSameMessagesDeliversNoDuplicateAndDeletesNothing) {
    for (int i = 0; i < 3; ++i) dovecot_.seed("alice", "Work/2019", numbered("renumbered", i));
    auto config = writeConfig({alice("[\"Work/2019\"]")});
    ASSERT_EQ(run(config).exitCode, 0);
    ASSERT_EQ(dovecot_.messages("me").size(), 3u);
    ASSERT_NE(renumberUntilNewValidity(dovecot_, "Work/2019"), 0u) << "Dovecot kept the UIDVALIDITY";

    dovecot_.seed("alice", "Work/2019", numbered("after-renumbering", 1));
    auto account = alice("[\"Work/2019\"]");
    account.keep = false;  // even with deletion on, a renumbered folder loses nothing
    config = writeConfig({account});
    auto result = run(config);
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_NE(result.err.find("UIDVALIDITY changed"), std::string::npos) << result.err;
    auto delivered = deliveredFrom("alice-imaps");
    EXPECT_EQ(delivered.size(), 4u);
    EXPECT_EQ(delivered.count(numbered("after-renumbering", 1)), 1u);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(delivered.count(numbered("renumbered", i)), 1u) << i;
    EXPECT_EQ(dovecot_.messages("alice", "Work/2019").size(), 4u) << "nothing deleted in a re-scan";
}

// A re-scan that stops half-way (here a download budget) goes on in the next polls until every
// message was seen under the new UIDVALIDITY: none is sent twice. Then the rows of the old
// UIDVALIDITY are forgotten, so that a server renumbering at every session (GNU Mailutils on an
// mbox it never wrote) does not grow the ledger by a mailbox per poll.
TEST_F(ImapCollectTest, ARenumberedFolderIsReScannedUntilDoneThenItsOldRowsAreForgotten) {
    for (int i = 0; i < 5; ++i) dovecot_.seed("alice", "Work/2019", numbered("renumbered", i));
    auto account = alice("[\"Work/2019\"]");
    account.extra = "max_messages_per_poll = 2";
    auto config = writeConfig({account});
    for (int poll = 0; poll < 3; ++poll) ASSERT_EQ(run(config).exitCode, 0);
    ASSERT_EQ(dovecot_.messages("me").size(), 5u);
    const std::uint32_t validity = renumberUntilNewValidity(dovecot_, "Work/2019");
    ASSERT_NE(validity, 0u) << "Dovecot kept the UIDVALIDITY";
    dovecot_.seed("alice", "Work/2019", numbered("after-renumbering", 1));

    auto validities = [&] {
        ledger::SqliteLedgerStore ledger(work_.str() + "/ledger.db");
        std::set<std::uint64_t> seen;
        for (const auto& record : ledger.messagesInFolder("alice-imaps", "Work/2019"))
            seen.insert(record.key.uidValidity);
        return seen;
    };
    for (int poll = 0; poll < 3; ++poll) {
        auto result = run(config);
        ASSERT_EQ(result.exitCode, 0) << result.describe();
        EXPECT_NE(result.err.find("UIDVALIDITY changed"), std::string::npos) << "poll " << poll << ": " << result.err;
        EXPECT_EQ(validities().size(), poll < 2 ? 2u : 1u) << "poll " << poll;
    }
    auto delivered = deliveredFrom("alice-imaps");
    EXPECT_EQ(delivered.size(), 6u);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(delivered.count(numbered("renumbered", i)), 1u) << i;
    EXPECT_EQ(delivered.count(numbered("after-renumbering", 1)), 1u);
    EXPECT_EQ(validities(), std::set<std::uint64_t>{validity});
    auto again = run(config);
    ASSERT_EQ(again.exitCode, 0) << again.describe();
    EXPECT_EQ(again.err.find("UIDVALIDITY changed"), std::string::npos) << again.err;
    EXPECT_EQ(deliveredFrom("alice-imaps").size(), 6u);
}

TEST_F(ImapCollectTest, TraceShowsTheServersRepliesButNeitherThePasswordNorTheContent) {
    dovecot_.seed("alice", "INBOX", "Subject: traced\n\nthe secret body text\n");
    auto config = writeConfig({alice()});
    auto result = runProcess({mailcollectorBinary().string(), "run", "-c", config, "--once", "--trace"});
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_NE(result.err.find("S: * OK [CAPABILITY"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("AUTHENTICATE PLAIN [credentials]"), std::string::npos) << result.err;
    // After the login, the exchange is shown again: commands, replies, content by its size.
    EXPECT_NE(result.err.find("C: A3 EXAMINE \"INBOX\""), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("Examine completed"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("bytes of message content]"), std::string::npos) << result.err;
    EXPECT_EQ(result.err.find("secret body text"), std::string::npos) << result.err;
    EXPECT_EQ(result.err.find("alice-secret"), std::string::npos) << result.err;
    EXPECT_EQ(dovecot_.messages("me").size(), 1u);
}

// "*" is the user's own mail. Public folders (and other users' folders shared with the user)
// are listed too, but NAMESPACE says whose they are: with keep = false, collecting them would
// delete the team's mail for everyone. Named in `folders`, such a folder is collected.
TEST(ImapNamespaces, StarCollectsNeitherPublicNorOtherUsersFoldersButANamedOneIs) {
    DovecotOptions options;
    options.publicFolders = true;
    DovecotServer dovecot(options);
    dovecot.addUser("alice", "alice-secret");
    dovecot.addUser("me", "me-secret");
    dovecot.seed("alice", "INBOX", "Subject: own\n\nalice's own mail\n");
    {
        ImapProbe probe(dovecot, "alice", "alice-secret");
        probe.expectOk("CREATE \"Public/team\"");
        probe.append("Public/team", "Subject: team\r\n\r\nthe team's mail\r\n");
    }
    TempDir work("mc-namespaces");
    auto config = [&](const std::string& folders) {
        return work
            .writeFile("mailcollector.toml",
                       "[collector]\nledger = \"ledger.db\"\nquarantine_dir = \"quarantine\"\nhttp_listen = \"\"\n"
                       "[target]\nprotocol = \"lmtp\"\nhost = \"127.0.0.1\"\nport = " +
                           std::to_string(dovecot.lmtpPort()) +
                           "\ntls = \"none\"\nrecipient = \"me\"\n"
                           "[[account]]\nname = \"alice\"\nprotocol = \"imap\"\nhost = \"localhost\"\nport = " +
                           std::to_string(dovecot.imapsPort()) + "\nca_file = \"" + dovecot.caFile() +
                           "\"\nusername = \"alice\"\npassword = \"alice-secret\"\nidle = false\nkeep = false\n"
                           "folders = " +
                           folders + "\n",
                       0600)
            .string();
    };
    auto star = config("[\"*\"]");
    auto checked = runProcess({mailcollectorBinary().string(), "check", "-c", star});
    EXPECT_EQ(checked.out.find("Public/team"), std::string::npos) << checked.describe();
    auto result = runProcess({mailcollectorBinary().string(), "run", "-c", star, "--once"});
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    ASSERT_EQ(dovecot.messages("me").size(), 1u) << result.describe();
    EXPECT_NE(dovecot.messages("me")[0].find("alice's own mail"), std::string::npos);
    EXPECT_TRUE(dovecot.messages("alice").empty()) << "keep = false: alice's own mail was deleted";
    {
        ImapProbe probe(dovecot, "alice", "alice-secret");
        auto status = probe.expectOk("STATUS \"Public/team\" (MESSAGES)");
        EXPECT_NE(status.front().find("MESSAGES 1"), std::string::npos) << status.front() << ": the team's mail stays";
    }

    auto named = config("[\"INBOX\", \"Public/team\"]");
    result = runProcess({mailcollectorBinary().string(), "run", "-c", named, "--once"});
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_EQ(dovecot.messages("me").size(), 2u) << "named: collected" << result.describe();
}

// The user files mail in other folders and renames a folder: with folders = ["*"] the moved
// messages are listed under new folders and UIDs, and recognised by their content, whether the
// folder they went to is polled before the one they left or after it (INBOX is polled first).
TEST_F(ImapCollectTest, MessagesMovedOrInARenamedFolderAreNotDeliveredAgain) {
    for (int i = 0; i < 3; ++i) dovecot_.seed("alice", "INBOX", numbered("filed", i));
    for (int i = 0; i < 2; ++i) dovecot_.seed("alice", "Work/2019", numbered("renamed", i));
    auto config = writeConfig({alice("[\"INBOX\", \"*\"]")});  // INBOX first, then the rest
    ASSERT_EQ(run(config).exitCode, 0);
    ASSERT_EQ(dovecot_.messages("me").size(), 5u);
    {
        ImapProbe probe(dovecot_, "alice", "alice-secret");
        probe.expectOk("CREATE \"Archive\"");
        probe.expectOk("CREATE \"Zed\"");
        probe.expectOk("SELECT INBOX");
        probe.expectOk("UID MOVE 1 \"Archive\"");
        probe.expectOk("UID MOVE 2 \"Zed\"");
        probe.expectOk("RENAME \"Work/2019\" \"Work/2020\"");
    }
    dovecot_.seed("alice", "Archive", numbered("new-in-archive", 0));
    auto result = run(config);
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_NE(result.err.find("known=4"), std::string::npos) << result.err;
    auto delivered = deliveredFrom("alice-imaps");
    EXPECT_EQ(delivered.size(), 6u);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(delivered.count(numbered("filed", i)), 1u) << i;
    for (int i = 0; i < 2; ++i) EXPECT_EQ(delivered.count(numbered("renamed", i)), 1u) << i;
    EXPECT_EQ(delivered.count(numbered("new-in-archive", 0)), 1u);
}

TEST_F(ImapCollectTest, FolderDeletedAndRecreatedByAnotherClientCausesNoDuplicate) {
    std::vector<std::string> originals = {numbered("recreated", 0), numbered("recreated", 1)};
    for (const auto& message : originals) dovecot_.seed("alice", kUmlautFolderWire, message);
    auto config = writeConfig({alice(std::string("[\"") + kUmlautFolderUtf8 + "\"]")});
    ASSERT_EQ(run(config).exitCode, 0);
    ASSERT_EQ(dovecot_.messages("me").size(), 2u);
    {
        // What a mail program does when the user deletes a folder and restores it from a backup.
        ImapProbe probe(dovecot_, "alice", "alice-secret");
        std::uint32_t before = probe.uidValidity(kUmlautFolderWire);
        probe.expectOk(std::string("DELETE \"") + kUmlautFolderWire + "\"");
        probe.expectOk(std::string("CREATE \"") + kUmlautFolderWire + "\"");
        for (const auto& message : originals) {
            std::string wire;
            for (char c : message) wire += c == '\n' ? std::string("\r\n") : std::string(1, c);
            probe.append(kUmlautFolderWire, wire);
        }
        ASSERT_NE(probe.uidValidity(kUmlautFolderWire), before);
    }
    auto account = alice(std::string("[\"") + kUmlautFolderUtf8 + "\"]");
    account.keep = false;
    config = writeConfig({account});
    auto result = run(config);
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_EQ(dovecot_.messages("me").size(), 2u) << "no duplicate";
    EXPECT_EQ(dovecot_.messages("alice", kUmlautFolderWire).size(), 2u) << "no deletion";
}

TEST_F(ImapCollectTest, CheckListsFoldersAndIdle) {
    dovecot_.seed("alice", "INBOX", numbered("check", 1));
    dovecot_.seed("alice", kUmlautFolderWire, numbered("check", 2));
    auto config = writeConfig({alice("[\"*\"]")});
    auto result = runProcess({mailcollectorBinary().string(), "check", "-c", config});
    ASSERT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_NE(result.out.find("alice-imaps: OK"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("2 messages"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("IDLE"), std::string::npos) << result.out;
    EXPECT_TRUE(dovecot_.messages("me").empty());
}

// `check` as a dry run: each folder "*" expands to, with its messages and how many the ledger
// has not seen; nothing fetched, flagged, deleted or recorded.
TEST_F(ImapCollectTest, CheckNamesEachFolderWithItsNewMessagesPerTheLedgerAndChangesNothing) {
    for (int i = 0; i < 3; ++i) dovecot_.seed("alice", "INBOX", numbered("in", i));
    for (int i = 0; i < 2; ++i) dovecot_.seed("alice", "Work/2019", numbered("work", i));
    auto account = alice("[\"*\"]");
    account.keep = false;  // a check deletes nothing all the same
    auto config = writeConfig({account});
    auto first = runProcess({mailcollectorBinary().string(), "check", "-c", config});
    ASSERT_EQ(first.exitCode, 0) << first.describe();
    EXPECT_NE(first.out.find("no ledger yet"), std::string::npos) << first.out;
    EXPECT_NE(first.out.find("  INBOX: 3 messages, 3 new\n"), std::string::npos) << first.out;
    EXPECT_FALSE(std::filesystem::exists(work_.path() / "ledger.db")) << "check creates no ledger";
    ASSERT_EQ(run(config).exitCode, 0);
    ASSERT_EQ(dovecot_.messages("me").size(), 5u);

    // Two more in INBOX, one more in Work/2019, a new folder with one; the 5 collected are gone
    // from the source (keep = false) but the ledger knows them.
    for (int i = 3; i < 5; ++i) dovecot_.seed("alice", "INBOX", numbered("in", i));
    dovecot_.seed("alice", "Work/2019", numbered("work", 2));
    dovecot_.seed("alice", "News", numbered("news", 0));
    for (int pass = 0; pass < 2; ++pass) {
        auto check = runProcess({mailcollectorBinary().string(), "check", "-c", config});
        ASSERT_EQ(check.exitCode, 0) << check.describe();
        EXPECT_NE(check.out.find("alice-imaps: OK - localhost:"), std::string::npos) << check.out;
        EXPECT_NE(check.out.find(" IMAP, implicit TLS: 3 folders, 4 messages, 4 new; TLS verified"), std::string::npos)
            << check.out;
        EXPECT_NE(check.out.find("  INBOX: 2 messages, 2 new\n"), std::string::npos) << check.out;
        EXPECT_NE(check.out.find("  Work/2019: 1 messages, 1 new\n"), std::string::npos) << check.out;
        EXPECT_NE(check.out.find("  News: 1 messages, 1 new\n"), std::string::npos) << check.out;
    }
    EXPECT_EQ(dovecot_.messages("me").size(), 5u) << "nothing delivered";
    EXPECT_EQ(dovecot_.messages("alice", "INBOX").size(), 2u) << "nothing deleted";
    for (const auto& message : dovecot_.messages("alice", "INBOX"))
        EXPECT_EQ(message.find("X-Mailcollector"), std::string::npos);

    auto collected = run(config);
    ASSERT_EQ(collected.exitCode, 0) << collected.describe();
    EXPECT_EQ(dovecot_.messages("me").size(), 9u) << "the 4 new ones, as check said";
    auto after = runProcess({mailcollectorBinary().string(), "check", "-c", config});
    EXPECT_NE(after.out.find("3 folders, 0 messages, 0 new"), std::string::npos) << after.out;
}

// fetch = "new": what is on the server at the first poll is not collected, and check says so.
TEST_F(ImapCollectTest, CheckFollowsFetchNewAndCountsLaterArrivals) {
    for (int i = 0; i < 3; ++i) dovecot_.seed("alice", "INBOX", numbered("old", i));
    auto account = alice();
    account.extra = "fetch = \"new\"\n";
    auto config = writeConfig({account});
    auto before = runProcess({mailcollectorBinary().string(), "check", "-c", config});
    EXPECT_NE(before.out.find("  INBOX: 3 messages, 0 new\n"), std::string::npos)
        << "fetch = \"new\": what is there at the first poll is skipped\n"
        << before.out;
    ASSERT_EQ(run(config).exitCode, 0);
    dovecot_.seed("alice", "INBOX", numbered("later", 0));
    auto check = runProcess({mailcollectorBinary().string(), "check", "-c", config});
    EXPECT_NE(check.out.find("  INBOX: 4 messages, 1 new\n"), std::string::npos) << check.out;
}

TEST_F(ImapCollectTest, WrongPasswordFailsTheAccountAloneWithoutLeakingIt) {
    dovecot_.seed("bob", "INBOX", numbered("fine", 1));
    AccountSpec wrong = alice();
    wrong.password = "not-the-password";
    auto config = writeConfig({wrong, bob()});
    auto result = run(config);
    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_NE(result.err.find("account=alice-imaps poll failed"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("authentication"), std::string::npos) << result.err;
    EXPECT_EQ(result.err.find("not-the-password"), std::string::npos);
    EXPECT_EQ(dovecot_.messages("me").size(), 1u);
}

TEST_F(ImapCollectTest, MissingFolderFailsAloneAndTheOthersAreCollected) {
    dovecot_.seed("alice", "INBOX", numbered("present", 1));
    auto config = writeConfig({alice("[\"No/Such/Folder\", \"INBOX\"]")});
    auto result = run(config);
    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_NE(result.err.find("No/Such/Folder"), std::string::npos) << result.err;
    EXPECT_EQ(dovecot_.messages("me").size(), 1u);
}

// A message appended while `run` (the service) IDLEs is delivered at once, although the poll
// interval is an hour.
TEST_F(ImapCollectTest, MessageAppendedWhileRunIdlesIsDeliveredWithoutWaitingForTheInterval) {
    dovecot_.seed("alice", "INBOX", numbered("before", 1));
    auto account = alice("[\"INBOX\", \"Work/2019\"]");
    account.extra = "interval = \"1h\"\nidle = true\n";
    dovecot_.seed("alice", "Work/2019", numbered("before", 2));
    auto config = writeConfig({account});

    BackgroundProcess service({mailcollectorBinary().string(), "run", "-c", config}, {{"MC_LOG_LEVEL", "debug"}});
    ASSERT_TRUE(dovecot_.waitForMessages("me", 2, 60s)) << service.err();
    // Once both folders IDLE, new mail can only arrive by IDLE (the next poll is an hour away).
    ASSERT_TRUE(service.waitForOutput("folder=Work/2019 idling", 60s)) << service.err();
    ASSERT_TRUE(service.waitForOutput("folder=INBOX idling", 60s)) << service.err();
    ImapProbe probe(dovecot_, "alice", "alice-secret");
    probe.append("Work/2019", "Subject: pushed\r\n\r\nnew while idling\r\n");
    EXPECT_TRUE(dovecot_.waitForMessages("me", 3, 60s)) << service.err();
    dovecot_.seed("alice", "INBOX", numbered("pushed-inbox", 1));
    EXPECT_TRUE(dovecot_.waitForMessages("me", 4, 60s)) << service.err();

    service.sendSignal(SIGTERM);
    auto ended = service.wait(30s);
    ASSERT_TRUE(ended.has_value()) << "the service did not stop on SIGTERM: " << service.err();
    EXPECT_EQ(ended->exitCode, 0) << ended->describe();
    EXPECT_EQ(dovecot_.messages("me").size(), 4u);
    // One poll at the start, once IDLE was up (not a second one right after it for IDLE coming
    // up), and one per message pushed.
    std::size_t polls = 0;
    for (std::size_t at = 0; (at = ended->err.find("account=alice-imaps poll ", at)) != std::string::npos; ++at)
        ++polls;
    EXPECT_EQ(polls, 3u) << ended->err;
}

// kill -9 at each step of the per-message order, with deletion on: every message delivered,
// duplicates only where the README allows them, nothing deleted that was not delivered.
class ImapCrashPointTest : public ImapCollectTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(ImapCrashPointTest, CrashAtEachStepLosesNothing) {
    constexpr int kMessages = 20;
    for (int i = 0; i < kMessages; ++i) dovecot_.seed("alice", "Work/2019", numbered("step", i));
    auto account = alice("[\"Work/2019\"]");
    account.keep = false;
    std::string config = writeConfig({account});
    std::string toml = readFile(config);
    toml.replace(toml.find("recipient = \"me\""), 16, "recipient = \"me\"\nconnections = 1");
    writeFile(config, toml, 0600);
    std::string point = GetParam();
    // Per-message points crash at the 10th message; the deletion points at their only pass.
    bool perFolder = point == "after-dele" || point == "after-store";
    auto crashed = run(config, {{"MC_CRASH_AT", perFolder ? point : point + ":10"}});
    EXPECT_EQ(crashed.termSignal, SIGKILL) << crashed.describe();
    auto rerun = run(config);
    ASSERT_EQ(rerun.exitCode, 0) << rerun.describe();
    std::map<std::string, int> copies;
    for (const auto& message : dovecot_.messages("me")) {
        auto at = message.find("Subject: step ");
        ASSERT_NE(at, std::string::npos);
        ++copies[message.substr(at, message.find('\n', at) - at)];
    }
    EXPECT_EQ(copies.size(), std::size_t(kMessages));
    int duplicates = 0;
    for (const auto& [subject, count] : copies) duplicates += count - 1;
    EXPECT_EQ(duplicates, point == "after-accept" ? 1 : 0);
    EXPECT_EQ(dovecot_.messages("alice", "Work/2019").size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Steps, ImapCrashPointTest,
                         ::testing::Values("after-fetch", "after-accept", "after-commit", "after-store", "after-dele"));

}  // namespace
}  // namespace mc::testing
