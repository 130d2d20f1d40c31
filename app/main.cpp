// mailcollector: the executable. Thin: parses the command line, loads the config, and hands the
// work to the collector. Exit codes: 0 all well, 1 an account failed, 2 usage/config, 3 ledger.

#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "app/OAuth2Command.hpp"
#include "app/PollCommand.hpp"
#include "app/ProgressBoard.hpp"
#include "collector/AccountPoller.hpp"
#include "collector/Quarantine.hpp"
#include "collector/ledger/LedgerMigration.hpp"
#include "collector/ledger/LedgerStore.hpp"
#include "config/Config.hpp"
#include "config/Importers.hpp"
#include "net/LineChannel.hpp"
#include "proto/SafeText.hpp"
#include "schedules/AdminServer.hpp"
#include "schedules/Clock.hpp"
#include "schedules/Logging.hpp"
#include "schedules/Metrics.hpp"
#include "schedules/PushWatchers.hpp"
#include "schedules/Service.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitAccountFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitLedger = 3;

const char* kUsage = R"(mailcollector - collect mail from many POP3 and IMAP accounts into one mailbox

usage:
  mailcollector run -c FILE [--once] [--account NAME]...
  mailcollector poll -c FILE [NAME]...
  mailcollector check -c FILE [--account NAME]...
  mailcollector validate -c FILE
  mailcollector status -c FILE [--json]
  mailcollector oauth2 authorize -c FILE --account NAME
  mailcollector quarantine list -c FILE [--account NAME] [--json]
  mailcollector quarantine retry|drop -c FILE [--account NAME] [ID...]
  mailcollector import fetchmailrc FILE > mailcollector.toml
  mailcollector import getmailrc FILE... > mailcollector.toml
  mailcollector ledger migrate --from FILE.db --to postgresql://USER@HOST/DB
  mailcollector --help | --version

run        polls every (or each named) account; with --once a single poll of each (in
           parallel up to max_parallel), then exits; without it, runs as a service: polls each
           account on its interval until SIGTERM/SIGINT; SIGHUP reloads the config, SIGUSR1
           polls every account now; /metrics, /healthz and POST /poll/NAME on http_listen.
           Processes sharing a ledger poll each account one at a time: an account another
           process is polling is skipped ("skipped: held by HOST:PID:...")
poll       asks the running service (on the config's http_listen) to poll every (or each named)
           account now, waits for those polls and prints their results as run --once does
check      connects to every (or each named) account and the target, negotiates TLS,
           authenticates and lists; tries the target with MAIL FROM + RCPT TO the recipient
           (then RSET) or IMAP STATUS of the folder; delivers nothing; a verdict per account
validate   checks the configuration only
status     per account: last poll, result, message counts and last error, from the ledger
oauth2     authorize: the one-time OAuth2 consent (device flow) that stores the account's
           refresh token in its oauth2_refresh_token_file
quarantine what the target refused (5xx): list shows each message's ID, account, folder, UID,
           date, size, From, Subject and the target's reply; retry makes them (all, the
           account's, or those named by ID) pending again, so the next poll fetches them from
           the source and delivers them; drop gives them up (kept on the source, never fetched
           again) and removes their copies from quarantine_dir
import     prints a configuration translated from a fetchmailrc, or from getmailrc files (one
           account each); what cannot be translated is a comment in it and a warning here
ledger     migrate: copies a SQLite ledger (opened read-only) into a shared PostgreSQL one that
           has no rows of its accounts yet

exit codes: 0 all well, 1 some account failed, 2 bad usage or config, 3 the ledger failed
)";

struct Arguments {
    std::string command;
    std::string configPath;
    std::vector<std::string> accounts;
    std::vector<std::string> inputs;  // import: the format, then the files
    std::string from, to;             // ledger migrate --from FILE --to URL
    bool once = false;
    bool json = false;
};

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

Arguments parseArguments(int argc, char** argv) {
    Arguments args;
    std::vector<std::string> words(argv + 1, argv + argc);
    for (std::size_t i = 0; i < words.size(); ++i) {
        const std::string& word = words[i];
        auto value = [&](const char* option) {
            if (i + 1 >= words.size()) throw UsageError(std::string(option) + " needs a value");
            return words[++i];
        };
        if (word == "-h" || word == "--help")
            args.command = "help";
        else if (word == "--version")
            args.command = "version";
        else if (word == "-c" || word == "--config")
            args.configPath = value("-c");
        else if (word == "--account")
            args.accounts.push_back(value("--account"));
        else if (word == "--once")
            args.once = true;
        else if (word == "--json")
            args.json = true;
        else if (args.command.empty() && word[0] != '-')
            args.command = word;
        else if (args.command == "ledger" && word == "--from")
            args.from = value("--from");
        else if (args.command == "ledger" && word == "--to")
            args.to = value("--to");
        else if (args.command == "ledger" && word == "migrate" && args.inputs.empty())
            args.inputs.push_back(word);
        else if ((args.command == "import" || args.command == "oauth2" || args.command == "quarantine") &&
                 word[0] != '-')
            args.inputs.push_back(word);
        else if (args.command == "poll" && word[0] != '-')
            args.accounts.push_back(word);
        else
            throw UsageError("unexpected argument '" + word + "'");
    }
    if (args.command.empty()) throw UsageError("no command given");
    if (args.command == "import") {
        if (args.inputs.empty() || (args.inputs[0] != "fetchmailrc" && args.inputs[0] != "getmailrc"))
            throw UsageError("import needs fetchmailrc FILE or getmailrc FILE...");
        if (args.inputs.size() < 2) throw UsageError("import " + args.inputs[0] + " needs a FILE");
        if (args.inputs[0] == "fetchmailrc" && args.inputs.size() != 2)
            throw UsageError("import fetchmailrc takes one FILE");
    } else if (args.command == "oauth2") {
        if (args.inputs != std::vector<std::string>{"authorize"}) throw UsageError("oauth2 needs authorize");
        if (args.configPath.empty() || args.accounts.size() != 1)
            throw UsageError("oauth2 authorize needs -c FILE and one --account NAME");
    } else if (args.command == "quarantine") {
        if (args.inputs.empty() || (args.inputs[0] != "list" && args.inputs[0] != "retry" && args.inputs[0] != "drop"))
            throw UsageError("quarantine needs list, retry or drop");
        if (args.inputs[0] == "list" && args.inputs.size() > 1) throw UsageError("quarantine list takes no IDs");
        if (args.configPath.empty()) throw UsageError("quarantine needs -c FILE");
        if (args.accounts.size() > 1) throw UsageError("quarantine takes at most one --account NAME");
    } else if (args.command == "ledger") {
        if (args.inputs.empty() || args.from.empty() || args.to.empty())
            throw UsageError("ledger needs migrate --from FILE.db --to postgresql://...");
    } else if (args.command != "help" && args.command != "version") {
        if (args.command != "run" && args.command != "validate" && args.command != "status" &&
            args.command != "check" && args.command != "poll")
            throw UsageError("unknown command '" + args.command + "'");
        if (args.configPath.empty()) throw UsageError(args.command + " needs -c FILE");
    }
    return args;
}

void setUpLogging(const mc::config::Config* config, std::shared_ptr<mc::app::ProgressBoard> board = {}) {
    std::shared_ptr<spdlog::logger> logger;
    std::shared_ptr<spdlog::sinks::sink> sink;
    if (board)
        sink = std::make_shared<mc::app::ProgressSink>(board);
    else
        sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    logger =
        std::make_shared<spdlog::logger>("mailcollector", std::make_shared<mc::schedules::RepeatLimitingSink>(sink));
    logger->set_formatter(mc::schedules::makeLogFormatter(config ? config->collector.logFormat : "text"));
    if (const char* level = std::getenv("MC_LOG_LEVEL")) logger->set_level(spdlog::level::from_str(level));
    logger->flush_on(spdlog::level::info);
    spdlog::drop("mailcollector");
    spdlog::set_default_logger(logger);
}

void warnAboutPlaintext(const mc::config::Config& config) {
    for (const auto& account : config.accounts)
        if (account.endpoint.tls == mc::config::TlsMode::None)
            spdlog::warn("account={} uses tls = \"none\": the password crosses the network in the clear", account.name);
    if (config.target.endpoint.tls == mc::config::TlsMode::None) spdlog::warn("target uses tls = \"none\"");
}

std::vector<const mc::config::AccountSettings*> selectAccounts(const mc::config::Config& config,
                                                               const std::vector<std::string>& names) {
    std::vector<const mc::config::AccountSettings*> selected;
    if (names.empty()) {
        for (const auto& account : config.accounts) selected.push_back(&account);
        return selected;
    }
    for (const auto& name : names) {
        const auto* account = config.findAccount(name);
        if (!account) throw UsageError("no account named '" + name + "' in " + config.path);
        selected.push_back(account);
    }
    return selected;
}

// systemd's readiness protocol (Type=notify), without linking libsystemd: one datagram to
// $NOTIFY_SOCKET. A no-op outside systemd.
void notifySystemd(const char* state) {
    const char* socketPath = std::getenv("NOTIFY_SOCKET");
    if (socketPath == nullptr || (socketPath[0] != '/' && socketPath[0] != '@')) return;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::size_t length = std::strlen(socketPath);
    if (length >= sizeof address.sun_path) return;
    std::memcpy(address.sun_path, socketPath, length);
    if (address.sun_path[0] == '@') address.sun_path[0] = '\0';  // abstract namespace
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    ::sendto(fd, state, std::strlen(state), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&address),
             static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length));
    ::close(fd);
}

// Signals are taken by one thread with sigwait, so handling them may lock, log and reload
// freely. They must be blocked before any other thread starts (threads inherit the mask).
sigset_t serviceSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2}) sigaddset(&set, sig);
    return set;
}

// Never runs while the signals are blocked in every thread; it only makes them non-default.
void onServiceSignal(int) {}

class SignalThread {
public:
    explicit SignalThread(std::function<void(int)> handle) : handle_(std::move(handle)), thread_([this] { loop(); }) {}
    ~SignalThread() {
        quit_ = true;
        ::pthread_kill(thread_.native_handle(), SIGUSR2);
        thread_.join();
    }

private:
    void loop() {
        const sigset_t set = serviceSignals();
        for (;;) {
            int sig = 0;
            if (::sigwait(&set, &sig) != 0) continue;
            if (quit_) return;
            handle_(sig);
        }
    }

    std::function<void(int)> handle_;
    std::atomic<bool> quit_{false};
    std::thread thread_;
};

std::string joinNames(const std::vector<std::string>& names) {
    if (names.empty()) return "-";
    std::string out;
    for (const auto& name : names) out += (out.empty() ? "" : ",") + name;
    return out;
}

// Stops polls in flight: every one (SIGTERM), or one account's (a reload removed it). A stopped
// poll fetches no further message, and io_timeout later every read and write of it is cut off,
// whatever the servers do.
class PollStops {
public:
    struct Handle {
        std::atomic<bool> stop{false};
        std::shared_ptr<mc::net::IoCutoff> cutoff;
    };

    std::shared_ptr<Handle> begin(const std::string& account) {
        auto handle = std::make_shared<Handle>();
        handle->cutoff = std::make_shared<mc::net::IoCutoff>(all_);
        std::lock_guard lock(mutex_);
        handle->stop = allStopped_;
        running_.emplace(account, handle);
        return handle;
    }

    void end(const std::string& account, const std::shared_ptr<Handle>& handle) {
        std::lock_guard lock(mutex_);
        auto [first, last] = running_.equal_range(account);
        for (auto it = first; it != last; ++it)
            if (it->second == handle) {
                running_.erase(it);
                return;
            }
    }

    void stopAll(std::chrono::seconds grace) {
        std::lock_guard lock(mutex_);
        allStopped_ = true;
        all_->cutAt(std::chrono::steady_clock::now() + grace);
        for (auto& [account, handle] : running_) handle->stop = true;
    }

    // True when a poll of `account` was running.
    bool stop(const std::string& account, std::chrono::seconds grace) {
        std::lock_guard lock(mutex_);
        auto [first, last] = running_.equal_range(account);
        for (auto it = first; it != last; ++it) {
            it->second->stop = true;
            it->second->cutoff->cutAt(std::chrono::steady_clock::now() + grace);
        }
        return first != last;
    }

private:
    std::mutex mutex_;
    std::shared_ptr<mc::net::IoCutoff> all_ = std::make_shared<mc::net::IoCutoff>();
    bool allStopped_ = false;
    std::multimap<std::string, std::shared_ptr<Handle>> running_;
};

// SIGHUP: the new file replaces the config only when it is valid; what cannot change while
// running (the ledger, the listen address) is reported and keeps its old value.
void reloadConfig(mc::schedules::Service& service, PollStops& stops, const std::string& path, const Arguments& args) {
    notifySystemd("RELOADING=1");
    try {
        auto next = std::make_shared<const mc::config::Config>(mc::config::loadConfig(path));
        auto current = service.config();
        if (next->collector.ledger != current->collector.ledger)
            spdlog::warn("reload: a new ledger location takes a restart; still using {}",
                         mc::ledger::redactLocation(current->collector.ledger));
        if (next->collector.httpListen != current->collector.httpListen)
            spdlog::warn("reload: a new http_listen takes a restart; still listening on {}",
                         current->collector.httpListen.empty() ? "(off)" : current->collector.httpListen);
        for (const auto& name : args.accounts)
            if (!next->findAccount(name)) spdlog::warn("reload: account {} (--account) is no longer in {}", name, path);
        spdlog::default_logger()->set_formatter(mc::schedules::makeLogFormatter(next->collector.logFormat));
        warnAboutPlaintext(*next);
        auto summary = service.reload(next);
        spdlog::info("reloaded {}: {} accounts; added: {}; removed: {}; changed: {}", path, next->accounts.size(),
                     joinNames(summary.added), joinNames(summary.removed), joinNames(summary.changed));
        for (const auto& name : summary.removed)
            if (stops.stop(name, current->collector.ioTimeout))
                spdlog::info("account={} removed: its poll in flight stops within io_timeout", name);
    } catch (const mc::config::ConfigError& e) {
        spdlog::error("reload failed, keeping the current configuration: {}", e.what());
    } catch (const std::exception& e) {
        spdlog::error("reload failed, keeping the current configuration: {}", e.what());
    }
    notifySystemd("READY=1");
}

int runCommand(const mc::config::Config& config, const Arguments& args) {
    auto accounts = selectAccounts(config, args.accounts);
    std::unique_ptr<mc::ledger::LedgerStore> ledger;
    try {
        ledger = mc::ledger::openLedger(config.collector.ledger);
    } catch (const mc::ledger::LedgerError& e) {
        spdlog::critical("cannot open the ledger: {}", e.what());
        return kExitLedger;
    }
    ::signal(SIGPIPE, SIG_IGN);
    // A handler as well as the mask: as PID 1 (a container) the kernel drops signals whose
    // disposition is the default, so sigwait would never see `docker stop`'s SIGTERM.
    for (int sig : {SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2}) ::signal(sig, onServiceSignal);
    const sigset_t signals = serviceSignals();
    ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    std::shared_ptr<mc::app::ProgressBoard> board;
    if (args.once && ::isatty(2)) {
        board = std::make_shared<mc::app::ProgressBoard>(accounts.size(), true);
        setUpLogging(&config, board);
    }
    mc::schedules::SystemClock clock;
    mc::schedules::Metrics metrics;
    mc::schedules::ServiceOptions options;
    options.once = args.once;
    options.only = args.accounts;
    options.watchers = mc::schedules::imapIdleWatchers();
    // On the first SIGTERM/SIGINT polls in flight stop fetching and finish what they hold.
    PollStops stops;
    auto poll = [&ledger, board, &stops](const mc::config::Config& current,
                                         const mc::config::AccountSettings& account) {
        auto handle = stops.begin(account.name);
        mc::collector::PollControl control;
        control.stop = &handle->stop;
        control.cutoff = handle->cutoff;
        if (board)
            control.progress = [&](std::uint64_t done, std::uint64_t total) {
                board->update(account.name, done, total);
            };
        auto report = mc::collector::pollAccount(current, account, *ledger, control);
        stops.end(account.name, handle);
        if (board) board->finished(account.name);
        return report;
    };
    mc::schedules::Service service(std::make_shared<const mc::config::Config>(config), *ledger, clock, metrics, poll,
                                   options);

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
                if (args.once)
                    spdlog::info("SIGHUP ignored: run --once does not reload");
                else
                    reloadConfig(service, stops, args.configPath, args);
                break;
            case SIGUSR1:
                if (args.once) break;
                spdlog::info("SIGUSR1: polling every account now");
                service.pollAllNow();
                break;
            default:
                break;  // SIGUSR2: ends this thread (see ~SignalThread)
        }
    });

    std::unique_ptr<mc::schedules::LedgerHealth> health;
    std::unique_ptr<mc::schedules::AdminServer> admin;
    if (!args.once && !config.collector.httpListen.empty()) {
        health = std::make_unique<mc::schedules::LedgerHealth>(*ledger, clock);
        try {
            admin =
                std::make_unique<mc::schedules::AdminServer>(config.collector.httpListen, service, metrics, *health);
        } catch (const std::exception& e) {
            spdlog::critical("http_listen: {}", e.what());
            return kExitUsage;
        }
    }
    if (!args.once)
        spdlog::info("mailcollector {} running: {} accounts, max_parallel {}, http {}", MC_VERSION, accounts.size(),
                     config.collector.maxParallel,
                     config.collector.httpListen.empty() ? std::string("off") : config.collector.httpListen);
    notifySystemd("READY=1");
    auto result = service.run();
    if (admin) admin->stop();
    if (result.ledgerFailed) return kExitLedger;
    if (args.once) return result.anyFailed ? kExitAccountFailed : kExitOk;
    spdlog::info("stopped");
    return kExitOk;
}

std::string formatTime(std::int64_t seconds) {
    if (seconds == 0) return "never";
    std::time_t t = seconds;
    std::tm local{};
    localtime_r(&t, &local);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &local);
    return buffer;
}

// A JSON string for any bytes (server text from the ledger included): always valid UTF-8.
std::string jsonString(const std::string& text) { return "\"" + mc::proto::jsonEscape(text) + "\""; }

// Ledger text for the terminal: server-controlled bytes (escapes, CR LF) cannot reach it raw.
std::string shown(const std::string& text) { return mc::proto::terminalEscape(text, 2000); }

int checkCommand(const mc::config::Config& config, const Arguments& args) {
    int exitCode = kExitOk;
    auto print = [&](const mc::collector::CheckReport& report) {
        std::cout << report.account << ": " << (report.ok ? "OK" : "FAILED") << " - " << report.detail << "\n";
        if (!report.ok) exitCode = kExitAccountFailed;
    };
    for (const auto* account : selectAccounts(config, args.accounts))
        print(mc::collector::checkAccount(config, *account));
    print(mc::collector::checkTarget(config));
    return exitCode;
}

// "next poll" as the service recorded it; a time in the past means no service is polling.
std::string describeNextPoll(std::int64_t nextPollAt) {
    if (nextPollAt == 0) return "not scheduled";
    const std::int64_t now = std::time(nullptr);
    if (nextPollAt + 60 < now) return formatTime(nextPollAt) + " (overdue: is the service running?)";
    return formatTime(nextPollAt);
}

// The ledger of `config`, or nullptr after saying on stderr why it cannot be opened (exit 3).
std::unique_ptr<mc::ledger::LedgerStore> openLedgerOrSay(const mc::config::Config& config) {
    try {
        return mc::ledger::openLedger(config.collector.ledger);
    } catch (const mc::ledger::LedgerError& e) {
        std::cerr << "cannot open the ledger: " << e.what() << "\n";
        return nullptr;
    }
}

int statusCommand(const mc::config::Config& config, const Arguments& args) {
    auto ledger = openLedgerOrSay(config);
    if (!ledger) return kExitLedger;
    auto accounts = selectAccounts(config, args.accounts);
    // Everything is read before anything is printed: a ledger failing half-way prints nothing.
    std::vector<mc::ledger::AccountRecord> records;
    for (const auto* account : accounts) {
        mc::ledger::AccountRecord record;
        record.name = account->name;
        if (auto stored = ledger->account(account->name)) record = *stored;
        records.push_back(std::move(record));
    }
    if (args.json) std::cout << "[";
    bool first = true;
    for (std::size_t i = 0; i < accounts.size(); ++i) {
        const auto* account = accounts[i];
        const mc::ledger::AccountRecord& record = records[i];
        const auto result = mc::collector::parsePollResult(record.lastResult);
        std::string kind = result.failure ? std::string(mc::proto::failureKindName(*result.failure)) : "";
        std::string retry =
            result.failure ? std::string(mc::proto::retryClassName(mc::proto::retryClassOf(*result.failure))) : "";
        if (args.json) {
            std::cout << (first ? "" : ",") << "\n  {\"account\":" << jsonString(account->name)
                      << ",\"last_poll\":" << record.lastPollAt << ",\"next_poll\":" << record.nextPollAt
                      << ",\"result\":" << jsonString(result.result)
                      << ",\"failure_kind\":" << (kind.empty() ? "null" : jsonString(kind))
                      << ",\"retry\":" << (retry.empty() ? "null" : jsonString(retry))
                      << ",\"last_error\":" << jsonString(record.lastError)
                      << ",\"held_by\":" << jsonString(record.leaseHolder) << ",\"seen\":" << record.seen
                      << ",\"delivered\":" << record.delivered << ",\"deleted\":" << record.deleted
                      << ",\"quarantined\":" << record.quarantined << ",\"skipped\":" << record.skipped
                      << ",\"pending\":" << record.pending << "}";
        } else {
            std::cout << shown(account->name) << ": last poll " << formatTime(record.lastPollAt) << ", "
                      << (result.result.empty() ? "never polled" : shown(result.result))
                      << (kind.empty() ? "" : " (" + kind + ", retry " + retry + ")") << "; delivered "
                      << record.delivered << ", deleted " << record.deleted << ", quarantined " << record.quarantined
                      << ", skipped " << record.skipped << ", pending " << record.pending << "; next poll "
                      << describeNextPoll(record.nextPollAt) << "\n";
            if (!record.leaseHolder.empty()) std::cout << "  held by " << shown(record.leaseHolder) << "\n";
            if (!record.lastError.empty()) std::cout << "  last error: " << shown(record.lastError) << "\n";
        }
        first = false;
    }
    if (args.json) std::cout << "\n]\n";
    return kExitOk;
}

void printQuarantined(const mc::collector::QuarantinedMessage& message) {
    std::cout << message.id << "  " << message.key.account << "  "
              << (message.key.folder.empty() ? std::string("-") : mc::net::printable(message.key.folder)) << "  uid "
              << mc::net::printable(message.key.uid) << "  " << formatTime(message.quarantinedAt) << "  "
              << message.size << " bytes\n";
    if (!message.from.empty() || !message.subject.empty())
        std::cout << "    From: " << mc::net::printable(message.from)
                  << "  Subject: " << mc::net::printable(message.subject) << "\n";
    std::cout << "    refused: " << message.reason << "\n";
}

// list, retry or drop what the target refused; the logic is mc::collector::Quarantine's.
int quarantineCommand(const mc::config::Config& config, const Arguments& args) {
    std::string account = args.accounts.empty() ? "" : args.accounts.front();
    if (!account.empty() && !config.findAccount(account))
        throw UsageError("no account named '" + account + "' in " + config.path);
    auto ledger = openLedgerOrSay(config);
    if (!ledger) return kExitLedger;
    mc::collector::Quarantine quarantine(*ledger, config.collector.quarantineDir);
    const std::string& action = args.inputs[0];
    std::vector<std::string> ids(args.inputs.begin() + 1, args.inputs.end());
    try {
        if (action == "list") {
            auto messages = quarantine.list(account);
            if (args.json) {
                std::cout << "[";
                for (std::size_t i = 0; i < messages.size(); ++i) {
                    const auto& m = messages[i];
                    std::cout << (i ? "," : "") << "\n  {\"id\":" << jsonString(m.id)
                              << ",\"account\":" << jsonString(m.key.account) << ",\"folder\":\""
                              << mc::schedules::jsonEscape(m.key.folder) << "\",\"uid_validity\":" << m.key.uidValidity
                              << ",\"uid\":\"" << mc::schedules::jsonEscape(m.key.uid)
                              << "\",\"date\":" << m.quarantinedAt << ",\"size\":" << m.size << ",\"from\":\""
                              << mc::schedules::jsonEscape(m.from) << "\",\"subject\":\""
                              << mc::schedules::jsonEscape(m.subject) << "\",\"reason\":\""
                              << mc::schedules::jsonEscape(m.reason) << "\",\"copy\":\""
                              << mc::schedules::jsonEscape(m.copyPath) << "\"}";
                }
                std::cout << (messages.empty() ? "]\n" : "\n]\n");
            } else if (messages.empty()) {
                std::cout << "nothing is quarantined" << (account.empty() ? "" : " for " + account) << "\n";
            } else {
                for (const auto& message : messages) printQuarantined(message);
                std::cout << messages.size()
                          << " quarantined; after fixing the cause, 'mailcollector quarantine "
                             "retry' makes them pending again\n";
            }
            return kExitOk;
        }
        auto done = action == "retry" ? quarantine.retry(account, ids) : quarantine.drop(account, ids);
        for (const auto& message : done)
            std::cout << (action == "retry" ? "pending again: " : "dropped: ") << message.id << "  "
                      << message.key.account << "  uid " << mc::net::printable(message.key.uid) << "\n";
        if (action == "retry")
            std::cout << done.size()
                      << " message(s) pending again; the next poll fetches them from the source and "
                         "delivers them\n";
        else
            std::cout << done.size() << " message(s) dropped: left on the source, never fetched again\n";
        return kExitOk;
    } catch (const mc::collector::UnknownQuarantineIds& e) {
        std::cerr << "mailcollector: quarantine " << action << ": " << e.what()
                  << (account.empty() ? "" : " for " + account) << "; nothing changed ('quarantine list' shows the "
                  << "IDs)\n";
        return kExitUsage;
    } catch (const mc::ledger::LedgerError& e) {
        std::cerr << "mailcollector: quarantine " << action << ": " << e.what() << "\n";
        return kExitLedger;
    }
}

// Moves a single-machine ledger into a shared PostgreSQL one; the URL is printed redacted.
int ledgerCommand(const Arguments& args) {
    if (!mc::ledger::isPostgresLocation(args.to)) {
        std::cerr << "mailcollector: ledger migrate: --to must be a postgresql:// URL\n";
        return kExitUsage;
    }
    try {
        const auto counts = mc::ledger::migrateLedger(args.from, args.to);
        std::cout << "copied " << counts.accounts << " accounts and " << counts.messages << " messages ("
                  << counts.pending << " pending, " << counts.quarantined << " quarantined) from " << args.from
                  << " to " << mc::ledger::redactLocation(args.to) << "\n";
        return kExitOk;
    } catch (const mc::ledger::LedgerError& e) {
        std::cerr << "mailcollector: ledger migrate: " << e.what() << "\n";
        return kExitLedger;
    }
}

std::string localLogin() {
    if (const char* user = std::getenv("USER"); user && *user) return user;
    if (const passwd* entry = ::getpwuid(::getuid())) return entry->pw_name;
    return "me";
}

// Prints the translated configuration; warnings and errors go to stderr and never hold a secret.
int importCommand(const Arguments& args) {
    std::vector<std::pair<std::string, std::string>> files;
    for (std::size_t i = 1; i < args.inputs.size(); ++i) {
        const std::string& path = args.inputs[i];
        struct stat status {};
        bool directory = ::stat(path.c_str(), &status) == 0 && S_ISDIR(status.st_mode);
        std::ifstream in(path, std::ios::binary);
        if (directory || !in) {
            std::cerr << "mailcollector: " << path
                      << ": cannot read: " << (directory ? "is a directory" : std::strerror(errno)) << "\n";
            return kExitUsage;
        }
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (in.bad()) {
            std::cerr << "mailcollector: " << path << ": cannot read\n";
            return kExitUsage;
        }
        files.emplace_back(args.inputs[i], std::move(text));
    }
    mc::config::importer::ImportOptions options;
    options.localUser = localLogin();
    auto result = args.inputs[0] == "fetchmailrc"
                      ? mc::config::importer::importFetchmailrc(files[0].second, files[0].first, options)
                      : mc::config::importer::importGetmailrc(files, options);
    if (!result.ok()) {
        std::cerr << "mailcollector: " << result.errorText() << "\n";
        return kExitUsage;
    }
    for (const auto& warning : result.config.warnings)
        std::cerr << "mailcollector: " << warning.file << ":" << warning.line << ": warning: " << warning.text << "\n";
    bool secrets = !result.config.target.password.empty();
    for (const auto& account : result.config.accounts) secrets = secrets || !account.password.empty();
    struct stat status {};
    if (secrets && ::fstat(1, &status) == 0 && S_ISREG(status.st_mode) && (status.st_mode & 077) != 0)
        std::cerr << "mailcollector: warning: the output holds passwords and others can read the file it "
                     "goes to; run chmod 600 on it (mailcollector refuses it otherwise)\n";
    std::cout << mc::config::importer::renderToml(result.config);
    std::cout.flush();
    return std::cout ? kExitOk : kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
    Arguments args;
    try {
        args = parseArguments(argc, argv);
    } catch (const UsageError& e) {
        std::cerr << "mailcollector: " << e.what() << "\n\n" << kUsage;
        return kExitUsage;
    }
    if (args.command == "help") {
        std::cout << kUsage;
        return kExitOk;
    }
    if (args.command == "version") {
        std::cout << "mailcollector " << MC_VERSION << "\n";
        return kExitOk;
    }
    if (args.command == "ledger") return ledgerCommand(args);
    if (args.command == "import") return importCommand(args);
    mc::config::Config config;
    try {
        config = mc::config::loadConfig(args.configPath);
    } catch (const mc::config::ConfigError& e) {
        std::cerr << "mailcollector: " << e.what() << "\n";
        return kExitUsage;
    }
    setUpLogging(&config);
    try {
        if (args.command == "validate") {
            warnAboutPlaintext(config);
            std::cout << config.path << ": ok (" << config.accounts.size() << " accounts)\n";
            return kExitOk;
        }
        if (args.command == "status") return statusCommand(config, args);
        if (args.command == "check") return checkCommand(config, args);
        if (args.command == "quarantine") return quarantineCommand(config, args);
        if (args.command == "oauth2") return mc::app::oauth2AuthorizeCommand(config, args.accounts.front());
        if (args.command == "poll") return mc::app::pollCommand(config, args.accounts);
        warnAboutPlaintext(config);
        return runCommand(config, args);
    } catch (const UsageError& e) {
        std::cerr << "mailcollector: " << e.what() << "\n";
        return kExitUsage;
    } catch (const mc::ledger::LedgerError& e) {
        // A corrupted or unreadable ledger found after it opened (a damaged page): exit 3 in every
        // command, never an abort.
        std::cerr << "mailcollector: the ledger cannot be read or written: " << mc::proto::terminalEscape(e.what())
                  << "\n";
        return kExitLedger;
    }
}
