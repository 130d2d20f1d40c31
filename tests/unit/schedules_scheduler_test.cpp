// The Scheduler state machine on its own: no threads, times passed in by the test.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "schedules/Scheduler.hpp"

namespace mc::schedules {
namespace {

using namespace std::chrono_literals;

const TimePoint kStart = TimePoint(1000h);

SchedulePolicy noJitter() {
    SchedulePolicy policy;
    policy.jitterFraction = 0;
    return policy;
}

AccountPlan plan(const std::string& name, Duration interval = 5min, const std::string& fingerprint = "v1") {
    return AccountPlan{name, interval, fingerprint, Duration::zero()};
}

std::vector<std::string> names(std::initializer_list<const char*> list) { return {list.begin(), list.end()}; }

TEST(SchedulerTest, FirstPollIsImmediateThenEveryInterval) {
    Scheduler scheduler(noJitter(), 4, 1);
    scheduler.setAccounts({plan("a", 5min), plan("b", 1h)}, kStart);
    EXPECT_EQ(scheduler.takeDue(kStart), names({"a", "b"}));
    EXPECT_TRUE(scheduler.takeDue(kStart).empty()) << "a running account is not started twice";
    EXPECT_EQ(scheduler.complete("a", {true, false}, kStart + 2s), kStart + 2s + 5min);
    EXPECT_EQ(scheduler.complete("b", {true, false}, kStart + 3s), kStart + 3s + 1h);
    EXPECT_TRUE(scheduler.takeDue(kStart + 2s + 5min - 1ms).empty());
    EXPECT_EQ(scheduler.nextWakeup(), kStart + 2s + 5min);
    EXPECT_EQ(scheduler.takeDue(kStart + 2s + 5min), names({"a"}));
    EXPECT_EQ(scheduler.nextWakeup(), kStart + 3s + 1h);
}

TEST(SchedulerTest, JitterStaysWithinItsBoundsAndVaries) {
    SchedulePolicy policy;  // 10% of the delay, at most one minute
    Scheduler scheduler(policy, 1, 42);
    for (auto [interval, most] : {std::pair{Duration(5min), Duration(30s)}, std::pair{Duration(1h), Duration(60s)},
                                  std::pair{Duration(10s), Duration(1s)}}) {
        scheduler.setAccounts({plan("a", interval)}, kStart);
        std::set<Duration> seen;
        TimePoint now = kStart;
        for (int i = 0; i < 300; ++i) {
            auto due = scheduler.takeDue(now + 2h);
            ASSERT_EQ(due.size(), 1u);
            now += 2h;
            auto next = scheduler.complete("a", {true, false}, now);
            ASSERT_TRUE(next);
            const Duration delay = *next - now;
            EXPECT_GE(delay, interval) << "never more often than the interval";
            EXPECT_LE(delay, interval + most);
            seen.insert(delay);
        }
        EXPECT_GT(seen.size(), 100u) << "jitter must actually spread polls";
        scheduler.setAccounts({}, now);
    }
}

TEST(SchedulerTest, BackoffDoublesAfterEachFailureUpToTheCapAndResetsOnSuccess) {
    SchedulePolicy policy = noJitter();
    policy.backoffBase = 1min;
    policy.backoffCap = 1h;
    Scheduler scheduler(policy, 1, 1);
    scheduler.setAccounts({plan("a", 5min)}, kStart);
    TimePoint now = kStart;
    const std::vector<Duration> expected{1min, 2min, 4min, 8min, 16min, 32min, 1h, 1h, 1h, 1h};
    for (Duration want : expected) {
        ASSERT_EQ(scheduler.takeDue(now + 10h).size(), 1u);
        now += 10h;
        auto next = scheduler.complete("a", {false, false}, now);
        ASSERT_TRUE(next);
        EXPECT_EQ(*next - now, want);
    }
    EXPECT_EQ(scheduler.account("a")->failures, 10);
    for (int i = 0; i < 200; ++i) {  // days of failures: no overflow, still the cap
        scheduler.takeDue(now + 10h);
        now += 10h;
        ASSERT_EQ(*scheduler.complete("a", {false, false}, now) - now, Duration(1h));
    }
    scheduler.takeDue(now + 10h);
    now += 10h;
    EXPECT_EQ(*scheduler.complete("a", {true, false}, now) - now, Duration(5min));
    EXPECT_EQ(scheduler.account("a")->failures, 0);
}

// The retry class of the failure: refused credentials wait the longest backoff at once, an
// interrupted poll is retried after the shortest, the rest double.
TEST(SchedulerTest, BackoffFollowsTheRetryClassOfTheFailure) {
    SchedulePolicy policy = noJitter();
    policy.backoffBase = 1min;
    policy.backoffCap = 1h;
    Scheduler scheduler(policy, 1, 1);
    scheduler.setAccounts({plan("a", 5min)}, kStart);
    TimePoint now = kStart;
    auto failWith = [&](proto::RetryClass retry) {
        scheduler.takeDue(now + 10h);
        now += 10h;
        return *scheduler.complete("a", {false, false, retry}, now) - now;
    };
    EXPECT_EQ(failWith(proto::RetryClass::Never), Duration(1h));
    EXPECT_EQ(failWith(proto::RetryClass::Now), Duration(1min));
    EXPECT_EQ(failWith(proto::RetryClass::Later), Duration(4min)) << "the third failure in a row";
    EXPECT_EQ(scheduler.account("a")->failures, 3);
}

TEST(SchedulerTest, BackoffOfShortAndLongIntervals) {
    SchedulePolicy policy = noJitter();
    Scheduler scheduler(policy, 4, 1);  // two failing accounts may run at once
    scheduler.setAccounts({plan("short", 10s), plan("daily", 24h)}, kStart);
    TimePoint now = kStart;
    std::map<std::string, std::vector<Duration>> delays;
    for (int i = 0; i < 14; ++i) {
        scheduler.takeDue(now + 48h);
        now += 48h;
        for (const char* name : {"short", "daily"})
            delays[name].push_back(*scheduler.complete(name, {false, false}, now) - now);
    }
    // A 10 s account starts retrying at its interval; a daily one after a minute, growing to a day.
    EXPECT_EQ(delays["short"][0], Duration(10s));
    EXPECT_EQ(delays["short"][1], Duration(20s));
    EXPECT_EQ(delays["short"].back(), Duration(1h));
    EXPECT_EQ(delays["daily"][0], Duration(1min));
    EXPECT_EQ(delays["daily"].back(), Duration(24h)) << "the cap is never below the interval";
}

TEST(SchedulerTest, DeferredMessagesAreRetriedSoonWithGrowingDelayCappedAtTheInterval) {
    Scheduler scheduler(noJitter(), 1, 1);
    scheduler.setAccounts({plan("a", 5min)}, kStart);
    TimePoint now = kStart;
    std::vector<Duration> delays;
    for (int i = 0; i < 6; ++i) {
        scheduler.takeDue(now + 1h);
        now += 1h;
        delays.push_back(*scheduler.complete("a", {true, true}, now) - now);
    }
    EXPECT_EQ(delays, (std::vector<Duration>{30s, 1min, 2min, 4min, 5min, 5min}));
    EXPECT_EQ(scheduler.account("a")->failures, 0) << "a poll with pending messages did not fail";
    scheduler.takeDue(now + 1h);
    now += 1h;
    EXPECT_EQ(*scheduler.complete("a", {true, false}, now) - now, Duration(5min));
    EXPECT_EQ(scheduler.account("a")->deferredStreak, 0);
}

TEST(SchedulerTest, NeverRunsMoreThanMaxParallelAndServesEarliestDueFirst) {
    Scheduler scheduler(SchedulePolicy{}, 3, 7);
    std::vector<AccountPlan> plans;
    for (int i = 0; i < 20; ++i)
        plans.push_back(plan("acct" + std::to_string(i), 10s + Duration(std::chrono::seconds(i))));
    scheduler.setAccounts(plans, kStart);
    EXPECT_EQ(scheduler.takeDue(kStart), names({"acct0", "acct1", "acct2"})) << "config order breaks ties";
    EXPECT_FALSE(scheduler.nextWakeup()) << "all slots busy: only a completion can free one";

    // A random walk of completions and clock steps: the bound holds at every step and every
    // account keeps being polled.
    std::mt19937 random(3);
    std::set<std::string> running{"acct0", "acct1", "acct2"};
    std::map<std::string, int> polls;
    TimePoint now = kStart;
    for (int step = 0; step < 5000; ++step) {
        now += Duration(std::chrono::milliseconds(random() % 3000));
        if (!running.empty() && random() % 2 == 0) {
            auto it = std::next(running.begin(), random() % running.size());
            scheduler.complete(*it, {random() % 5 != 0, random() % 7 == 0}, now);
            ++polls[*it];
            running.erase(it);
        }
        for (const auto& name : scheduler.takeDue(now)) ASSERT_TRUE(running.insert(name).second) << name;
        ASSERT_LE(scheduler.running(), 3);
        ASSERT_EQ(scheduler.running(), static_cast<int>(running.size()));
    }
    EXPECT_EQ(polls.size(), 20u);
    for (const auto& [name, count] : polls) EXPECT_GT(count, 20) << name;
}

// Bad servers (hanging, trickling, refusing) fail their polls: such accounts hold at most half
// of the slots, so a healthy account is polled on schedule however many bad ones are due.
TEST(SchedulerTest, AccountsWhoseLastPollFailedHoldAtMostHalfTheSlots) {
    Scheduler scheduler(noJitter(), 4, 1);
    auto healthy = plan("good", 5min);
    healthy.firstDelay = 2min;
    scheduler.setAccounts({plan("bad1"), plan("bad2"), plan("bad3"), plan("bad4"), healthy}, kStart);
    EXPECT_EQ(scheduler.takeDue(kStart), names({"bad1", "bad2", "bad3", "bad4"})) << "no failure known yet";
    for (const char* name : {"bad1", "bad2", "bad3", "bad4"})
        EXPECT_EQ(scheduler.complete(name, {false, false}, kStart + 5s), kStart + 5s + 1min);
    EXPECT_EQ(scheduler.failingSlots(), 2);
    EXPECT_EQ(scheduler.takeDue(kStart + 65s), names({"bad1", "bad2"})) << "two of four slots, no more";
    EXPECT_EQ(scheduler.nextWakeup(), kStart + 2min) << "failing accounts wait for a slot, not a time";
    EXPECT_TRUE(scheduler.takeDue(kStart + 90s).empty());
    // bad1 and bad2 hang on; the healthy account keeps its schedule beside them.
    EXPECT_EQ(scheduler.takeDue(kStart + 2min), names({"good"}));
    EXPECT_EQ(scheduler.complete("good", {true, false}, kStart + 2min + 1s), kStart + 7min + 1s);
    EXPECT_EQ(scheduler.takeDue(kStart + 7min + 1s), names({"good"}));
    EXPECT_EQ(scheduler.running(), 3);
    // A failing account that ends frees a failing slot for the next one.
    scheduler.complete("bad1", {false, false}, kStart + 8min);
    EXPECT_EQ(scheduler.takeDue(kStart + 8min), names({"bad3"}));
}

TEST(SchedulerTest, DueHealthyAccountsStartBeforeFailingOnesThatWereDueEarlier) {
    Scheduler scheduler(noJitter(), 1, 1);
    auto healthy = plan("good", 5min);
    healthy.firstDelay = 30s;
    scheduler.setAccounts({plan("bad", 5min), healthy}, kStart);
    EXPECT_EQ(scheduler.takeDue(kStart), names({"bad"}));
    EXPECT_EQ(scheduler.complete("bad", {false, false}, kStart + 40s), kStart + 100s);
    EXPECT_EQ(scheduler.takeDue(kStart + 40s), names({"good"}));
    scheduler.complete("good", {true, false}, kStart + 41s);
    // Both due now (bad since 100 s, good since 341 s): the single slot goes to the healthy one.
    scheduler.pollNow("good", kStart + 341s);
    EXPECT_EQ(scheduler.takeDue(kStart + 400s), names({"good"}));
    scheduler.complete("good", {true, false}, kStart + 401s);
    EXPECT_EQ(scheduler.takeDue(kStart + 401s), names({"bad"})) << "with one slot a failing account still gets it";
    scheduler.complete("bad", {true, false}, kStart + 402s);
    EXPECT_EQ(scheduler.account("bad")->failures, 0);
}

// Many bad accounts and few slots over a long run: once each bad account has failed a poll (the
// scheduler cannot know before), failing accounts never hold more than half of the slots, and
// healthy accounts are never kept waiting for a slot.
TEST(SchedulerTest, HealthyAccountsKeepTheirScheduleWhileBadOnesHoldSlots) {
    Scheduler scheduler(noJitter(), 4, 1);
    std::vector<AccountPlan> plans;
    for (int i = 0; i < 2; ++i) plans.push_back(plan("good" + std::to_string(i), 1min));
    for (int i = 0; i < 10; ++i) plans.push_back(plan("bad" + std::to_string(i), 1min));
    scheduler.setAccounts(plans, kStart);
    auto isBad = [](const std::string& name) { return name.rfind("bad", 0) == 0; };
    std::map<std::string, TimePoint> ends;   // running -> when its poll ends
    std::map<std::string, TimePoint> dueAt;  // healthy -> when it is due next
    std::set<std::string> failedOnce;
    TimePoint now = kStart;
    Duration worstDelay{};
    int healthyPollsMeasured = 0;
    std::optional<TimePoint> allKnownSince;
    for (int step = 0; step < 20000; ++step) {
        now += 1s;
        for (auto it = ends.begin(); it != ends.end();) {
            if (it->second > now) {
                ++it;
                continue;
            }
            auto next = scheduler.complete(it->first, {!isBad(it->first), false}, now);
            if (isBad(it->first))
                failedOnce.insert(it->first);
            else
                dueAt[it->first] = *next;
            it = ends.erase(it);
        }
        if (failedOnce.size() == 10 && !allKnownSince) allKnownSince = now;
        for (const auto& name : scheduler.takeDue(now)) {
            if (allKnownSince && !isBad(name) && dueAt.count(name) && dueAt[name] >= *allKnownSince) {
                worstDelay = std::max(worstDelay, now - dueAt[name]);
                ++healthyPollsMeasured;
            }
            ends[name] = now + (isBad(name) ? Duration(10min) : Duration(2s));  // bad ones hang
        }
        int failingRunning = 0;
        for (const auto& [name, end] : ends) failingRunning += isBad(name) && failedOnce.count(name) ? 1 : 0;
        ASSERT_LE(failingRunning, scheduler.failingSlots());
        ASSERT_LE(scheduler.running(), 4);
    }
    EXPECT_GT(healthyPollsMeasured, 400);
    EXPECT_LE(worstDelay, 1s) << "a healthy account waited for a slot";
}

TEST(SchedulerTest, LoweringMaxParallelWaitsForRunningPollsToEnd) {
    Scheduler scheduler(noJitter(), 4, 1);
    scheduler.setAccounts({plan("a"), plan("b"), plan("c"), plan("d"), plan("e")}, kStart);
    EXPECT_EQ(scheduler.takeDue(kStart).size(), 4u);
    scheduler.setMaxParallel(2);
    scheduler.complete("a", {true, false}, kStart);
    EXPECT_TRUE(scheduler.takeDue(kStart).empty()) << "3 still running, limit 2";
    scheduler.complete("b", {true, false}, kStart);
    scheduler.complete("c", {true, false}, kStart);
    EXPECT_EQ(scheduler.takeDue(kStart), names({"e"}));
}

TEST(SchedulerTest, PollNowMakesAWaitingAccountDueAndRepollsARunningOneRightAfter) {
    Scheduler scheduler(noJitter(), 4, 1);
    scheduler.setAccounts({plan("a", 1h), plan("b", 1h)}, kStart);
    scheduler.takeDue(kStart);
    scheduler.complete("a", {true, false}, kStart + 1s);
    EXPECT_TRUE(scheduler.takeDue(kStart + 2s).empty());

    EXPECT_TRUE(scheduler.pollNow("a", kStart + 2s));
    EXPECT_EQ(scheduler.nextWakeup(), kStart + 2s);
    EXPECT_EQ(scheduler.takeDue(kStart + 2s), names({"a"}));

    EXPECT_TRUE(scheduler.pollNow("b", kStart + 3s)) << "b is running";
    EXPECT_TRUE(scheduler.account("b")->pollAgain);
    EXPECT_EQ(scheduler.complete("b", {true, false}, kStart + 4s), kStart + 4s);
    EXPECT_EQ(scheduler.takeDue(kStart + 4s), names({"b"}));
    EXPECT_EQ(scheduler.complete("b", {true, false}, kStart + 5s), kStart + 5s + 1h) << "once only";

    EXPECT_FALSE(scheduler.pollNow("nobody", kStart));
    scheduler.complete("a", {true, false}, kStart + 5s);
    scheduler.pollAllNow(kStart + 6s);
    EXPECT_EQ(scheduler.takeDue(kStart + 6s), names({"a", "b"}));
}

TEST(SchedulerTest, PollNowKeepsTheBackoffCount) {
    Scheduler scheduler(noJitter(), 1, 1);
    scheduler.setAccounts({plan("a", 5min)}, kStart);
    scheduler.takeDue(kStart);
    scheduler.complete("a", {false, false}, kStart);
    scheduler.pollNow("a", kStart + 1s);
    scheduler.takeDue(kStart + 1s);
    EXPECT_EQ(*scheduler.complete("a", {false, false}, kStart + 2s) - (kStart + 2s), Duration(2min));
}

TEST(SchedulerTest, ReloadAddsRemovesAndChangesOnlyWhatChanged) {
    Scheduler scheduler(noJitter(), 8, 1);
    scheduler.setAccounts({plan("keep", 10min), plan("gone", 10min), plan("edit", 10min), plan("slower", 10min)},
                          kStart);
    scheduler.takeDue(kStart);
    for (const char* name : {"keep", "gone", "edit", "slower"}) scheduler.complete(name, {false, false}, kStart);
    const TimePoint keepDue = scheduler.account("keep")->dueAt;

    const TimePoint reloadAt = kStart + 2min;
    auto summary = scheduler.setAccounts(
        {plan("keep", 10min), plan("edit", 10min, "v2"), plan("slower", 30min), plan("new", 10min)}, reloadAt);
    EXPECT_EQ(summary.added, names({"new"}));
    EXPECT_EQ(summary.removed, names({"gone"}));
    EXPECT_EQ(summary.changed, names({"edit", "slower"}));

    EXPECT_FALSE(scheduler.account("gone"));
    EXPECT_EQ(scheduler.account("keep")->dueAt, keepDue) << "untouched: same time, same backoff";
    EXPECT_EQ(scheduler.account("keep")->failures, 1);
    EXPECT_EQ(scheduler.account("edit")->dueAt, reloadAt) << "new settings are tried at once";
    EXPECT_EQ(scheduler.account("edit")->failures, 0);
    EXPECT_EQ(scheduler.account("slower")->interval, Duration(30min));
    EXPECT_EQ(scheduler.account("slower")->dueAt, reloadAt) << "1 failure: its 1 min retry is overdue";
    EXPECT_EQ(scheduler.account("new")->dueAt, reloadAt);
    EXPECT_EQ(scheduler.takeDue(reloadAt), names({"edit", "new", "keep", "slower"}))
        << "healthy accounts first, then those whose last poll failed";
}

TEST(SchedulerTest, IntervalChangeReschedulesFromTheLastPoll) {
    Scheduler scheduler(noJitter(), 8, 1);
    scheduler.setAccounts({plan("a", 10min)}, kStart);
    scheduler.takeDue(kStart);
    scheduler.complete("a", {true, false}, kStart);
    scheduler.setAccounts({plan("a", 1h)}, kStart + 1min);
    EXPECT_EQ(scheduler.account("a")->dueAt, kStart + 1h);
    scheduler.setAccounts({plan("a", 20s)}, kStart + 2min);
    EXPECT_EQ(scheduler.account("a")->dueAt, kStart + 2min) << "overdue under the new interval: now";
}

TEST(SchedulerTest, ReloadDuringAPollLetsItFinishUndisturbed) {
    Scheduler scheduler(noJitter(), 8, 1);
    scheduler.setAccounts({plan("removed"), plan("changed"), plan("back")}, kStart);
    EXPECT_EQ(scheduler.takeDue(kStart).size(), 3u);

    auto summary = scheduler.setAccounts({plan("changed", 5min, "v2")}, kStart + 1s);
    EXPECT_EQ(summary.removed, names({"back", "removed"}));
    EXPECT_EQ(summary.changed, names({"changed"}));
    EXPECT_TRUE(scheduler.account("removed")->removed) << "still running: kept until its poll ends";
    EXPECT_EQ(scheduler.running(), 3);
    EXPECT_FALSE(scheduler.pollNow("removed", kStart + 1s));

    summary = scheduler.setAccounts({plan("changed", 5min, "v2"), plan("back")}, kStart + 2s);
    EXPECT_EQ(summary.added, names({"back"}));
    EXPECT_TRUE(summary.changed.empty()) << "v2 is already pending";

    EXPECT_EQ(scheduler.complete("removed", {true, false}, kStart + 3s), std::nullopt);
    EXPECT_FALSE(scheduler.account("removed"));
    EXPECT_EQ(scheduler.complete("changed", {false, false}, kStart + 3s), kStart + 3s)
        << "the new settings get a poll at once, backoff cleared";
    EXPECT_EQ(scheduler.account("changed")->failures, 0);
    EXPECT_EQ(scheduler.complete("back", {true, false}, kStart + 3s), kStart + 3s + 5min);
    EXPECT_EQ(scheduler.running(), 0);
}

TEST(SchedulerTest, FirstDelayPostponesTheFirstPoll) {
    Scheduler scheduler(noJitter(), 8, 1);
    AccountPlan recent = plan("recent", 10min);
    recent.firstDelay = 4min;
    scheduler.setAccounts({recent, plan("fresh", 10min)}, kStart);
    EXPECT_EQ(scheduler.takeDue(kStart), names({"fresh"}));
    EXPECT_EQ(scheduler.nextWakeup(), kStart + 4min);
}

TEST(SchedulerTest, StopDispatchingStartsNothingMore) {
    Scheduler scheduler(noJitter(), 8, 1);
    scheduler.setAccounts({plan("a"), plan("b")}, kStart);
    scheduler.takeDue(kStart);
    scheduler.stopDispatching();
    scheduler.complete("a", {true, false}, kStart);
    scheduler.pollAllNow(kStart);
    EXPECT_TRUE(scheduler.takeDue(kStart + 1h).empty());
    EXPECT_FALSE(scheduler.nextWakeup());
    EXPECT_EQ(scheduler.running(), 1);
}

TEST(SchedulerTest, OnceModePollsEachAccountExactlyOnce) {
    Scheduler scheduler(noJitter(), 2, 1, /*once=*/true);
    scheduler.setAccounts({plan("a"), plan("b"), plan("c")}, kStart);
    EXPECT_EQ(scheduler.takeDue(kStart), names({"a", "b"}));
    EXPECT_EQ(scheduler.complete("a", {false, false}, kStart), std::nullopt);
    EXPECT_FALSE(scheduler.finished());
    EXPECT_EQ(scheduler.takeDue(kStart), names({"c"}));
    scheduler.complete("b", {true, false}, kStart);
    scheduler.complete("c", {true, true}, kStart);
    EXPECT_TRUE(scheduler.finished());
    EXPECT_FALSE(scheduler.pollNow("a", kStart));
    EXPECT_TRUE(scheduler.takeDue(kStart + 24h).empty());
}

}  // namespace
}  // namespace mc::schedules
