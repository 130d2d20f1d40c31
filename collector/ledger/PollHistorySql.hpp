#pragma once
// The poll history's SQL, one text for SQLite and PostgreSQL. Included by SqlLedgerStore only.

#include "collector/ledger/LedgerStore.hpp"

namespace mc::ledger::history_sql {

// SQL is laid out to be read as SQL.
// clang-format off
#define MC_KEPT_POLLS "100"
static_assert(kPollHistoryKept == 100, "MC_KEPT_POLLS keeps kPollHistoryKept polls");
#define MC_POLL_DAY "(started_at - started_at % 86400)"

constexpr const char* kInsertPoll =
    "INSERT INTO poll_history (account, started_at, duration_ms, result, error, fetched, delivered,"
    " quarantined, deferred, skipped, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kSummariseOldPolls =
    "INSERT INTO poll_days (account, day, polls, failed, fetched, delivered, quarantined)"
    " SELECT account, " MC_POLL_DAY ", COUNT(*), SUM(CASE WHEN result LIKE 'failed%' THEN 1 ELSE 0 END),"
    " SUM(fetched), SUM(delivered), SUM(quarantined)"
    " FROM poll_history WHERE account = ? AND id <= ?"
    " GROUP BY account, " MC_POLL_DAY
    " ON CONFLICT (account, day) DO UPDATE SET polls = poll_days.polls + excluded.polls,"
    " failed = poll_days.failed + excluded.failed, fetched = poll_days.fetched + excluded.fetched,"
    " delivered = poll_days.delivered + excluded.delivered,"
    " quarantined = poll_days.quarantined + excluded.quarantined";
constexpr const char* kDeleteOldPolls =
    "DELETE FROM poll_history WHERE account = ? AND id <= ?";
// The id of the newest poll that is not kept, if any.
constexpr const char* kFirstPollPastKept =
    "SELECT id FROM poll_history WHERE account = ? ORDER BY id DESC LIMIT 1 OFFSET " MC_KEPT_POLLS;
constexpr const char* kPollHistory =
    "SELECT account, started_at, duration_ms, result, error, fetched, delivered, quarantined, deferred,"
    " skipped, deleted FROM poll_history WHERE account = ? ORDER BY id DESC LIMIT ?";
constexpr const char* kPollDays =
    "SELECT account, day, polls, failed, fetched, delivered, quarantined FROM poll_days"
    " WHERE account = ? AND day >= ? ORDER BY day";

#undef MC_KEPT_POLLS
#undef MC_POLL_DAY
// clang-format on

}  // namespace mc::ledger::history_sql
