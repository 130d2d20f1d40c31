#include "app/Cli.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "app/CommandTable.hpp"

namespace mc::app {
namespace {

// Lines of TEXT after the first are indented by INDENT spaces; each line gets PREFIX first.
std::string indentLines(const std::string& text, const std::string& prefix, std::size_t indent) {
    std::istringstream in(text);
    std::string out, line;
    bool first = true;
    while (std::getline(in, line)) {
        out += (first ? prefix : std::string(indent, ' ') + prefix) + line + "\n";
        first = false;
    }
    return out;
}

const OptionSpec* findOption(const CommandSpec& command, const std::string& name) {
    for (const auto& option : command.options)
        if (option.name == name) return &option;
    return nullptr;
}

}  // namespace

const std::vector<std::string>& Invocation::values(const std::string& option) const {
    static const std::vector<std::string> none;
    auto it = options.find(option);
    return it == options.end() ? none : it->second;
}

std::string Invocation::value(const std::string& option) const {
    const auto& all = values(option);
    return all.empty() ? std::string() : all.back();
}

Invocation parseCommandLine(const std::vector<std::string>& words) {
    Invocation invocation;
    const CommandSpec* command = nullptr;
    bool help = false, version = false;
    for (std::size_t i = 0; i < words.size(); ++i) {
        std::string word = words[i];
        std::string attached;  // --option=value
        bool hasAttached = false;
        if (word.rfind("--", 0) == 0 && word.find('=') != std::string::npos) {
            attached = word.substr(word.find('=') + 1);
            word = word.substr(0, word.find('='));
            hasAttached = true;
        }
        auto value = [&](const std::string& option) {
            if (hasAttached) return attached;
            if (i + 1 >= words.size()) throw UsageError(option + " needs a value");
            return words[++i];
        };
        if (word == "-h" || word == "--help" || (!command && word == "help")) {
            help = true;
        } else if (word == "--version") {
            version = true;
        } else if (word == "-c" || word == "--config") {
            invocation.configPath = value("-c");
        } else if (word == "-v" || word == "--verbose") {
            invocation.verbosity = std::max(invocation.verbosity, 0) + 1;
        } else if (word == "-vv") {
            invocation.verbosity = 2;
        } else if (word == "-q" || word == "--quiet") {
            invocation.verbosity = -1;
        } else if (word == "--trace") {
            invocation.trace = true;
        } else if (!command && !word.empty() && word[0] != '-') {
            if (help) {
                invocation.operands.push_back(word);
                continue;
            }
            command = findCommand(word);
            if (!command) throw UsageError("unknown command '" + word + "'");
            invocation.command = word;
        } else if (const OptionSpec* option = command ? findOption(*command, word) : nullptr) {
            invocation.options[word].push_back(option->takesValue ? value(word) : std::string());
        } else if (command && !word.empty() && word[0] != '-' && !hasAttached) {
            invocation.operands.push_back(word);
        } else {
            throw UsageError("unexpected argument '" + words[i] + "'");
        }
    }
    if (help) {
        std::vector<std::string> topic;
        if (command) topic.push_back(command->name);
        topic.insert(topic.end(), invocation.operands.begin(), invocation.operands.end());
        invocation = Invocation{};
        invocation.command = "help";
        invocation.operands = topic;
        return invocation;
    }
    if (version) {
        invocation.command = "version";
        return invocation;
    }
    if (!command) throw UsageError("no command given");
    if (!command->takesOperands && !invocation.operands.empty())
        throw UsageError("unexpected argument '" + invocation.operands.front() + "'");
    if (command->checkUsage) command->checkUsage(invocation);
    return invocation;
}

std::vector<std::string> defaultConfigPaths() {
    std::vector<std::string> paths;
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg == '/')
        paths.push_back(std::string(xdg) + "/mailcollector/config.toml");
    else if (const char* home = std::getenv("HOME"); home && *home == '/')
        paths.push_back(std::string(home) + "/.config/mailcollector/config.toml");
    paths.push_back("/etc/mailcollector/config.toml");
    return paths;
}

std::string usageText() {
    std::string text = "mailcollector - collect mail from many POP3 and IMAP accounts into one mailbox\n\nusage:\n";
    for (const auto& command : commands()) text += indentLines(command.synopsis, "  mailcollector ", 0);
    text += "  mailcollector help [COMMAND] | --help | --version\n\n";
    text +=
        "options for every command: -c FILE (default: $XDG_CONFIG_HOME/mailcollector/config.toml, then\n"
        "/etc/mailcollector/config.toml), -v (debug; -v -v: trace), -q (warnings and errors only), --trace\n"
        "(the protocol exchange, credentials and message bodies left out)\n\n";
    for (const auto& command : commands()) {
        std::string name = command.name;
        name.resize(11, ' ');
        text += name + indentLines(command.summary, "", 11).substr(0);
    }
    text += "\nexit codes: 0 all well, 1 some account failed, 2 bad usage or config, 3 the ledger failed\n";
    return text;
}

std::string commandHelpText(const std::string& name) {
    const CommandSpec* command = findCommand(name);
    if (!command) return "";
    return "usage:\n" + indentLines(command->synopsis, "  mailcollector ", 0) + "\n" + command->help;
}

}  // namespace mc::app
