#include "app/ProgressBoard.hpp"

#include <cstdio>

namespace mc::app {
namespace {

constexpr auto kRedrawEvery = std::chrono::milliseconds(200);
constexpr std::size_t kMaxWidth = 100;
constexpr const char* kClearLine = "\r\033[K";

}  // namespace

ProgressBoard::ProgressBoard(std::size_t accounts, bool enabled) : accounts_(accounts), enabled_(enabled) {}

ProgressBoard::~ProgressBoard() {
    std::lock_guard lock(mutex_);
    if (shown_) std::fputs(kClearLine, stderr);
}

void ProgressBoard::update(const std::string& account, std::uint64_t done, std::uint64_t total) {
    if (!enabled_) return;
    std::lock_guard lock(mutex_);
    inFlight_[account] = Progress{done, total};
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
    for (const auto& [account, progress] : inFlight_) {
        std::string item = " " + account + " " + std::to_string(progress.done) + "/" + std::to_string(progress.total);
        if (line.size() + item.size() > kMaxWidth) {
            line += " ...";
            break;
        }
        line += item;
    }
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
