#pragma once
// Encodes a message for SMTP/LMTP DATA: every line ending (CRLF, bare LF, bare CR) becomes CRLF,
// lines starting with '.' get another '.', and finish() closes with CRLF "." CRLF. Streaming: the
// message may arrive in any chunking. This is ours because Poco's stream passes bare LF through.

#include <string>
#include <string_view>

namespace mc::proto {

class DotStuffingEncoder {
public:
    // Appends the encoded form of `chunk` to `out`.
    void encode(std::string_view chunk, std::string& out);
    // Appends the end: a CRLF if the message did not end with a line ending, then ".\r\n".
    void finish(std::string& out);
    void reset();

private:
    bool atLineStart_ = true;
    bool pendingCr_ = false;  // a CR seen at the end of the last chunk; LF may follow
};

// Encodes a message for an IMAP APPEND literal: every line ending becomes CRLF, nothing else
// changes (no dot-stuffing), and finish() adds a CRLF when the message did not end with a line
// ending (as DATA does, so a message reads the same over every target). Streaming.
class CrlfEncoder {
public:
    void encode(std::string_view chunk, std::string& out);
    void finish(std::string& out);

private:
    bool atLineStart_ = true;
    bool pendingCr_ = false;
};

// Normalises all line endings to CRLF (no dot-stuffing).
std::string normalizeLineEndings(std::string_view text);

}  // namespace mc::proto
