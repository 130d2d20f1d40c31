#include "collector/pop3/Pop3Listing.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <utility>

#include "delivery/MessageBody.hpp"
#include "proto/UniqueFd.hpp"

namespace mc::collector {
namespace {

constexpr std::size_t kTextInMemory = 1u << 20;
constexpr std::uint64_t kLargestHeldSize = 0xffffffffu;

// FNV-1a, 64 bits.
std::uint64_t fnv1a(std::string_view text) {
    std::uint64_t hash = 0xcbf29ce484222325ull;
    for (unsigned char c : text) {
        hash ^= c;
        hash *= 0x100000001b3ull;
    }
    return hash;
}

}  // namespace

Pop3Listing::Pop3Listing(std::string spoolDir) : spoolDir_(std::move(spoolDir)) {}

// Two independent hashes, 96 bits: among a million UIDLs and a million ledger rows the chance
// that two different ones share a digest is about 10^-17.
Pop3Listing::Digest Pop3Listing::digestOf(std::string_view text) {
    const std::uint64_t first = std::hash<std::string_view>{}(text), second = fnv1a(text);
    return Digest{{static_cast<std::uint32_t>(first >> 32), static_cast<std::uint32_t>(first),
                   static_cast<std::uint32_t>(second)}};
}

void Pop3Listing::reserve(std::size_t count) {
    entries_.reserve(count);
    text_.reserve(std::min<std::size_t>(count * 16, kTextInMemory + 256));
}

void Pop3Listing::addUidl(std::uint32_t number, std::string_view uidl) {
    Entry entry;
    entry.digest = digestOf(uidl);
    entry.number = number;
    entry.textOffset = static_cast<std::uint32_t>(textBase_ + text_.size());
    entry.textLength = static_cast<std::uint8_t>(std::min<std::size_t>(uidl.size(), 255));
    text_.append(uidl.substr(0, entry.textLength));
    if (text_.size() >= kTextInMemory) spillText();
    entries_.push_back(entry);
}

void Pop3Listing::spillText() {
    if (spillFd_.get() < 0) {
        // O_TMPFILE: the file has no name, so a crash leaves nothing behind.
        proto::UniqueFd directory(delivery::openDirectoryNoFollow(spoolDir_.empty() ? "/tmp" : spoolDir_, false));
        spillFd_.reset(::openat(directory.get(), ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
        if (spillFd_.get() < 0)
            throw std::runtime_error("cannot create a file for a large POP3 listing in " + spoolDir_ + ": " +
                                     std::strerror(errno));
    }
    std::size_t written = 0;
    while (written < text_.size()) {
        ssize_t n = ::pwrite(spillFd_.get(), text_.data() + written, text_.size() - written,
                             static_cast<off_t>(textBase_ + written));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error(std::string("cannot write a large POP3 listing: ") + std::strerror(errno));
        written += static_cast<std::size_t>(n);
    }
    textBase_ += text_.size();
    text_.clear();
}

std::string Pop3Listing::uidl(std::size_t index) const {
    const Entry& entry = entries_[index];
    std::string text(entry.textLength, '\0');
    if (entry.textOffset >= textBase_) {
        text.assign(text_, entry.textOffset - textBase_, entry.textLength);
        return text;
    }
    std::size_t read = 0;
    while (read < text.size()) {
        ssize_t n = ::pread(spillFd_.get(), text.data() + read, text.size() - read,
                            static_cast<off_t>(entry.textOffset + read));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error(std::string("cannot read a large POP3 listing: ") + std::strerror(errno));
        read += static_cast<std::size_t>(n);
    }
    return text;
}

void Pop3Listing::sortByNumber() {
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const Entry& a, const Entry& b) { return a.number < b.number; });
    // Of a number listed twice the last line counts.
    std::size_t kept = 0;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (i + 1 < entries_.size() && entries_[i + 1].number == entries_[i].number) continue;
        entries_[kept++] = entries_[i];
    }
    entries_.resize(kept);
}

void Pop3Listing::setSize(std::uint32_t number, std::uint64_t size) {
    if (auto index = findNumber(number)) {
        entries_[*index].size = static_cast<std::uint32_t>(std::min(size, kLargestHeldSize));
        entries_[*index].sized = true;
    }
}

void Pop3Listing::seal() {
    std::erase_if(entries_, [](const Entry& entry) { return !entry.sized; });  // gone between UIDL and LIST
    entries_.shrink_to_fit();
    byDigest_.resize(entries_.size());
    for (std::size_t i = 0; i < byDigest_.size(); ++i) byDigest_[i] = static_cast<std::uint32_t>(i);
    std::sort(byDigest_.begin(), byDigest_.end(), [&](std::uint32_t a, std::uint32_t b) {
        return std::tie(entries_[a].digest, a) < std::tie(entries_[b].digest, b);
    });
    anyRepeated_ = false;
    for (std::size_t i = 1; i < byDigest_.size(); ++i) {
        if (entries_[byDigest_[i]].digest != entries_[byDigest_[i - 1]].digest) continue;
        entries_[byDigest_[i]].repeated = entries_[byDigest_[i - 1]].repeated = true;
        anyRepeated_ = true;
    }
}

std::optional<std::size_t> Pop3Listing::findUidl(std::string_view uidl) const {
    const Digest digest = digestOf(uidl);
    auto at = std::lower_bound(byDigest_.begin(), byDigest_.end(), digest,
                               [&](std::uint32_t index, const Digest& d) { return entries_[index].digest < d; });
    if (at == byDigest_.end() || entries_[*at].digest != digest) return std::nullopt;
    return *at;
}

std::optional<std::size_t> Pop3Listing::findNumber(std::uint32_t number) const {
    auto at = std::lower_bound(entries_.begin(), entries_.end(), number,
                               [](const Entry& entry, std::uint32_t n) { return entry.number < n; });
    if (at == entries_.end() || at->number != number) return std::nullopt;
    return static_cast<std::size_t>(at - entries_.begin());
}

}  // namespace mc::collector
