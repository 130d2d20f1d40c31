#pragma once
// A POP3 mailbox as UIDL and LIST gave it, held in about 32 bytes per message whatever the UIDLs'
// length: a digest of each UIDL for lookups, the text itself in memory up to 1 MiB and beyond that
// in an unlinked file in the spool directory (read back only for messages that need a ledger row).
// A listing of 1,000,000 messages with 70-character UIDLs stays within a poll's 64 MB.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/UniqueFd.hpp"

namespace mc::collector {

class Pop3Listing {
public:
    // `spoolDir`: where UIDL text past the in-memory part goes ("": the system's temp directory).
    explicit Pop3Listing(std::string spoolDir = {});

    // Building, in this order: reserve (optional), addUidl per UIDL line, sortByNumber, setSize
    // per LIST line, seal. Of a number listed twice the last line counts; a number LIST does not
    // give a size for (gone between the two listings) is dropped.
    void reserve(std::size_t count);
    void addUidl(std::uint32_t number, std::string_view uidl);
    void sortByNumber();
    void setSize(std::uint32_t number, std::uint64_t size);
    void seal();

    std::size_t count() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }
    // Entries are in message-number order.
    std::uint32_t number(std::size_t index) const { return entries_[index].number; }
    // Sizes of 4 GiB and more are held as 4 GiB - 1 (far above any max_message_size).
    std::uint64_t size(std::size_t index) const { return entries_[index].size; }
    std::string uidl(std::size_t index) const;
    // The UIDL is listed more than once: it cannot identify a message.
    bool repeated(std::size_t index) const { return entries_[index].repeated; }
    bool anyRepeated() const { return anyRepeated_; }
    std::optional<std::size_t> findUidl(std::string_view uidl) const;
    std::optional<std::size_t> findNumber(std::uint32_t number) const;

private:
    // 96 bits, as three 32-bit words so that an entry packs into 28 bytes.
    struct Digest {
        std::uint32_t words[3] = {0, 0, 0};
        // A defaulted <=> compares with a literal 0 that clang-tidy 14 takes for a null pointer (llvm#53961).
        auto operator<=>(const Digest&) const = default;  // NOLINT(modernize-use-nullptr)
    };
    static Digest digestOf(std::string_view text);
    struct Entry {
        Digest digest;
        std::uint32_t number = 0;
        std::uint32_t size = 0;
        std::uint32_t textOffset = 0;
        std::uint8_t textLength = 0;
        bool sized = false;
        bool repeated = false;
    };
    static_assert(sizeof(Entry) <= 28, "a listing entry stays compact");
    void spillText();

    std::string spoolDir_;
    std::vector<Entry> entries_;
    std::vector<std::uint32_t> byDigest_;  // entry indexes in digest order
    std::string text_;                     // UIDL text from textBase_ on, not yet spilled
    std::uint64_t textBase_ = 0;           // text before this offset is in spillFd_
    proto::UniqueFd spillFd_;
    bool anyRepeated_ = false;
};

}  // namespace mc::collector
