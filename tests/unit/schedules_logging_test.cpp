// Log lines: JSON that any parser accepts whatever a server sent, and the account on each line.

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "schedules/Logging.hpp"
#include "schedules/Service.hpp"

namespace mc::schedules {
namespace {

// A strict little JSON checker (RFC 8259) for one object of string/number values per line.
class JsonChecker {
public:
    explicit JsonChecker(std::string_view text) : text_(text) {}
    bool object() {
        if (!take('{')) return false;
        if (take('}')) return done();
        do {
            if (!string() || !take(':') || !value()) return false;
        } while (take(','));
        return take('}') && done();
    }

private:
    bool done() { return pos_ == text_.size(); }
    bool take(char c) {
        if (pos_ < text_.size() && text_[pos_] == c) return ++pos_, true;
        return false;
    }
    bool value() {
        if (pos_ < text_.size() && text_[pos_] == '"') return string();
        std::size_t start = pos_;
        while (pos_ < text_.size() &&
               (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '-' || text_[pos_] == '.'))
            ++pos_;
        return pos_ > start;
    }
    bool string() {
        if (!take('"')) return false;
        while (pos_ < text_.size()) {
            auto c = static_cast<unsigned char>(text_[pos_]);
            if (c == '"') return ++pos_, true;
            if (c < 0x20) return false;
            if (c == '\\') {
                if (++pos_ >= text_.size()) return false;
                char e = text_[pos_++];
                if (e == 'u') {
                    for (int i = 0; i < 4; ++i)
                        if (pos_ >= text_.size() || !std::isxdigit(static_cast<unsigned char>(text_[pos_++])))
                            return false;
                } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
                    return false;
                }
                continue;
            }
            if (c >= 0x80) {
                // Must be valid UTF-8: checked by re-escaping, which keeps valid sequences.
                std::size_t end = pos_ + 1;
                while (end < text_.size() && (static_cast<unsigned char>(text_[end]) & 0xC0) == 0x80) ++end;
                std::string_view sequence = text_.substr(pos_, end - pos_);
                if (jsonEscape(sequence) != sequence) return false;
                pos_ = end;
                continue;
            }
            ++pos_;
        }
        return false;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

class LoggingTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
        logger_ = std::make_shared<spdlog::logger>("test", sink);
    }
    std::vector<std::string> lines() {
        std::vector<std::string> result;
        std::istringstream in(out_.str());
        std::string line;
        while (std::getline(in, line)) result.push_back(line);
        return result;
    }
    std::ostringstream out_;
    std::shared_ptr<spdlog::logger> logger_;
};

TEST(JsonEscapeTest, EscapesWhatJsonRequiresAndRepairsBrokenUtf8) {
    EXPECT_EQ(jsonEscape("plain text"), "plain text");
    EXPECT_EQ(jsonEscape("a \"quoted\" \\path"), "a \\\"quoted\\\" \\\\path");
    EXPECT_EQ(jsonEscape("line\nbreak\r\ttab\x01\x1b[31m\x7f"), "line\\nbreak\\r\\ttab\\u0001\\u001b[31m\\u007f");
    EXPECT_EQ(jsonEscape("Grüße €½ 😀"), "Grüße €½ 😀") << "valid UTF-8 stays as it is";
    EXPECT_EQ(jsonEscape("bad \xff\xfe end"), "bad \\ufffd\\ufffd end");
    EXPECT_EQ(jsonEscape("truncated \xe2\x82"), "truncated \\ufffd\\ufffd");
    EXPECT_EQ(jsonEscape("overlong \xc0\xaf"), "overlong \\ufffd\\ufffd");
    EXPECT_EQ(jsonEscape("surrogate \xed\xa0\x80"), "surrogate \\ufffd\\ufffd\\ufffd");
    EXPECT_EQ(jsonEscape(std::string("nul\0byte", 8)), "nul\\u0000byte");
}

TEST_F(LoggingTest, JsonLinesParseWhateverTheServerSent) {
    logger_->set_formatter(makeLogFormatter("json"));
    const std::string hostile = "-ERR \"}\n{\"level\":\"critical\" \x1b[2J \xff\xc3 %s {} {:>99999}";
    logger_->error("account={} poll failed: {}", "alice", hostile);
    logger_->info("reloaded {}: {} accounts", "/etc/mailcollector.toml", 3);
    logger_->warn("account={} uid={} skipped", "bob", std::string("\0\t", 2));
    auto all = lines();
    ASSERT_EQ(all.size(), 3u) << out_.str();
    for (const auto& line : all) EXPECT_TRUE(JsonChecker(line).object()) << line;
    EXPECT_NE(all[0].find(R"("level":"error","account":"alice","message":"poll failed: -ERR \"}\n{\"level\")"),
              std::string::npos)
        << all[0];
    EXPECT_NE(all[0].find("%s {} {:>99999}"), std::string::npos) << "server text is never a format string";
    EXPECT_EQ(all[1].find("\"account\""), std::string::npos);
    EXPECT_NE(all[2].find(R"("account":"bob","uid":"\u0000\t","message":"uid=\u0000\t skipped")"), std::string::npos)
        << all[2];
    EXPECT_EQ(all[0].rfind(R"({"time":")", 0), 0u);
}

TEST_F(LoggingTest, JsonLinesCarryCountsAndFolderAsFields) {
    logger_->set_formatter(makeLogFormatter("json"));
    logger_->info("account={} poll ok: listed={} fetched={} delivered={} bytes={} seconds={:.2f}", "alice", 5, 3, 3,
                  1200, 0.25);
    logger_->error("account={} folder={} failed: {}", "bob", "Lists/Debian", "NO delivered=999 folder=evil");
    auto all = lines();
    ASSERT_EQ(all.size(), 2u) << out_.str();
    for (const auto& line : all) EXPECT_TRUE(JsonChecker(line).object()) << line;
    EXPECT_NE(all[0].find(R"("account":"alice","listed":5,"fetched":3,"delivered":3,"bytes":1200,"seconds":0.25,)"),
              std::string::npos)
        << all[0];
    // Server text after the first ": " makes no fields.
    EXPECT_NE(all[1].find(R"("account":"bob","folder":"Lists/Debian","message":)"), std::string::npos) << all[1];
    EXPECT_EQ(all[1].find(R"("delivered":)"), std::string::npos) << all[1];
}

// A failed or stopped poll's line (describePoll) carries its counts and failure kind as fields,
// as a successful poll's does; its error, server text, adds none.
TEST_F(LoggingTest, FailedAndStoppedPollLinesCarryTheirCountsAndKindAsFields) {
    logger_->set_formatter(makeLogFormatter("json"));
    collector::PollReport failed;
    failed.account = "alice";
    failed.failure = proto::FailureKind::Authentication;
    failed.listed = 4;
    failed.fetched = failed.delivered = 2;
    failed.error = "-ERR failure_kind=none delivered=999 folder=evil";
    logger_->error("{}", describePoll(failed));
    collector::PollReport stopped;
    stopped.account = "bob";
    stopped.interrupted = true;
    stopped.failure = proto::FailureKind::Interrupted;
    stopped.listed = 3;
    stopped.fetched = stopped.delivered = 1;
    stopped.error = "interrupted: stopping after 1 of 3 messages; the rest is collected next time";
    logger_->warn("{}", describePoll(stopped));
    auto all = lines();
    ASSERT_EQ(all.size(), 2u) << out_.str();
    for (const auto& line : all) EXPECT_TRUE(JsonChecker(line).object()) << line;
    EXPECT_NE(
        all[0].find(R"("account":"alice","failure_kind":"authentication","listed":4,"fetched":2,"delivered":2,)"
                    R"("deferred":0,"quarantined":0,"skipped":0,"deleted":0,"lone_crs":0,"bytes":0,"seconds":0.00,)"
                    R"("message":"poll failed failure_kind=authentication )"),
        std::string::npos)
        << all[0];
    EXPECT_NE(all[0].find(R"(: -ERR failure_kind=none delivered=999 folder=evil"})"), std::string::npos) << all[0];
    EXPECT_EQ(all[0].find(R"("folder":)"), std::string::npos) << all[0];
    EXPECT_NE(all[1].find(R"("level":"warning","account":"bob","failure_kind":"interrupted","listed":3,"fetched":1,)"
                          R"("delivered":1,)"),
              std::string::npos)
        << all[1];
    EXPECT_NE(all[1].find(R"(: interrupted: stopping after 1 of 3 messages;)"), std::string::npos) << all[1];
}

TEST_F(LoggingTest, JournalPrioritiesFollowSdDaemon) {
    EXPECT_EQ(journalPriority(spdlog::level::critical), "<2>");
    EXPECT_EQ(journalPriority(spdlog::level::err), "<3>");
    EXPECT_EQ(journalPriority(spdlog::level::warn), "<4>");
    EXPECT_EQ(journalPriority(spdlog::level::info), "<6>");
    EXPECT_EQ(journalPriority(spdlog::level::debug), "<7>");
}

TEST_F(LoggingTest, LinesLoggedDuringAPollCarryItsAccount) {
    logger_->set_formatter(makeLogFormatter("json"));
    {
        ScopedLogAccount scope("carol");
        logger_->warn("secret command printed nothing");
        logger_->warn("account={} named explicitly", "dave");
        {
            ScopedLogAccount nested("erin");
            logger_->info("nested");
        }
        logger_->info("restored");
    }
    logger_->info("outside");
    auto all = lines();
    ASSERT_EQ(all.size(), 5u);
    EXPECT_NE(all[0].find(R"("account":"carol","message":"secret command printed nothing")"), std::string::npos);
    EXPECT_NE(all[1].find(R"("account":"dave","message":"named explicitly")"), std::string::npos);
    EXPECT_NE(all[2].find(R"("account":"erin")"), std::string::npos);
    EXPECT_NE(all[3].find(R"("account":"carol")"), std::string::npos);
    EXPECT_EQ(all[4].find("account"), std::string::npos);
    EXPECT_EQ(ScopedLogAccount::current(), "");
}

TEST_F(LoggingTest, TextLinesNameTheAccountAndCannotBeSplitByServerText) {
    logger_->set_formatter(makeLogFormatter("text"));
    {
        ScopedLogAccount scope("carol");
        logger_->warn("greeting was {}", "+OK hi\r\nfake line\x1b[0m");
        logger_->info("account={} already named", "carol");
    }
    auto all = lines();
    ASSERT_EQ(all.size(), 2u) << out_.str();
    EXPECT_NE(all[0].find(" warning account=carol greeting was +OK hi\\x0d\\x0afake line\\x1b[0m"), std::string::npos)
        << all[0];
    EXPECT_NE(all[1].find(" info account=carol already named"), std::string::npos) << all[1];
    EXPECT_EQ(all[1].find("account=carol account=carol"), std::string::npos);
}

TEST(SplitAccountPrefixTest, FindsOnlyALeadingAccountToken) {
    std::string_view account, rest;
    EXPECT_TRUE(splitAccountPrefix("account=a.b-c poll ok", account, rest));
    EXPECT_EQ(account, "a.b-c");
    EXPECT_EQ(rest, "poll ok");
    EXPECT_TRUE(splitAccountPrefix("account=solo", account, rest));
    EXPECT_EQ(rest, "");
    EXPECT_FALSE(splitAccountPrefix("the account=x", account, rest));
    EXPECT_FALSE(splitAccountPrefix("account= x", account, rest));
}

}  // namespace
}  // namespace mc::schedules

namespace mc::schedules {
namespace {

// The same message over and over: the first few lines, then one line with the count.
TEST(RepeatLimitingSink, RepeatsBecomeACount) {
    std::ostringstream out;
    {
        auto sink = std::make_shared<RepeatLimitingSink>(std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
        spdlog::logger logger("repeats", sink);
        logger.set_pattern("%v");
        for (int i = 0; i < 10'000; ++i) logger.warn("account=a server alert for a: over quota");
        logger.warn("account=a something else");
        logger.flush();
    }
    std::size_t lines = 0;
    for (char c : out.str()) lines += c == '\n';
    EXPECT_EQ(lines, static_cast<std::size_t>(RepeatLimitingSink::kShownRepeats) + 2) << out.str();
    EXPECT_NE(out.str().find("account=a server alert for a: over quota [repeated 9995 more times]"), std::string::npos)
        << out.str();
    EXPECT_NE(out.str().find("account=a something else\n"), std::string::npos);
}

}  // namespace
}  // namespace mc::schedules
