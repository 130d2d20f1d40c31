#pragma once
// Log formats for the service: text (for people and journald) or JSON (one object per line, for
// log pipelines). Either way each line about an account names it: the collector writes
// "account=NAME ..." and the poll thread sets a ScopedLogAccount for anything else it logs.
// Log calls always use constant format strings; server text only ever goes in as an argument.

#include <spdlog/formatter.h>
#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/SafeText.hpp"

namespace mc::schedules {

// JSON string body for any bytes (valid UTF-8 whatever a server sent): proto's one escaper.
using proto::jsonEscape;

// The account the current thread is polling, for log lines that do not name it themselves.
class ScopedLogAccount {
public:
    explicit ScopedLogAccount(std::string account);
    ~ScopedLogAccount();
    ScopedLogAccount(const ScopedLogAccount&) = delete;
    ScopedLogAccount& operator=(const ScopedLogAccount&) = delete;

    static const std::string& current();  // empty outside a poll

private:
    std::string previous_;
};

// {"time":"2024-05-01T12:00:00.123Z","level":"info","account":"x","folder":"INBOX",
// "delivered":3,...,"message":"..."}: the "account=NAME " prefix of a message becomes the account
// field, and its key=value words (counts, folder, uid) fields of their own.
class JsonLogFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
    std::unique_ptr<spdlog::formatter> clone() const override;
};

// "2024-05-01 12:00:00.123 info account=x message": the pattern formatter plus the thread's
// account where the message does not start with one.
std::unique_ptr<spdlog::formatter> makeTextLogFormatter();

// "json" -> JsonLogFormatter, anything else -> the text formatter. When stderr is the journal
// (systemd sets JOURNAL_STREAM to its device:inode), each line starts with its syslog priority
// ("<3>" for errors, sd-daemon(3)) and the text format leaves the time to journald.
std::unique_ptr<spdlog::formatter> makeLogFormatter(const std::string& format);

// True when stderr is the stream JOURNAL_STREAM names.
bool stderrIsJournal();

// "<N>" for a level: critical 2, error 3, warn 4, info 6, debug and trace 7.
std::string_view journalPriority(spdlog::level::level_enum level);

// Passes log lines on to SINK, except that one same message (level and text) is passed at most
// kShownRepeats times per minute; the rest are counted and reported as one line, "MESSAGE
// [repeated N more times]", once the minute is over (at the next flush) or when this sink ends.
// A server repeating a warning cannot fill the disk.
class RepeatLimitingSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    static constexpr int kShownRepeats = 5;
    static constexpr std::chrono::seconds kWindow{60};

    explicit RepeatLimitingSink(std::shared_ptr<spdlog::sinks::sink> sink);
    ~RepeatLimitingSink() override;

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override;
    void flush_() override;
    void set_pattern_(const std::string& pattern) override { sink_->set_pattern(pattern); }
    void set_formatter_(std::unique_ptr<spdlog::formatter> formatter) override {
        sink_->set_formatter(std::move(formatter));
    }

private:
    struct Repeats {
        spdlog::log_clock::time_point windowStart;
        int shown = 0;
        std::uint64_t suppressed = 0;
        spdlog::level::level_enum level = spdlog::level::info;
        std::string loggerName;
    };
    // Reports the suppressed repeats of entries whose window ended before NOW (all with `all`).
    void reportRepeats(spdlog::log_clock::time_point now, bool all);

    std::shared_ptr<spdlog::sinks::sink> sink_;
    std::map<std::string, Repeats> repeats_;  // by message text
};

// The "key=value" words of a message ("folder=INBOX", "delivered=3"), for JSON fields: keys of
// lowercase letters and '_', the first of each key, surrounding "(),;" dropped; only before the
// first ": " (server text may follow it), except in "... poll ok: ..." lines.
std::vector<std::pair<std::string_view, std::string_view>> messageFields(std::string_view message);
// Digits with at most one inner '.', no leading zero: written as a JSON number.
bool isJsonNumber(std::string_view text);

// Splits "account=NAME rest" into NAME and rest; false when the message has no such prefix.
bool splitAccountPrefix(std::string_view message, std::string_view& account, std::string_view& rest);

}  // namespace mc::schedules
