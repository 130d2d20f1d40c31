#include "schedules/Logging.hpp"

#include <spdlog/pattern_formatter.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace mc::schedules {
namespace {

thread_local std::string currentAccount;

constexpr std::string_view kAccountPrefix = "account=";

void append(spdlog::memory_buf_t& dest, std::string_view text) { dest.append(text.data(), text.data() + text.size()); }

// Adds "account=NAME " for lines logged during a poll that do not name the account themselves.
class AccountFlag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        const std::string& account = ScopedLogAccount::current();
        std::string_view payload(msg.payload.data(), msg.payload.size());
        if (account.empty() || payload.substr(0, kAccountPrefix.size()) == kAccountPrefix) return;
        append(dest, kAccountPrefix);
        append(dest, account);
        append(dest, " ");
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<AccountFlag>(); }
};

// The message with control characters and bytes that are not UTF-8 shown as \xNN, so server text
// cannot break a line in two or send terminal escapes.
class PrintableMessageFlag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        append(dest, proto::terminalEscape(std::string_view(msg.payload.data(), msg.payload.size())));
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<PrintableMessageFlag>(); }
};

}  // namespace

RepeatLimitingSink::RepeatLimitingSink(std::shared_ptr<spdlog::sinks::sink> sink) : sink_(std::move(sink)) {}

RepeatLimitingSink::~RepeatLimitingSink() {
    std::lock_guard lock(mutex_);
    reportRepeats(spdlog::log_clock::now(), true);
    sink_->flush();
}

void RepeatLimitingSink::sink_it_(const spdlog::details::log_msg& msg) {
    // Bounded memory whatever is logged: past this many distinct recent messages, start over.
    constexpr std::size_t kMaxTracked = 4096;
    if (repeats_.size() >= kMaxTracked) reportRepeats(msg.time, true);
    Repeats& entry = repeats_[std::string(msg.payload.data(), msg.payload.size())];
    if (entry.shown > 0 && msg.time - entry.windowStart >= kWindow) {
        reportRepeats(msg.time, false);
        return sink_it_(msg);  // its entry was reported and removed: this starts a new window
    }
    if (entry.shown == 0) {
        entry.windowStart = msg.time;
        entry.level = msg.level;
        entry.loggerName.assign(msg.logger_name.data(), msg.logger_name.size());
    }
    if (entry.shown < kShownRepeats) {
        ++entry.shown;
        sink_->log(msg);
    } else {
        ++entry.suppressed;
    }
}

void RepeatLimitingSink::flush_() {
    reportRepeats(spdlog::log_clock::now(), false);
    sink_->flush();
}

void RepeatLimitingSink::reportRepeats(spdlog::log_clock::time_point now, bool all) {
    for (auto it = repeats_.begin(); it != repeats_.end();) {
        const Repeats& entry = it->second;
        if (!all && now - entry.windowStart < kWindow) {
            ++it;
            continue;
        }
        if (entry.suppressed > 0) {
            const std::string text = it->first + " [repeated " + std::to_string(entry.suppressed) + " more times]";
            spdlog::details::log_msg summary(entry.loggerName, entry.level, text);
            sink_->log(summary);
        }
        it = repeats_.erase(it);
    }
}

ScopedLogAccount::ScopedLogAccount(std::string account) : previous_(std::move(currentAccount)) {
    currentAccount = std::move(account);
}

ScopedLogAccount::~ScopedLogAccount() { currentAccount = std::move(previous_); }

const std::string& ScopedLogAccount::current() { return currentAccount; }

bool splitAccountPrefix(std::string_view message, std::string_view& account, std::string_view& rest) {
    if (message.substr(0, kAccountPrefix.size()) != kAccountPrefix) return false;
    std::string_view tail = message.substr(kAccountPrefix.size());
    const std::size_t space = tail.find(' ');
    account = tail.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view() : tail.substr(space + 1);
    return !account.empty();
}

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
    using namespace std::chrono;
    const auto since = msg.time.time_since_epoch();
    const std::time_t seconds = duration_cast<std::chrono::seconds>(since).count();
    const auto millis = duration_cast<milliseconds>(since).count() % 1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char time[64];
    std::snprintf(time, sizeof time, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));

    std::string_view message(msg.payload.data(), msg.payload.size());
    std::string_view account;
    std::string_view rest;
    if (splitAccountPrefix(message, account, rest))
        message = rest;
    else
        account = ScopedLogAccount::current();

    const auto level = spdlog::level::to_string_view(msg.level);
    append(dest, "{\"time\":\"");
    append(dest, time);
    append(dest, "\",\"level\":\"");
    append(dest, std::string_view(level.data(), level.size()));
    append(dest, "\"");
    if (!account.empty()) {
        append(dest, ",\"account\":\"");
        append(dest, jsonEscape(account));
        append(dest, "\"");
    }
    append(dest, ",\"message\":\"");
    append(dest, jsonEscape(message));
    append(dest, "\"}\n");
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const { return std::make_unique<JsonLogFormatter>(); }

std::unique_ptr<spdlog::formatter> makeTextLogFormatter() {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<AccountFlag>('A').add_flag<PrintableMessageFlag>('V').set_pattern(
        "%Y-%m-%d %H:%M:%S.%e %^%l%$ %A%V");
    return formatter;
}

std::unique_ptr<spdlog::formatter> makeLogFormatter(const std::string& format) {
    if (format == "json") return std::make_unique<JsonLogFormatter>();
    return makeTextLogFormatter();
}

}  // namespace mc::schedules
