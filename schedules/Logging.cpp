#include "schedules/Logging.hpp"

#include <spdlog/pattern_formatter.h>

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
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
    for (const auto& [key, value] : messageFields(message)) {
        append(dest, ",\"");
        append(dest, key);
        append(dest, "\":");
        if (isJsonNumber(value)) {
            append(dest, value);
        } else {
            append(dest, "\"");
            append(dest, jsonEscape(value));
            append(dest, "\"");
        }
    }
    append(dest, ",\"message\":\"");
    append(dest, jsonEscape(message));
    append(dest, "\"}\n");
}

std::vector<std::pair<std::string_view, std::string_view>> messageFields(std::string_view message) {
    std::vector<std::pair<std::string_view, std::string_view>> fields;
    // Server text follows the first ": " (an error, a reply): only our own words before it are read,
    // except in a poll's success line, which holds no server text.
    if (const std::size_t colon = message.find(": "); colon != std::string_view::npos) {
        const std::string_view head = message.substr(0, colon);
        if (head.size() < 7 || head.substr(head.size() - 7) != "poll ok") message = head;
    }
    std::size_t at = 0;
    while (at < message.size()) {
        std::size_t end = message.find(' ', at);
        if (end == std::string_view::npos) end = message.size();
        std::string_view token = message.substr(at, end - at);
        at = end + 1;
        while (!token.empty() && (token.back() == ')' || token.back() == ',' || token.back() == ';'))
            token.remove_suffix(1);
        if (!token.empty() && token.front() == '(') token.remove_prefix(1);
        const std::size_t equals = token.find('=');
        if (equals == 0 || equals == std::string_view::npos || equals + 1 == token.size()) continue;
        const std::string_view key = token.substr(0, equals);
        if (!std::all_of(key.begin(), key.end(), [](unsigned char c) { return std::islower(c) || c == '_'; })) continue;
        if (key == "time" || key == "level" || key == "account" || key == "message") continue;
        if (std::any_of(fields.begin(), fields.end(), [&](const auto& field) { return field.first == key; })) continue;
        fields.emplace_back(key, token.substr(equals + 1));
    }
    return fields;
}

bool isJsonNumber(std::string_view text) {
    if (text.empty() || text.size() > 18 || text.front() == '.' || text.back() == '.') return false;
    if (text.size() > 1 && text.front() == '0' && text[1] != '.') return false;
    return std::count(text.begin(), text.end(), '.') <= 1 &&
           std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) || c == '.'; });
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const { return std::make_unique<JsonLogFormatter>(); }

std::unique_ptr<spdlog::formatter> makeTextLogFormatter() {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<AccountFlag>('A').add_flag<PrintableMessageFlag>('V').set_pattern(
        "%Y-%m-%d %H:%M:%S.%e %^%l%$ %A%V");
    return formatter;
}

namespace {

// Prefixes each line with its journald priority.
class JournalPriorityFormatter final : public spdlog::formatter {
public:
    explicit JournalPriorityFormatter(std::unique_ptr<spdlog::formatter> inner) : inner_(std::move(inner)) {}
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        append(dest, journalPriority(msg.level));
        inner_->format(msg, dest);
    }
    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<JournalPriorityFormatter>(inner_->clone());
    }

private:
    std::unique_ptr<spdlog::formatter> inner_;
};

}  // namespace

std::string_view journalPriority(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::critical:
            return "<2>";
        case spdlog::level::err:
            return "<3>";
        case spdlog::level::warn:
            return "<4>";
        case spdlog::level::info:
            return "<6>";
        default:
            return "<7>";
    }
}

bool stderrIsJournal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (!stream) return false;
    unsigned long long device = 0, inode = 0;
    if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
    struct stat status {};
    return ::fstat(2, &status) == 0 && status.st_dev == device && status.st_ino == inode;
}

std::unique_ptr<spdlog::formatter> makeLogFormatter(const std::string& format) {
    if (format == "json") {
        if (stderrIsJournal()) return std::make_unique<JournalPriorityFormatter>(std::make_unique<JsonLogFormatter>());
        return std::make_unique<JsonLogFormatter>();
    }
    if (!stderrIsJournal()) return makeTextLogFormatter();
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<AccountFlag>('A').add_flag<PrintableMessageFlag>('V').set_pattern("%l %A%V");
    return std::make_unique<JournalPriorityFormatter>(std::move(formatter));
}

}  // namespace mc::schedules
