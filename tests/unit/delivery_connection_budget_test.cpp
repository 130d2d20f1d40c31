// The process-wide target connection budget and what counts as "too many connections".

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "delivery/TargetConnectionBudget.hpp"

namespace mc::delivery {
namespace {

TEST(TargetConnectionBudget, GrantsUpToItsCapacityAndThenWaitsForARelease) {
    TargetConnectionBudget budget(2);
    EXPECT_TRUE(budget.acquire({}));
    EXPECT_TRUE(budget.acquire({}));
    EXPECT_EQ(budget.inUse(), 2);
    EXPECT_FALSE(budget.contended());

    std::atomic<bool> granted{false};
    std::thread waiter([&] { granted = budget.acquire({}); });
    while (!budget.contended()) std::this_thread::yield();
    EXPECT_FALSE(granted);
    budget.release();
    waiter.join();
    EXPECT_TRUE(granted);
    EXPECT_EQ(budget.inUse(), 2);
    EXPECT_FALSE(budget.contended());
}

TEST(TargetConnectionBudget, AWaiterGivesUpWhenCancelled) {
    TargetConnectionBudget budget(1);
    ASSERT_TRUE(budget.acquire({}));
    std::atomic<bool> cancel{false};
    std::atomic<int> result{-1};
    std::thread waiter([&] { result = budget.acquire([&] { return cancel.load(); }) ? 1 : 0; });
    while (!budget.contended()) std::this_thread::yield();
    cancel = true;
    waiter.join();
    EXPECT_EQ(result, 0);
    EXPECT_EQ(budget.inUse(), 1) << "a cancelled wait takes no slot";
}

TEST(TargetConnectionBudget, ALowerCapacityHoldsNewConnectionsUntilEnoughAreReleased) {
    TargetConnectionBudget budget(3);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(budget.acquire({}));
    budget.setCapacity(1);
    std::atomic<bool> granted{false};
    std::thread waiter([&] { granted = budget.acquire({}); });
    while (!budget.contended()) std::this_thread::yield();
    budget.release();
    budget.release();
    EXPECT_FALSE(granted) << "one connection is still held, the capacity is 1";
    budget.release();
    waiter.join();
    EXPECT_TRUE(granted);
}

TEST(TooManyConnections, RecognisesTheCommonServerTexts) {
    EXPECT_TRUE(soundsLikeTooManyConnections(
        "Maximum number of connections from user+IP exceeded (mail_max_userip_connections=10)"));
    EXPECT_TRUE(soundsLikeTooManyConnections("4.7.0 Error: too many connections from 127.0.0.1"));
    EXPECT_TRUE(soundsLikeTooManyConnections("5.7.1 Too many concurrent SMTP connections; please try again later"));
    EXPECT_TRUE(soundsLikeTooManyConnections("[UNAVAILABLE] Too many simultaneous connections"));
    EXPECT_FALSE(soundsLikeTooManyConnections("[AUTHENTICATIONFAILED] Authentication failed."));
    EXPECT_FALSE(soundsLikeTooManyConnections("5.1.1 <me@example.org>: Recipient address rejected"));
    EXPECT_FALSE(soundsLikeTooManyConnections(""));
}

}  // namespace
}  // namespace mc::delivery
