#pragma once
// Log formats for the service: text (for people and journald) or JSON (one object per line, for
// log pipelines). Either way each line about an account names it: the collector writes
// "account=NAME ..." and the poll thread sets a ScopedLogAccount for anything else it logs.
// Log calls always use constant format strings; server text only ever goes in as an argument.

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace mc::schedules {

// JSON string body for any bytes: quotes, backslashes and control characters escaped, invalid
// UTF-8 replaced by U+FFFD, so every line parses whatever a server sent.
std::string jsonEscape(std::string_view text);

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

// {"time":"2024-05-01T12:00:00.123Z","level":"info","account":"x","message":"..."}: the
// "account=NAME " prefix of a message becomes the account field.
class JsonLogFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
    std::unique_ptr<spdlog::formatter> clone() const override;
};

// "2024-05-01 12:00:00.123 info account=x message": the pattern formatter plus the thread's
// account where the message does not start with one.
std::unique_ptr<spdlog::formatter> makeTextLogFormatter();

// "json" -> JsonLogFormatter, anything else -> the text formatter.
std::unique_ptr<spdlog::formatter> makeLogFormatter(const std::string& format);

// Splits "account=NAME rest" into NAME and rest; false when the message has no such prefix.
bool splitAccountPrefix(std::string_view message, std::string_view& account, std::string_view& rest);

}  // namespace mc::schedules
