// A ledger that cannot be written in the middle of a poll, end to end: the real mailcollector
// binary, a real private Dovecot as source (POP3S, IMAPS) and target (LMTP), keep = false.
//
// The ledger is made to fail without any hook in the product: the collector runs with
// RLIMIT_FSIZE (and SIGXFSZ ignored), so once SQLite's write-ahead log would grow past the limit
// its writes fail with EFBIG, as on a full disk. The messages are small, so the ledger is the only
// file the collector writes (no spool files, no quarantine; logs go to in-memory stderr).
//
// What must hold (README, "What it guarantees"; exit code 3): the run stops with an error that
// names the account and the ledger, nothing is deleted from any source, nothing is lost, the
// ledger is still a sound database, and a later run with a working ledger delivers the rest with
// at most one duplicate per message that was in flight (between the target's 2xx and the ledger
// commit), then deletes what was delivered.
//
// The ledger is shared by every account, so its failure is not one account's problem: the run
// stops as a whole and exits 3 (README: "3 the ledger cannot be opened or written"; "a ledger
// that cannot be written stops the service"). No further account is started; an account already
// being polled goes on until one of its own ledger writes fails, and then deletes nothing.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/support/DovecotServer.hpp"
#include "tests/support/Process.hpp"
#include "tests/support/TempDir.hpp"

namespace mc::testing {
namespace {

using namespace std::chrono_literals;

// Writes past this many bytes fail. Creating the ledger takes a few pages of the write-ahead
// log, each delivered message's commit a few more (4 KiB pages), so the limit is reached after a
// dozen or more messages and long before 200.
constexpr rlim_t kFileSizeLimit = 256 * 1024;
constexpr int kMessages = 200;
constexpr const char* kLedgerStops = " the ledger cannot be written; stopping: ledger failure: ";

struct Account {
    std::string name;  // also the Dovecot user, with password NAME-secret
    int messages = 0;
};

std::string subjectPrefix(const std::string& account) { return "Subject: ledger " + account + " "; }

// How many copies of each of ACCOUNT's messages are in MESSAGES, by subject.
std::map<std::string, int> copiesOf(const std::vector<std::string>& messages, const std::string& account) {
    const std::string prefix = subjectPrefix(account);
    std::map<std::string, int> copies;
    for (const auto& message : messages) {
        auto at = message.find(prefix);
        if (at == std::string::npos) continue;
        ++copies[message.substr(at, message.find('\n', at) - at)];
    }
    return copies;
}

int total(const std::map<std::string, int>& copies) {
    int sum = 0;
    for (const auto& [subject, count] : copies) sum += count;
    return sum;
}

// A number field of ACCOUNT's object in `status --json` output; -1 when missing.
long long statusField(const std::string& json, const std::string& account, const std::string& field) {
    auto at = json.find("{\"account\":\"" + account + "\"");
    if (at == std::string::npos) return -1;
    std::string object = json.substr(at, json.find('}', at) - at);
    auto value = object.find("\"" + field + "\":");
    if (value == std::string::npos) return -1;
    return std::stoll(object.substr(value + field.size() + 3));
}

class HostileLedger : public ::testing::Test {
protected:
    void SetUp() override { dovecot_.addUser("me", "me-secret"); }

    // Seeds each account's mailbox and writes a config collecting them (in this order, at most
    // MAX_PARALLEL at once) over PROTOCOL with keep = false.
    std::string setUp(const std::string& protocol, const std::vector<Account>& accounts, int maxParallel,
                      int connections) {
        std::string toml =
            "[collector]\nledger = \"ledger.db\"\nquarantine_dir = \"quarantine\"\n"
            "http_listen = \"\"\nio_timeout = \"10s\"\nmax_parallel = " +
            std::to_string(maxParallel) + "\n\n";
        toml += "[target]\nprotocol = \"lmtp\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(dovecot_.lmtpPort()) +
                "\ntls = \"none\"\nrecipient = \"me\"\nconnections = " + std::to_string(connections) + "\n\n";
        for (const auto& account : accounts) {
            dovecot_.addUser(account.name, account.name + "-secret");
            for (int i = 0; i < account.messages; ++i)
                dovecot_.seed(account.name, "INBOX",
                              subjectPrefix(account.name) + std::to_string(i) + "\nMessage-ID: <" + std::to_string(i) +
                                  "." + account.name + "@ledger.test>\n\n" + std::string(500, 'x') + "\n");
            work_.writeFile(account.name + ".pw", account.name + "-secret\n", 0600);
            const bool pop3 = protocol == "pop3";
            toml += "[[account]]\nname = \"" + account.name + "\"\nprotocol = \"" + protocol +
                    "\"\nhost = \"localhost\"\nport = " +
                    std::to_string(pop3 ? dovecot_.pop3sPort() : dovecot_.imapsPort()) +
                    "\ntls = \"implicit\"\nca_file = \"" + dovecot_.caFile() + "\"\nusername = \"" + account.name +
                    "\"\npassword_file = \"" + account.name + ".pw\"\nkeep = false\n" +
                    (pop3 ? "" : "folders = [\"INBOX\"]\n") + "\n";
        }
        return work_.writeFile("mailcollector.toml", toml, 0600).string();
    }

    ProcessResult run(const std::string& config) {
        return runProcess({MC_BINARY, "run", "-c", config, "--once"}, {}, 300s);
    }

    // A run whose writes past kFileSizeLimit bytes fail with EFBIG (SIGXFSZ ignored).
    ProcessResult runWithFailingLedger(const std::string& config) {
        ProcessSpec spec;
        spec.argv = {MC_BINARY, "run", "-c", config, "--once"};
        spec.limits = {{RLIMIT_FSIZE, kFileSizeLimit}};
        spec.ignoredSignals = {SIGXFSZ};
        return runProcess(spec, 300s);
    }

    std::string status(const std::string& config) {
        auto result = runProcess({MC_BINARY, "status", "-c", config, "--json"});
        EXPECT_EQ(result.exitCode, 0) << "the ledger must still open:\n" << result.describe();
        return result.out;
    }

    // SQLite's own check of the whole database file.
    void expectSoundLedger(const std::string& when) {
        auto check = runProcess({"sqlite3", (work_ / "ledger.db").string(), "PRAGMA integrity_check;"});
        EXPECT_EQ(check.exitCode, 0) << when << ": " << check.describe();
        EXPECT_EQ(check.out, "ok\n") << when << ": " << check.describe();
    }

    // Messages still on the source that are flagged \Deleted (maildir flag T): deletion begun.
    std::size_t flaggedDeleted(const std::string& user) {
        std::size_t flagged = 0;
        for (const auto& file : dovecot_.messageFiles(user)) {
            std::string name = file.filename().string();
            auto flags = name.find(":2,");
            if (flags != std::string::npos && name.find('T', flags) != std::string::npos) ++flagged;
        }
        return flagged;
    }

    std::size_t onSource(const std::string& user) { return dovecot_.messageFiles(user).size(); }

    // One account fails mid-poll, a second one (after it in the config, polled one at a time) is
    // not started; then a run with a working ledger finishes both.
    void failMidPollThenRecover(const std::string& protocol, int connections);

    DovecotServer dovecot_;
    TempDir work_{"mc-ledger"};
};

void HostileLedger::failMidPollThenRecover(const std::string& protocol, int connections) {
    const std::string failing = "alice", other = "bob";
    constexpr int kOtherMessages = 5;
    auto config = setUp(protocol, {{failing, kMessages}, {other, kOtherMessages}}, 1, connections);

    auto broken = runWithFailingLedger(config);
    ASSERT_FALSE(broken.timedOut) << broken.describe();
    ASSERT_EQ(broken.termSignal, 0) << "must not crash:\n" << broken.describe();
    EXPECT_EQ(broken.exitCode, 3) << "exit code 3: the ledger cannot be written\n" << broken.describe();
    EXPECT_NE(broken.err.find("account=" + failing + kLedgerStops), std::string::npos) << broken.err;
    const std::size_t failedLine = broken.err.find("account=" + failing + " poll failed failure_kind=ledger ");
    ASSERT_NE(failedLine, std::string::npos) << broken.err;
    const std::string failedPoll = broken.err.substr(failedLine, broken.err.find('\n', failedLine) - failedLine);
    EXPECT_NE(failedPoll.find(": ledger failure: "), std::string::npos) << failedPoll;
    // The likely causes are named, not only SQLite's "disk I/O error".
    EXPECT_NE(broken.err.find("a write failed (disk full, quota, file size limit"), std::string::npos) << broken.err;
    // The shared ledger failed: the run stopped, the next account was not polled at all.
    EXPECT_EQ(broken.err.find("account=" + other), std::string::npos) << broken.err;

    // Nothing was deleted, or even flagged for deletion, on either source.
    EXPECT_EQ(onSource(failing), std::size_t(kMessages)) << "nothing may be deleted after a ledger failure";
    EXPECT_EQ(flaggedDeleted(failing), 0u);
    EXPECT_EQ(onSource(other), std::size_t(kOtherMessages));
    EXPECT_EQ(flaggedDeleted(other), 0u);

    // The failure really came mid-poll: some messages were delivered and recorded, not all.
    auto delivered = dovecot_.messages("me");
    auto firstCopies = copiesOf(delivered, failing);
    const int firstDelivered = total(firstCopies);
    EXPECT_EQ(firstCopies.size(), std::size_t(firstDelivered)) << "no duplicate within one run";
    EXPECT_TRUE(copiesOf(delivered, other).empty()) << "the account not polled delivered nothing";
    auto json = status(config);
    const long long recorded = statusField(json, failing, "delivered");
    ASSERT_GE(recorded, 1) << "the ledger failed before the first message: not mid-poll\n" << json << broken.err;
    ASSERT_LT(firstDelivered, kMessages) << "the ledger never failed: raise kMessages or lower kFileSizeLimit";
    EXPECT_EQ(statusField(json, failing, "deleted"), 0) << json;
    EXPECT_NE(failedPoll.find(" delivered=" + std::to_string(recorded) + " "), std::string::npos)
        << "the poll's report counts exactly what the ledger holds\n"
        << broken.err << json;
    // Delivered but not recorded: the messages in flight when the commit failed.
    const int inFlight = firstDelivered - static_cast<int>(recorded);
    EXPECT_GE(inFlight, 0) << json;
    EXPECT_LE(inFlight, connections) << "at most one message in flight per target connection";
    expectSoundLedger("after the failed run");

    // With a working ledger: the rest is delivered, the in-flight ones at most once more.
    auto again = run(config);
    ASSERT_EQ(again.exitCode, 0) << again.describe();
    EXPECT_NE(again.err.find("account=" + failing + " poll ok"), std::string::npos) << again.err;
    EXPECT_NE(again.err.find("account=" + other + " poll ok"), std::string::npos) << again.err;
    delivered = dovecot_.messages("me");
    auto copies = copiesOf(delivered, failing);
    EXPECT_EQ(copies.size(), std::size_t(kMessages)) << "every message delivered";
    for (const auto& [subject, count] : copies) {
        const int before = firstCopies.count(subject) ? firstCopies.at(subject) : 0;
        EXPECT_LE(count - before, 1) << subject << " delivered twice by the second run";
        EXPECT_LE(count, 2) << subject;
    }
    EXPECT_LE(total(copies) - kMessages, inFlight) << "only the messages in flight may be duplicated";
    auto otherCopies = copiesOf(delivered, other);
    EXPECT_EQ(otherCopies.size(), std::size_t(kOtherMessages));
    EXPECT_EQ(total(otherCopies), kOtherMessages);
    // ... and then everything delivered is deleted from the sources.
    EXPECT_EQ(onSource(failing), 0u);
    EXPECT_EQ(onSource(other), 0u);
    json = status(config);
    EXPECT_EQ(statusField(json, failing, "deleted"), kMessages) << json;
    EXPECT_EQ(statusField(json, failing, "pending"), 0) << json;
    EXPECT_EQ(statusField(json, other, "deleted"), kOtherMessages) << json;
    expectSoundLedger("after the second run");

    // Nothing is left to do.
    auto third = run(config);
    ASSERT_EQ(third.exitCode, 0) << third.describe();
    EXPECT_EQ(dovecot_.messages("me").size(), delivered.size());
}

// Four target connections: a whole group commit of up to four deliveries fails at once.
TEST_F(HostileLedger, Pop3KeepFalseLedgerFullMidPollDeletesNothingAndLosesNothing) {
    failMidPollThenRecover("pop3", 4);
}

// One target connection: exactly one message is in flight when the ledger fails.
TEST_F(HostileLedger, ImapKeepFalseLedgerFullMidPollDeletesNothingAndLosesNothing) {
    failMidPollThenRecover("imap", 1);
}

// Two accounts polled at the same time: the failure of the shared ledger reaches both. Whichever
// fails first stops the run; the other stops at its own failing write (or, if it got all its
// writes in, finishes and deletes only what is durably recorded as delivered).
TEST_F(HostileLedger, Pop3ParallelAccountsBothStopSafely) {
    const std::vector<std::string> names = {"alice", "bob"};
    constexpr int kConnections = 4;
    auto config = setUp("pop3", {{names[0], kMessages}, {names[1], kMessages}}, 2, kConnections);

    auto broken = runWithFailingLedger(config);
    ASSERT_FALSE(broken.timedOut) << broken.describe();
    ASSERT_EQ(broken.termSignal, 0) << "must not crash:\n" << broken.describe();
    EXPECT_EQ(broken.exitCode, 3) << broken.describe();
    EXPECT_NE(broken.err.find(kLedgerStops), std::string::npos) << broken.err;

    auto delivered = dovecot_.messages("me");
    auto json = status(config);
    std::map<std::string, std::map<std::string, int>> firstCopies;
    std::map<std::string, int> inFlight;
    int firstDelivered = 0;
    long long recorded = 0;
    for (const auto& name : names) {
        const bool failed =
            broken.err.find("account=" + name + " poll failed failure_kind=ledger ") != std::string::npos;
        const bool ok = broken.err.find("account=" + name + " poll ok") != std::string::npos;
        EXPECT_TRUE(failed || ok) << name << " must report how its poll ended:\n" << broken.err;
        firstCopies[name] = copiesOf(delivered, name);
        const int count = total(firstCopies[name]);
        EXPECT_EQ(firstCopies[name].size(), std::size_t(count)) << name << ": no duplicate within one run";
        const long long durable = statusField(json, name, "delivered") + statusField(json, name, "deleted");
        inFlight[name] = count - static_cast<int>(durable);
        EXPECT_GE(inFlight[name], 0) << json;
        EXPECT_LE(inFlight[name], kConnections) << name;
        firstDelivered += count;
        recorded += durable;
        // Nothing lost: every message is still on the source or was delivered.
        std::map<std::string, int> onServer = copiesOf(dovecot_.messages(name), name);
        for (int i = 0; i < kMessages; ++i) {
            std::string subject = subjectPrefix(name) + std::to_string(i);
            EXPECT_TRUE(onServer.count(subject) || firstCopies[name].count(subject)) << subject << " was lost";
        }
        if (failed) {
            EXPECT_EQ(onServer.size(), std::size_t(kMessages)) << name << ": nothing may be deleted";
            EXPECT_EQ(flaggedDeleted(name), 0u);
        } else {
            EXPECT_EQ(static_cast<long long>(onServer.size()) + durable, kMessages)
                << name << ": deleted exactly what the ledger records as delivered";
        }
    }
    ASSERT_GE(recorded, 1) << "the ledger failed before the first message: not mid-poll\n" << broken.err;
    ASSERT_LT(firstDelivered, 2 * kMessages) << "the ledger never failed";
    expectSoundLedger("after the failed run");

    auto again = run(config);
    ASSERT_EQ(again.exitCode, 0) << again.describe();
    delivered = dovecot_.messages("me");
    for (const auto& name : names) {
        auto copies = copiesOf(delivered, name);
        EXPECT_EQ(copies.size(), std::size_t(kMessages)) << name << ": every message delivered";
        EXPECT_LE(total(copies) - kMessages, inFlight[name]) << name << ": only the messages in flight doubled";
        EXPECT_EQ(onSource(name), 0u) << name;
        EXPECT_EQ(statusField(status(config), name, "deleted"), kMessages);
    }
    expectSoundLedger("after the second run");
}

}  // namespace
}  // namespace mc::testing
