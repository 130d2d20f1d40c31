// The status page: the pure page model and its renderers (states, counts, hints, escaping of
// server text, the chart), and the page's routes on a real admin socket: the token (Bearer and
// the login cookie), the CSRF token of its forms, the Origin and Host checks.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <regex>
#include <thread>

#include "collector/ledger/SqliteLedgerStore.hpp"
#include "schedules/AdminServer.hpp"
#include "schedules/StatusPage.hpp"
#include "tests/support/FakeClock.hpp"
#include "tests/support/HttpClient.hpp"

namespace mc::schedules {
namespace {

using namespace std::chrono_literals;

const std::string kHostile = "<img src=x onerror=\"alert('x')\">&amp;";

config::AccountSettings accountSettings(const std::string& name, config::SourceProtocol protocol) {
    config::AccountSettings account;
    account.name = name;
    account.protocol = protocol;
    account.endpoint.host = "mail.example.org";
    account.endpoint.port = protocol == config::SourceProtocol::Imap ? 993 : 995;
    account.folders = {"INBOX", kHostile};
    account.labels = {"old-isp"};
    return account;
}

ledger::AccountRecord record(const std::string& name, const std::string& result, const std::string& error = "") {
    ledger::AccountRecord r;
    r.name = name;
    r.lastPollAt = 1'000'000 - 180;
    r.nextPollAt = 1'000'000 + 240;
    r.lastResult = result;
    r.lastError = error;
    r.delivered = 10;
    r.deleted = 2;
    r.pending = 3;
    r.quarantined = 1;
    return r;
}

class StatusModelTest : public ::testing::Test {
protected:
    void SetUp() override {
        for (const char* name : {"fine", "broken", "busy", "elsewhere", "new"})
            settings_.push_back(accountSettings(name, config::SourceProtocol::Imap));
        settings_[0].protocol = config::SourceProtocol::Pop3;
        settings_[0].endpoint.port = 995;
        for (const auto& account : settings_) inputs_.accounts.push_back(&account);
        inputs_.now = 1'000'000;
        inputs_.nowMs = inputs_.now * 1000;
        inputs_.records = {record("fine", "ok"), record("broken", "failed:authentication", "-ERR " + kHostile),
                           record("busy", "ok"), record("elsewhere", "ok")};
        inputs_.records[3].leaseHolder = "other-host:42:abc";
        inputs_.views = {AccountView{.name = "busy", .state = AccountState::Running}};
        collector::PollReport last;
        last.ok = true;
        last.fetched = last.delivered = 12;
        inputs_.lastPolls["fine"] = last;
        ledger::MessageRecord quarantined;
        quarantined.key.account = "fine";
        quarantined.lastError = "550 5.1.1 " + kHostile + " (copy: /var/lib/q/fine/1.eml)";
        inputs_.quarantined = {quarantined};
        inputs_.progress["busy"] = PollProgressEntry{120, 5000, inputs_.nowMs - 4000, inputs_.nowMs};
    }

    std::vector<config::AccountSettings> settings_;
    StatusInputs inputs_;
};

TEST_F(StatusModelTest, EachAccountGetsItsStateCountsAndHint) {
    const StatusModel model = buildStatusModel(inputs_);
    ASSERT_EQ(model.accounts.size(), 5u);
    const auto& fine = model.accounts[0];
    EXPECT_EQ(fine.state, AccountPageState::Ok);
    EXPECT_EQ(fine.source, "POP3 mail.example.org:995");
    EXPECT_EQ(fine.deliveredTotal, 12u);
    EXPECT_TRUE(fine.lastPollKnown);
    EXPECT_EQ(fine.fetchedLastPoll, 12u);
    EXPECT_EQ(fine.pending, 3u);
    EXPECT_EQ(fine.quarantined, 1u);
    EXPECT_EQ(fine.quarantineReason, "550 5.1.1 " + kHostile);
    EXPECT_TRUE(fine.hint.empty());

    const auto& broken = model.accounts[1];
    EXPECT_EQ(broken.state, AccountPageState::Failing);
    EXPECT_EQ(broken.failureKind, "authentication");
    EXPECT_EQ(broken.hint, failureHint(proto::FailureKind::Authentication));
    EXPECT_NE(broken.hint.find("password"), std::string::npos);
    EXPECT_EQ(broken.source, "IMAP mail.example.org:993, folders INBOX, " + kHostile);

    EXPECT_EQ(model.accounts[2].state, AccountPageState::Polling);
    EXPECT_TRUE(model.accounts[2].progressShown);
    EXPECT_EQ(model.accounts[2].progress.done, 120u);
    EXPECT_EQ(model.accounts[3].state, AccountPageState::Held);
    EXPECT_EQ(model.accounts[3].heldBy, "other-host:42:abc");
    EXPECT_EQ(model.accounts[4].state, AccountPageState::NeverChecked);
}

TEST_F(StatusModelTest, ThePageShowsServerTextOnlyEscaped) {
    const StatusModel model = buildStatusModel(inputs_);
    const std::string page = renderStatusPage(model, "", PageContext{"csrf123", "nonce456", false});
    EXPECT_EQ(page.find("<img"), std::string::npos);
    EXPECT_NE(page.find("-ERR &lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;amp;"), std::string::npos);
    EXPECT_NE(page.find("3 minutes ago"), std::string::npos);
    EXPECT_NE(page.find("in 4 minutes"), std::string::npos);
    EXPECT_NE(page.find("12 last time, 12 delivered in all"), std::string::npos);
    EXPECT_NE(page.find("fetching 120 of 5,000 messages, 30.0 messages/s"), std::string::npos);
    EXPECT_NE(page.find("held by other-host:42:abc"), std::string::npos);
    EXPECT_NE(page.find("name=\"csrf\" value=\"csrf123\""), std::string::npos);
    EXPECT_NE(page.find("<script nonce=\"nonce456\">"), std::string::npos);
    EXPECT_NE(page.find("href=\"/account/broken\">View history"), std::string::npos);
    EXPECT_EQ(page.find(" src="), page.find(" src=x")) << "no external asset";
    EXPECT_EQ(page.find("href=\"http"), std::string::npos) << "no external asset";

    const std::string json = renderStatusJson(model);
    EXPECT_EQ(json.find("<img"), std::string::npos) << "JSON is put in with textContent, but stays escaped too";
    EXPECT_NE(json.find("\"state\":\"failing\""), std::string::npos);
    EXPECT_NE(json.find("\"delivered\":12"), std::string::npos);
}

TEST(StatusPageText, RelativeTimes) {
    EXPECT_EQ(describeAgo(1000, 0), "never");
    EXPECT_EQ(describeAgo(1000, 990), "just now");
    EXPECT_EQ(describeAgo(1000, 1000 - 60), "1 minute ago");
    EXPECT_EQ(describeAgo(100000, 100000 - 7200), "2 hours ago");
    EXPECT_EQ(describeAgo(1000000, 1000000 - 3 * 86400), "3 days ago");
    EXPECT_EQ(describeIn(1000, 0), "");
    EXPECT_EQ(describeIn(1000, 900), "now");
    EXPECT_EQ(describeIn(1000, 1030), "in 30 seconds");
    EXPECT_EQ(describeIn(1000, 1000 + 61), "in 2 minutes");
    EXPECT_EQ(accountPath("a.b_c-1"), "a.b_c-1");
    EXPECT_EQ(accountPath("a b/<"), "a%20b%2F%3C");
}

TEST(StatusPageChart, DeliveredPerDayCountsPollsAndSummariesInTheirDays) {
    const std::int64_t day = 86400, first = 19000 * day;
    std::vector<ledger::PollRecord> polls{{"a", first + 10, 0, "ok", "", 0, 3, 0, 0, 0, 0},
                                          {"a", first + 2 * day + 5, 0, "ok", "", 0, 4, 0, 0, 0, 0},
                                          {"a", first - 5, 0, "ok", "", 0, 100, 0, 0, 0, 0},
                                          {"a", first + 30 * day, 0, "ok", "", 0, 100, 0, 0, 0, 0}};
    std::vector<ledger::PollDaySummary> days{{"a", first, 2, 0, 0, 7, 0}, {"a", first + day, 1, 0, 0, 1, 0}};
    const auto perDay = deliveredPerDay(polls, days, first, 30);
    ASSERT_EQ(perDay.size(), 30u);
    EXPECT_EQ(perDay[0], 10u);
    EXPECT_EQ(perDay[1], 1u);
    EXPECT_EQ(perDay[2], 4u);
    EXPECT_EQ(perDay[29], 0u);

    const std::string svg = renderDailyChart({ChartSeries{"a<b", perDay}, ChartSeries{"c", perDay}}, first);
    EXPECT_EQ(svg.rfind("<svg class=\"chart\"", 0), 0u);
    std::size_t bars = 0;
    for (std::size_t at = svg.find("<rect x="); at != std::string::npos; at = svg.find("<rect x=", at + 1)) ++bars;
    EXPECT_EQ(bars, 6u) << "three days with mail, two accounts";
    EXPECT_NE(svg.find("a&lt;b"), std::string::npos);
    EXPECT_EQ(svg.find("a<b"), std::string::npos);
}

// --- the page's routes on a real socket ------------------------------------------------------

using Response = testing::HttpReply;

class StatusPageServerTest : public ::testing::Test {
protected:
    void start(const std::string& token) {
        char pattern[] = "/tmp/mc-page-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        ledger_ = std::make_unique<ledger::SqliteLedgerStore>((dir_ / "ledger.db").string());
        auto config = std::make_shared<config::Config>();
        config->collector.quarantineDir = (dir_ / "quarantine").string();
        for (const char* name : {"alice", "bob"}) {
            config::AccountSettings account = accountSettings(name, config::SourceProtocol::Imap);
            account.interval = std::chrono::hours(1);
            config->accounts.push_back(account);
        }
        service_ = std::make_unique<Service>(
            config, *ledger_, clock_, metrics_,
            [this](const config::Config&, const config::AccountSettings& account) {
                ++polls_[account.name == "alice" ? 0 : 1];
                collector::PollReport report;
                report.account = account.name;
                report.ok = true;
                report.fetched = report.delivered = 2;
                return report;
            },
            ServiceOptions{.seed = 5});
        health_ = std::make_unique<LedgerHealth>(*ledger_, clock_);
        server_ = std::make_unique<AdminServer>("127.0.0.1:0", *service_, metrics_, *health_, AdminLimits{},
                                                AdminPage{ledger_.get(), &progress_, token});
        runner_ = std::async(std::launch::async, [this] { return service_->run(); });
        ASSERT_TRUE(eventually([&] { return polls_[0] == 1 && polls_[1] == 1 && service_->pollsInFlight() == 0; }));
    }
    void TearDown() override {
        server_.reset();
        if (service_) service_->requestStop();
        if (runner_.valid()) runner_.wait();
        service_.reset();
        ledger_.reset();
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }

    Response send(const std::string& method, const std::string& path,
                  const std::map<std::string, std::string>& headers = {}, const std::string& body = "") {
        return testing::httpRequest(server_->port(), method, path, headers, body);
    }

    static std::string csrfOf(const std::string& page) {
        std::smatch match;
        if (!std::regex_search(page, match, std::regex("name=\"csrf\" value=\"([0-9a-f]+)\""))) return "";
        return match[1];
    }

    static bool eventually(const std::function<bool()>& done) {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(1ms);
        }
        return true;
    }

    std::filesystem::path dir_;
    std::unique_ptr<ledger::SqliteLedgerStore> ledger_;
    testing::FakeClock clock_;
    Metrics metrics_;
    PollProgress progress_;
    std::atomic<int> polls_[2] = {0, 0};
    std::unique_ptr<Service> service_;
    std::unique_ptr<LedgerHealth> health_;
    std::unique_ptr<AdminServer> server_;
    std::future<ServiceResult> runner_;
};

TEST_F(StatusPageServerTest, ThePageListsTheAccountsAndItsButtonsPollWithTheCsrfToken) {
    start("");
    const auto page = send("GET", "/");
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_EQ(page.headers.at("Content-Type"), "text/html; charset=utf-8");
    EXPECT_NE(page.headers.at("Content-Security-Policy").find("default-src 'none'"), std::string::npos);
    EXPECT_NE(page.body.find("data-account=\"alice\""), std::string::npos);
    EXPECT_NE(page.body.find("data-account=\"bob\""), std::string::npos);
    EXPECT_EQ(page.body.find("<img"), std::string::npos) << "the hostile folder name is escaped";
    const std::string csrf = csrfOf(page.body);
    ASSERT_FALSE(csrf.empty());

    // The history has the first polls (written just after a poll stops counting as in flight).
    Response history;
    EXPECT_TRUE(eventually([&] {
        history = send("GET", "/account/alice");
        return history.status == 200 && history.body.find("<td>ok</td><td>2</td><td>2</td>") != std::string::npos;
    })) << history.body;
    EXPECT_EQ(send("GET", "/account/nobody").status, 404);

    // A form without the token, or from another site, polls nothing.
    EXPECT_EQ(send("POST", "/ui/poll", {}, "account=alice").status, 403);
    EXPECT_EQ(send("POST", "/ui/poll", {}, "account=alice&csrf=0000").status, 403);
    EXPECT_EQ(send("POST", "/ui/poll", {{"Origin", "http://evil.example"}}, "account=alice&csrf=" + csrf).status, 403);
    EXPECT_EQ(send("POST", "/poll/alice", {{"Origin", "http://evil.example"}}).status, 403);
    EXPECT_EQ(send("POST", "/poll", {{"Sec-Fetch-Site", "cross-site"}}).status, 403);
    EXPECT_EQ(polls_[0], 1);

    const auto posted = send("POST", "/ui/poll", {{"Origin", "http://127.0.0.1:" + std::to_string(server_->port())}},
                             "account=alice&csrf=" + csrf);
    EXPECT_EQ(posted.status, 303);
    EXPECT_EQ(posted.headers.at("Location"), "/account/alice");
    ASSERT_TRUE(eventually([&] { return polls_[0] == 2; }));
    EXPECT_EQ(polls_[1], 1);
    EXPECT_EQ(send("POST", "/ui/poll", {{"X-Requested-With", "fetch"}}, "csrf=" + csrf).status, 202);
    ASSERT_TRUE(eventually([&] { return polls_[0] == 3 && polls_[1] == 2; }));

    const auto json = send("GET", "/status.json");
    EXPECT_EQ(json.status, 200);
    EXPECT_EQ(json.headers.at("Content-Type"), "application/json");
    EXPECT_NE(json.body.find("\"name\":\"alice\""), std::string::npos);

    // Another name for this server (DNS rebinding) sees nothing without a token.
    EXPECT_EQ(send("GET", "/", {{"Host", "attacker.example:9780"}}).status, 403);
    EXPECT_EQ(send("GET", "/metrics", {{"Host", "prometheus.example:9780"}}).status, 200);
}

TEST_F(StatusPageServerTest, WithATokenNothingIsShownOrDoneWithoutIt) {
    start("s3cret-token");
    const auto login = send("GET", "/");
    EXPECT_EQ(login.status, 401);
    EXPECT_NE(login.body.find("action=\"/login\""), std::string::npos);
    EXPECT_EQ(login.body.find("alice"), std::string::npos);
    for (const char* path : {"/status.json", "/account/alice", "/metrics", "/healthz"})
        EXPECT_EQ(send("GET", path).status, 401) << path;
    EXPECT_EQ(send("POST", "/poll/alice").status, 401);
    EXPECT_EQ(send("GET", "/metrics", {{"Authorization", "Bearer wrong"}}).status, 401);
    EXPECT_EQ(polls_[0], 1);

    EXPECT_EQ(send("GET", "/metrics", {{"Authorization", "Bearer s3cret-token"}}).status, 200);
    EXPECT_EQ(send("POST", "/poll/alice", {{"Authorization", "Bearer s3cret-token"}}).status, 202);
    ASSERT_TRUE(eventually([&] { return polls_[0] == 2; }));

    EXPECT_EQ(send("POST", "/login", {}, "token=wrong").status, 401);
    const auto loggedIn = send("POST", "/login", {}, "token=s3cret-token");
    ASSERT_EQ(loggedIn.status, 303);
    const std::string setCookie = loggedIn.headers.at("Set-Cookie");
    EXPECT_NE(setCookie.find("HttpOnly"), std::string::npos);
    EXPECT_NE(setCookie.find("SameSite=Strict"), std::string::npos);
    EXPECT_EQ(setCookie.find("s3cret-token"), std::string::npos) << "the cookie is derived, not the token";
    const std::string cookie = setCookie.substr(0, setCookie.find(';'));
    const auto page = send("GET", "/", {{"Cookie", "other=1; " + cookie}});
    ASSERT_EQ(page.status, 200);
    EXPECT_NE(page.body.find("data-account=\"alice\""), std::string::npos);
    // With a token the Host check is the token's job (a reverse proxy may use any name).
    EXPECT_EQ(send("GET", "/", {{"Cookie", cookie}, {"Host", "mail.example.org"}}).status, 200);
}

}  // namespace
}  // namespace mc::schedules
