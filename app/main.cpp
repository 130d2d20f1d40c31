// mailcollector: the executable. Thin: parses the command line, loads the config when the command
// needs one, and runs the command (app/*Command.cpp). Exit codes: 0 all well, 1 an account failed,
// 2 usage/config, 3 ledger.

#include <unistd.h>

#include <iostream>
#include <sstream>

#include "app/Cli.hpp"
#include "app/CommandSupport.hpp"
#include "app/CommandTable.hpp"
#include "net/LineChannel.hpp"
#include "proto/SafeText.hpp"

namespace {

int helpCommand(const mc::app::Invocation& invocation) {
    if (invocation.operands.empty()) {
        std::cout << mc::app::usageText();
        return mc::app::kExitOk;
    }
    const std::string text = mc::app::commandHelpText(invocation.operands.front());
    if (text.empty()) {
        std::cerr << "mailcollector: no command '" << invocation.operands.front() << "'\n\n" << mc::app::usageText();
        return mc::app::kExitUsage;
    }
    std::cout << text;
    return mc::app::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace mc::app;
    Invocation invocation;
    try {
        invocation = parseCommandLine(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const UsageError& e) {
        std::cerr << "mailcollector: " << e.what() << "\n\n" << usageText();
        return kExitUsage;
    }
    if (invocation.command == "help") return helpCommand(invocation);
    if (invocation.command == "version") {
        std::cout << "mailcollector " << MC_VERSION << "\n";
        return kExitOk;
    }
    const CommandSpec& command = *findCommand(invocation.command);
    const std::string levelWarning = chooseLogLevel(invocation.verbosity, invocation.trace);
    if (!levelWarning.empty()) std::cerr << "mailcollector: warning: " << levelWarning << "\n";
    mc::net::setProtocolTrace(invocation.trace);
    mc::config::Config config;
    if (command.needsConfig && invocation.configPath.empty()) {
        const auto candidates = defaultConfigPaths();
        for (const auto& path : candidates)
            if (::access(path.c_str(), F_OK) == 0) {
                invocation.configPath = path;
                break;
            }
        if (invocation.configPath.empty()) {
            std::cerr << "mailcollector: " << command.name << " needs a config: give -c FILE, or create ";
            for (std::size_t i = 0; i < candidates.size(); ++i) std::cerr << (i == 0 ? "" : " or ") << candidates[i];
            std::cerr << " ('mailcollector import' translates a fetchmailrc or getmailrc)\n";
            return kExitUsage;
        }
    }
    if (command.needsConfig) {
        try {
            config = mc::config::loadConfig(invocation.configPath);
        } catch (const mc::config::ConfigError& e) {
            // One line per problem, each "mailcollector: FILE:LINE: KEY: problem".
            std::istringstream problems(e.what());
            for (std::string line; std::getline(problems, line);) std::cerr << "mailcollector: " << line << "\n";
            return kExitUsage;
        }
        setUpLogging(&config);
    }
    try {
        return command.run(invocation, command.needsConfig ? &config : nullptr);
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
