#include "app/CommandTable.hpp"

namespace mc::app {

const std::vector<CommandSpec>& commands() {
    static const std::vector<CommandSpec> table{
        runCommandSpec(),    pollCommandSpec(),   checkCommandSpec(),      validateCommandSpec(),
        statusCommandSpec(), oauth2CommandSpec(), quarantineCommandSpec(), importCommandSpec(),
        ledgerCommandSpec(), configCommandSpec(), addCommandSpec(),
    };
    return table;
}

const CommandSpec* findCommand(const std::string& name) {
    for (const auto& command : commands())
        if (command.name == name) return &command;
    return nullptr;
}

}  // namespace mc::app
