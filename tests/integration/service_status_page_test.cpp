// The status page in a real browser: `mailcollector run` against a private Dovecot (POP3, IMAP
// and the LMTP target) with http_token_file set, driven by headless Chromium through
// status_page_browser.py in one session: login, states and hints, a hostile folder name shown as
// text, quarantine retry, "Check mail now" and the live update of the count, the chart. It leaves
// a screenshot, status-page.png, in the test's working directory (the README's docs/ copy).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/integration/service_harness.hpp"

namespace mc::testing::service {
namespace {

const std::string kHostileFolder = "<img src=x onerror=document.title='pwned'>";

class StatusPageTest : public ServiceFixture {};

TEST_F(StatusPageTest, ABrowserSeesTheAccountsPollsAndRetriesThroughThePage) {
    for (const char* tool : {"/usr/bin/chromium", "/usr/bin/chromedriver", "/usr/lib/python3/dist-packages/selenium"})
        ASSERT_TRUE(std::filesystem::exists(tool)) << tool << " is missing: run ./deploy/install-deps.sh";

    auto accounts = makeAccounts(3, "page");
    accounts[0].name = "home";
    accounts[1].name = "broken";
    accounts[1].password = "not-the-password";
    accounts[2].name = "hostile";
    accounts[2].protocol = "imap";
    accounts[2].extra = "idle = false\nfolders = [\"" + kHostileFolder + "\"]\n";
    for (int i = 0; i < 2; ++i) seed(accounts[0], "quarantined-" + std::to_string(i) + "@example.org");
    httpToken_ = "page-token-0123456789";
    const auto tokenFile = work_.writeFile("http.token", httpToken_ + "\n", 0600);
    const std::string collector = "http_token_file = \"" + tokenFile.string() + "\"";

    // First with a recipient the target does not know: home's messages are quarantined.
    auto config = writeConfig(accounts, collector);
    {
        std::ifstream in(config);
        std::string toml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const auto at = toml.find("recipient = \"me\"");
        ASSERT_NE(at, std::string::npos);
        toml.replace(at, 16, "recipient = \"nobody\"");
        work_.writeFile("mailcollector.toml", toml, 0600);
    }
    startDaemon(config);
    ASSERT_TRUE(waitQuiet(accounts, 1)) << daemon_->err();
    ASSERT_EQ(delivered(), 0u);
    // Then the fix, as an operator would: the right recipient, and a reload.
    writeConfig(accounts, collector);
    daemon_->sendSignal(SIGHUP);
    ASSERT_TRUE(daemon_->waitForOutput("reloaded", 30s)) << daemon_->err();
    ASSERT_TRUE(waitQuiet(accounts, 1)) << daemon_->err();

    const std::string screenshot = (std::filesystem::current_path() / "status-page.png").string();
    // Debian's python3, where python3-selenium is (not a python3 earlier on PATH).
    const auto browser =
        runProcess({"/usr/bin/python3", std::string(MC_SOURCE_DIR) + "/tests/integration/status_page_browser.py",
                    "--url", "http://127.0.0.1:" + std::to_string(httpPort_), "--token", httpToken_, "--hostile",
                    kHostileFolder, "--screenshot", screenshot},
                   {}, 300s);
    EXPECT_EQ(browser.exitCode, 0) << browser.describe() << "\n" << daemon_->err();
    EXPECT_NE(browser.out.find("PASSED"), std::string::npos) << browser.out;
    EXPECT_TRUE(std::filesystem::exists(screenshot));

    // What the page did happened: both messages reached the target, once.
    const auto ids = deliveredIds();
    EXPECT_EQ(ids.size(), 2u);
    for (const auto& [id, count] : ids) EXPECT_EQ(count, 1) << id;
    // The same history through the command line: the first poll quarantined, the last delivered.
    const auto history = runProcess({MC_BINARY, "status", "-c", config, "--account", "home", "--history"}, {}, 60s);
    EXPECT_EQ(history.exitCode, 0) << history.describe();
    EXPECT_NE(history.out.find("ok  fetched 2, delivered 2, quarantined 0"), std::string::npos) << history.out;
    EXPECT_NE(history.out.find("failed:target-permanent  fetched 2, delivered 0, quarantined 2"), std::string::npos)
        << history.out;
    const auto json = runProcess({MC_BINARY, "status", "-c", config, "--history", "--json"}, {}, 60s);
    EXPECT_NE(json.out.find("\"result\":\"ok\",\"error\":\"\",\"fetched\":2,\"delivered\":2"), std::string::npos)
        << json.out;
    EXPECT_NE(json.out.find("\"days\":[]"), std::string::npos) << json.out;
    // The token never reaches a log line.
    EXPECT_EQ(daemon_->err().find(httpToken_), std::string::npos);
    const auto stopped = daemon_->stop(SIGTERM);
    EXPECT_EQ(stopped.exitCode, 0) << stopped.describe();
}

}  // namespace
}  // namespace mc::testing::service
