#pragma once
// One fetched message's bytes: in memory while small, in an unlinked spool file once it grows
// past a threshold, so a 50 MB message never sits in RAM. Also computes the content hash, and
// measures the message as targets receive it (see proto/MessageEncoder).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "proto/MessageEncoder.hpp"

namespace mc::delivery {

class MessageBody {
public:
    // `spoolDir` holds the (immediately unlinked) spool files; `memoryLimit` is the in-RAM cap.
    MessageBody(std::string spoolDir, std::size_t memoryLimit = 1 << 20);
    ~MessageBody();
    MessageBody(MessageBody&&) noexcept;
    MessageBody& operator=(MessageBody&&) noexcept;

    void append(std::string_view bytes);
    // Ends writing; computes the hash.
    void finish();

    std::uint64_t size() const { return size_; }
    // After finish(): the size with CRLF line ends, as an APPEND literal or SMTP SIZE= counts it,
    // and how many lone CRs the targets' encoder replaces with a space.
    std::uint64_t crlfSize() const { return crlf_.size(); }
    std::uint64_t loneCrs() const { return crlf_.loneCrs(); }
    bool spooled() const { return spoolFd_ >= 0; }
    const std::string& sha256() const { return sha256_; }
    // The first bytes (up to `n`), enough for the header block.
    std::string head(std::size_t n = 64 * 1024) const;
    // Calls `sink` with successive chunks of the whole message.
    void forEachChunk(const std::function<void(std::string_view)>& sink) const;
    // Writes the message to `path` (mode 0600); throws std::runtime_error on failure.
    void writeTo(const std::string& path) const;
    // The same, as NAME inside an open directory (no symbolic link is followed).
    void writeTo(int directoryFd, const std::string& name, const std::string& shownPath) const;

private:
    void spill();
    std::string spoolDir_;
    std::size_t memoryLimit_;
    std::string memory_;
    int spoolFd_ = -1;
    std::uint64_t size_ = 0;
    proto::CrlfSizeCounter crlf_;
    struct HashState;
    std::unique_ptr<HashState> hash_;
    std::string sha256_;
};

// Opens directory PATH (created 0700 with its parents when missing) without following a symbolic
// link at its last component: a link there is refused with an error saying so. With
// `makePrivate` the directory is set to 0700 through the descriptor, so a link's target is never
// chmod'ed. Returns the descriptor (CLOEXEC; the caller closes it); throws std::runtime_error.
int openDirectoryNoFollow(const std::string& path, bool makePrivate);

}  // namespace mc::delivery
