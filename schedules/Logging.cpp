#include "schedules/Logging.hpp"

#include <spdlog/pattern_formatter.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace mc::schedules {
namespace {

thread_local std::string currentAccount;

constexpr std::string_view kAccountPrefix = "account=";

// Length of the valid UTF-8 sequence at text[i], or 0 when it is not one (overlong forms,
// surrogates and code points above U+10FFFF are invalid too).
std::size_t utf8Length(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char c = byte(i);
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // range of the second byte
    if (c >= 0xC2 && c <= 0xDF)
        length = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        length = 3;
        if (c == 0xE0) low = 0xA0;
        if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        length = 4;
        if (c == 0xF0) low = 0x90;
        if (c == 0xF4) high = 0x8F;
    } else {
        return 0;
    }
    if (i + length > text.size()) return 0;
    if (byte(i + 1) < low || byte(i + 1) > high) return 0;
    for (std::size_t k = 2; k < length; ++k)
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
    return length;
}

void append(spdlog::memory_buf_t& dest, std::string_view text) {
    dest.append(text.data(), text.data() + text.size());
}

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

// The message with control characters shown as \xNN, so server text cannot break a line in two
// or send terminal escapes.
class PrintableMessageFlag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        for (std::size_t i = 0; i < msg.payload.size(); ++i) {
            const auto c = static_cast<unsigned char>(msg.payload.data()[i]);
            if (c < 0x20 || c == 0x7F) {
                char escaped[8];
                std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
                append(dest, escaped);
            } else {
                dest.push_back(static_cast<char>(c));
            }
        }
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<PrintableMessageFlag>();
    }
};

}  // namespace

std::string jsonEscape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 8);
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            switch (c) {
                case '"': out += "\\\""; break;
                case '\\': out += "\\\\"; break;
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                default:
                    if (c < 0x20 || c == 0x7F) {
                        char escaped[8];
                        std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
                        out += escaped;
                    } else {
                        out += static_cast<char>(c);
                    }
            }
            ++i;
            continue;
        }
        const std::size_t length = utf8Length(text, i);
        if (length == 0) {
            out += "\\ufffd";
            ++i;
        } else {
            out.append(text.substr(i, length));
            i += length;
        }
    }
    return out;
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
    std::snprintf(time, sizeof time, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));

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

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
    return std::make_unique<JsonLogFormatter>();
}

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
