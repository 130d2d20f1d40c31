// Pop3Listing: the compact POP3 listing. Merging UIDL and LIST by number, repeated UIDLs, lookups,
// and UIDL text beyond the in-memory part read back from its spill file.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "collector/pop3/Pop3Listing.hpp"

namespace mc::collector {
namespace {

TEST(Pop3Listing, MergesUidlAndListByNumberTheLastLineOfANumberCounting) {
    Pop3Listing listing;
    listing.addUidl(3, "c");
    listing.addUidl(1, "a");
    listing.addUidl(2, "b-old");
    listing.addUidl(2, "b");
    listing.addUidl(4, "gone");  // no LIST line: left between the two listings
    listing.sortByNumber();
    listing.setSize(1, 10);
    listing.setSize(2, 5);
    listing.setSize(2, 20);
    listing.setSize(3, 30);
    listing.setSize(9, 90);  // no UIDL line
    listing.seal();
    ASSERT_EQ(listing.count(), 3u);
    EXPECT_EQ(listing.number(0), 1u);
    EXPECT_EQ(listing.uidl(1), "b");
    EXPECT_EQ(listing.size(1), 20u);
    EXPECT_EQ(listing.findUidl("c"), 2u);
    EXPECT_FALSE(listing.findUidl("b-old"));
    EXPECT_FALSE(listing.findUidl("gone"));
    EXPECT_EQ(listing.findNumber(3), 2u);
    EXPECT_FALSE(listing.findNumber(4));
    EXPECT_FALSE(listing.anyRepeated());
}

TEST(Pop3Listing, RepeatedUidlsAreMarked) {
    Pop3Listing listing;
    for (std::uint32_t n : {1u, 2u, 3u}) listing.addUidl(n, n == 2 ? "x" : "same");
    listing.sortByNumber();
    for (std::uint32_t n : {1u, 2u, 3u}) listing.setSize(n, 1);
    listing.seal();
    EXPECT_TRUE(listing.anyRepeated());
    EXPECT_TRUE(listing.repeated(0));
    EXPECT_FALSE(listing.repeated(1));
    EXPECT_TRUE(listing.repeated(2));
}

TEST(Pop3Listing, TextBeyondTheInMemoryPartIsReadBackFromTheSpoolDirectory) {
    std::string spool = (std::filesystem::temp_directory_path() / "mc-listing-XXXXXX").string();
    ASSERT_NE(::mkdtemp(spool.data()), nullptr);
    Pop3Listing listing(spool);
    constexpr std::uint32_t kCount = 40'000;  // 70 characters each: 2.8 MB of UIDL text
    auto uidlOf = [](std::uint32_t n) {
        std::string text = "uidl-" + std::to_string(n);
        return text + std::string(70 - text.size(), '.');
    };
    listing.reserve(kCount);
    for (std::uint32_t n = 1; n <= kCount; ++n) listing.addUidl(n, uidlOf(n));
    listing.sortByNumber();
    for (std::uint32_t n = 1; n <= kCount; ++n) listing.setSize(n, n);
    listing.seal();
    ASSERT_EQ(listing.count(), kCount);
    for (std::uint32_t n : {1u, 2u, 14'000u, 30'000u, kCount}) {
        auto index = listing.findUidl(uidlOf(n));
        ASSERT_TRUE(index) << n;
        EXPECT_EQ(listing.number(*index), n);
        EXPECT_EQ(listing.uidl(*index), uidlOf(n));
        EXPECT_EQ(listing.size(*index), n);
    }
    EXPECT_FALSE(listing.findUidl(uidlOf(kCount + 1)));
    std::filesystem::remove_all(spool);
}

}  // namespace
}  // namespace mc::collector
