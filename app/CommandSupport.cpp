#include "app/CommandSupport.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <ctime>
#include <iostream>
#include <utility>

#include "app/Cli.hpp"
#include "app/ProgressBoard.hpp"
#include "proto/SafeText.hpp"
#include "schedules/Logging.hpp"

namespace mc::app {

namespace {

spdlog::level::level_enum chosenLevel = spdlog::level::info;

}  // namespace

std::string chooseLogLevel(int verbosity, bool trace) {
    std::string warning;
    chosenLevel = spdlog::level::info;
    if (const char* level = std::getenv("MC_LOG_LEVEL"); level && *level) {
        // spdlog reads an unknown name as "off", which would hide even errors.
        const auto parsed = spdlog::level::from_str(level);
        if (parsed == spdlog::level::off && std::string(level) != "off")
            warning = "MC_LOG_LEVEL=" + proto::terminalEscape(level, 40) +
                      " is not a level (trace, debug, info, warn, error, critical, off); using info";
        else
            chosenLevel = parsed;
    }
    if (verbosity < 0) chosenLevel = spdlog::level::warn;
    if (verbosity == 1) chosenLevel = spdlog::level::debug;
    if (verbosity >= 2 || trace) chosenLevel = spdlog::level::trace;
    return warning;
}

void setUpLogging(const config::Config* config, std::shared_ptr<ProgressBoard> board) {
    std::shared_ptr<spdlog::sinks::sink> sink;
    if (board)
        sink = std::make_shared<ProgressSink>(std::move(board));
    else
        sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto logger =
        std::make_shared<spdlog::logger>("mailcollector", std::make_shared<schedules::RepeatLimitingSink>(sink));
    logger->set_formatter(schedules::makeLogFormatter(config ? config->collector.logFormat : "text"));
    logger->set_level(chosenLevel);
    logger->flush_on(spdlog::level::info);
    spdlog::drop("mailcollector");
    spdlog::set_default_logger(logger);
}

void warnAboutPlaintext(const config::Config& config) {
    for (const auto& account : config.accounts)
        if (account.endpoint.tls == config::TlsMode::None)
            spdlog::warn("account={} uses tls = \"none\": the password crosses the network in the clear", account.name);
    if (config.target.endpoint.tls == config::TlsMode::None) spdlog::warn("target uses tls = \"none\"");
}

std::vector<const config::AccountSettings*> selectAccounts(const config::Config& config,
                                                           const std::vector<std::string>& names) {
    std::vector<const config::AccountSettings*> selected;
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

std::unique_ptr<ledger::LedgerStore> openLedgerOrSay(const config::Config& config) {
    try {
        return ledger::openLedger(config.collector.ledger);
    } catch (const ledger::LedgerError& e) {
        std::cerr << "cannot open the ledger: " << e.what() << "\n";
        return nullptr;
    }
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

std::string jsonString(const std::string& text) { return "\"" + proto::jsonEscape(text) + "\""; }

std::string shown(const std::string& text) { return proto::terminalEscape(text, 2000); }

}  // namespace mc::app
