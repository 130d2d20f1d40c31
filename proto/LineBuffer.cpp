#include "proto/LineBuffer.hpp"

#include <algorithm>
#include <cstring>

namespace mc::proto {

namespace {

// Consumed bytes are dropped only once they are both this many and at least half the buffer, so
// each byte is moved at most a constant number of times (amortised O(1), never O(n^2)).
constexpr std::size_t kCompactThreshold = 64 * 1024;

}  // namespace

std::optional<std::string> LineBuffer::nextLine() {
    if (error_ != LineError::None) {
        return std::nullopt;
    }
    const std::size_t available = bufferedSize();
    const char* start = buffer_.data() + offset_;
    // Never look further than the longest acceptable line plus its CRLF: beyond that the line is
    // too long whether or not a LF follows.
    const std::size_t searchLimit = maxLineLength_ >= available ? available : std::min(available, maxLineLength_ + 2);
    const void* found = nullptr;
    if (scanned_ < searchLimit) {
        found = std::memchr(start + scanned_, '\n', searchLimit - scanned_);
    }
    if (found == nullptr) {
        scanned_ = std::max(scanned_, searchLimit);
        // A trailing CR may be the first half of the CRLF still in flight, so it does not count.
        std::size_t pendingLength = available;
        if (pendingLength > 0 && start[pendingLength - 1] == '\r') {
            --pendingLength;
        }
        if (pendingLength > maxLineLength_) {
            error_ = LineError::LineTooLong;
        }
        return std::nullopt;
    }
    const std::size_t lf = static_cast<std::size_t>(static_cast<const char*>(found) - start);
    std::size_t length = lf;
    if (length > 0 && start[length - 1] == '\r') {
        --length;
    }
    if (length > maxLineLength_) {
        error_ = LineError::LineTooLong;
        return std::nullopt;
    }
    std::string line(start, length);
    offset_ += lf + 1;
    scanned_ = 0;
    compact();
    return line;
}

std::string LineBuffer::takeRaw(std::size_t n) {
    const std::size_t count = std::min(n, bufferedSize());
    std::string bytes(buffer_.data() + offset_, count);
    discard(count);
    return bytes;
}

void LineBuffer::discard(std::size_t n) {
    const std::size_t count = std::min(n, bufferedSize());
    offset_ += count;
    scanned_ -= std::min(scanned_, count);
    compact();
}

void LineBuffer::compact() {
    if (offset_ == buffer_.size()) {
        // Everything consumed: reuse the allocation without moving a byte.
        buffer_.clear();
        offset_ = 0;
        return;
    }
    if (offset_ >= kCompactThreshold && offset_ * 2 >= buffer_.size()) {
        buffer_.erase(0, offset_);
        offset_ = 0;
    }
}

}  // namespace mc::proto
