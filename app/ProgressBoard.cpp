#include "app/ProgressBoard.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace mc::app {
namespace {

constexpr auto kRedrawEvery = std::chrono::milliseconds(200);

std::size_t terminalWidth() {
    winsize size{};
    if (::ioctl(2, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
    if (const char* columns = std::getenv("COLUMNS"); columns && std::atoi(columns) > 0)
        return static_cast<std::size_t>(std::atoi(columns));
    return 80;
}

std::string shortDuration(double seconds) {
    const auto s = static_cast<long long>(std::ceil(seconds));
    if (s < 60) return std::to_string(s) + "s";
    if (s < 3600) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
    return std::to_string(s / 3600) + "h" + std::to_string(s % 3600 / 60) + "m";
}
constexpr const char* kClearLine = "\r\033[K";

}  // namespace

ProgressBoard::ProgressBoard(std::size_t accounts, bool enabled, std::size_t width)
    : accounts_(accounts), enabled_(enabled), width_(width ? width : terminalWidth()) {}

std::string ProgressBoard::describe(const std::string& account, std::uint64_t done, std::uint64_t total,
                                    double seconds) {
    std::string text = account + " " + std::to_string(done) + "/" + std::to_string(total);
    if (done == 0 || seconds < 0.5) return text;
    const double rate = static_cast<double>(done) / seconds;
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, rate < 10 ? " %.1f/s" : " %.0f/s", rate);
    text += buffer;
    if (total > done) text += " " + shortDuration(static_cast<double>(total - done) / rate) + " left";
    return text;
}

ProgressBoard::~ProgressBoard() {
    std::lock_guard lock(mutex_);
    if (shown_) std::fputs(kClearLine, stderr);
}

void ProgressBoard::update(const std::string& account, std::uint64_t done, std::uint64_t total) {
    if (!enabled_) return;
    std::lock_guard lock(mutex_);
    Progress& progress = inFlight_[account];
    progress.done = done;
    progress.total = total;
    draw(false);
}

void ProgressBoard::finished(const std::string& account) {
    if (!enabled_) return;
    std::lock_guard lock(mutex_);
    inFlight_.erase(account);
    ++finished_;
    draw(true);
}

void ProgressBoard::clearLine() {
    if (!enabled_) return;
    std::lock_guard lock(mutex_);
    if (shown_) std::fputs(kClearLine, stderr);
}

void ProgressBoard::redraw() {
    if (!enabled_) return;
    std::lock_guard lock(mutex_);
    if (shown_) draw(true);
}

void ProgressBoard::draw(bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - lastDraw_ < kRedrawEvery) return;
    lastDraw_ = now;
    std::string line = "[" + std::to_string(finished_) + "/" + std::to_string(accounts_) + " accounts]";
    // One column short of the width: a line that fills the last column wraps on some terminals.
    const std::size_t room = width_ > 1 ? width_ - 1 : 1;
    for (const auto& [account, progress] : inFlight_) {
        const double seconds = std::chrono::duration<double>(now - progress.started).count();
        std::string item = " " + describe(account, progress.done, progress.total, seconds);
        if (line.size() + item.size() + 4 > room) {
            line += " ...";
            break;
        }
        line += item;
    }
    if (line.size() > room) line.resize(room);
    std::fprintf(stderr, "%s%s", kClearLine, line.c_str());
    std::fflush(stderr);
    shown_ = true;
}

void ProgressSink::sink_it_(const spdlog::details::log_msg& msg) {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    board_->clearLine();
    std::fwrite(formatted.data(), 1, formatted.size(), stderr);
    board_->redraw();
}

void ProgressSink::flush_() { std::fflush(stderr); }

}  // namespace mc::app
