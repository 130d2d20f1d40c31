#include "proto/MessageEncoder.hpp"

#include <cstring>

namespace mc::proto {

namespace {

// Output that is kept.
struct AppendingSink {
    std::string& out;
    void bytes(const char* data, std::size_t n) { out.append(data, n); }
    void lineEnd() { out.append("\r\n", 2); }
    void spaces(std::uint64_t n) { out.append(static_cast<std::size_t>(n), ' '); }
    void dot() { out.push_back('.'); }
};

// Output that is only measured.
struct CountingSink {
    std::uint64_t& size;
    void bytes(const char*, std::size_t n) { size += n; }
    void lineEnd() { size += 2; }
    void spaces(std::uint64_t n) { size += n; }
    void dot() { ++size; }
};

// A run of CRs is settled by the byte after it: a LF makes the run and the LF one line end;
// anything else makes each CR a space.
template <typename Sink>
void settleCrRun(LineEndState& state, bool followedByLf, Sink& sink) {
    if (followedByLf) {
        sink.lineEnd();
        state.atLineStart = true;
    } else {
        sink.spaces(state.pendingCrs);
        state.loneCrs += state.pendingCrs;
        state.atLineStart = false;
    }
    state.pendingCrs = 0;
}

// The one implementation of the line-end rule (see the header). Text between line ends is passed
// on as whole spans found with memchr. A run of CRs is held (as a count) until the byte after it
// is seen, which may be in the next chunk. At a line start the dot check waits while CRs are
// pending, since the run may turn out to be the line end itself.
template <typename Sink>
void encodeChunk(std::string_view chunk, bool stuffDots, LineEndState& state, Sink& sink) {
    const char* data = chunk.data();
    const std::size_t size = chunk.size();
    std::size_t pos = 0;
    while (pos < size) {
        if (state.pendingCrs > 0) {
            while (pos < size && data[pos] == '\r') {
                ++state.pendingCrs;
                ++pos;
            }
            if (pos == size) return;
            const bool lf = data[pos] == '\n';
            settleCrRun(state, lf, sink);
            if (lf) ++pos;
            continue;
        }
        if (state.atLineStart) {
            if (data[pos] == '\r') {
                state.pendingCrs = 1;
                ++pos;
                continue;
            }
            if (stuffDots && data[pos] == '.') sink.dot();
            state.atLineStart = false;
        }
        // Lone CRs are rare in mail, so look for the LF first and then for a CR before it.
        const void* lf = std::memchr(data + pos, '\n', size - pos);
        const std::size_t lfPos = lf == nullptr ? size : static_cast<std::size_t>(static_cast<const char*>(lf) - data);
        const void* cr = std::memchr(data + pos, '\r', lfPos - pos);
        const std::size_t end = cr == nullptr ? lfPos : static_cast<std::size_t>(static_cast<const char*>(cr) - data);
        sink.bytes(data + pos, end - pos);
        if (end == size) return;
        pos = end + 1;
        if (data[end] == '\n') {
            sink.lineEnd();
            state.atLineStart = true;
        } else {
            state.pendingCrs = 1;
        }
    }
}

// The end of the message: CRs still pending are not followed by a LF, so they are lone.
template <typename Sink>
void settleAtEnd(LineEndState& state, Sink& sink) {
    if (state.pendingCrs > 0) settleCrRun(state, false, sink);
}

}  // namespace

void DotStuffingEncoder::encode(std::string_view chunk, std::string& out) {
    AppendingSink sink{out};
    encodeChunk(chunk, true, state_, sink);
}

void DotStuffingEncoder::finish(std::string& out) {
    AppendingSink sink{out};
    settleAtEnd(state_, sink);
    if (!state_.atLineStart) sink.lineEnd();
    out.append(".\r\n", 3);
    // Ready for the next message; loneCrsReplaced() still tells about this one.
    state_ = LineEndState{true, 0, state_.loneCrs};
}

void DotStuffingEncoder::reset() { state_ = LineEndState{}; }

void CrlfEncoder::encode(std::string_view chunk, std::string& out) {
    AppendingSink sink{out};
    encodeChunk(chunk, false, state_, sink);
}

void CrlfEncoder::finish(std::string& out) {
    AppendingSink sink{out};
    settleAtEnd(state_, sink);
    if (!state_.atLineStart) sink.lineEnd();
    state_.atLineStart = true;
}

void CrlfSizeCounter::add(std::string_view chunk) {
    CountingSink sink{size_};
    encodeChunk(chunk, false, state_, sink);
}

void CrlfSizeCounter::finish() {
    CountingSink sink{size_};
    settleAtEnd(state_, sink);
    if (!state_.atLineStart) sink.lineEnd();
    state_.atLineStart = true;
}

std::string normalizeLineEndings(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32 + 2);
    LineEndState state;
    AppendingSink sink{out};
    encodeChunk(text, false, state, sink);
    settleAtEnd(state, sink);
    return out;
}

}  // namespace mc::proto
