#pragma once
// Encodes a message for a target, streaming (the message may arrive in any chunking). The line-end
// rule is the same for SMTP/LMTP DATA and for an IMAP APPEND literal:
// - LF and CRLF end a line and are sent as CRLF; a run of CRs right before a LF is part of that
//   one line end (Courier serves files stored with CRLF as CR CR LF).
// - Any other CR (a "lone" CR) becomes a space. As a line break it would split a header line
//   (Cyrus refuses the message, Postfix stores it broken); RFC 5321 forbids it on the wire, and
//   it is how SMTP smuggling hides a second message. Postfix does the same on receipt.
// - Every other byte (8-bit, NUL, lines of any length) is passed on unchanged.
// This is ours because Poco's stream passes bare LF and CR through.

#include <cstdint>
#include <string>
#include <string_view>

namespace mc::proto {

// Where an encoder stands between two chunks.
struct LineEndState {
    bool atLineStart = true;
    std::uint64_t pendingCrs = 0;  // CRs that ended the last chunk: a line end if a LF follows
    std::uint64_t loneCrs = 0;     // lone CRs replaced by a space so far
};

// SMTP/LMTP DATA: the rule above, lines starting with '.' get another '.', and finish() closes
// with CRLF "." CRLF.
class DotStuffingEncoder {
public:
    // Appends the encoded form of `chunk` to `out`.
    void encode(std::string_view chunk, std::string& out);
    // Appends the end: a CRLF if the message did not end with a line ending, then ".\r\n".
    void finish(std::string& out);
    void reset();
    // Lone CRs replaced since construction or reset().
    std::uint64_t loneCrsReplaced() const { return state_.loneCrs; }

private:
    LineEndState state_;
};

// An IMAP APPEND literal: the rule above, no dot-stuffing, and finish() adds a CRLF when the
// message did not end with a line ending (as DATA does, so a message reads the same over every
// target).
class CrlfEncoder {
public:
    void encode(std::string_view chunk, std::string& out);
    void finish(std::string& out);
    std::uint64_t loneCrsReplaced() const { return state_.loneCrs; }

private:
    LineEndState state_;
};

// What CrlfEncoder would produce, counted without producing it: the message's size as an APPEND
// literal and in SMTP's SIZE= (RFC 1870 counts CRLF line ends, not the stuffed dots), and the
// lone CRs it would replace.
class CrlfSizeCounter {
public:
    void add(std::string_view chunk);
    void finish();
    std::uint64_t size() const { return size_; }
    std::uint64_t loneCrs() const { return state_.loneCrs; }

private:
    LineEndState state_;
    std::uint64_t size_ = 0;
};

// The rule above on a whole text (no dot-stuffing, no final CRLF added).
std::string normalizeLineEndings(std::string_view text);

}  // namespace mc::proto
