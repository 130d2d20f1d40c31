#pragma once
// The ledger contract: what every LedgerStore must do (rows, states, counters, accounts,
// concurrency), as a typed test suite. Instantiated for SQLite in ledger_sqlite_store_test.cpp
// (always) and for PostgreSQL in tests/integration/ledger_postgres_test.cpp (a private server).
//
// A backend type provides: static bool available() (false: every test is skipped); a default
// constructor making an empty ledger; std::unique_ptr<LedgerStore> open() opening it (again);
// void execute(const std::string& sql) running SQL valid for SQLite and PostgreSQL on it.

#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "collector/ledger/LedgerStore.hpp"
#include "tests/support/LedgerPolls.hpp"

namespace mc::ledger::contract {

template <typename Backend>
class LedgerContractTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!Backend::available()) GTEST_SKIP() << "backend not available here";
        backend_.emplace();
    }
    std::unique_ptr<LedgerStore> open() { return backend_->open(); }
    void execute(const std::string& sql) { backend_->execute(sql); }

    std::optional<Backend> backend_;
};

TYPED_TEST_SUITE_P(LedgerContractTest);

inline MessageKey pop3Key(const std::string& uid, const std::string& account = "alice") {
    return MessageKey{account, "", 0, uid};
}

inline MessageKey imapKey(const std::string& uid, std::uint64_t uidValidity = 7, const std::string& folder = "INBOX") {
    return MessageKey{"bob", folder, uidValidity, uid};
}

inline std::optional<MessageRecord> find(LedgerStore& store, const MessageKey& key) {
    for (MessageRecord& record : store.messages(key.account, key.folder, key.uidValidity)) {
        if (record.key == key) return record;
    }
    return std::nullopt;
}

TYPED_TEST_P(LedgerContractTest, CreateAndReopenKeepsRows) {
    {
        auto store = this->open();
        store->recordSeen(pop3Key("u1"), 100);
        store->markDelivered(pop3Key("u2"), 0, "hash2", "<m2@example.org>", "");
        store->recordSeen(imapKey("42"), 300);
    }
    auto store = this->open();
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

TYPED_TEST_P(LedgerContractTest, RecordSeenWithSameSizeLeavesRowAlone) {
    auto store = this->open();
    store->recordSeen(pop3Key("u1"), 100);
    store->markDelivered(pop3Key("u1"), 0, "h", "<m@x>", "header-h");
    store->recordSeen(pop3Key("u1"), 100);
    const auto row = find(*store, pop3Key("u1"));
    ASSERT_TRUE(row);
    EXPECT_EQ(row->state, MessageState::Delivered);
    EXPECT_EQ(row->contentHash, "h");
    EXPECT_EQ(row->headerHash, "header-h");
    EXPECT_EQ(store->messages("alice", "", 0).size(), 1u);
}

TYPED_TEST_P(LedgerContractTest, SizeChangeResetsToSeen) {
    auto store = this->open();
    store->recordSeen(pop3Key("u1"), 100);
    store->recordFailure(pop3Key("u1"), 0, "target said 451");
    store->markDelivered(pop3Key("u1"), 0, "h", "<m@x>", "");

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

TYPED_TEST_P(LedgerContractTest, RecordSeenFillsInSizeOfRowCreatedByMark) {
    // A row created by markDelivered has no size; learning it must not re-deliver the message.
    auto store = this->open();
    store->markDelivered(pop3Key("u1"), 0, "h", "<m@x>", "");
    store->recordSeen(pop3Key("u1"), 500);
    const auto row = find(*store, pop3Key("u1"));
    ASSERT_TRUE(row);
    EXPECT_EQ(row->state, MessageState::Delivered);
    EXPECT_EQ(row->size, 500u);
}

TYPED_TEST_P(LedgerContractTest, MarkCallsSetStatesAndReasons) {
    auto store = this->open();
    for (const char* uid : {"d", "q", "s", "x", "f"}) store->recordSeen(pop3Key(uid), 10);
    store->markDelivered(pop3Key("d"), 0, "hd", "<d@x>", "");
    store->markQuarantined(pop3Key("q"), 0, "virus found");
    store->markSkipped(pop3Key("s"), 0, "too big");
    store->markDelivered(pop3Key("x"), 0, "hx", "", "");
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

TYPED_TEST_P(LedgerContractTest, MarkCallsInsertAbsentRows) {
    auto store = this->open();
    store->markDelivered(pop3Key("d"), 0, "hd", "<d@x>", "");
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

TYPED_TEST_P(LedgerContractTest, AccountCountersFollowStates) {
    auto store = this->open();
    ASSERT_TRUE(store->registerAccount("alice"));
    for (int i = 0; i < 8; ++i) store->recordSeen(pop3Key("u" + std::to_string(i)), 10);
    store->markDelivered(pop3Key("u0"), 0, "h0", "", "");
    store->markDelivered(pop3Key("u1"), 0, "h1", "", "");
    store->markDelivered(pop3Key("u2"), 0, "h2", "", "");
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

TYPED_TEST_P(LedgerContractTest, ForgetAbsentRemovesOnlyMissingUidsOfThatMailbox) {
    auto store = this->open();
    for (const char* uid : {"1", "2", "3", "4"}) store->recordSeen(imapKey(uid), 10);
    store->markDelivered(imapKey("2"), 0, "h", "", "");
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

TYPED_TEST_P(LedgerContractTest, ForgetAbsentHandlesALargeMailbox) {
    auto store = this->open();
    // Fill in one statement; through the API every row would be its own durable transaction.
    this->execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99999) "
        "INSERT INTO messages (account, folder, uid_validity, uid, state) "
        "SELECT 'bob', 'INBOX', 7, CAST(i AS TEXT), 'seen' FROM n");
    std::vector<std::string> present;
    for (int i = 0; i < 100000; i += 2) present.push_back(std::to_string(i));

    store->forgetAbsent("bob", "INBOX", 7, present);

    const auto rows = store->messages("bob", "INBOX", 7);
    ASSERT_EQ(rows.size(), 50000u);
    EXPECT_TRUE(
        std::all_of(rows.begin(), rows.end(), [](const MessageRecord& r) { return std::stoi(r.key.uid) % 2 == 0; }));
}

TYPED_TEST_P(LedgerContractTest, MessagesInFolderSpansUidValidities) {
    auto store = this->open();
    store->recordSeen(imapKey("1", 7), 10);
    store->recordSeen(imapKey("1", 9), 10);
    store->recordSeen(imapKey("5", 9, "Sent"), 10);
    const auto rows = store->messagesInFolder("bob", "INBOX");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].key.uidValidity, 7u);
    EXPECT_EQ(rows[1].key.uidValidity, 9u);
}

TYPED_TEST_P(LedgerContractTest, LargeUidValidityAndSizeRoundTrip) {
    auto store = this->open();
    const MessageKey key{"bob", "INBOX", 0xFFFFFFFFu, "4294967295"};
    store->recordSeen(key, 5'000'000'000ull);
    const auto row = find(*store, key);
    ASSERT_TRUE(row);
    EXPECT_EQ(row->size, 5'000'000'000ull);
}

TYPED_TEST_P(LedgerContractTest, RegisterAccountReportsCreationOnce) {
    {
        auto store = this->open();
        EXPECT_TRUE(store->registerAccount("alice"));
        EXPECT_FALSE(store->registerAccount("alice"));
        const auto alice = store->account("alice");
        ASSERT_TRUE(alice);
        EXPECT_GT(alice->firstSeenAt, 0);
        EXPECT_EQ(alice->lastPollAt, 0);
    }
    auto store = this->open();
    EXPECT_FALSE(store->registerAccount("alice"));
    EXPECT_TRUE(store->registerAccount("bob"));
}

TYPED_TEST_P(LedgerContractTest, RecordPollKeepsAccountsNewUntilRegistered) {
    auto store = this->open();
    store->registerAccount("alice");
    testing::recordLastPoll(*store, "alice", "failed", "connection refused");
    auto alice = store->account("alice");
    ASSERT_TRUE(alice);
    EXPECT_GT(alice->lastPollAt, 0);
    EXPECT_EQ(alice->lastResult, "failed");
    EXPECT_EQ(alice->lastError, "connection refused");
    testing::recordLastPoll(*store, "alice", "ok", "");
    alice = store->account("alice");
    EXPECT_EQ(alice->lastResult, "ok");
    EXPECT_EQ(alice->lastError, "");

    // A poll that failed before listing is shown, yet the account still registers as new.
    testing::recordLastPoll(*store, "ghost", "failed", "x");
    auto ghost = store->account("ghost");
    ASSERT_TRUE(ghost);
    EXPECT_EQ(ghost->lastResult, "failed");
    EXPECT_EQ(ghost->firstSeenAt, 0);
    EXPECT_TRUE(store->registerAccount("ghost"));
    EXPECT_FALSE(store->registerAccount("ghost"));
    EXPECT_GT(store->account("ghost")->firstSeenAt, 0);
}

TYPED_TEST_P(LedgerContractTest, ConcurrentMarkDeliveredKeepsEveryRow) {
    constexpr int kThreads = 4;
    constexpr int kPerThread = 500;
    {
        auto store = this->open();
        std::vector<std::thread> workers;
        for (int t = 0; t < kThreads; ++t) {
            workers.emplace_back([&store, t] {
                for (int i = 0; i < kPerThread; ++i) {
                    const std::string uid = std::to_string(t) + "-" + std::to_string(i);
                    store->markDelivered(pop3Key(uid), 0, "hash-" + uid, "<" + uid + "@x>", "");
                    if (i % 50 == 0) store->messages("alice", "", 0);  // readers interleave
                }
            });
        }
        for (auto& worker : workers) worker.join();
    }
    auto store = this->open();
    const auto rows = store->messages("alice", "", 0);
    ASSERT_EQ(rows.size(), static_cast<std::size_t>(kThreads * kPerThread));
    for (const MessageRecord& row : rows) {
        EXPECT_EQ(row.state, MessageState::Delivered);
        EXPECT_EQ(row.contentHash, "hash-" + row.key.uid);
    }
}

TYPED_TEST_P(LedgerContractTest, FreeTextThatIsNotUtf8IsAccepted) {
    // Message-IDs and server errors are whatever the other side sent; PostgreSQL text must be
    // UTF-8 without NUL. Such values may be stored altered, never refused.
    auto store = this->open();
    const std::string messageId = std::string("<\xff\xfe") + '\0' + "bad@x>";
    store->markDelivered(pop3Key("u1"), 10, "h", messageId, "");
    store->recordFailure(pop3Key("u2"), 10, "server said \xc3(\x80");
    testing::recordLastPoll(*store, "alice", "failed", "\xed\xa0\x80 surrogate");
    const auto u1 = find(*store, pop3Key("u1"));
    ASSERT_TRUE(u1);
    EXPECT_EQ(u1->state, MessageState::Delivered);
    EXPECT_EQ(u1->messageId.substr(u1->messageId.size() - 6), "bad@x>");
    EXPECT_EQ(find(*store, pop3Key("u2"))->attempts, 1);
    EXPECT_EQ(store->account("alice")->lastResult, "failed");
}

TYPED_TEST_P(LedgerContractTest, AccountsAreListedInByteOrder) {
    auto store = this->open();
    for (const char* name : {"b", "B", "a", "_x", "Zed"}) store->registerAccount(name);
    std::vector<std::string> names;
    for (const auto& record : store->accounts()) names.push_back(record.name);
    EXPECT_EQ(names, (std::vector<std::string>{"B", "Zed", "_x", "a", "b"}));
}

TYPED_TEST_P(LedgerContractTest, RecordNextPollUpdatesExistingAccountsOnly) {
    auto store = this->open();
    store->registerAccount("alice");
    store->recordNextPoll("alice", 1'900'000'000);
    store->recordNextPoll("nobody", 1'900'000'000);
    EXPECT_EQ(store->account("alice")->nextPollAt, 1'900'000'000);
    EXPECT_FALSE(store->account("nobody"));
    store->probeWrite();
}

TYPED_TEST_P(LedgerContractTest, KeysAreCaseAndSpaceExact) {
    auto store = this->open();
    store->recordSeen(MessageKey{"bob", "INBOX", 1, "a"}, 1);
    store->recordSeen(MessageKey{"bob", "inbox", 1, "a"}, 1);
    store->recordSeen(MessageKey{"bob", "INBOX", 1, "A"}, 1);
    store->recordSeen(MessageKey{"bob", "Entw\xc3\xbcrfe/2019", 1, "a "}, 1);
    EXPECT_EQ(store->messages("bob", "INBOX", 1).size(), 2u);
    EXPECT_EQ(store->messages("bob", "inbox", 1).size(), 1u);
    ASSERT_EQ(store->messagesInFolder("bob", "Entw\xc3\xbcrfe/2019").size(), 1u);
    EXPECT_EQ(store->messagesInFolder("bob", "Entw\xc3\xbcrfe/2019")[0].key.uid, "a ");
}

TYPED_TEST_P(LedgerContractTest, QuarantinedRowsAreListedRequeuedAndDropped) {
    auto store = this->open();
    store->markQuarantined(pop3Key("q1"), 10, "550 5.1.1 no such user");
    store->markQuarantined(pop3Key("q2"), 20, "550 5.1.1 no such user");
    store->markQuarantined(imapKey("7"), 30, "NO [CANNOT] no");
    store->markDelivered(pop3Key("d"), 10, "hd", "", "");
    store->recordFailure(pop3Key("q1"), 0, "counted");

    auto all = store->quarantined("");
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].key, pop3Key("q1"));
    EXPECT_EQ(all[1].key, pop3Key("q2"));
    EXPECT_EQ(all[2].key, imapKey("7"));
    EXPECT_EQ(all[2].size, 30u);
    ASSERT_EQ(store->quarantined("alice").size(), 2u);
    EXPECT_TRUE(store->quarantined("nobody").empty());

    EXPECT_TRUE(store->requeueQuarantined(pop3Key("q1")));
    const auto q1 = find(*store, pop3Key("q1"));
    EXPECT_EQ(q1->state, MessageState::Seen) << "pending: the next poll fetches it";
    EXPECT_EQ(q1->attempts, 0);
    EXPECT_EQ(q1->lastError, "");
    EXPECT_EQ(q1->size, 10u);
    EXPECT_FALSE(store->requeueQuarantined(pop3Key("q1"))) << "no longer quarantined";
    EXPECT_FALSE(store->requeueQuarantined(pop3Key("d"))) << "a delivered row stays delivered";
    EXPECT_EQ(find(*store, pop3Key("d"))->state, MessageState::Delivered);

    EXPECT_TRUE(store->dropQuarantined(pop3Key("q2"), "dropped from quarantine"));
    const auto q2 = find(*store, pop3Key("q2"));
    EXPECT_EQ(q2->state, MessageState::Skipped);
    EXPECT_EQ(q2->lastError, "dropped from quarantine");
    EXPECT_FALSE(store->dropQuarantined(pop3Key("d"), "x"));
    EXPECT_FALSE(store->dropQuarantined(pop3Key("absent"), "x"));
    EXPECT_FALSE(find(*store, pop3Key("absent"))) << "nothing inserted";
    ASSERT_EQ(store->quarantined("").size(), 1u);
}

// ---- Per-poll queries (repoll): work proportional to what changed --------------------------------

TYPED_TEST_P(LedgerContractTest, ForEachMessageVisitsOneMailboxUntilToldToStop) {
    auto store = this->open();
    this->execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 12344) "
        "INSERT INTO messages (account, folder, uid_validity, uid, state) "
        "SELECT 'bob', 'INBOX', 7, CAST(i AS TEXT), 'seen' FROM n");
    store->recordSeen(imapKey("1", 8), 10);
    store->recordSeen(imapKey("1", 7, "Sent"), 10);
    std::set<std::string> seen;
    store->forEachMessage("bob", "INBOX", 7, [&](const MessageRecord& row) {
        EXPECT_EQ(row.key.uidValidity, 7u);
        EXPECT_EQ(row.key.folder, "INBOX");
        seen.insert(row.key.uid);
        return true;
    });
    EXPECT_EQ(seen.size(), 12345u) << "every row, across the store's pages";
    int visited = 0;
    store->forEachMessage("bob", "INBOX", 7, [&](const MessageRecord&) { return ++visited < 3; });
    EXPECT_EQ(visited, 3);
}

TYPED_TEST_P(LedgerContractTest, MessageFindsOneRowByKey) {
    auto store = this->open();
    store->markDelivered(imapKey("5"), 70, "h5", "<5@x>", "hh5");
    auto row = store->message(imapKey("5"));
    ASSERT_TRUE(row);
    EXPECT_EQ(row->state, MessageState::Delivered);
    EXPECT_EQ(row->contentHash, "h5");
    EXPECT_EQ(row->headerHash, "hh5");
    EXPECT_FALSE(store->message(imapKey("5", 8)));
    EXPECT_FALSE(store->message(imapKey("6")));
}

TYPED_TEST_P(LedgerContractTest, WorkDueIsPendingRowsAndDeliveriesDueForDeletion) {
    auto store = this->open();
    store->recordSeen(imapKey("1"), 10);  // pending
    store->markDelivered(imapKey("2"), 10, "h2", "", "");
    store->markQuarantined(imapKey("3"), 10, "550");
    store->markSkipped(imapKey("4"), 10, "fetch = new");
    store->markDeleted(imapKey("5"));
    store->recordSeen(imapKey("6", 8), 10);  // other UIDVALIDITY
    auto uids = [](const std::vector<MessageRecord>& rows) {
        std::set<std::string> out;
        for (const auto& row : rows) out.insert(row.key.uid);
        return out;
    };
    EXPECT_EQ(uids(store->workDue("bob", "INBOX", 7, std::nullopt, 100)), (std::set<std::string>{"1"}));
    const std::int64_t now = std::time(nullptr);
    EXPECT_EQ(uids(store->workDue("bob", "INBOX", 7, now + 10, 100)), (std::set<std::string>{"1", "2"}));
    EXPECT_EQ(uids(store->workDue("bob", "INBOX", 7, now - 86400, 100)), (std::set<std::string>{"1"}))
        << "delivered after the cut-off: not due";
    EXPECT_TRUE(store->requeueQuarantined(imapKey("3")));
    EXPECT_EQ(uids(store->workDue("bob", "INBOX", 7, std::nullopt, 100)), (std::set<std::string>{"1", "3"}));
    EXPECT_EQ(store->workDue("bob", "INBOX", 7, now + 10, 2).size(), 2u);
    EXPECT_EQ(store->workDue("bob", "INBOX", 7, now + 10, 1).size(), 1u) << "at most the limit";
}

TYPED_TEST_P(LedgerContractTest, DeliveredInAccountAsksAnyFolderAndUidValidityOfThatAccountOnly) {
    auto store = this->open();
    store->recordSeen(imapKey("1"), 10);  // pending: not delivered
    store->markQuarantined(imapKey("2"), 10, "550");
    store->markDelivered(imapKey("3", 5), 10, "h3", "", "");  // an earlier UIDVALIDITY
    store->markDelivered(imapKey("4"), 10, "h4", "", "");
    store->markDeleted(imapKey("4"));
    store->markDelivered(imapKey("5", 7, "Archive"), 10, "h5", "", "");
    EXPECT_TRUE(store->deliveredInAccount("bob", "h3"));
    EXPECT_TRUE(store->deliveredInAccount("bob", "h4")) << "delivered, then deleted";
    EXPECT_TRUE(store->deliveredInAccount("bob", "h5")) << "another folder";
    EXPECT_FALSE(store->deliveredInAccount("bob", "h9"));
    EXPECT_FALSE(store->deliveredInAccount("carol", "h3")) << "another account";
}

TYPED_TEST_P(LedgerContractTest, RowsUnderOtherUidValiditiesAreFoundAndForgottenButQuarantinedOnes) {
    auto store = this->open();
    EXPECT_FALSE(store->deliveredUnderOtherValidity("bob", "INBOX", 7));
    store->recordSeen(imapKey("1", 5), 10);  // pending under UIDVALIDITY 5: not delivered
    store->markQuarantined(imapKey("2", 5), 10, "550");
    EXPECT_FALSE(store->deliveredUnderOtherValidity("bob", "INBOX", 7));
    store->markDelivered(imapKey("3", 5), 10, "h3", "", "");
    store->markDelivered(imapKey("4", 6), 10, "h4", "", "");
    store->markDeleted(imapKey("4", 6));
    store->markDelivered(imapKey("5", 7), 10, "h5", "", "");
    store->markDelivered(imapKey("6", 5, "Sent"), 10, "h6", "", "");
    EXPECT_TRUE(store->deliveredUnderOtherValidity("bob", "INBOX", 7));
    EXPECT_TRUE(store->deliveredUnderOtherValidity("bob", "INBOX", 5)) << "6 and 7 are other ones";
    EXPECT_FALSE(store->deliveredUnderOtherValidity("bob", "Drafts", 7)) << "another folder";
    EXPECT_FALSE(store->deliveredUnderOtherValidity("carol", "INBOX", 7)) << "another account";

    store->forgetOtherValidities("bob", "INBOX", 7);
    EXPECT_FALSE(store->deliveredUnderOtherValidity("bob", "INBOX", 7));
    EXPECT_FALSE(store->message(imapKey("1", 5))) << "pending under a number no longer used";
    EXPECT_FALSE(store->message(imapKey("3", 5)));
    EXPECT_FALSE(store->message(imapKey("4", 6)));
    ASSERT_TRUE(store->message(imapKey("2", 5))) << "quarantined: an operator decides";
    EXPECT_EQ(store->message(imapKey("2", 5))->state, MessageState::Quarantined);
    EXPECT_TRUE(store->message(imapKey("5", 7))) << "the UIDVALIDITY kept";
    EXPECT_TRUE(store->message(imapKey("6", 5, "Sent"))) << "another folder";
}

TYPED_TEST_P(LedgerContractTest, ForgetRemovesTheGivenRowsOfThatMailboxOnly) {
    auto store = this->open();
    for (const char* uid : {"1", "2", "3"}) store->recordSeen(imapKey(uid), 10);
    store->recordSeen(imapKey("1", 8), 10);
    store->recordSeen(imapKey("1", 7, "Sent"), 10);
    store->forget("bob", "INBOX", 7, {"1", "3", "99"});
    std::vector<std::string> left;
    for (const auto& row : store->messages("bob", "INBOX", 7)) left.push_back(row.key.uid);
    EXPECT_EQ(left, std::vector<std::string>{"2"});
    EXPECT_EQ(store->messages("bob", "INBOX", 8).size(), 1u);
    EXPECT_EQ(store->messages("bob", "Sent", 7).size(), 1u);
    store->forget("bob", "INBOX", 7, {});
    EXPECT_EQ(store->messages("bob", "INBOX", 7).size(), 1u);
}

TYPED_TEST_P(LedgerContractTest, MailboxMarksAreRecordedReplacedAndCleared) {
    auto store = this->open();
    EXPECT_FALSE(store->mailboxMark("bob", "INBOX"));
    const MailboxMark mark{0xFFFFFFFFu, 1234,       1000,
                           "",          50'000'000, (1ull << 63) - 1};  // RFC 7162 mod-sequences: 63 bits
    store->recordMailboxMark("bob", "INBOX", mark);
    store->recordMailboxMark("alice", "", MailboxMark{0, 0, 7, "uidl-7", 10});
    EXPECT_EQ(store->mailboxMark("bob", "INBOX"), mark);
    EXPECT_EQ(store->mailboxMark("alice", ""), (MailboxMark{0, 0, 7, "uidl-7", 10}));
    EXPECT_FALSE(store->mailboxMark("bob", "Sent"));
    store->recordMailboxMark("bob", "INBOX", MailboxMark{9, 2, 1, "", 10});
    EXPECT_EQ(store->mailboxMark("bob", "INBOX"), (MailboxMark{9, 2, 1, "", 10}));
    store->recordMailboxMark("bob", "INBOX", std::nullopt);
    EXPECT_FALSE(store->mailboxMark("bob", "INBOX"));
    EXPECT_TRUE(store->mailboxMark("alice", ""));
}

TYPED_TEST_P(LedgerContractTest, PollHistoryKeepsTheLastPollsAndSumsOlderOnesPerDay) {
    auto store = this->open();
    constexpr std::int64_t kDay = 86400;
    const std::int64_t day0 = 20000 * kDay;
    // 130 polls of alice, 26 a day over 5 days (each delivering 1, every 10th failing), and one of bob.
    for (int i = 0; i < 130; ++i) {
        PollRecord poll;
        poll.account = "alice";
        poll.startedAt = day0 + (i / 26) * kDay + (i % 26) * 60;
        poll.durationMs = 1500 + i;
        poll.result = i % 10 == 9 ? "failed:network" : "ok";
        poll.error = i % 10 == 9 ? "connection refused \xff" : "";
        poll.fetched = 2;
        poll.delivered = 1;
        store->recordPollEnd(poll, poll.error, "");
    }
    store->recordPollEnd(PollRecord{"bob", day0, 10, "ok", "", 5, 5, 0, 0, 0, 0}, "", "");

    const auto recent = store->pollHistory("alice", 1000);
    ASSERT_EQ(recent.size(), kPollHistoryKept);
    EXPECT_EQ(recent.front().startedAt, day0 + 4 * kDay + 25 * 60) << "newest first";
    EXPECT_EQ(recent.front().durationMs, 1500 + 129);
    EXPECT_EQ(recent.front().result, "failed:network");
    EXPECT_EQ(recent.back().startedAt, day0 + 1 * kDay + 4 * 60) << "poll 30 is the oldest kept";
    EXPECT_EQ(store->pollHistory("alice", 3).size(), 3u);
    ASSERT_EQ(store->pollHistory("bob", 10).size(), 1u);
    EXPECT_EQ(store->pollHistory("bob", 10)[0].delivered, 5u);

    // Polls 0..29 are summed per day: 26 on day 0 (polls 9 and 19 failed), 4 on day 1 (poll 29 failed).
    const auto days = store->pollDays("alice", 0);
    ASSERT_EQ(days.size(), 2u);
    EXPECT_EQ(days[0].day, day0);
    EXPECT_EQ(days[0].polls, 26u);
    EXPECT_EQ(days[0].failed, 2u);
    EXPECT_EQ(days[0].delivered, 26u);
    EXPECT_EQ(days[0].fetched, 52u);
    EXPECT_EQ(days[1].day, day0 + kDay);
    EXPECT_EQ(days[1].polls, 4u);
    EXPECT_EQ(days[1].failed, 1u);
    EXPECT_EQ(store->pollDays("alice", day0 + kDay).size(), 1u);
    EXPECT_TRUE(store->pollDays("bob", 0).empty());

    // Summaries add up as more polls age out.
    store->recordPollEnd(PollRecord{"alice", day0 + 5 * kDay, 1, "ok", "", 0, 0, 0, 0, 0, 0}, "", "");
    EXPECT_EQ(store->pollDays("alice", 0)[1].polls, 5u);
    EXPECT_EQ(store->pollHistory("alice", 1000).size(), kPollHistoryKept);
}

// The end of a poll: the account's last result, its history and the poll's lease, together.
TYPED_TEST_P(LedgerContractTest, RecordPollEndRecordsTheResultAndHistoryAndGivesUpTheLease) {
    using namespace std::chrono_literals;
    auto store = this->open();
    store->registerAccount("alice");
    ASSERT_TRUE(store->takeLease("alice", "host-a:1:aa", 60s).granted);
    ASSERT_FALSE(store->takeLease("alice", "host-b:2:bb", 60s).granted);

    store->recordPollEnd(PollRecord{"alice", 1700000000, 1500, "partial", "", 3, 2, 0, 1, 0, 0},
                         "max_messages_per_poll left 4 for later", "host-a:1:aa");
    auto alice = store->account("alice");
    ASSERT_TRUE(alice);
    EXPECT_GT(alice->lastPollAt, 0);
    EXPECT_EQ(alice->lastResult, "partial");
    EXPECT_EQ(alice->lastError, "max_messages_per_poll left 4 for later");
    auto history = store->pollHistory("alice", 10);
    ASSERT_EQ(history.size(), 1u);
    EXPECT_EQ(history[0].startedAt, 1700000000);
    EXPECT_EQ(history[0].delivered, 2u);
    EXPECT_EQ(history[0].deferred, 1u);
    EXPECT_TRUE(store->takeLease("alice", "host-b:2:bb", 60s).granted) << "given up with the poll's end";

    // Without a holder the lease is left alone.
    store->recordPollEnd(PollRecord{"alice", 1700000060, 10, "failed:network", "refused", 0, 0, 0, 0, 0, 0}, "refused",
                         "");
    EXPECT_EQ(store->account("alice")->lastResult, "failed:network");
    EXPECT_EQ(store->pollHistory("alice", 10).size(), 2u);
    EXPECT_FALSE(store->takeLease("alice", "host-a:1:aa", 60s).granted);
}

// Cross-account dedupe: the first key claims, the others wait while it is pending, are
// duplicates once it is delivered; a claim whose claimant's row is gone passes on.
TYPED_TEST_P(LedgerContractTest, DedupeClaimsDecideOncePerMessageIdAndBody) {
    auto store = this->open();
    const MessageKey alice = pop3Key("a1", "alice"), bob = pop3Key("b1", "bob"), carol = pop3Key("c1", "carol");
    EXPECT_EQ(store->claimMessage(alice, 10, "<m@x>", "body", "ha", "hh").claim, DedupeClaim::Claimed);
    EXPECT_EQ(find(*store, alice)->state, MessageState::Seen);  // pending: a crash now loses nothing
    auto held = store->claimMessage(bob, 12, "<m@x>", "body", "hb", "hh");
    EXPECT_EQ(held.claim, DedupeClaim::HeldByPending);
    EXPECT_EQ(held.first, alice);
    // Another body under the same Message-ID is another message.
    EXPECT_EQ(store->claimMessage(bob, 12, "<m@x>", "other body", "hb", "hh").claim, DedupeClaim::Claimed);
    // Claiming again is idempotent for the claimant.
    EXPECT_EQ(store->claimMessage(alice, 10, "<m@x>", "body", "ha", "hh").claim, DedupeClaim::Claimed);

    store->markDelivered(alice, 10, "ha", "<m@x>", "hh");
    auto duplicate = store->claimMessage(carol, 12, "<m@x>", "body", "hc", "hh");
    EXPECT_EQ(duplicate.claim, DedupeClaim::Duplicate);
    EXPECT_EQ(duplicate.first, alice);
    const auto row = find(*store, carol);
    ASSERT_TRUE(row);
    EXPECT_EQ(row->state, MessageState::Delivered);
    EXPECT_EQ(row->lastError.rfind(kDuplicateNote, 0), 0u) << row->lastError;
    EXPECT_EQ(store->duplicateCounts(), (std::map<std::string, std::uint64_t>{{"carol", 1}}));

    // The claimant's row forgotten (its message vanished): the next account with it delivers it.
    EXPECT_EQ(store->claimMessage(pop3Key("a2", "alice"), 5, "<n@x>", "b", "h", "h").claim, DedupeClaim::Claimed);
    store->forget("alice", "", 0, {"a2"});
    EXPECT_EQ(store->claimMessage(pop3Key("b2", "bob"), 5, "<n@x>", "b", "h", "h").claim, DedupeClaim::Claimed);
    EXPECT_EQ(store->claimMessage(pop3Key("c2", "carol"), 5, "<n@x>", "b", "h", "h").claim, DedupeClaim::HeldByPending);
}

// A delivered claimant settles its claim: its row deleted and then forgotten (keep = false), or
// the message deleted by its user, the next account's copy is still a duplicate. A quarantined
// claimant holds the others (an operator may retry or drop it).
TYPED_TEST_P(LedgerContractTest, ASettledClaimOutlivesItsClaimantsRowAndQuarantineHolds) {
    auto store = this->open();
    const MessageKey alice = pop3Key("a1", "alice"), bob = pop3Key("b1", "bob");
    ASSERT_EQ(store->claimMessage(alice, 10, "<m@x>", "body", "ha", "hh").claim, DedupeClaim::Claimed);
    store->markDelivered(alice, 10, "ha", "<m@x>", "hh");
    store->markDeleted(alice);
    store->forget("alice", "", 0, {"a1"});
    ASSERT_FALSE(find(*store, alice));
    EXPECT_EQ(store->claimMessage(bob, 12, "<m@x>", "body", "hb", "hh").claim, DedupeClaim::Duplicate);

    const MessageKey alice2 = pop3Key("a2", "alice"), bob2 = pop3Key("b2", "bob");
    ASSERT_EQ(store->claimMessage(alice2, 10, "<q@x>", "body", "ha", "hh").claim, DedupeClaim::Claimed);
    store->markQuarantined(alice2, 10, "550 refused");
    EXPECT_EQ(store->claimMessage(bob2, 12, "<q@x>", "body", "hb", "hh").claim, DedupeClaim::HeldByPending);
    EXPECT_FALSE(find(*store, bob2)) << "held: not recorded delivered (the pipeline records it pending)";
}

TYPED_TEST_P(LedgerContractTest, DownloadsAreSummedPerHourOverTheLastDay) {
    auto store = this->open();
    const std::int64_t now = 1'800'000'000;
    store->recordDownload("alice", now - 30 * 3600, 1000);  // outside the day
    store->recordDownload("alice", now - 3600, 200);
    store->recordDownload("alice", now, 30);
    store->recordDownload("alice", now, 4);
    store->recordDownload("bob", now, 99);
    EXPECT_EQ(store->downloadedBytesSince("alice", now - 86400), 234u);
    EXPECT_EQ(store->downloadedBytesSince("alice", now - 40 * 3600), 1234u);
    store->recordDownload("alice", now + 60 * 3600, 1);  // hours older than two days are forgotten
    EXPECT_EQ(store->downloadedBytesSince("alice", 0), 1u);
    EXPECT_EQ(store->downloadedBytesSince("carol", 0), 0u);
}

TYPED_TEST_P(LedgerContractTest, RowsOutsideAFolderAreFoundOnEitherSideOfIt) {
    auto store = this->open();
    store->recordSeen(imapKey("1", 7, "M"), 10);
    EXPECT_FALSE(store->hasMessagesOutsideFolder("bob", "M"));
    EXPECT_TRUE(store->hasMessagesInFolder("bob", "M"));
    store->recordSeen(imapKey("1", 7, "Z"), 10);
    EXPECT_TRUE(store->hasMessagesOutsideFolder("bob", "M"));
    store->forget("bob", "Z", 7, {"1"});
    store->recordSeen(imapKey("1", 7, "A"), 10);
    EXPECT_TRUE(store->hasMessagesOutsideFolder("bob", "M"));
    EXPECT_FALSE(store->hasMessagesOutsideFolder("alice", "M"));
}

REGISTER_TYPED_TEST_SUITE_P(
    LedgerContractTest, RecordPollEndRecordsTheResultAndHistoryAndGivesUpTheLease,
    ForEachMessageVisitsOneMailboxUntilToldToStop, MessageFindsOneRowByKey,
    WorkDueIsPendingRowsAndDeliveriesDueForDeletion, DeliveredInAccountAsksAnyFolderAndUidValidityOfThatAccountOnly,
    RowsUnderOtherUidValiditiesAreFoundAndForgottenButQuarantinedOnes, ForgetRemovesTheGivenRowsOfThatMailboxOnly,
    MailboxMarksAreRecordedReplacedAndCleared, CreateAndReopenKeepsRows, RecordSeenWithSameSizeLeavesRowAlone,
    SizeChangeResetsToSeen, RecordSeenFillsInSizeOfRowCreatedByMark, MarkCallsSetStatesAndReasons,
    MarkCallsInsertAbsentRows, AccountCountersFollowStates, ForgetAbsentRemovesOnlyMissingUidsOfThatMailbox,
    ForgetAbsentHandlesALargeMailbox, MessagesInFolderSpansUidValidities, LargeUidValidityAndSizeRoundTrip,
    RegisterAccountReportsCreationOnce, RecordPollKeepsAccountsNewUntilRegistered, ConcurrentMarkDeliveredKeepsEveryRow,
    FreeTextThatIsNotUtf8IsAccepted, AccountsAreListedInByteOrder, RecordNextPollUpdatesExistingAccountsOnly,
    KeysAreCaseAndSpaceExact, QuarantinedRowsAreListedRequeuedAndDropped,
    PollHistoryKeepsTheLastPollsAndSumsOlderOnesPerDay, DedupeClaimsDecideOncePerMessageIdAndBody,
    ASettledClaimOutlivesItsClaimantsRowAndQuarantineHolds, DownloadsAreSummedPerHourOverTheLastDay,
    RowsOutsideAFolderAreFoundOnEitherSideOfIt);

}  // namespace mc::ledger::contract
