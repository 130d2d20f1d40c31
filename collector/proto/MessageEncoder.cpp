#include "collector/proto/MessageEncoder.hpp"

#include <cstring>

namespace mc::proto {

namespace {

// Shared by the encoder and normalizeLineEndings. A CR is turned into CRLF as soon as it is seen;
// `pendingCr` then swallows a LF that opens the next chunk, so a CRLF split across chunks is one
// line ending. Text between line endings is appended as whole spans found with memchr.
void encodeChunk(std::string_view chunk, bool stuffDots, bool& atLineStart, bool& pendingCr,
                 std::string& out) {
    const char* data = chunk.data();
    const std::size_t size = chunk.size();
    std::size_t pos = 0;
    if (pendingCr && size > 0) {
        pendingCr = false;
        if (data[0] == '\n') {
            pos = 1;
        }
    }
    while (pos < size) {
        if (atLineStart) {
            if (stuffDots && data[pos] == '.') {
                out.push_back('.');
            }
            atLineStart = false;
        }
        // Bare CRs are rare in mail, so look for the LF first and then for a CR before it.
        const void* lf = std::memchr(data + pos, '\n', size - pos);
        const std::size_t lfPos =
            lf == nullptr ? size : static_cast<std::size_t>(static_cast<const char*>(lf) - data);
        const void* cr = std::memchr(data + pos, '\r', lfPos - pos);
        const std::size_t end =
            cr == nullptr ? lfPos : static_cast<std::size_t>(static_cast<const char*>(cr) - data);
        out.append(data + pos, end - pos);
        if (end == size) {
            return;
        }
        out.append("\r\n", 2);
        atLineStart = true;
        if (data[end] == '\n') {
            pos = end + 1;
        } else if (end + 1 == size) {
            pendingCr = true;
            return;
        } else {
            pos = data[end + 1] == '\n' ? end + 2 : end + 1;
        }
    }
}

}  // namespace

void DotStuffingEncoder::encode(std::string_view chunk, std::string& out) {
    encodeChunk(chunk, true, atLineStart_, pendingCr_, out);
}

void DotStuffingEncoder::finish(std::string& out) {
    if (!atLineStart_) {
        out.append("\r\n", 2);
    }
    out.append(".\r\n", 3);
    // Ready for the next message.
    reset();
}

void DotStuffingEncoder::reset() {
    atLineStart_ = true;
    pendingCr_ = false;
}

void CrlfEncoder::encode(std::string_view chunk, std::string& out) {
    encodeChunk(chunk, false, atLineStart_, pendingCr_, out);
}

void CrlfEncoder::finish(std::string& out) {
    if (!atLineStart_) out.append("\r\n", 2);
    atLineStart_ = true;
    pendingCr_ = false;
}

std::string normalizeLineEndings(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32 + 2);
    bool atLineStart = true;
    bool pendingCr = false;
    encodeChunk(text, false, atLineStart, pendingCr, out);
    return out;
}

}  // namespace mc::proto
