#pragma once
// Shared by the service integration tests: a private Dovecot with many POP3 accounts (sources)
// and user "me" (the LMTP target), the `mailcollector run` daemon as a background process, and
// its admin endpoint. Every wait is bounded and polls; nothing sleeps for a fixed time.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/DovecotServer.hpp"
#include "tests/support/HttpClient.hpp"
#include "tests/support/Process.hpp"
#include "tests/support/TempDir.hpp"

namespace mc::testing::service {

using namespace std::chrono_literals;

// Polls `done` every 20 ms until it holds or `timeout` passes.
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (done()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
}

using HttpResult = HttpReply;
// `token`: sent as `Authorization: Bearer` (for a service with http_token_file).
inline HttpResult http(std::uint16_t port, const std::string& method, const std::string& path,
                       const std::string& token = "") {
    return httpRequest(port, method, path, token);
}

// "name{labels}" -> value, from the Prometheus text format.
inline std::map<std::string, double> parseMetrics(const std::string& text) {
    std::map<std::string, double> values;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty() || line[0] == '#') continue;
        const auto space = line.rfind(' ');
        values[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return values;
}

// Sum of every series of `name` whose labels contain `labelPart` (e.g. outcome="delivered").
inline double sumMetric(const std::map<std::string, double>& metrics, const std::string& name,
                        const std::string& labelPart = "") {
    double sum = 0;
    for (const auto& [series, value] : metrics)
        if (series.rfind(name + "{", 0) == 0 && series.find(labelPart) != std::string::npos) sum += value;
    return sum;
}

// True when `line` is exactly one JSON object of strings and numbers (what our JSON logs are).
inline bool isJsonObjectLine(std::string_view text) {
    std::size_t pos = 0;
    auto take = [&](char c) {
        if (pos < text.size() && text[pos] == c) return ++pos, true;
        return false;
    };
    auto string = [&] {
        if (!take('"')) return false;
        while (pos < text.size()) {
            auto c = static_cast<unsigned char>(text[pos]);
            if (c == '"') return ++pos, true;
            if (c < 0x20) return false;
            if (c == '\\') {
                if (++pos >= text.size()) return false;
                char e = text[pos++];
                if (e == 'u') {
                    for (int i = 0; i < 4; ++i)
                        if (pos >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[pos++]))) return false;
                } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
                    return false;
                }
                continue;
            }
            ++pos;
        }
        return false;
    };
    auto value = [&] {
        if (pos < text.size() && text[pos] == '"') return string();
        std::size_t start = pos;
        while (pos < text.size() &&
               (std::isdigit(static_cast<unsigned char>(text[pos])) || text[pos] == '-' || text[pos] == '.'))
            ++pos;
        return pos > start;
    };
    if (!take('{')) return false;
    do {
        if (!string() || !take(':') || !value()) return false;
    } while (take(','));
    return take('}') && pos == text.size();
}

struct Account {
    std::string name;
    std::string user;
    std::string password;
    std::string extra;              // more TOML lines
    std::string protocol = "pop3";  // or "imap" (Dovecot's INBOX)
};

class ServiceFixture : public ::testing::Test {
protected:
    ServiceFixture() { dovecot_.addUser("me", "me-secret"); }
    ~ServiceFixture() override {
        if (daemon_ && daemon_->running()) daemon_->stop(SIGKILL);
    }

    // Creates `count` Dovecot users and their accounts ("<prefix>001", ...) in one go.
    std::vector<Account> makeAccounts(int count, const std::string& prefix = "acct", const std::string& extra = "") {
        std::vector<std::string> argv{supportFile("private-dovecot.sh").string(), "add-user", dovecot_.dir().string()};
        std::vector<Account> accounts;
        for (int i = 1; i <= count; ++i) {
            char name[64];
            std::snprintf(name, sizeof name, "%s%03d", prefix.c_str(), i);
            accounts.push_back(Account{name, name, std::string("pw-") + name, extra});
            argv.push_back(name);
            argv.push_back(accounts.back().password);
        }
        auto result = runProcess(argv, {}, std::chrono::seconds(300));
        if (!result.ok()) throw std::runtime_error("add-user: " + result.describe());
        return accounts;
    }

    std::string accountToml(const Account& account) {
        const auto passwordFile = work_.writeFile("secrets/" + account.name, account.password + "\n", 0600);
        return "[[account]]\nname = \"" + account.name + "\"\nprotocol = \"" + account.protocol +
               "\"\nhost = \"localhost\"\nport = " +
               std::to_string(account.protocol == "imap" ? dovecot_.imapsPort() : dovecot_.pop3sPort()) +
               "\nca_file = \"" + dovecot_.caFile() + "\"\nusername = \"" + account.user + "\"\npassword_file = \"" +
               passwordFile.string() + "\"\ninterval = \"1h\"\n" + account.extra + "\n";
    }

    // The config file (rewritten in place on later calls, as an operator would before SIGHUP).
    // `collectorExtra` lines ("key = value") override the [collector] defaults below.
    std::string writeConfig(const std::vector<Account>& accounts, const std::string& collectorExtra = "",
                            const std::string& targetExtra = "") {
        std::vector<std::pair<std::string, std::string>> collector{
            {"ledger", "\"state/ledger.db\""},
            {"quarantine_dir", "\"state/quarantine\""},
            {"http_listen", "\"127.0.0.1:" + std::to_string(httpPort_) + "\""},
            {"io_timeout", "\"20s\""},
            {"log_format", "\"json\""},
            {"max_parallel", "16"}};
        std::istringstream extra(collectorExtra);
        std::string line;
        while (std::getline(extra, line)) {
            const auto equals = line.find(" = ");
            if (equals == std::string::npos) continue;
            const std::string key = line.substr(0, equals);
            auto it = std::find_if(collector.begin(), collector.end(), [&](const auto& kv) { return kv.first == key; });
            if (it != collector.end())
                it->second = line.substr(equals + 3);
            else
                collector.emplace_back(key, line.substr(equals + 3));
        }
        std::string toml = "[collector]\n";
        for (const auto& [key, value] : collector) toml += key + " = " + value + "\n";
        toml += "\n[target]\nprotocol = \"lmtp\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(dovecot_.lmtpPort()) +
                "\ntls = \"none\"\nrecipient = \"me\"\n" + targetExtra + "\n";
        for (const auto& account : accounts) toml += accountToml(account);
        return work_.writeFile("mailcollector.toml", toml, 0600).string();
    }

    void startDaemon(const std::string& config, std::map<std::string, std::string> env = {}) {
        daemon_ = std::make_unique<BackgroundProcess>(std::vector<std::string>{MC_BINARY, "run", "-c", config}, env);
        ASSERT_TRUE(eventually([&] { return health() == 200 || !daemon_->running(); }, 30s)) << daemon_->err();
        ASSERT_TRUE(daemon_->running()) << daemon_->err();
    }

    int health() { return http(httpPort_, "GET", "/healthz", httpToken_).status; }
    std::map<std::string, double> metrics() {
        return parseMetrics(http(httpPort_, "GET", "/metrics", httpToken_).body);
    }

    // Polls of `account` finished so far, per /metrics.
    double polls(const std::string& account) {
        return sumMetric(metrics(), "mailcollector_polls_total", "account=\"" + account + "\"");
    }

    // Waits until no poll runs and each of `accounts` has finished at least `atLeast` polls.
    bool waitQuiet(const std::vector<Account>& accounts, double atLeast, std::chrono::milliseconds timeout = 120s) {
        return eventually(
            [&] {
                auto m = metrics();
                if (m.empty() || m["mailcollector_polls_in_flight"] != 0) return false;
                for (const auto& account : accounts)
                    if (sumMetric(m, "mailcollector_polls_total", "account=\"" + account.name + "\"") < atLeast)
                        return false;
                return true;
            },
            timeout);
    }

    // SIGUSR1, then waits until every account has finished one more poll.
    bool pollAllAndWait(const std::vector<Account>& accounts) {
        std::map<std::string, double> before;
        auto m = metrics();
        for (const auto& account : accounts)
            before[account.name] = sumMetric(m, "mailcollector_polls_total", "account=\"" + account.name + "\"");
        daemon_->sendSignal(SIGUSR1);
        return eventually(
            [&] {
                auto now = metrics();
                if (now["mailcollector_polls_in_flight"] != 0) return false;
                for (const auto& account : accounts)
                    if (sumMetric(now, "mailcollector_polls_total", "account=\"" + account.name + "\"") <=
                        before[account.name])
                        return false;
                return true;
            },
            180s);
    }

    std::size_t delivered() { return dovecot_.messageFiles("me").size(); }

    // Message-ID -> how many times it reached the target.
    std::map<std::string, int> deliveredIds() {
        std::map<std::string, int> ids;
        for (const auto& message : dovecot_.messages("me")) {
            auto at = message.find("\nMessage-ID: <");
            if (at == std::string::npos) continue;
            auto end = message.find('>', at);
            ++ids[message.substr(at + 14, end - at - 14)];
        }
        return ids;
    }

    // Seeds one message into `account`'s INBOX with Message-ID <id>.
    void seed(const Account& account, const std::string& id, std::size_t bodyBytes = 200) {
        dovecot_.seed(account.user, "INBOX",
                      "From: sender@example.org\nTo: " + account.user + "@example.net\nSubject: " + id +
                          "\nMessage-ID: <" + id + ">\n\n" + std::string(bodyBytes, 'x') + "\n");
    }

    ProcessResult status(const std::string& config) {
        return runProcess({MC_BINARY, "status", "-c", config, "--json"}, {}, std::chrono::seconds(60));
    }

    // Every stderr line of the daemon is one JSON object (log_format = "json").
    void expectJsonLogs() {
        std::istringstream lines(daemon_->err());
        std::string line;
        int count = 0;
        while (std::getline(lines, line)) {
            ++count;
            EXPECT_TRUE(isJsonObjectLine(line)) << line;
        }
        EXPECT_GT(count, 0);
    }

    DovecotServer dovecot_;
    TempDir work_{"mc-service"};
    std::uint16_t httpPort_ = freeLoopbackPort();
    std::string httpToken_;  // set when the config has http_token_file
    std::unique_ptr<BackgroundProcess> daemon_;
};

}  // namespace mc::testing::service
