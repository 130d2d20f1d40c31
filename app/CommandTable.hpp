#pragma once
// Every command of the executable, one entry each: its name, usage line(s), help text, options,
// and the function that runs it. Adding a command is one file (app/FooCommand.cpp) and one line
// in commands() (CommandTable.cpp).

#include <functional>
#include <string>
#include <vector>

#include "app/Cli.hpp"
#include "config/Config.hpp"

namespace mc::app {

struct OptionSpec {
    std::string name;  // "--account"
    bool takesValue = false;
};

struct CommandSpec {
    std::string name;
    std::string synopsis;  // usage line(s) after "mailcollector ", one per line
    std::string summary;   // what it does, for the global page (one paragraph)
    std::string help;      // the command's own page (`help CMD`, `CMD --help`), after the synopsis
    std::vector<OptionSpec> options;
    bool takesOperands = false;  // words after the command that are not options
    bool needsConfig = false;    // the config is loaded (from -c FILE) before `run`
    // Checks operands and option combinations; throws UsageError. May be empty.
    std::function<void(const Invocation&)> checkUsage;
    // Runs the command; `config` is null unless needsConfig. Returns the exit code.
    std::function<int(const Invocation&, const config::Config* config)> run;
};

const std::vector<CommandSpec>& commands();
const CommandSpec* findCommand(const std::string& name);

// The commands, each defined in its own file.
CommandSpec runCommandSpec();
CommandSpec pollCommandSpec();
CommandSpec checkCommandSpec();
CommandSpec validateCommandSpec();
CommandSpec statusCommandSpec();
CommandSpec oauth2CommandSpec();
CommandSpec quarantineCommandSpec();
CommandSpec importCommandSpec();
CommandSpec ledgerCommandSpec();
CommandSpec configCommandSpec();
CommandSpec addCommandSpec();

}  // namespace mc::app
