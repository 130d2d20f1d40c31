// `mailcollector run`: the service (or one poll of each account with --once), wired together:
// signals, the progress line, the scheduler, the admin endpoint and systemd's notifications.

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "app/CommandSupport.hpp"
#include "app/CommandTable.hpp"
#include "app/PollStops.hpp"
#include "app/ProgressBoard.hpp"
#include "app/ServiceSignals.hpp"
#include "app/Systemd.hpp"
#include "base/Clock.hpp"
#include "collector/AccountPoller.hpp"
#include "schedules/AdminServer.hpp"
#include "schedules/Logging.hpp"
#include "schedules/Metrics.hpp"
#include "schedules/PushWatchers.hpp"
#include "schedules/Service.hpp"

namespace mc::app {
namespace {

std::string joinNames(const std::vector<std::string>& names) {
    if (names.empty()) return "-";
    std::string out;
    for (const auto& name : names) out += (out.empty() ? "" : ",") + name;
    return out;
}

// SIGHUP: the new file replaces the config only when it is valid; what cannot change while
// running (the ledger, the listen address) is reported and keeps its old value.
void reloadConfig(schedules::Service& service, schedules::Metrics& metrics, PollStops& stops, const std::string& path,
                  const std::vector<std::string>& onlyAccounts) {
    notifySystemd("RELOADING=1");
    try {
        auto next = std::make_shared<const config::Config>(config::loadConfig(path));
        auto current = service.config();
        if (next->collector.ledger != current->collector.ledger)
            spdlog::warn("reload: a new ledger location takes a restart; still using {}",
                         ledger::redactLocation(current->collector.ledger));
        if (next->collector.httpListen != current->collector.httpListen)
            spdlog::warn("reload: a new http_listen takes a restart; still listening on {}",
                         current->collector.httpListen.empty() ? "(off)" : current->collector.httpListen);
        for (const auto& name : onlyAccounts)
            if (!next->findAccount(name)) spdlog::warn("reload: account {} (--account) is no longer in {}", name, path);
        spdlog::default_logger()->set_formatter(schedules::makeLogFormatter(next->collector.logFormat));
        warnAboutPlaintext(*next);
        auto summary = service.reload(next);
        spdlog::info("reloaded {}: {} accounts; added: {}; removed: {}; changed: {}", path, next->accounts.size(),
                     joinNames(summary.added), joinNames(summary.removed), joinNames(summary.changed));
        for (const auto& name : summary.removed)
            if (stops.stop(name, current->collector.ioTimeout))
                spdlog::info("account={} removed: its poll in flight stops within io_timeout", name);
        metrics.recordReload(true, std::time(nullptr));
    } catch (const std::exception& e) {
        spdlog::error("reload failed, keeping the current configuration: {}", e.what());
        metrics.recordReload(false, std::time(nullptr));
    }
    notifySystemd("READY=1");
}

// What `run --once` did, for its last line: accounts ok and failed, messages, bytes, time.
class RunSummary {
public:
    void add(const collector::PollReport& report) {
        std::lock_guard lock(mutex_);
        if (!report.heldBy.empty())
            ++skipped_;
        else if (report.ok)
            ++ok_;
        else
            ++failed_;
        delivered_ += report.delivered;
        bytes_ += report.bytes;
    }
    std::string text() const {
        std::lock_guard lock(mutex_);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
        char bytes[32];
        if (bytes_ >= 1000 * 1000)
            std::snprintf(bytes, sizeof bytes, "%.1f MB", static_cast<double>(bytes_) / 1e6);
        else
            std::snprintf(bytes, sizeof bytes, "%.1f kB", static_cast<double>(bytes_) / 1e3);
        char time[32];
        std::snprintf(time, sizeof time, "%.1f", seconds);
        return fmt::format("summary: accounts={} ok={} failed={}{} messages={} bytes={} ({}) seconds={}",
                           ok_ + failed_ + skipped_, ok_, failed_, skipped_ ? fmt::format(" skipped={}", skipped_) : "",
                           delivered_, bytes_, bytes, time);
    }

private:
    mutable std::mutex mutex_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::size_t ok_ = 0, failed_ = 0, skipped_ = 0;
    std::uint64_t delivered_ = 0, bytes_ = 0;
};

int runCommand(const Invocation& invocation, const config::Config& config) {
    warnAboutPlaintext(config);
    const bool once = invocation.has("--once");
    auto accounts = selectAccounts(config, invocation.accounts());
    std::unique_ptr<ledger::LedgerStore> ledger;
    try {
        // A PostgreSQL ledger opens up to one session per parallel poll (at most 8).
        ledger = ledger::openLedger(config.collector.ledger,
                                    static_cast<std::size_t>(std::max(1, config.collector.maxParallel)));
    } catch (const ledger::LedgerError& e) {
        spdlog::critical("cannot open the ledger: {}", e.what());
        return kExitLedger;
    }
    blockServiceSignals();

    std::shared_ptr<ProgressBoard> board;
    if (once && ::isatty(2)) {
        board = std::make_shared<ProgressBoard>(accounts.size(), true);
        setUpLogging(&config, board);
    }
    SystemClock clock;
    schedules::Metrics metrics;
    schedules::ServiceOptions options;
    options.once = once;
    options.only = invocation.accounts();
    options.watchers = schedules::imapIdleWatchers(clock);
    // On the first SIGTERM/SIGINT polls in flight stop fetching and finish what they hold.
    PollStops stops;
    RunSummary summary;
    schedules::PollProgress progress;  // for the status page
    auto poll = [&ledger, board, &stops, &progress](const config::Config& current,
                                                    const config::AccountSettings& account) {
        auto handle = stops.begin(account.name);
        collector::PollControl control;
        control.stop = &handle->stop;
        control.cutoff = handle->cutoff;
        progress.begin(account.name);
        control.progress = [&](std::uint64_t done, std::uint64_t total) {
            progress.update(account.name, done, total);
            if (board) board->update(account.name, done, total);
        };
        auto report = collector::pollAccount(current, account, *ledger, control);
        progress.end(account.name);
        stops.end(account.name, handle);
        if (board) board->finished(account.name);
        return report;
    };
    schedules::Service service(std::make_shared<const config::Config>(config), *ledger, clock, metrics, poll, options);

    std::atomic<int> stopSignals{0};
    SignalThread signalThread([&](int sig) {
        switch (sig) {
            case SIGTERM:
            case SIGINT:
                if (stopSignals++ == 0) {
                    spdlog::info(
                        "stopping: signal {} received; the {} polls in flight deliver and record what "
                        "they have fetched within io_timeout, then end (the same signal again quits at "
                        "once)",
                        sig == SIGTERM ? "TERM" : "INT", service.pollsInFlight());
                    notifySystemd("STOPPING=1");
                    stops.stopAll(service.config()->collector.ioTimeout);
                    service.requestStop();
                } else {
                    // Safe at any point: nothing is deleted from a source before the ledger commit.
                    spdlog::warn("second stop signal: quitting now, abandoning the polls in flight");
                    spdlog::default_logger()->flush();
                    std::_Exit(kExitAccountFailed);
                }
                break;
            case SIGHUP:
                if (once)
                    spdlog::info("SIGHUP ignored: run --once does not reload");
                else
                    reloadConfig(service, metrics, stops, invocation.configPath, invocation.accounts());
                break;
            case SIGUSR1:
                if (once) break;
                spdlog::info("SIGUSR1: polling every account now");
                service.pollAllNow();
                break;
            default:
                break;  // SIGUSR2: ends this thread (see ~SignalThread)
        }
    });

    std::unique_ptr<schedules::LedgerHealth> health;
    std::unique_ptr<schedules::AdminServer> admin;
    if (!once && !config.collector.httpListen.empty()) {
        health = std::make_unique<schedules::LedgerHealth>(*ledger, clock);
        try {
            schedules::AdminPage page{ledger.get(), &progress, ""};
            if (config.collector.httpToken.kind != config::SecretSource::Kind::None)
                page.token = config::resolveSecret(config.collector.httpToken, "http_token_file");
            admin = std::make_unique<schedules::AdminServer>(config.collector.httpListen, service, metrics, *health,
                                                             schedules::AdminLimits{}, page);
        } catch (const std::exception& e) {
            spdlog::critical("http_listen: {}", e.what());
            return kExitUsage;
        }
    }
    if (!once)
        spdlog::info("mailcollector {} running: {} accounts, max_parallel {}, http {}", MC_VERSION, accounts.size(),
                     config.collector.maxParallel,
                     config.collector.httpListen.empty() ? std::string("off") : config.collector.httpListen);
    notifySystemd("READY=1");
    auto result = service.run();
    if (admin) admin->stop();
    if (once) {
        // From the reports as the service finished them: a poll whose end the ledger could not
        // record counts as failed, as the exit status says.
        for (const auto& [name, report] : service.lastReports()) summary.add(report);
        spdlog::info("{}", summary.text());
    }
    if (result.ledgerFailed) return kExitLedger;
    if (once) return result.anyFailed ? kExitAccountFailed : kExitOk;
    spdlog::info("stopped");
    return kExitOk;
}

}  // namespace

CommandSpec runCommandSpec() {
    CommandSpec spec;
    spec.name = "run";
    spec.synopsis = "run -c FILE [--once] [--account NAME]...";
    spec.summary =
        "polls every (or each named) account; with --once a single poll of each (in\n"
        "parallel up to max_parallel), then exits; without it, runs as a service: polls each\n"
        "account on its interval until SIGTERM/SIGINT; SIGHUP reloads the config, SIGUSR1\n"
        "polls every account now; /metrics, /healthz and POST /poll/NAME on http_listen.\n"
        "Processes sharing a ledger poll each account one at a time: an account another\n"
        "process is polling is skipped (\"skipped: held by HOST:PID:...\")";
    spec.help =
        "Polls every account (or each one named by --account). With --once: a single poll of each, in\n"
        "parallel up to max_parallel, then exits (0 all well, 1 an account failed, 3 the ledger\n"
        "failed). Without it: runs as a service, polling each account on its interval (IMAP accounts\n"
        "with idle = true are woken by IDLE) until SIGTERM or SIGINT.\n"
        "\n"
        "signals: SIGHUP reloads the config (a bad file keeps the running one), SIGUSR1 polls every\n"
        "account now, SIGTERM/SIGINT stop after the polls in flight record what they fetched (twice:\n"
        "quit at once). The service serves /metrics, /healthz and POST /poll/NAME on http_listen.\n"
        "\n"
        "Processes sharing a ledger poll each account one at a time: an account another process is\n"
        "polling is skipped (\"skipped: held by HOST:PID:...\").\n"
        "\n"
        "options:\n"
        "  --once           one poll of each account, then exit\n"
        "  --account NAME   only this account (repeatable)\n";
    spec.options = {{"--once", false}, {"--account", true}};
    spec.needsConfig = true;
    spec.run = [](const Invocation& invocation, const config::Config* config) {
        return runCommand(invocation, *config);
    };
    return spec;
}

}  // namespace mc::app
