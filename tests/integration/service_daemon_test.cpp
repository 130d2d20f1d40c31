// `mailcollector run` as a service: the real binary with many POP3S accounts on a private
// Dovecot, delivering by LMTP into the same Dovecot's user "me". Polls are triggered with
// SIGUSR1 and POST /poll (account intervals are an hour), and checked through the target's
// maildir, /metrics, `status` and /healthz.

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <random>

#include "tests/integration/service_harness.hpp"

namespace mc::testing::service {
namespace {

class ServiceDaemonTest : public ServiceFixture {};

// 200 accounts take about as long as 50 here; MC_SERVICE_ACCOUNTS overrides.
int accountCount() {
    const char* value = std::getenv("MC_SERVICE_ACCOUNTS");
    return value ? std::atoi(value) : 200;
}

TEST_F(ServiceDaemonTest, CollectsFromManyAccountsWhileMailKeepsArriving) {
    const auto accounts = makeAccounts(accountCount());
    const auto config = writeConfig(accounts);
    std::mt19937 random(20240501);
    std::map<std::string, int> perAccount;
    int seeded = 0;
    auto seedRandom = [&](int count, const std::string& round) {
        for (int i = 0; i < count; ++i) {
            const Account& account = accounts[random() % accounts.size()];
            seed(account, round + "-" + std::to_string(i) + "@" + account.name);
            ++perAccount[account.name];
            ++seeded;
        }
    };
    seedRandom(100, "before");
    startDaemon(config);
    ASSERT_TRUE(waitQuiet(accounts, 1)) << daemon_->err();
    ASSERT_EQ(delivered(), 100u) << daemon_->err();

    // Mail arrives while polls run; every round ends with everything delivered once.
    for (int round = 0; round < 4; ++round) {
        std::atomic<bool> seeding{true};
        std::thread writer([&] {
            seedRandom(60, "round" + std::to_string(round));
            seeding = false;
        });
        if (round % 2 == 0) {
            daemon_->sendSignal(SIGUSR1);
        } else {
            for (int i = 0; i < 20; ++i) {
                const auto& account = accounts[random() % accounts.size()];
                auto reply = http(httpPort_, "POST", "/poll/" + account.name);
                EXPECT_EQ(reply.status, 202) << reply.body;
            }
        }
        writer.join();
        ASSERT_TRUE(pollAllAndWait(accounts)) << daemon_->err();
        ASSERT_EQ(delivered(), static_cast<std::size_t>(seeded)) << "round " << round << "\n" << daemon_->err();
    }

    auto ids = deliveredIds();
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(seeded));
    for (const auto& [id, count] : ids) EXPECT_EQ(count, 1) << id;

    // /metrics, `status` and the target agree.
    auto m = metrics();
    EXPECT_EQ(sumMetric(m, "mailcollector_messages_total", "outcome=\"delivered\""), seeded);
    EXPECT_EQ(sumMetric(m, "mailcollector_pending_messages"), 0);
    EXPECT_EQ(sumMetric(m, "mailcollector_polls_total", "result=\"failed\""), 0);
    EXPECT_EQ(m["mailcollector_accounts"], accounts.size());
    EXPECT_GT(m["mailcollector_poll_duration_seconds_count"], 5.0 * accounts.size());
    for (const auto& [name, count] : perAccount)
        EXPECT_EQ(m["mailcollector_messages_total{account=\"" + name + "\",outcome=\"delivered\"}"], count) << name;
    auto json = status(config);
    ASSERT_TRUE(json.ok()) << json.describe();
    std::size_t statusDelivered = 0, at = 0;
    while ((at = json.out.find("\"delivered\":", at)) != std::string::npos) {
        at += 12;
        statusDelivered += std::stoul(json.out.substr(at));
    }
    EXPECT_EQ(statusDelivered, static_cast<std::size_t>(seeded));
    EXPECT_EQ(json.out.find("\"next_poll\":0,"), std::string::npos) << "every account has a next poll: " << json.out;
    EXPECT_EQ(health(), 200);

    daemon_->sendSignal(SIGTERM);
    auto ended = daemon_->wait(60s);
    ASSERT_TRUE(ended) << daemon_->err();
    EXPECT_EQ(ended->exitCode, 0) << ended->describe();
    expectJsonLogs();
    EXPECT_EQ(ended->err.find("pw-acct"), std::string::npos) << "no secrets in the log";
}

TEST_F(ServiceDaemonTest, PollNowOverHttpPollsOnlyThatAccount) {
    const auto accounts = makeAccounts(3);
    const auto config = writeConfig(accounts);
    startDaemon(config);
    ASSERT_TRUE(waitQuiet(accounts, 1)) << daemon_->err();
    seed(accounts[0], "a@x");
    seed(accounts[1], "b@x");
    auto reply = http(httpPort_, "POST", "/poll/" + accounts[0].name);
    EXPECT_EQ(reply.status, 202);
    ASSERT_TRUE(eventually([&] { return polls(accounts[0].name) == 2 && delivered() == 1; })) << daemon_->err();
    EXPECT_EQ(polls(accounts[1].name), 1);
    EXPECT_EQ(http(httpPort_, "POST", "/poll/nobody").status, 404);
    EXPECT_EQ(http(httpPort_, "GET", "/poll/" + accounts[0].name).status, 405);
    reply = http(httpPort_, "POST", "/poll");
    EXPECT_EQ(reply.status, 202);
    ASSERT_TRUE(eventually([&] { return delivered() == 2; })) << daemon_->err();
}

TEST_F(ServiceDaemonTest, SighupAddsAndRemovesAccountsWithoutDisturbingTheOthers) {
    auto accounts = makeAccounts(6);
    const auto extra = makeAccounts(1, "later");
    std::vector<Account> first(accounts.begin(), accounts.end());
    const auto config = writeConfig(first);
    startDaemon(config);
    ASSERT_TRUE(waitQuiet(first, 1)) << daemon_->err();

    // Remove acct001, add later001, change nothing else.
    std::vector<Account> second(accounts.begin() + 1, accounts.end());
    second.push_back(extra[0]);
    writeConfig(second);
    daemon_->sendSignal(SIGHUP);
    ASSERT_TRUE(daemon_->waitForOutput("reloaded", 30s)) << daemon_->err();
    EXPECT_NE(daemon_->err().find("added: later001; removed: acct001; changed: -"), std::string::npos)
        << daemon_->err();
    ASSERT_TRUE(waitQuiet({extra[0]}, 1)) << "an added account is polled at once\n" << daemon_->err();
    for (const auto& account : second)
        if (account.name != extra[0].name) EXPECT_EQ(polls(account.name), 1) << account.name << " was disturbed";

    seed(accounts[0], "removed@x");
    seed(extra[0], "added@x");
    seed(accounts[3], "kept@x");
    ASSERT_TRUE(pollAllAndWait(second)) << daemon_->err();
    auto ids = deliveredIds();
    EXPECT_EQ(ids.count("added@x"), 1u);
    EXPECT_EQ(ids.count("kept@x"), 1u);
    EXPECT_EQ(ids.count("removed@x"), 0u) << "a removed account is not polled";
    EXPECT_EQ(http(httpPort_, "POST", "/poll/acct001").status, 404);
    auto m = metrics();
    EXPECT_EQ(m.count("mailcollector_bytes_total{account=\"acct001\"}"), 0u);
    EXPECT_EQ(m["mailcollector_accounts"], 6);
    EXPECT_EQ(health(), 200);
}

TEST_F(ServiceDaemonTest, AnInvalidConfigOnSighupKeepsTheRunningOne) {
    const auto accounts = makeAccounts(3);
    const auto config = writeConfig(accounts);
    startDaemon(config);
    ASSERT_TRUE(waitQuiet(accounts, 1)) << daemon_->err();

    std::string broken = readFile(config);
    broken += "\n[[account]]\nname = \"bad one\"\nprotocol = \"pop3\"\n";
    writeFile(config, broken, 0600);
    const int badLine = static_cast<int>(std::count(broken.begin(), broken.end(), '\n')) - 1;
    daemon_->sendSignal(SIGHUP);
    ASSERT_TRUE(daemon_->waitForOutput("reload failed, keeping the current configuration", 30s)) << daemon_->err();
    EXPECT_NE(daemon_->err().find("mailcollector.toml:" + std::to_string(badLine)), std::string::npos)
        << "the error names the line\n"
        << daemon_->err();
    // A failed reload shows in the metrics, as Prometheus' own config_last_reload_successful.
    auto m = metrics();
    EXPECT_EQ(m["mailcollector_config_last_reload_successful"], 0) << http(httpPort_, "GET", "/metrics").body;
    EXPECT_EQ(m["mailcollector_config_reloads_total{result=\"failed\"}"], 1);
    EXPECT_EQ(m["mailcollector_config_reloads_total{result=\"applied\"}"], 0);

    seed(accounts[2], "still@x");
    ASSERT_TRUE(pollAllAndWait(accounts)) << daemon_->err();
    EXPECT_EQ(deliveredIds().count("still@x"), 1u);
    EXPECT_EQ(health(), 200);
    EXPECT_TRUE(daemon_->running());
}

TEST_F(ServiceDaemonTest, AHangingServerDoesNotDelayTheOtherAccounts) {
    // A listener that never accepts: connects succeed, the greeting never comes.
    const int hole = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(hole, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ASSERT_EQ(::bind(hole, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(hole, 16), 0);
    ASSERT_EQ(::getsockname(hole, reinterpret_cast<sockaddr*>(&address), &length), 0);

    auto accounts = makeAccounts(4);
    Account stuck{"stuck", "stuck", "pw-stuck", ""};
    std::string toml = readFile(writeConfig(accounts, "max_parallel = 2\nio_timeout = \"5m\""));
    const auto passwordFile = work_.writeFile("secrets/stuck", "pw-stuck\n", 0600);
    toml += "[[account]]\nname = \"stuck\"\nprotocol = \"pop3\"\nhost = \"127.0.0.1\"\nport = " +
            std::to_string(ntohs(address.sin_port)) +
            "\ntls = \"none\"\nallow_plaintext = true\nusername = \"x\"\n"
            "password_file = \"" +
            passwordFile.string() + "\"\ninterval = \"1h\"\n";
    const auto config = work_.writeFile("mailcollector.toml", toml, 0600).string();
    startDaemon(config);
    ASSERT_TRUE(eventually([&] {
        for (const auto& account : accounts)
            if (polls(account.name) < 1) return false;
        return true;
    })) << daemon_->err();
    for (int i = 0; i < 3; ++i) {
        for (const auto& account : accounts) seed(account, "r" + std::to_string(i) + "@" + account.name);
        daemon_->sendSignal(SIGUSR1);
        ASSERT_TRUE(eventually([&] { return delivered() == (i + 1) * accounts.size(); }, 30s)) << "round " << i << "\n"
                                                                                               << daemon_->err();
    }
    auto m = metrics();
    EXPECT_EQ(sumMetric(m, "mailcollector_polls_total", "account=\"stuck\""), 0) << "still waiting for a greeting";
    EXPECT_GE(m["mailcollector_polls_in_flight"], 1);

    // Closing the listener resets the waiting connection: the poll fails and is counted (and,
    // as SIGUSR1 asked for a poll meanwhile, it is retried at once, refused this time).
    ::close(hole);
    ASSERT_TRUE(eventually([&] { return polls("stuck") >= 1 && metrics()["mailcollector_polls_in_flight"] == 0; }, 30s))
        << daemon_->err();
    auto after = metrics();
    EXPECT_EQ(sumMetric(after, "mailcollector_poll_errors_total", "account=\"stuck\",kind=\"network\""),
              sumMetric(after, "mailcollector_polls_total", "account=\"stuck\""));
    daemon_->sendSignal(SIGTERM);
    auto ended = daemon_->wait(30s);
    ASSERT_TRUE(ended);
    EXPECT_EQ(ended->exitCode, 0);
}

TEST_F(ServiceDaemonTest, TalksToSystemdAndRefusesABusyListenAddress) {
    // A stand-in for systemd's notification socket.
    const auto socketPath = (work_.path() / "notify.sock").string();
    const int notify = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(notify, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socketPath.c_str());
    ASSERT_EQ(::bind(notify, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    timeval timeout{30, 0};
    ::setsockopt(notify, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    auto next = [&] {
        char buffer[256];
        const ssize_t n = ::recv(notify, buffer, sizeof buffer, 0);
        return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string("(nothing)");
    };

    const auto accounts = makeAccounts(1);
    const auto config = writeConfig(accounts);
    startDaemon(config, {{"NOTIFY_SOCKET", socketPath}});
    EXPECT_EQ(next(), "READY=1");

    auto second = runProcess({MC_BINARY, "run", "-c", config}, {}, std::chrono::seconds(30));
    EXPECT_EQ(second.exitCode, 2) << second.describe();
    EXPECT_NE(second.err.find("cannot listen on 127.0.0.1:" + std::to_string(httpPort_)), std::string::npos)
        << second.err;

    daemon_->sendSignal(SIGHUP);
    EXPECT_EQ(next(), "RELOADING=1");
    EXPECT_EQ(next(), "READY=1");
    daemon_->sendSignal(SIGTERM);
    EXPECT_EQ(next(), "STOPPING=1");
    auto ended = daemon_->wait(30s);
    ASSERT_TRUE(ended);
    EXPECT_EQ(ended->exitCode, 0) << ended->describe();
    ::close(notify);
}

TEST_F(ServiceDaemonTest, RunOncePollsEveryAccountInParallelAndKeepsItsExitCodes) {
    auto accounts = makeAccounts(12);
    for (const auto& account : accounts) seed(account, "once@" + account.name);
    accounts[5].password = "wrong";
    const auto config = writeConfig(accounts);
    auto result = runProcess({MC_BINARY, "run", "-c", config, "--once"}, {}, std::chrono::seconds(120));
    EXPECT_EQ(result.exitCode, 1) << result.describe();
    EXPECT_EQ(delivered(), 11u);
    EXPECT_NE(result.err.find("\"account\":\"acct006\",\"failure_kind\":\"authentication\",\"listed\":0,"),
              std::string::npos)
        << result.err;
    std::istringstream lines(result.err);
    std::string line;
    while (std::getline(lines, line)) EXPECT_TRUE(isJsonObjectLine(line)) << line;

    accounts[5].password = "pw-acct006";
    writeConfig(accounts);
    result =
        runProcess({MC_BINARY, "run", "-c", config, "--once", "--account", "acct006"}, {}, std::chrono::seconds(60));
    EXPECT_EQ(result.exitCode, 0) << result.describe();
    EXPECT_EQ(delivered(), 12u);
    EXPECT_EQ(health(), 0) << "run --once serves no endpoint";
}

}  // namespace
}  // namespace mc::testing::service
