// ImapIdleWatcher against a real private Dovecot: IDLE over IMAPS and over STARTTLS (reads with
// short timeouts on a TLS socket must leave the session intact), nested and non-ASCII folders,
// re-issued IDLEs, and prompt stops.

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "collector/imap/ImapIdleWatcher.hpp"
#include "config/Config.hpp"
#include "tests/support/DovecotServer.hpp"
#include "tests/support/TempDir.hpp"

namespace mc::testing {
namespace {

using namespace std::chrono_literals;
using collector::ImapIdleOptions;
using collector::ImapIdleWatcher;
using Clock = std::chrono::steady_clock;

class Calls {
public:
    ImapIdleWatcher::NewMailCallback callback() {
        return [this](const std::string& account, const std::string& folder) {
            {
                std::lock_guard lock(mutex_);
                calls_.insert({account, folder});
            }
            changed_.notify_all();
        };
    }
    // Waits until ACCOUNT's FOLDER was reported.
    bool waitFor(const std::string& account, const std::string& folder, std::chrono::milliseconds timeout = 30s) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return calls_.count({account, folder}) > 0; });
    }
    void clear() {
        std::lock_guard lock(mutex_);
        calls_.clear();
    }
    std::set<std::pair<std::string, std::string>> calls() {
        std::lock_guard lock(mutex_);
        return calls_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::set<std::pair<std::string, std::string>> calls_;
};

class ImapIdleDovecotTest : public ::testing::Test {
protected:
    void SetUp() override {
        dovecot_.addUser("alice", "alice-secret");
        dovecot_.addUser("bob", "bob-secret");
        // Folders exist before the watchers start.
        dovecot_.seed("alice", "INBOX", "Subject: old\n\nold\n");
        dovecot_.seed("alice", "Work/2019", "Subject: old work\n\nold\n");
        dovecot_.seed("alice", "Entw&APw-rfe/2020", "Subject: old draft\n\nold\n");
        dovecot_.seed("alice", "Trash", "Subject: trash\n\nold\n");
        dovecot_.seed("bob", "INBOX", "Subject: bob\n\nold\n");
        writeFile(work_ / "alice.pw", "alice-secret\n", 0600);
        writeFile(work_ / "bob.pw", "bob-secret\n", 0600);
        config_.collector.ioTimeout = std::chrono::seconds(10);
    }

    config::AccountSettings account(const std::string& name, const std::string& user, std::uint16_t port,
                                    config::TlsMode tls, std::vector<std::string> folders) {
        config::AccountSettings account;
        account.name = name;
        account.protocol = config::SourceProtocol::Imap;
        account.endpoint.host = "localhost";
        account.endpoint.port = port;
        account.endpoint.tls = tls;
        account.endpoint.caFile = dovecot_.caFile();
        account.username = user;
        account.password = {config::SecretSource::Kind::File, (work_ / (user + ".pw")).string()};
        account.folders = std::move(folders);
        return account;
    }

    static ImapIdleOptions options() {
        ImapIdleOptions options;
        options.checkEvery = 200ms;
        options.backoffInitial = 100ms;
        options.notifyOnConnect = false;
        return options;
    }

    DovecotServer dovecot_;
    TempDir work_{"mc-imap-idle"};
    config::Config config_;
};

TEST_F(ImapIdleDovecotTest, NewMailInAnyWatchedFolderIsReportedOverImapsAndStartTls) {
    auto alice = account("alice-imaps", "alice", dovecot_.imapsPort(), config::TlsMode::Implicit, {"*"});
    auto bob = account("bob-starttls", "bob", dovecot_.imapPort(), config::TlsMode::StartTls, {"INBOX"});
    Calls calls;
    ImapIdleWatcher aliceWatcher(config_, alice, calls.callback(), options());
    ImapIdleWatcher bobWatcher(config_, bob, calls.callback(), options());
    aliceWatcher.start();
    bobWatcher.start();
    ASSERT_TRUE(aliceWatcher.waitUntilIdling(3, 30s)) << dovecot_.log();
    ASSERT_TRUE(bobWatcher.waitUntilIdling(1, 30s)) << dovecot_.log();
    auto watched = aliceWatcher.folders();
    EXPECT_EQ(std::set<std::string>(watched.begin(), watched.end()),
              (std::set<std::string>{"INBOX", "Work/2019", "Entwürfe/2020"}));
    EXPECT_TRUE(calls.calls().empty());

    dovecot_.seed("alice", "Work/2019", "Subject: pushed\n\nnew\n");
    EXPECT_TRUE(calls.waitFor("alice-imaps", "Work/2019")) << dovecot_.log();
    dovecot_.seed("alice", "Entw&APw-rfe/2020", "Subject: pushed draft\n\nnew\n");
    EXPECT_TRUE(calls.waitFor("alice-imaps", "Entwürfe/2020")) << dovecot_.log();
    dovecot_.seed("bob", "INBOX", "Subject: pushed to bob\n\nnew\n");
    EXPECT_TRUE(calls.waitFor("bob-starttls", "INBOX")) << dovecot_.log();
    EXPECT_EQ(calls.calls().count({"alice-imaps", "INBOX"}), 0u);

    auto stopping = Clock::now();
    aliceWatcher.requestStop();
    bobWatcher.requestStop();
    aliceWatcher.stop();
    bobWatcher.stop();
    EXPECT_LT(Clock::now() - stopping, 5s);
    EXPECT_EQ(aliceWatcher.idling(), 0u);
}

TEST_F(ImapIdleDovecotTest, ReissuedIdleOverTlsStillReportsNewMail) {
    auto alice = account("alice-imaps", "alice", dovecot_.imapsPort(), config::TlsMode::Implicit, {"INBOX"});
    Calls calls;
    auto reissuing = options();
    reissuing.reissueEvery = 300ms;
    ImapIdleWatcher watcher(config_, alice, calls.callback(), reissuing);
    watcher.start();
    ASSERT_TRUE(watcher.waitUntilIdling(1, 30s)) << dovecot_.log();
    // Several DONE + IDLE rounds on the same TLS connection before the mail comes.
    ASSERT_TRUE(watcher.waitUntil([](const auto& stats) { return stats.idleCommands >= 4; }, 30s));
    dovecot_.seed("alice", "INBOX", "Subject: after reissues\n\nnew\n");
    EXPECT_TRUE(calls.waitFor("alice-imaps", "INBOX")) << dovecot_.log();
    auto stats = watcher.stats();
    EXPECT_EQ(stats.idling, 1u);
    EXPECT_EQ(stats.failures, 0u);
    EXPECT_EQ(stats.connections, 2u) << "the folder listing's and one IDLE connection, kept throughout";
    watcher.stop();
}

TEST_F(ImapIdleDovecotTest, ReportsOnceConnectedSoMailFromBeforeIsNotLeftForTheInterval) {
    auto alice = account("alice-imaps", "alice", dovecot_.imapsPort(), config::TlsMode::Implicit, {"INBOX"});
    Calls calls;
    auto catchUp = options();
    catchUp.notifyOnConnect = true;
    ImapIdleWatcher watcher(config_, alice, calls.callback(), catchUp);
    watcher.start();
    EXPECT_TRUE(calls.waitFor("alice-imaps", "")) << "the first round, once for the account: " << dovecot_.log();
    watcher.stop();
}

TEST_F(ImapIdleDovecotTest, WrongPasswordKeepsRetryingQuietlyAndStopsPromptly) {
    writeFile(work_ / "alice.pw", "wrong\n", 0600);
    auto alice = account("alice-imaps", "alice", dovecot_.imapsPort(), config::TlsMode::Implicit, {"INBOX"});
    auto slow = options();
    slow.backoffInitial = 60s;
    ImapIdleWatcher watcher(config_, alice, {}, slow);
    watcher.start();
    ASSERT_TRUE(watcher.waitUntil([](const auto& stats) { return stats.failures >= 1; }, 30s));
    EXPECT_EQ(watcher.status(), ImapIdleWatcher::Status::Running);
    auto stopping = Clock::now();
    watcher.stop();
    EXPECT_LT(Clock::now() - stopping, 3s);
    auto stats = watcher.stats();
    EXPECT_EQ(stats.idling, 0u);
    EXPECT_EQ(stats.connections, 1u) << "no retry before the backoff";
}

}  // namespace
}  // namespace mc::testing
