#pragma once
// The command line: exit codes, what a command line said (Invocation), and the parser that reads
// it against the commands' declared options (CommandTable). Pure: no I/O.

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace mc::app {

constexpr int kExitOk = 0;
constexpr int kExitAccountFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitLedger = 3;

// Bad usage: printed with the usage text, exit 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One command line, parsed. Options are recorded under their long name ("--account"); a flag
// holds one empty value per time it was given.
struct Invocation {
    std::string command;
    std::string configPath;             // -c / --config
    std::vector<std::string> operands;  // the words after the command that are not options
    std::map<std::string, std::vector<std::string>> options;
    int verbosity = 0;   // -v: debug, -v -v: trace; -q: -1 (warnings and errors only)
    bool trace = false;  // --trace: the protocol exchange, credentials and message bodies redacted

    bool has(const std::string& option) const { return options.count(option) != 0; }
    // Every value given to a repeatable option (--account A --account B), in order.
    const std::vector<std::string>& values(const std::string& option) const;
    // The last value given to an option, or "".
    std::string value(const std::string& option) const;
    const std::vector<std::string>& accounts() const { return values("--account"); }
};

// Parses argv. `-h`/`--help` anywhere makes the command "help" (with the command named, if any,
// as its operand); `--version` makes it "version". Throws UsageError.
Invocation parseCommandLine(const std::vector<std::string>& words);

// Where the config is looked for when -c is not given: $XDG_CONFIG_HOME/mailcollector/config.toml
// (~/.config/... without XDG_CONFIG_HOME), then /etc/mailcollector/config.toml.
std::vector<std::string> defaultConfigPaths();

// The global usage page, and one command's help page ("" when there is no such command).
std::string usageText();
std::string commandHelpText(const std::string& name);

}  // namespace mc::app
