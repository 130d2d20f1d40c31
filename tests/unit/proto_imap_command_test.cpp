#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "proto/ImapCommand.hpp"
#include "proto/ImapResponse.hpp"

namespace mc::proto {
namespace {

using namespace std::string_literals;

// ---- imapQuote ----

TEST(ImapCommand, QuotesPlainText) {
    auto quoted = imapQuote("INBOX");
    ASSERT_TRUE(quoted);
    EXPECT_FALSE(quoted->literal);
    EXPECT_EQ(quoted->token, "\"INBOX\"");
    EXPECT_EQ(imapQuote("")->token, "\"\"");
    EXPECT_EQ(imapQuote("a b")->token, "\"a b\"");
    EXPECT_EQ(imapQuote("pa\"ss\\word")->token, "\"pa\\\"ss\\\\word\"");
    EXPECT_EQ(imapQuote("Entw&APw-rfe")->token, "\"Entw&APw-rfe\"");
}

TEST(ImapCommand, LiteralForLineBreaks8BitAndLongText) {
    auto quoted = imapQuote("line1\r\nline2");
    ASSERT_TRUE(quoted);
    EXPECT_TRUE(quoted->literal);
    EXPECT_FALSE(quoted->nonSynchronizing);
    EXPECT_EQ(quoted->token, "{12}");

    quoted = imapQuote("p\xc3\xa4ssw\xc3\xb6rd");  // UTF-8 without UTF8=ACCEPT
    EXPECT_TRUE(quoted->literal);
    EXPECT_EQ(quoted->token, "{10}");
    quoted = imapQuote("p\xc3\xa4ssw\xc3\xb6rd", ImapLiteralMode::Synchronizing, true);
    EXPECT_FALSE(quoted->literal);
    EXPECT_EQ(quoted->token, "\"p\xc3\xa4ssw\xc3\xb6rd\"");
    quoted = imapQuote("bad \xff utf8", ImapLiteralMode::Synchronizing, true);
    EXPECT_TRUE(quoted->literal);

    EXPECT_FALSE(imapQuote(std::string(kImapMaxQuotedLength, 'a'))->literal);
    quoted = imapQuote(std::string(kImapMaxQuotedLength + 1, 'a'));
    EXPECT_TRUE(quoted->literal);
    EXPECT_EQ(quoted->token, "{1025}");
}

TEST(ImapCommand, NonSynchronizingLiterals) {
    auto quoted = imapQuote("a\nb", ImapLiteralMode::LiteralPlus);
    EXPECT_TRUE(quoted->literal);
    EXPECT_TRUE(quoted->nonSynchronizing);
    EXPECT_EQ(quoted->token, "{3+}");
    // LITERAL+ has no size limit; LITERAL- stops at 4096.
    const std::string big(5000, '\n');
    EXPECT_EQ(imapQuote(big, ImapLiteralMode::LiteralPlus)->token, "{5000+}");
    EXPECT_EQ(imapQuote(big, ImapLiteralMode::LiteralMinus)->token, "{5000}");
    EXPECT_FALSE(imapQuote(big, ImapLiteralMode::LiteralMinus)->nonSynchronizing);
    EXPECT_EQ(imapQuote(std::string(4096, '\n'), ImapLiteralMode::LiteralMinus)->token, "{4096+}");
    // Quoting wins whenever it is possible.
    EXPECT_FALSE(imapQuote("plain", ImapLiteralMode::LiteralPlus)->literal);
}

TEST(ImapCommand, NulCannotBeSent) {
    EXPECT_FALSE(imapQuote("a\0b"s));
    EXPECT_FALSE(imapQuote("a\0b"s, ImapLiteralMode::LiteralPlus));
}

// ---- imapSequenceSet ----

TEST(ImapCommand, SequenceSetCompressesRuns) {
    EXPECT_EQ(imapSequenceSet({1, 2, 3, 4, 5, 7, 9, 10, 11, 12}), std::vector<std::string>{"1:5,7,9:12"});
    EXPECT_EQ(imapSequenceSet({12, 9, 7, 11, 10, 3, 5, 4, 2, 1, 7, 7}), std::vector<std::string>{"1:5,7,9:12"});
    EXPECT_EQ(imapSequenceSet({42}), std::vector<std::string>{"42"});
    EXPECT_EQ(imapSequenceSet({0, 1, 2}), std::vector<std::string>{"1:2"});
    EXPECT_EQ(imapSequenceSet({4294967294u, 4294967295u, 1}), std::vector<std::string>{"1,4294967294:4294967295"});
    EXPECT_TRUE(imapSequenceSet({}).empty());
    EXPECT_TRUE(imapSequenceSet({0}).empty());
}

TEST(ImapCommand, SequenceSetSplitsAtMaxLength) {
    // Every other UID: no runs, so the set is long.
    std::vector<std::uint32_t> uids;
    for (std::uint32_t uid = 1000000; uid < 1000000 + 20000; uid += 2) {
        uids.push_back(uid);
    }
    std::mt19937 rng(4315);
    std::shuffle(uids.begin(), uids.end(), rng);
    const auto sets = imapSequenceSet(uids, 8192);
    ASSERT_GT(sets.size(), 1u);
    std::vector<std::uint32_t> back;
    for (const auto& set : sets) {
        EXPECT_LE(set.size(), 8192u);
        EXPECT_NE(set.back(), ',');
        const auto ranges = parseImapSequenceSet(set);
        ASSERT_TRUE(ranges) << set;
        for (const auto& range : *ranges) {
            for (std::uint64_t uid = range.first; uid <= range.last; ++uid) {
                back.push_back(static_cast<std::uint32_t>(uid));
            }
        }
    }
    std::sort(uids.begin(), uids.end());
    EXPECT_EQ(back, uids);
    // Full chunks are used: all but the last are close to the limit.
    EXPECT_GT(sets[0].size(), 8192u - 9);

    // A tiny limit still yields valid sets holding at least one range each.
    const auto tiny = imapSequenceSet({1, 2, 3, 10, 20, 30}, 3);
    EXPECT_EQ(tiny, (std::vector<std::string>{"1:3,10,20,30"}));  // 21 is the floor
    const auto small = imapSequenceSet({1, 2, 3, 10, 20, 30, 4000000000u, 4000000001u}, 21);
    EXPECT_EQ(small, (std::vector<std::string>{"1:3,10,20,30", "4000000000:4000000001"}));
}

TEST(ImapCommand, SequenceSetRoundTripsRandomLists) {
    std::mt19937 rng(3501);
    for (int round = 0; round < 50; ++round) {
        std::vector<std::uint32_t> uids;
        const int count = static_cast<int>(rng() % 500);
        for (int i = 0; i < count; ++i) {
            uids.push_back(1 + rng() % 2000);
        }
        const std::size_t maxLength = 21 + rng() % 200;
        std::vector<std::uint32_t> back;
        for (const auto& set : imapSequenceSet(uids, maxLength)) {
            EXPECT_LE(set.size(), maxLength);
            const auto ranges = parseImapSequenceSet(set);
            ASSERT_TRUE(ranges) << set;
            for (const auto& range : *ranges) {
                for (std::uint32_t uid = range.first; uid <= range.last; ++uid) {
                    back.push_back(uid);
                }
            }
        }
        std::sort(uids.begin(), uids.end());
        uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
        EXPECT_EQ(back, uids);
    }
}

// ---- parseImapSequenceSet ----

TEST(ImapCommand, ParsesSequenceSets) {
    EXPECT_EQ(parseImapSequenceSet("1:5,7,9:12"), (std::vector<ImapRange>{{1, 5}, {7, 7}, {9, 12}}));
    EXPECT_EQ(parseImapSequenceSet("12:9"), (std::vector<ImapRange>{{9, 12}}));
    EXPECT_EQ(parseImapSequenceSet("4294967295"), (std::vector<ImapRange>{{4294967295u, 4294967295u}}));
    for (const char* bad : {"", ",", "1,", ",1", "1:", ":1", "0", "1:0", "1:*", "*", "a", "4294967296", "1::2", "1:2:3",
                            " 1", "1 ,2", "-1"}) {
        EXPECT_FALSE(parseImapSequenceSet(bad)) << bad;
    }
}

}  // namespace
}  // namespace mc::proto
