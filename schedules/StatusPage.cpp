#include "schedules/StatusPage.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "collector/AccountPoller.hpp"
#include "proto/HtmlEscape.hpp"
#include "proto/SafeText.hpp"
#include "schedules/StatusPageAssets.hpp"

namespace mc::schedules {
namespace {

constexpr std::int64_t kDay = 86400;
constexpr int kChartDays = 30;
constexpr const char* kPalette[] = {"#1a73e8", "#e8710a", "#188038", "#a142f4", "#d93025",
                                    "#12b5cb", "#f9ab00", "#9334e6", "#5f6368", "#e52592"};

std::string html(std::string_view text) { return proto::htmlEscape(text); }
// A JSON string that also keeps < > & out, so that even a browser sniffing it as HTML sees text.
std::string json(std::string_view text) {
    std::string out = "\"";
    for (char c : proto::jsonEscape(text)) {
        if (c == '<')
            out += "\\u003c";
        else if (c == '>')
            out += "\\u003e";
        else if (c == '&')
            out += "\\u0026";
        else
            out += c;
    }
    return out + "\"";
}

// 1234567 -> "1,234,567"
std::string grouped(std::uint64_t value) {
    std::string digits = std::to_string(value), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::string plural(std::uint64_t count, const char* one, const char* many) {
    return grouped(count) + " " + (count == 1 ? one : many);
}

std::string describeSource(const config::AccountSettings& account) {
    const bool imap = account.protocol == config::SourceProtocol::Imap;
    std::string text =
        std::string(imap ? "IMAP " : "POP3 ") + account.endpoint.host + ":" + std::to_string(account.endpoint.port);
    if (imap) {
        text += ", folders ";
        for (std::size_t i = 0; i < account.folders.size(); ++i) text += (i ? ", " : "") + account.folders[i];
    }
    return text;
}

std::string stateText(const AccountStatus& account) {
    switch (account.state) {
        case AccountPageState::NeverChecked:
            return "not checked yet";
        case AccountPageState::Ok:
            return "ok";
        case AccountPageState::Failing:
            return "failing" + (account.failureKind.empty() ? std::string() : " (" + account.failureKind + ")");
        case AccountPageState::Polling:
            return "checking now";
        case AccountPageState::Held:
            return "held by another instance";
    }
    return "";
}

std::string fetchedText(const AccountStatus& account) {
    std::string text = account.lastPollKnown ? grouped(account.fetchedLastPoll) + " last time, " : std::string();
    return text + grouped(account.deliveredTotal) + " delivered in all";
}

std::string quarantinedText(const AccountStatus& account) {
    if (account.quarantined == 0) return "none";
    return grouped(account.quarantined) + " (" + account.quarantineReason + ")";
}

std::string progressText(const AccountStatus& account, std::int64_t nowMs) {
    if (!account.progressShown) return "";
    const auto& p = account.progress;
    std::string text = "fetching " + grouped(p.done) + " of " + plural(p.total, "message", "messages");
    const double seconds = double(std::max<std::int64_t>(1, nowMs - p.startedAtMs)) / 1000.0;
    if (p.done > 0 && seconds >= 1) {
        char rate[32];
        std::snprintf(rate, sizeof rate, "%.1f", double(p.done) / seconds);
        text += std::string(", ") + rate + " messages/s";
    }
    return text;
}

std::string heldText(const AccountStatus& account) {
    return account.state == AccountPageState::Held ? "held by " + account.heldBy : std::string();
}

std::string nextText(const AccountStatus& account, std::int64_t now) {
    if (account.state == AccountPageState::Polling) return "now";
    const std::string in = describeIn(now, account.nextPollAt);
    return in.empty() ? "not scheduled" : in;
}

std::string hidden(bool hide) { return hide ? " hidden" : ""; }

std::string csrfField(const PageContext& context) {
    return "<input type=\"hidden\" name=\"csrf\" value=\"" + html(context.csrfToken) + "\">";
}

std::string pollForm(const PageContext& context, const std::string& account, const std::string& label) {
    std::string form = "<form class=\"poll\" method=\"post\" action=\"/ui/poll\">" + csrfField(context);
    if (!account.empty()) form += "<input type=\"hidden\" name=\"account\" value=\"" + html(account) + "\">";
    return form + "<button type=\"submit\">" + label + "</button></form>";
}

std::string pageHead(const std::string& title, const PageContext& context) {
    return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
           "<meta name=\"color-scheme\" content=\"light dark\"><title>" +
           html(title) + "</title><style nonce=\"" + html(context.nonce) + "\">" + kStatusPageCss +
           "</style></head>\n<body>";
}

std::string pageEnd(const PageContext& context, bool live) {
    std::string end;
    if (live) end += "<script nonce=\"" + html(context.nonce) + "\">" + kStatusPageScript + "</script>";
    return end + "</body></html>\n";
}

std::string headerBar(const PageContext& context, const std::string& extra) {
    std::string bar = "<header><h1><a href=\"/\">mailcollector</a></h1>" + extra;
    if (context.tokenRequired)
        bar += "<form method=\"post\" action=\"/logout\">" + csrfField(context) +
               "<button type=\"submit\" class=\"quiet\">Log out</button></form>";
    return bar + "</header>\n";
}

// One account's panel; every element the live update changes has data-field.
std::string accountPanel(const AccountStatus& a, std::int64_t now, const PageContext& context, bool withLinks) {
    const bool failing = a.state == AccountPageState::Failing;
    std::string out = "<section class=\"account\" data-account=\"" + html(a.name) + "\">";
    out += "<h2>" + html(a.name) + " <span data-field=\"state\" class=\"state state-" + toString(a.state) + "\">" +
           html(stateText(a)) + "</span></h2>";
    out += "<p class=\"source\">" + html(a.source) + "</p>";
    if (!a.labels.empty()) {
        out += "<p class=\"labels\">";
        for (const auto& label : a.labels) out += "<span class=\"label\">" + html(label) + "</span>";
        out += "</p>";
    }
    out += "<dl><dt>Last checked</dt><dd data-field=\"last_checked\">" + html(describeAgo(now, a.lastPollAt)) +
           "</dd><dt>Next check</dt><dd data-field=\"next_check\">" + html(nextText(a, now)) +
           "</dd><dt>Messages</dt><dd data-field=\"fetched\">" + html(fetchedText(a)) +
           "</dd><dt>Pending</dt><dd data-field=\"pending\">" + grouped(a.pending) +
           "</dd><dt>Quarantined</dt><dd data-field=\"quarantined\">" + html(quarantinedText(a)) + "</dd></dl>";
    out += "<p class=\"progress\" data-field=\"progress\"" + hidden(!a.progressShown) + ">" +
           html(progressText(a, now * 1000)) + "</p>";
    out += "<p class=\"held\" data-field=\"held\"" + hidden(a.state != AccountPageState::Held) + ">" +
           html(heldText(a)) + "</p>";
    out += "<div class=\"error\" data-field=\"error_box\"" + hidden(!failing) + "><p data-field=\"error\">" +
           html(failing ? a.lastError : "") + "</p><p class=\"hint\" data-field=\"hint\">" +
           html(failing ? a.hint : "") + "</p></div>";
    out += "<div class=\"actions\">" + pollForm(context, a.name, "Check mail now");
    if (withLinks) out += "<a href=\"/account/" + html(accountPath(a.name)) + "\">View history</a>";
    return out + "</div></section>\n";
}

std::string jsonAccount(const AccountStatus& a, std::int64_t now, std::int64_t nowMs) {
    const bool failing = a.state == AccountPageState::Failing;
    std::string out =
        "{\"name\":" + json(a.name) + ",\"state\":" + json(toString(a.state)) +
        ",\"last_poll\":" + std::to_string(a.lastPollAt) + ",\"next_poll\":" + std::to_string(a.nextPollAt) +
        ",\"delivered\":" + std::to_string(a.deliveredTotal) + ",\"pending_count\":" + std::to_string(a.pending) +
        ",\"quarantined_count\":" + std::to_string(a.quarantined) +
        ",\"progress_done\":" + std::to_string(a.progress.done) +
        ",\"progress_total\":" + std::to_string(a.progress.total);
    // What the page shows, as text (the script puts it in with textContent).
    out += ",\"text\":{\"state\":" + json(stateText(a)) + ",\"last_checked\":" + json(describeAgo(now, a.lastPollAt)) +
           ",\"next_check\":" + json(nextText(a, now)) + ",\"fetched\":" + json(fetchedText(a)) +
           ",\"pending\":" + json(grouped(a.pending)) + ",\"quarantined\":" + json(quarantinedText(a)) +
           ",\"progress\":" + json(progressText(a, nowMs)) + ",\"held\":" + json(heldText(a)) +
           ",\"error\":" + json(failing ? a.lastError : "") + ",\"hint\":" + json(failing ? a.hint : "") + "}}";
    return out;
}

std::string resultText(const std::string& stored) {
    const auto parsed = collector::parsePollResult(stored);
    if (parsed.failure) return "failed (" + std::string(proto::failureKindName(*parsed.failure)) + ")";
    return parsed.result;
}

std::string durationText(std::int64_t ms) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f s", double(ms) / 1000.0);
    return text;
}

}  // namespace

const char* toString(AccountPageState state) {
    switch (state) {
        case AccountPageState::NeverChecked:
            return "never";
        case AccountPageState::Ok:
            return "ok";
        case AccountPageState::Failing:
            return "failing";
        case AccountPageState::Polling:
            return "polling";
        case AccountPageState::Held:
            return "held";
    }
    return "never";
}

std::string failureHint(proto::FailureKind kind) {
    switch (kind) {
        case proto::FailureKind::Network:
            return "The server could not be reached: check host and port, and that this machine can reach it. It is "
                   "tried again with backoff.";
        case proto::FailureKind::Tls:
            return "The secure connection failed: check tls and port (993/995 are implicit TLS, 110/143 STARTTLS), "
                   "or give the server's CA in ca_file or its certificate's sha256 in tls_fingerprint.";
        case proto::FailureKind::Authentication:
            return "The server refused the login: check username and the password (or app password) of this "
                   "account, then press Check mail now.";
        case proto::FailureKind::Protocol:
            return "The server answered something unexpected; the error quotes it. Check protocol, port and "
                   "folders.";
        case proto::FailureKind::Limit:
            return "The server sent more than a limit allows (see Limits in the README); the error names it.";
        case proto::FailureKind::Timeout:
            return "The server went silent or too slow; it is tried again with backoff (io_timeout sets the limit).";
        case proto::FailureKind::TargetTransient:
            return "The target cannot take mail right now; messages stay pending and are retried.";
        case proto::FailureKind::TargetPermanent:
            return "The target refused the mail: check [target] (recipient, folder, credentials), run "
                   "`mailcollector check`, then retry the quarantined messages.";
        case proto::FailureKind::Ledger:
            return "The ledger cannot be written: check disk space and permissions of the ledger.";
        case proto::FailureKind::Interrupted:
            return "The poll was stopped (shutdown or reload); the rest is collected next time.";
        case proto::FailureKind::Config:
            return "A setting cannot work (a secret file unreadable, for example): fix the config and reload.";
        case proto::FailureKind::Unsupported:
            return "The server lacks something mailcollector needs; the error names it.";
        case proto::FailureKind::Throttled:
            return "The provider asked to slow down (a download or connection limit); the account waits and is "
                   "tried again with backoff. max_messages_per_poll and max_bytes_per_day spread a big import.";
    }
    return "";
}

std::string formatUtc(std::int64_t at, const char* format) {
    std::time_t t = at;
    std::tm utc{};
    gmtime_r(&t, &utc);
    char buffer[40];
    std::strftime(buffer, sizeof buffer, format, &utc);
    return buffer;
}

std::string describeAgo(std::int64_t now, std::int64_t at) {
    if (at <= 0) return "never";
    const std::int64_t seconds = std::max<std::int64_t>(0, now - at);
    if (seconds < 60) return "just now";
    if (seconds < 3600) return plural(static_cast<std::uint64_t>(seconds / 60), "minute", "minutes") + " ago";
    if (seconds < 2 * kDay) return plural(static_cast<std::uint64_t>(seconds / 3600), "hour", "hours") + " ago";
    return plural(static_cast<std::uint64_t>(seconds / kDay), "day", "days") + " ago";
}

std::string describeIn(std::int64_t now, std::int64_t at) {
    if (at <= 0) return "";
    const std::int64_t seconds = at - now;
    if (seconds <= 0) return "now";
    if (seconds < 60) return "in " + plural(static_cast<std::uint64_t>(seconds), "second", "seconds");
    if (seconds < 3600) return "in " + plural(static_cast<std::uint64_t>((seconds + 59) / 60), "minute", "minutes");
    return "in " + plural(static_cast<std::uint64_t>((seconds + 3599) / 3600), "hour", "hours");
}

StatusModel buildStatusModel(const StatusInputs& in) {
    StatusModel model;
    model.now = in.now;
    for (const config::AccountSettings* settings : in.accounts) {
        AccountStatus a;
        a.name = settings->name;
        a.source = describeSource(*settings);
        a.labels = settings->labels;
        auto record = std::find_if(in.records.begin(), in.records.end(),
                                   [&](const ledger::AccountRecord& r) { return r.name == a.name; });
        const auto parsed = collector::parsePollResult(record != in.records.end() ? record->lastResult : "");
        if (record != in.records.end()) {
            a.lastPollAt = record->lastPollAt;
            a.nextPollAt = record->nextPollAt;
            a.deliveredTotal = record->delivered + record->deleted;
            a.pending = record->pending;
            a.quarantined = record->quarantined;
            a.heldBy = record->leaseHolder;
            a.lastError = record->lastError;
        }
        if (auto last = in.lastPolls.find(a.name); last != in.lastPolls.end() && last->second.heldBy.empty()) {
            a.lastPollKnown = true;
            a.fetchedLastPoll = last->second.fetched;
            a.deliveredLastPoll = last->second.delivered;
        }
        for (const auto& row : in.quarantined)
            if (row.key.account == a.name) a.quarantineReason = collector::Quarantine::reasonOf(row);  // the latest
        auto view =
            std::find_if(in.views.begin(), in.views.end(), [&](const AccountView& v) { return v.name == a.name; });
        if (view != in.views.end() && view->state == AccountState::Running)
            a.state = AccountPageState::Polling;
        else if (!a.heldBy.empty())
            a.state = AccountPageState::Held;
        else if (parsed.result.empty())
            a.state = AccountPageState::NeverChecked;
        else if (parsed.failure)
            a.state = AccountPageState::Failing;
        else
            a.state = AccountPageState::Ok;
        if (a.state == AccountPageState::Failing) {
            a.failureKind = std::string(proto::failureKindName(*parsed.failure));
            a.hint = failureHint(*parsed.failure);
        }
        if (auto progress = in.progress.find(a.name);
            progress != in.progress.end() && a.state == AccountPageState::Polling && progress->second.total > 0) {
            a.progressShown = true;
            a.progress = progress->second;
        }
        model.accounts.push_back(std::move(a));
    }
    return model;
}

std::vector<std::uint64_t> deliveredPerDay(const std::vector<ledger::PollRecord>& polls,
                                           const std::vector<ledger::PollDaySummary>& summaries, std::int64_t firstDay,
                                           int days) {
    std::vector<std::uint64_t> counts(static_cast<std::size_t>(std::max(0, days)), 0);
    auto add = [&](std::int64_t at, std::uint64_t delivered) {
        if (at < firstDay) return;
        const std::int64_t index = (at - firstDay) / kDay;
        if (index < days) counts[static_cast<std::size_t>(index)] += delivered;
    };
    for (const auto& poll : polls) add(poll.startedAt, poll.delivered);
    for (const auto& day : summaries) add(day.day, day.delivered);
    return counts;
}

std::string renderDailyChart(const std::vector<ChartSeries>& series, std::int64_t firstDay) {
    constexpr int kWidth = 620, kHeight = 200, kLeft = 40, kBottom = 20, kTop = 10;
    const int days = series.empty() ? kChartDays : static_cast<int>(series.front().perDay.size());
    std::vector<std::uint64_t> totals(static_cast<std::size_t>(days), 0);
    for (const auto& s : series)
        for (int d = 0; d < days && d < static_cast<int>(s.perDay.size()); ++d) totals[d] += s.perDay[d];
    const std::uint64_t peak = std::max<std::uint64_t>(1, *std::max_element(totals.begin(), totals.end()));
    const double plotHeight = kHeight - kBottom - kTop;
    const double slot = double(kWidth - kLeft) / days;
    std::string out = "<svg class=\"chart\" viewBox=\"0 0 " + std::to_string(kWidth) + " " + std::to_string(kHeight) +
                      "\" role=\"img\" aria-label=\"messages delivered per day, last " + std::to_string(days) +
                      " days\" xmlns=\"http://www.w3.org/2000/svg\">";
    out += "<text x=\"0\" y=\"" + std::to_string(kTop + 10) + "\" class=\"axis\">" + grouped(peak) + "</text>";
    out += "<text x=\"0\" y=\"" + std::to_string(kHeight - kBottom) + "\" class=\"axis\">0</text>";
    char number[32];
    for (int d = 0; d < days; ++d) {
        double base = kHeight - kBottom;
        for (std::size_t s = 0; s < series.size(); ++s) {
            const std::uint64_t value = d < static_cast<int>(series[s].perDay.size()) ? series[s].perDay[d] : 0;
            if (value == 0) continue;
            const double height = plotHeight * double(value) / double(peak);
            base -= height;
            out += "<rect x=\"";
            std::snprintf(number, sizeof number, "%.1f", kLeft + d * slot + 1);
            out += number;
            out += "\" y=\"";
            std::snprintf(number, sizeof number, "%.1f", base);
            out += number;
            out += "\" width=\"";
            std::snprintf(number, sizeof number, "%.1f", std::max(1.0, slot - 2));
            out += number;
            out += "\" height=\"";
            std::snprintf(number, sizeof number, "%.1f", height);
            out += number;
            out += "\" fill=\"" + std::string(kPalette[s % std::size(kPalette)]) + "\"><title>" +
                   html(series[s].account) + ", " + formatUtc(firstDay + d * kDay, "%Y-%m-%d") + ": " +
                   plural(value, "message", "messages") + "</title></rect>";
        }
        if ((d % 7 == 0 && d + 4 < days) || d == days - 1) {
            std::snprintf(number, sizeof number, "%.1f", kLeft + d * slot);
            out += "<text x=\"" + std::string(number) + "\" y=\"" + std::to_string(kHeight - 4) + "\" class=\"axis\">" +
                   formatUtc(firstDay + d * kDay, "%m-%d") + "</text>";
        }
    }
    out += "</svg><p class=\"legend\">";
    for (std::size_t s = 0; s < series.size(); ++s)
        out += "<span><svg width=\"10\" height=\"10\" aria-hidden=\"true\"><rect width=\"10\" height=\"10\" fill=\"" +
               std::string(kPalette[s % std::size(kPalette)]) + "\"/></svg> " + html(series[s].account) + "</span>";
    return out + "</p>";
}

std::string renderStatusPage(const StatusModel& model, const std::string& chartSvg, const PageContext& context) {
    std::string out = pageHead("mailcollector", context);
    out += headerBar(context, pollForm(context, "", "Check mail now (all accounts)") +
                                  "<span class=\"updated\" data-field=\"updated\"></span>");
    out += "<main data-live=\"/status.json\">\n";
    if (model.accounts.empty()) out += "<p>No accounts are configured.</p>";
    for (const auto& account : model.accounts) out += accountPanel(account, model.now, context, true);
    out += "<section class=\"chart-box\"><h2>Messages delivered per day, last 30 days (UTC)</h2>" + chartSvg +
           "</section>\n</main>";
    return out + pageEnd(context, true);
}

std::string renderStatusJson(const StatusModel& model) {
    std::string out = "{\"now\":" + std::to_string(model.now) + ",\"accounts\":[";
    for (std::size_t i = 0; i < model.accounts.size(); ++i)
        out += (i ? "," : "") + jsonAccount(model.accounts[i], model.now, model.now * 1000);
    return out + "]}\n";
}

std::string renderAccountPage(const AccountHistory& history, std::int64_t now, const std::string& chartSvg,
                              const PageContext& context) {
    const std::string& name = history.status.name;
    std::string out = pageHead(name + " - mailcollector", context);
    out += headerBar(context, "<a href=\"/\">All accounts</a>");
    out += "<main data-live=\"/status.json\">\n" + accountPanel(history.status, now, context, false);

    out += "<section class=\"quarantine\"><h2>Quarantined messages</h2>";
    if (history.quarantined.empty()) {
        out += "<p>Nothing is quarantined.</p>";
    } else {
        auto action = [&](const std::string& what, const std::string& id, const std::string& label) {
            std::string form = "<form method=\"post\" action=\"/ui/quarantine\">" + csrfField(context) +
                               "<input type=\"hidden\" name=\"account\" value=\"" + html(name) +
                               "\"><input type=\"hidden\" name=\"action\" value=\"" + what + "\">";
            if (!id.empty()) form += "<input type=\"hidden\" name=\"id\" value=\"" + html(id) + "\">";
            return form + "<button type=\"submit\" class=\"" + what + "\">" + label + "</button></form>";
        };
        out +=
            "<p>The target refused these for good; they are still on the source. After fixing the cause, retry "
            "them (the next check delivers them) or drop them.</p><div class=\"actions\">" +
            action("retry", "", "Retry all") + action("drop", "", "Drop all") + "</div>";
        out +=
            "<div class=\"scroll\"><table><thead><tr><th>Date</th><th>From</th><th>Subject</th><th>Folder</th>"
            "<th>Reason</th><th></th></tr></thead><tbody>";
        for (const auto& m : history.quarantined) {
            out += "<tr data-id=\"" + html(m.id) + "\"><td>" + html(formatUtc(m.quarantinedAt, "%Y-%m-%d %H:%M")) +
                   "</td><td>" + html(m.from) + "</td><td>" + html(m.subject) + "</td><td>" +
                   html(m.key.folder.empty() ? "-" : m.key.folder) + "</td><td>" + html(m.reason) + "</td><td>" +
                   action("retry", m.id, "Retry") + action("drop", m.id, "Drop") + "</td></tr>";
        }
        out += "</tbody></table></div>";
    }
    out += "</section>\n<section class=\"chart-box\"><h2>Messages delivered per day, last 30 days (UTC)</h2>" +
           chartSvg + "</section>\n";

    out += "<section class=\"history\"><h2>Last polls</h2>";
    if (history.polls.empty())
        out += "<p>No poll recorded yet.</p>";
    else {
        out +=
            "<div class=\"scroll\"><table><thead><tr><th>Started (UTC)</th><th>Took</th><th>Result</th>"
            "<th>Fetched</th><th>Delivered</th><th>Quarantined</th><th>Deferred</th><th>Error</th></tr></thead>"
            "<tbody>";
        for (const auto& poll : history.polls)
            out += "<tr><td>" + html(formatUtc(poll.startedAt, "%Y-%m-%d %H:%M:%S")) + "</td><td>" +
                   durationText(poll.durationMs) + "</td><td>" + html(resultText(poll.result)) + "</td><td>" +
                   grouped(poll.fetched) + "</td><td>" + grouped(poll.delivered) + "</td><td>" +
                   grouped(poll.quarantined) + "</td><td>" + grouped(poll.deferred) + "</td><td>" + html(poll.error) +
                   "</td></tr>";
        out += "</tbody></table></div>";
    }
    if (!history.days.empty()) {
        out +=
            "<h3>Earlier, per day</h3><div class=\"scroll\"><table><thead><tr><th>Day (UTC)</th><th>Polls</th>"
            "<th>Failed</th><th>Fetched</th><th>Delivered</th></tr></thead><tbody>";
        for (auto it = history.days.rbegin(); it != history.days.rend(); ++it)
            out += "<tr><td>" + html(formatUtc(it->day, "%Y-%m-%d")) + "</td><td>" + grouped(it->polls) + "</td><td>" +
                   grouped(it->failed) + "</td><td>" + grouped(it->fetched) + "</td><td>" + grouped(it->delivered) +
                   "</td></tr>";
        out += "</tbody></table></div>";
    }
    out += "</section>\n</main>";
    return out + pageEnd(context, true);
}

std::string renderLoginPage(const PageContext& context, bool failed) {
    std::string out = pageHead("mailcollector - log in", context);
    out += "<header><h1>mailcollector</h1></header><main><section class=\"login\"><h2>Log in</h2>";
    if (failed) out += "<p class=\"error\">That token is not the one in http_token_file.</p>";
    out +=
        "<form method=\"post\" action=\"/login\"><label>Token (the content of http_token_file) "
        "<input type=\"password\" name=\"token\" autocomplete=\"current-password\" autofocus></label> "
        "<button type=\"submit\">Log in</button></form></section></main>";
    return out + pageEnd(context, false);
}

std::string contentSecurityPolicy(const std::string& nonce) {
    return "default-src 'none'; style-src 'nonce-" + nonce + "'; script-src 'nonce-" + nonce +
           "'; img-src data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
}

std::string accountPath(const std::string& name) {
    static const char* kHex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : name) {
        if (std::isalnum(c) || c == '.' || c == '_' || c == '-') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

}  // namespace mc::schedules
