#pragma once
// The status page at GET / on http_listen: Gmail's "Check mail from other accounts" panel. A pure
// page model (what each account shows, built from the config, the scheduler, the ledger and the
// live progress of running polls) and its renderers: the HTML page, the per-account history page,
// the JSON the page polls for live updates, and the SVG chart. Every text that comes from a
// server or the ledger goes through proto::htmlEscape (HTML) or proto::jsonEscape (JSON), once,
// here. Pure: no I/O, no clock.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "collector/AccountPoller.hpp"
#include "collector/Quarantine.hpp"
#include "collector/ledger/LedgerStore.hpp"
#include "config/Config.hpp"
#include "schedules/Scheduler.hpp"

namespace mc::schedules {

enum class AccountPageState { NeverChecked, Ok, Failing, Polling, Held };
// "never", "ok", "failing", "polling", "held": also the CSS class and the JSON value.
const char* toString(AccountPageState state);

// How far a running poll is: messages handled of those to fetch, since when (unix ms).
struct PollProgressEntry {
    std::uint64_t done = 0, total = 0;
    std::int64_t startedAtMs = 0;
    std::int64_t updatedAtMs = 0;
};

struct AccountStatus {
    std::string name;
    std::string source;  // "IMAP imap.example.org:993, folders INBOX, Sent"
    std::vector<std::string> labels;
    AccountPageState state = AccountPageState::NeverChecked;
    std::string heldBy;  // Held: the instance polling it
    std::int64_t lastPollAt = 0, nextPollAt = 0;
    bool lastPollKnown = false;  // the history has the last poll's counts
    std::uint64_t fetchedLastPoll = 0, deliveredLastPoll = 0;
    std::uint64_t deliveredTotal = 0, pending = 0, quarantined = 0;
    std::string quarantineReason;  // the latest quarantined message's reply
    std::string lastError;         // Failing: the error as recorded
    std::string failureKind;       // Failing: "authentication", ...
    std::string hint;              // Failing: what to do about it, in plain words
    bool progressShown = false;    // Polling with progress reported
    PollProgressEntry progress;
};

struct StatusModel {
    std::int64_t now = 0;  // unix seconds
    std::vector<AccountStatus> accounts;
};

// What the model is built from; the caller reads these (service, ledger) and passes them in.
struct StatusInputs {
    std::int64_t now = 0;                                    // unix seconds
    std::int64_t nowMs = 0;                                  // unix milliseconds, for progress rates
    std::vector<const config::AccountSettings*> accounts;    // in config order
    std::vector<AccountView> views;                          // the scheduler's, by name
    std::vector<ledger::AccountRecord> records;              // the ledger's
    std::map<std::string, collector::PollReport> lastPolls;  // the service's last poll of each account
    std::vector<ledger::MessageRecord> quarantined;          // the ledger's quarantined rows
    std::map<std::string, PollProgressEntry> progress;       // running polls
};

StatusModel buildStatusModel(const StatusInputs& inputs);

// What to do about a failure of KIND, in plain words ("" when there is nothing to add).
std::string failureHint(proto::FailureKind kind);

// AT (unix seconds) in UTC with strftime's FORMAT ("%Y-%m-%d").
std::string formatUtc(std::int64_t at, const char* format);

// "just now", "3 minutes ago", "2 hours ago", "5 days ago"; "never" for 0.
std::string describeAgo(std::int64_t now, std::int64_t at);
// "in 4 minutes", "now" (due or overdue); "" for 0 (unknown).
std::string describeIn(std::int64_t now, std::int64_t at);

// Messages delivered per UTC day for `days` days starting at `firstDay` (unix seconds of 00:00
// UTC), from an account's kept polls and its per-day summaries of older ones.
std::vector<std::uint64_t> deliveredPerDay(const std::vector<ledger::PollRecord>& polls,
                                           const std::vector<ledger::PollDaySummary>& summaries, std::int64_t firstDay,
                                           int days);

struct ChartSeries {
    std::string account;
    std::vector<std::uint64_t> perDay;
};
// Inline SVG: bars per day, stacked per account, with a legend; `firstDay` as above.
std::string renderDailyChart(const std::vector<ChartSeries>& series, std::int64_t firstDay);

// What every rendered page needs besides the model.
struct PageContext {
    std::string csrfToken;       // put in every form; POSTs without it are refused
    std::string nonce;           // the Content-Security-Policy nonce of the inline style and script
    bool tokenRequired = false;  // http_token_file is set (the page offers to log out)
};

std::string renderStatusPage(const StatusModel& model, const std::string& chartSvg, const PageContext& context);
// The JSON the page polls (GET /status.json): each account's fields as the page shows them.
std::string renderStatusJson(const StatusModel& model);

struct AccountHistory {
    AccountStatus status;
    std::vector<ledger::PollRecord> polls;  // newest first
    std::vector<ledger::PollDaySummary> days;
    std::vector<collector::QuarantinedMessage> quarantined;
};
std::string renderAccountPage(const AccountHistory& history, std::int64_t now, const std::string& chartSvg,
                              const PageContext& context);

// The form asking for the http_token_file token; `failed` after a wrong one.
std::string renderLoginPage(const PageContext& context, bool failed);

// The Content-Security-Policy of the pages: nothing external, inline code only with the nonce.
std::string contentSecurityPolicy(const std::string& nonce);

// An account name in a URL path, percent-encoded beyond [A-Za-z0-9._-].
std::string accountPath(const std::string& name);

}  // namespace mc::schedules
