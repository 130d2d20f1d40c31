#pragma once
// The progress line of `run --once` on a terminal: accounts finished, and the ones in flight with
// their message counts, rate and time left, as wide as the terminal (narrower than it, so it never
// wraps), redrawn at most five times a second. Log lines go through a
// ProgressSink, which clears the line before writing and redraws it after, so they never mix.

#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace mc::app {

class ProgressBoard {
public:
    // WIDTH: the terminal's columns (0: asked of stderr's terminal, else $COLUMNS, else 80).
    ProgressBoard(std::size_t accounts, bool enabled, std::size_t width = 0);
    ~ProgressBoard();

    void update(const std::string& account, std::uint64_t done, std::uint64_t total);
    void finished(const std::string& account);
    bool enabled() const { return enabled_; }

    // For ProgressSink: clear the line, let the caller write, draw it again.
    void clearLine();
    void redraw();

    // One account's part of the line: "name 40/100 12/s 5s left" (rate and time once known).
    static std::string describe(const std::string& account, std::uint64_t done, std::uint64_t total, double seconds);

private:
    void draw(bool force);  // mutex_ held

    struct Progress {
        std::uint64_t done = 0, total = 0;
        std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    };
    std::mutex mutex_;
    std::size_t accounts_;
    bool enabled_;
    std::size_t width_;
    std::size_t finished_ = 0;
    std::map<std::string, Progress> inFlight_;
    bool shown_ = false;
    std::chrono::steady_clock::time_point lastDraw_{};
};

class ProgressSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit ProgressSink(std::shared_ptr<ProgressBoard> board) : board_(std::move(board)) {}

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override;
    void flush_() override;

private:
    std::shared_ptr<ProgressBoard> board_;
};

}  // namespace mc::app
