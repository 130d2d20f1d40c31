// mailcollector: the executable. Thin: parses the command line, loads the config, and hands the
// work to the collector. Exit codes: 0 all well, 1 an account failed, 2 usage/config, 3 ledger.

#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "collector/AccountPoller.hpp"
#include "collector/ledger/LedgerStore.hpp"
#include "config/Config.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitAccountFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitLedger = 3;

const char* kUsage = R"(mailcollector - collect mail from many POP3 accounts into one mailbox

usage:
  mailcollector run -c FILE [--once] [--account NAME]...
  mailcollector check -c FILE [--account NAME]...
  mailcollector validate -c FILE
  mailcollector status -c FILE [--json]
  mailcollector --help | --version

run        polls every (or each named) account; with --once a single poll, then exits;
           without it, keeps polling each account on its interval until SIGTERM/SIGINT
check      connects to every (or each named) account and the target, negotiates TLS,
           authenticates and lists, delivers nothing; prints a verdict per account
validate   checks the configuration only
status     per account: last poll, result, message counts and last error, from the ledger

exit codes: 0 all well, 1 some account failed, 2 bad usage or config, 3 the ledger failed
)";

struct Arguments {
    std::string command;
    std::string configPath;
    std::vector<std::string> accounts;
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
        if (word == "-h" || word == "--help") args.command = "help";
        else if (word == "--version") args.command = "version";
        else if (word == "-c" || word == "--config") args.configPath = value("-c");
        else if (word == "--account") args.accounts.push_back(value("--account"));
        else if (word == "--once") args.once = true;
        else if (word == "--json") args.json = true;
        else if (args.command.empty() && word[0] != '-') args.command = word;
        else throw UsageError("unexpected argument '" + word + "'");
    }
    if (args.command.empty()) throw UsageError("no command given");
    if (args.command != "help" && args.command != "version") {
        if (args.command != "run" && args.command != "validate" && args.command != "status" &&
            args.command != "check")
            throw UsageError("unknown command '" + args.command + "'");
        if (args.configPath.empty()) throw UsageError(args.command + " needs -c FILE");
    }
    return args;
}

void setUpLogging(const mc::config::Config* config) {
    auto logger = spdlog::stderr_color_mt("mailcollector");
    spdlog::set_default_logger(logger);
    if (config && config->collector.logFormat == "json")
        spdlog::set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","message":"%v"})");
    else
        spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
}

void warnAboutPlaintext(const mc::config::Config& config) {
    for (const auto& account : config.accounts)
        if (account.endpoint.tls == mc::config::TlsMode::None)
            spdlog::warn("account={} uses tls = \"none\": the password crosses the network in the clear",
                         account.name);
    if (config.target.endpoint.tls == mc::config::TlsMode::None)
        spdlog::warn("target uses tls = \"none\"");
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

// A progress line on a terminal, so a long first import shows it is moving.
class ProgressLine {
public:
    explicit ProgressLine(std::string account) : account_(std::move(account)), enabled_(::isatty(2)) {}
    ~ProgressLine() {
        if (shown_) std::fprintf(stderr, "\n");
    }
    void update(std::uint64_t done, std::uint64_t total) {
        if (!enabled_) return;
        auto now = std::chrono::steady_clock::now();
        if (done != total && now - last_ < std::chrono::milliseconds(200)) return;
        last_ = now;
        shown_ = true;
        std::fprintf(stderr, "\r%s: %llu/%llu messages", account_.c_str(), (unsigned long long)done,
                     (unsigned long long)total);
        std::fflush(stderr);
    }

private:
    std::string account_;
    bool enabled_;
    bool shown_ = false;
    std::chrono::steady_clock::time_point last_{};
};

void logReport(const mc::collector::PollReport& report) {
    if (report.ok)
        spdlog::info("account={} poll ok: listed={} fetched={} delivered={} deferred={} quarantined={} "
                     "skipped={} deleted={} bytes={} seconds={:.2f}",
                     report.account, report.listed, report.fetched, report.delivered, report.deferred,
                     report.quarantined, report.skipped, report.deleted, report.bytes, report.seconds);
    else
        spdlog::error("account={} poll failed: {} (delivered={} before stopping)", report.account,
                      report.error, report.delivered);
}

std::atomic<bool> stopRequested{false};

void onStopSignal(int) { stopRequested = true; }

int runCommand(const mc::config::Config& config, const Arguments& args) {
    auto accounts = selectAccounts(config, args.accounts);
    std::unique_ptr<mc::ledger::LedgerStore> ledger;
    try {
        ledger = mc::ledger::openLedger(config.collector.ledger);
    } catch (const mc::ledger::LedgerError& e) {
        spdlog::critical("cannot open the ledger: {}", e.what());
        return kExitLedger;
    }
    ::signal(SIGTERM, onStopSignal);
    ::signal(SIGINT, onStopSignal);
    ::signal(SIGPIPE, SIG_IGN);

    using Clock = std::chrono::steady_clock;
    std::vector<Clock::time_point> due(accounts.size(), Clock::now());
    int exitCode = kExitOk;
    while (!stopRequested) {
        for (std::size_t i = 0; i < accounts.size() && !stopRequested; ++i) {
            if (Clock::now() < due[i]) continue;
            ProgressLine progress(accounts[i]->name);
            auto report = mc::collector::pollAccount(
                config, *accounts[i], *ledger,
                [&](std::uint64_t done, std::uint64_t total) { progress.update(done, total); });
            logReport(report);
            if (report.ledgerFailed) return kExitLedger;
            if (!report.ok) exitCode = kExitAccountFailed;
            due[i] = Clock::now() + accounts[i]->interval;
        }
        if (args.once) return exitCode;
        auto next = *std::min_element(due.begin(), due.end());
        while (!stopRequested && Clock::now() < next) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    spdlog::info("stopping: signal received");
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

std::string jsonString(const std::string& text) {
    std::string out = "\"";
    for (unsigned char c : text) {
        if (c == '"' || c == '\\') out += '\\', out += char(c);
        else if (c < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            out += escaped;
        } else out += char(c);
    }
    return out + "\"";
}

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

int statusCommand(const mc::config::Config& config, const Arguments& args) {
    std::unique_ptr<mc::ledger::LedgerStore> ledger;
    try {
        ledger = mc::ledger::openLedger(config.collector.ledger);
    } catch (const mc::ledger::LedgerError& e) {
        std::cerr << "cannot open the ledger: " << e.what() << "\n";
        return kExitLedger;
    }
    auto accounts = selectAccounts(config, args.accounts);
    if (args.json) std::cout << "[";
    bool first = true;
    for (const auto* account : accounts) {
        auto record = ledger->account(account->name).value_or(mc::ledger::AccountRecord{.name = account->name});
        if (args.json) {
            std::cout << (first ? "" : ",") << "\n  {\"account\":" << jsonString(account->name)
                      << ",\"last_poll\":" << record.lastPollAt << ",\"result\":" << jsonString(record.lastResult)
                      << ",\"last_error\":" << jsonString(record.lastError) << ",\"seen\":" << record.seen
                      << ",\"delivered\":" << record.delivered << ",\"deleted\":" << record.deleted
                      << ",\"quarantined\":" << record.quarantined << ",\"skipped\":" << record.skipped
                      << ",\"pending\":" << record.pending << "}";
        } else {
            std::cout << account->name << ": last poll " << formatTime(record.lastPollAt) << ", "
                      << (record.lastResult.empty() ? "never polled" : record.lastResult) << "; delivered "
                      << record.delivered << ", deleted " << record.deleted << ", quarantined "
                      << record.quarantined << ", skipped " << record.skipped << ", pending " << record.pending
                      << "\n";
            if (!record.lastError.empty()) std::cout << "  last error: " << record.lastError << "\n";
        }
        first = false;
    }
    if (args.json) std::cout << "\n]\n";
    return kExitOk;
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
        warnAboutPlaintext(config);
        return runCommand(config, args);
    } catch (const UsageError& e) {
        std::cerr << "mailcollector: " << e.what() << "\n";
        return kExitUsage;
    }
}
