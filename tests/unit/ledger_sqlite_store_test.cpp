// Semantics of the SQLite ledger: rows, states, counters, accounts, concurrency.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "collector/ledger/LedgerStore.hpp"
#include "collector/ledger/SqliteLedgerStore.hpp"

namespace mc::ledger {
namespace {

namespace fs = std::filesystem;

class LedgerStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "mc-ledger-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        path_ = (dir_ / "ledger.sqlite").string();
    }
    void TearDown() override {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    fs::path dir_;
    std::string path_;
};

MessageKey pop3Key(const std::string& uid, const std::string& account = "alice") {
    return MessageKey{account, "", 0, uid};
}

MessageKey imapKey(const std::string& uid, std::uint64_t uidValidity = 7,
                   const std::string& folder = "INBOX") {
    return MessageKey{"bob", folder, uidValidity, uid};
}

std::optional<MessageRecord> find(LedgerStore& store, const MessageKey& key) {
    for (MessageRecord& record : store.messages(key.account, key.folder, key.uidValidity)) {
        if (record.key == key) return record;
    }
    return std::nullopt;
}

TEST_F(LedgerStoreTest, CreateAndReopenKeepsRows) {
    {
        auto store = openLedger(path_);
        store->recordSeen(pop3Key("u1"), 100);
        store->markDelivered(pop3Key("u2"), 0, "hash2", "<m2@example.org>");
        store->recordSeen(imapKey("42"), 300);
    }
    auto store = openLedger(path_);
    const auto rows = store->messages("alice", "", 0);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].key, pop3Key("u1"));
    EXPECT_EQ(rows[0].size, 100u);
    EXPECT_EQ(rows[0].state, MessageState::Seen);
    EXPECT_GT(rows[0].firstSeenAt, 0);
    EXPECT_EQ(rows[1].key, pop3Key("u2"));
    EXPECT_EQ(rows[1].state, MessageState::Delivered);
    EXPECT_EQ(rows[1].contentHash, "hash2");
    EXPECT_EQ(rows[1].messageId, "<m2@example.org>");
    EXPECT_GT(rows[1].deliveredAt, 0);

    const auto imap = store->messages("bob", "INBOX", 7);
    ASSERT_EQ(imap.size(), 1u);
    EXPECT_EQ(imap[0].key, imapKey("42"));
    EXPECT_TRUE(store->messages("bob", "INBOX", 8).empty());
}

TEST_F(LedgerStoreTest, OpenCreatesMissingParentDirectories) {
    const std::string nested = (dir_ / "a" / "b" / "ledger.sqlite").string();
    auto store = openLedger(nested);
    store->recordSeen(pop3Key("u1"), 1);
    EXPECT_TRUE(fs::is_regular_file(nested));
}

TEST_F(LedgerStoreTest, RecordSeenWithSameSizeLeavesRowAlone) {
    auto store = openLedger(path_);
    store->recordSeen(pop3Key("u1"), 100);
    store->markDelivered(pop3Key("u1"), 0, "h", "<m@x>");
    store->recordSeen(pop3Key("u1"), 100);
    const auto row = find(*store, pop3Key("u1"));
    ASSERT_TRUE(row);
    EXPECT_EQ(row->state, MessageState::Delivered);
    EXPECT_EQ(row->contentHash, "h");
    EXPECT_EQ(store->messages("alice", "", 0).size(), 1u);
}

TEST_F(LedgerStoreTest, SizeChangeResetsToSeen) {
    auto store = openLedger(path_);
    store->recordSeen(pop3Key("u1"), 100);
    store->recordFailure(pop3Key("u1"), 0, "target said 451");
    store->markDelivered(pop3Key("u1"), 0, "h", "<m@x>");

    store->recordSeen(pop3Key("u1"), 250);

    const auto row = find(*store, pop3Key("u1"));
    ASSERT_TRUE(row);
    EXPECT_EQ(row->state, MessageState::Seen);
    EXPECT_EQ(row->size, 250u);
    EXPECT_EQ(row->contentHash, "");
    EXPECT_EQ(row->messageId, "");
    EXPECT_EQ(row->deliveredAt, 0);
    EXPECT_EQ(row->attempts, 0);
    EXPECT_EQ(row->lastError, "");
}

TEST_F(LedgerStoreTest, RecordSeenFillsInSizeOfRowCreatedByMark) {
    // A row created by markDelivered has no size; learning it must not re-deliver the message.
    auto store = openLedger(path_);
    store->markDelivered(pop3Key("u1"), 0, "h", "<m@x>");
    store->recordSeen(pop3Key("u1"), 500);
    const auto row = find(*store, pop3Key("u1"));
    ASSERT_TRUE(row);
    EXPECT_EQ(row->state, MessageState::Delivered);
    EXPECT_EQ(row->size, 500u);
}

TEST_F(LedgerStoreTest, MarkCallsSetStatesAndReasons) {
    auto store = openLedger(path_);
    for (const char* uid : {"d", "q", "s", "x", "f"}) store->recordSeen(pop3Key(uid), 10);
    store->markDelivered(pop3Key("d"), 0, "hd", "<d@x>");
    store->markQuarantined(pop3Key("q"), 0, "virus found");
    store->markSkipped(pop3Key("s"), 0, "too big");
    store->markDelivered(pop3Key("x"), 0, "hx", "");
    store->markDeleted(pop3Key("x"));
    store->recordFailure(pop3Key("f"), 0, "first");
    store->recordFailure(pop3Key("f"), 0, "second");

    EXPECT_EQ(find(*store, pop3Key("d"))->state, MessageState::Delivered);
    const auto q = find(*store, pop3Key("q"));
    EXPECT_EQ(q->state, MessageState::Quarantined);
    EXPECT_EQ(q->lastError, "virus found");
    const auto s = find(*store, pop3Key("s"));
    EXPECT_EQ(s->state, MessageState::Skipped);
    EXPECT_EQ(s->lastError, "too big");
    const auto x = find(*store, pop3Key("x"));
    EXPECT_EQ(x->state, MessageState::Deleted);
    EXPECT_EQ(x->contentHash, "hx");
    EXPECT_GT(x->deliveredAt, 0);
    const auto f = find(*store, pop3Key("f"));
    EXPECT_EQ(f->state, MessageState::Seen);
    EXPECT_EQ(f->attempts, 2);
    EXPECT_EQ(f->lastError, "second");
}

TEST_F(LedgerStoreTest, MarkCallsInsertAbsentRows) {
    auto store = openLedger(path_);
    store->markDelivered(pop3Key("d"), 0, "hd", "<d@x>");
    store->markQuarantined(pop3Key("q"), 0, "bad");
    store->markSkipped(pop3Key("s"), 0, "big");
    store->markDeleted(pop3Key("x"));
    store->recordFailure(pop3Key("f"), 0, "oops");
    EXPECT_EQ(find(*store, pop3Key("d"))->state, MessageState::Delivered);
    EXPECT_EQ(find(*store, pop3Key("q"))->state, MessageState::Quarantined);
    EXPECT_EQ(find(*store, pop3Key("s"))->state, MessageState::Skipped);
    EXPECT_EQ(find(*store, pop3Key("x"))->state, MessageState::Deleted);
    const auto f = find(*store, pop3Key("f"));
    EXPECT_EQ(f->state, MessageState::Seen);
    EXPECT_EQ(f->attempts, 1);
    for (const MessageRecord& row : store->messages("alice", "", 0)) {
        EXPECT_GT(row.firstSeenAt, 0) << row.key.uid;
    }
}

TEST_F(LedgerStoreTest, AccountCountersFollowStates) {
    auto store = openLedger(path_);
    ASSERT_TRUE(store->registerAccount("alice"));
    for (int i = 0; i < 8; ++i) store->recordSeen(pop3Key("u" + std::to_string(i)), 10);
    store->markDelivered(pop3Key("u0"), 0, "h0", "");
    store->markDelivered(pop3Key("u1"), 0, "h1", "");
    store->markDelivered(pop3Key("u2"), 0, "h2", "");
    store->markDeleted(pop3Key("u2"));
    store->markQuarantined(pop3Key("u3"), 0, "r");
    store->markSkipped(pop3Key("u4"), 0, "r");
    store->recordSeen(pop3Key("other"), 1);  // same uid space, other account below
    store->recordSeen(pop3Key("z", "carol"), 1);

    const auto alice = store->account("alice");
    ASSERT_TRUE(alice);
    EXPECT_EQ(alice->name, "alice");
    EXPECT_EQ(alice->seen, 9u);  // every row
    EXPECT_EQ(alice->delivered, 2u);
    EXPECT_EQ(alice->deleted, 1u);
    EXPECT_EQ(alice->quarantined, 1u);
    EXPECT_EQ(alice->skipped, 1u);
    EXPECT_EQ(alice->pending, 4u);          // u5, u6, u7, other
    EXPECT_FALSE(store->account("carol"));  // rows but never registered

    ASSERT_TRUE(store->registerAccount("carol"));
    const auto all = store->accounts();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].name, "alice");
    EXPECT_EQ(all[0].delivered, 2u);
    EXPECT_EQ(all[0].pending, 4u);
    EXPECT_EQ(all[1].name, "carol");
    EXPECT_EQ(all[1].seen, 1u);
    EXPECT_EQ(all[1].pending, 1u);
}

TEST_F(LedgerStoreTest, ForgetAbsentRemovesOnlyMissingUidsOfThatMailbox) {
    auto store = openLedger(path_);
    for (const char* uid : {"1", "2", "3", "4"}) store->recordSeen(imapKey(uid), 10);
    store->markDelivered(imapKey("2"), 0, "h", "");
    store->recordSeen(imapKey("1", 8), 10);          // other UIDVALIDITY
    store->recordSeen(imapKey("1", 7, "Sent"), 10);  // other folder

    store->forgetAbsent("bob", "INBOX", 7, {"1", "3", "99"});

    std::vector<std::string> uids;
    for (const auto& row : store->messages("bob", "INBOX", 7)) uids.push_back(row.key.uid);
    EXPECT_EQ(uids, (std::vector<std::string>{"1", "3"}));
    EXPECT_EQ(store->messages("bob", "INBOX", 8).size(), 1u);
    EXPECT_EQ(store->messages("bob", "Sent", 7).size(), 1u);

    store->forgetAbsent("bob", "INBOX", 7, {});
    EXPECT_TRUE(store->messages("bob", "INBOX", 7).empty());
}

TEST_F(LedgerStoreTest, ForgetAbsentHandlesALargeMailbox) {
    auto store = std::make_unique<SqliteLedgerStore>(path_);
    // Fill in one statement; through the API every row would be its own durable transaction.
    store->executeForTesting(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99999) "
        "INSERT INTO messages (account, folder, uid_validity, uid, state) "
        "SELECT 'bob', 'INBOX', 7, CAST(i AS TEXT), 'seen' FROM n");
    std::vector<std::string> present;
    for (int i = 0; i < 100000; i += 2) present.push_back(std::to_string(i));

    store->forgetAbsent("bob", "INBOX", 7, present);

    const auto rows = store->messages("bob", "INBOX", 7);
    ASSERT_EQ(rows.size(), 50000u);
    EXPECT_TRUE(std::all_of(rows.begin(), rows.end(),
                            [](const MessageRecord& r) { return std::stoi(r.key.uid) % 2 == 0; }));
}

TEST_F(LedgerStoreTest, MessagesInFolderSpansUidValidities) {
    auto store = openLedger(path_);
    store->recordSeen(imapKey("1", 7), 10);
    store->recordSeen(imapKey("1", 9), 10);
    store->recordSeen(imapKey("5", 9, "Sent"), 10);
    const auto rows = store->messagesInFolder("bob", "INBOX");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].key.uidValidity, 7u);
    EXPECT_EQ(rows[1].key.uidValidity, 9u);
}

TEST_F(LedgerStoreTest, LargeUidValidityAndSizeRoundTrip) {
    auto store = openLedger(path_);
    const MessageKey key{"bob", "INBOX", 0xFFFFFFFFu, "4294967295"};
    store->recordSeen(key, 5'000'000'000ull);
    const auto row = find(*store, key);
    ASSERT_TRUE(row);
    EXPECT_EQ(row->size, 5'000'000'000ull);
}

TEST_F(LedgerStoreTest, RegisterAccountReportsCreationOnce) {
    {
        auto store = openLedger(path_);
        EXPECT_TRUE(store->registerAccount("alice"));
        EXPECT_FALSE(store->registerAccount("alice"));
        const auto alice = store->account("alice");
        ASSERT_TRUE(alice);
        EXPECT_GT(alice->firstSeenAt, 0);
        EXPECT_EQ(alice->lastPollAt, 0);
    }
    auto store = openLedger(path_);
    EXPECT_FALSE(store->registerAccount("alice"));
    EXPECT_TRUE(store->registerAccount("bob"));
}

TEST_F(LedgerStoreTest, RecordPollKeepsAccountsNewUntilRegistered) {
    auto store = openLedger(path_);
    store->registerAccount("alice");
    store->recordPoll("alice", "failed", "connection refused");
    auto alice = store->account("alice");
    ASSERT_TRUE(alice);
    EXPECT_GT(alice->lastPollAt, 0);
    EXPECT_EQ(alice->lastResult, "failed");
    EXPECT_EQ(alice->lastError, "connection refused");
    store->recordPoll("alice", "ok", "");
    alice = store->account("alice");
    EXPECT_EQ(alice->lastResult, "ok");
    EXPECT_EQ(alice->lastError, "");

    // A poll that failed before listing is shown, yet the account still registers as new.
    store->recordPoll("ghost", "failed", "x");
    auto ghost = store->account("ghost");
    ASSERT_TRUE(ghost);
    EXPECT_EQ(ghost->lastResult, "failed");
    EXPECT_EQ(ghost->firstSeenAt, 0);
    EXPECT_TRUE(store->registerAccount("ghost"));
    EXPECT_FALSE(store->registerAccount("ghost"));
    EXPECT_GT(store->account("ghost")->firstSeenAt, 0);
}

TEST_F(LedgerStoreTest, ConcurrentMarkDeliveredKeepsEveryRow) {
    constexpr int kThreads = 4;
    constexpr int kPerThread = 500;
    {
        auto store = openLedger(path_);
        std::vector<std::thread> workers;
        for (int t = 0; t < kThreads; ++t) {
            workers.emplace_back([&store, t] {
                for (int i = 0; i < kPerThread; ++i) {
                    const std::string uid = std::to_string(t) + "-" + std::to_string(i);
                    store->markDelivered(pop3Key(uid), 0, "hash-" + uid, "<" + uid + "@x>");
                    if (i % 50 == 0) store->messages("alice", "", 0);  // readers interleave
                }
            });
        }
        for (auto& worker : workers) worker.join();
    }
    auto store = openLedger(path_);
    const auto rows = store->messages("alice", "", 0);
    ASSERT_EQ(rows.size(), static_cast<std::size_t>(kThreads * kPerThread));
    for (const MessageRecord& row : rows) {
        EXPECT_EQ(row.state, MessageState::Delivered);
        EXPECT_EQ(row.contentHash, "hash-" + row.key.uid);
    }
}

TEST_F(LedgerStoreTest, ToStringNamesEveryState) {
    EXPECT_STREQ(toString(MessageState::Seen), "seen");
    EXPECT_STREQ(toString(MessageState::Delivered), "delivered");
    EXPECT_STREQ(toString(MessageState::Quarantined), "quarantined");
    EXPECT_STREQ(toString(MessageState::Skipped), "skipped");
    EXPECT_STREQ(toString(MessageState::Deleted), "deleted");
}

}  // namespace
}  // namespace mc::ledger
