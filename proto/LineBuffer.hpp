#pragma once
// Splits a byte stream into lines with a cap on line length. Bytes in, lines out; no sockets.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mc::proto {

enum class LineError { None, LineTooLong };

class LineBuffer {
public:
    explicit LineBuffer(std::size_t maxLineLength = 64 * 1024) : maxLineLength_(maxLineLength) {}

    // Appends received bytes.
    void append(std::string_view bytes) { buffer_.append(bytes); }
    // Takes the next complete line without its line ending (CRLF or bare LF), if there is one.
    // Sets error() to LineTooLong when a line exceeds the cap (then returns nullopt forever).
    std::optional<std::string> nextLine();
    // Takes up to `n` raw bytes already buffered (for literals and dot-stuffed bodies).
    std::string takeRaw(std::size_t n);
    // Drops up to `n` buffered bytes (after a caller used them through buffered()).
    void discard(std::size_t n);
    std::string_view buffered() const { return std::string_view(buffer_).substr(offset_); }
    std::size_t bufferedSize() const { return buffer_.size() - offset_; }
    // Drops everything buffered (used before STARTTLS: nothing read before TLS may count after).
    void clear() {
        buffer_.clear();
        offset_ = 0;
        scanned_ = 0;
    }
    LineError error() const { return error_; }

private:
    void compact();
    std::string buffer_;
    std::size_t offset_ = 0;
    // Bytes after offset_ already searched without finding a LF, so a long line arriving in
    // small pieces is scanned once rather than once per call.
    std::size_t scanned_ = 0;
    std::size_t maxLineLength_;
    LineError error_ = LineError::None;
};

}  // namespace mc::proto
