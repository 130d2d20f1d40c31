#pragma once
// What several commands share: logging set-up, account selection, the ledger opener, and the
// formatting of ledger text for the terminal and JSON.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "collector/ledger/LedgerStore.hpp"
#include "config/Config.hpp"

namespace mc::app {

class ProgressBoard;

// The level of every later setUpLogging: -q, nothing, -v, -v -v (VERBOSITY -1..2), else
// MC_LOG_LEVEL when set; returns a warning when MC_LOG_LEVEL holds no level ("" otherwise).
std::string chooseLogLevel(int verbosity, bool trace);

// The default logger: stderr (through BOARD's line when given), in the config's log_format.
void setUpLogging(const config::Config* config, std::shared_ptr<ProgressBoard> board = {});

void warnAboutPlaintext(const config::Config& config);

// The accounts NAMES name (all when empty); throws UsageError for a name not in the config.
std::vector<const config::AccountSettings*> selectAccounts(const config::Config& config,
                                                           const std::vector<std::string>& names);

// The ledger of `config`, or nullptr after saying on stderr why it cannot be opened (exit 3).
std::unique_ptr<ledger::LedgerStore> openLedgerOrSay(const config::Config& config);

// Local time "YYYY-MM-DD HH:MM:SS", or "never" for 0.
std::string formatTime(std::int64_t seconds);

// A JSON string for any bytes (server text from the ledger included): always valid UTF-8.
std::string jsonString(const std::string& text);

// Ledger text for the terminal: server-controlled bytes (escapes, CR LF) cannot reach it raw.
std::string shown(const std::string& text);

}  // namespace mc::app
