// `mailcollector add ADDRESS -c FILE`: a new account from an address, the way Gmail's "Add a mail
// account" did it -- the provider preset fills in the server, the secret goes to a file of its
// own (0600), the same checks as `check` run, and only then is an [[account]] table appended to
// the config, leaving its comments, layout and mode as they were.

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/CommandSupport.hpp"
#include "app/CommandTable.hpp"
#include "collector/AccountPoller.hpp"
#include "config/Importers.hpp"
#include "config/Providers.hpp"

namespace mc::app {
namespace {

namespace fs = std::filesystem;
using config::importer::tomlString;

// "me@mail.ru" -> "me-mail.ru": only what an account name may hold.
std::string nameFromAddress(const std::string& address) {
    std::string name;
    for (unsigned char c : address) name += std::isalnum(c) || c == '.' || c == '_' || c == '-' ? char(c) : '-';
    return name;
}

// One line from the terminal (echo off when `secret`) or, without one, from stdin.
std::string askLine(const std::string& prompt, bool secret) {
    const bool terminal = ::isatty(STDIN_FILENO) == 1;
    termios saved{};
    if (terminal) {
        std::cerr << prompt << std::flush;
        if (secret && ::tcgetattr(STDIN_FILENO, &saved) == 0) {
            termios quiet = saved;
            quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
            ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        }
    }
    std::string line;
    const bool got = static_cast<bool>(std::getline(std::cin, line));
    if (terminal && secret) {
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        std::cerr << "\n";
    }
    if (!got) throw UsageError("no input for: " + prompt);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

// Writes the secret to DIR/NAME (0600, DIR 0700), never through a symbolic link.
fs::path writeSecretFile(const fs::path& dir, const std::string& name, const std::string& secret) {
    std::error_code error;
    fs::create_directories(dir, error);
    ::chmod(dir.c_str(), 0700);
    const fs::path file = dir / name;
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + file.string() + ": " + std::strerror(errno));
    const std::string text = secret + "\n";
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!written) {
        fs::remove(file, error);
        throw std::runtime_error("cannot write " + file.string());
    }
    return file;
}

std::string readWhole(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void appendToFile(const std::string& path, const std::string& text) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot open " + path + " to append: " + std::strerror(errno));
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!written) throw std::runtime_error("cannot append to " + path);
}

struct NewAccount {
    std::string name;
    std::string address;
    std::string block;  // the [[account]] table as appended
    fs::path createdSecret;
};

// The [[account]] table for the invocation: the preset's server unless --host (or the answers to
// "host"/"port" when no preset knows the address), and where the secret is.
NewAccount describeAccount(const Invocation& invocation, const config::Config& existing, const fs::path& configDir) {
    NewAccount account;
    account.address = invocation.operands.at(0);
    account.name = invocation.has("--name") ? invocation.value("--name") : nameFromAddress(account.address);
    if (existing.findAccount(account.name))
        throw UsageError("an account named \"" + account.name + "\" exists already; choose another with --name");
    const std::string protocol = invocation.has("--protocol") ? invocation.value("--protocol") : "pop3";
    if (protocol != "pop3" && protocol != "imap") throw UsageError("--protocol must be pop3 or imap");

    const config::ProviderPreset* preset = invocation.has("--provider")
                                               ? config::findProvider(invocation.value("--provider"))
                                               : config::providerForAddress(account.address);
    if (invocation.has("--provider") && !preset)
        throw UsageError("unknown provider \"" + invocation.value("--provider") +
                         "\"; known: " + config::providerIds());
    std::string host = invocation.value("--host"), port = invocation.value("--port");
    if (host.empty() && !preset) {
        std::cerr << "no provider preset knows " << account.address
                  << "; give the server as the old mail program had it\n";
        host = askLine("host: ", false);
        if (port.empty()) port = askLine("port (empty: 995 for pop3, 993 for imap): ", false);
    }

    if (!port.empty() && (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos))
        throw UsageError("port must be a number, not \"" + port + "\"");
    std::ostringstream block;
    block << "\n[[account]]\n"
          << "name = " << tomlString(account.name) << "\n";
    if (invocation.has("--provider")) block << "provider = " << tomlString(invocation.value("--provider")) << "\n";
    block << "protocol = " << tomlString(protocol) << "\n";
    if (!host.empty()) block << "host = " << tomlString(host) << "\n";
    if (!port.empty()) block << "port = " << port << "\n";
    if (invocation.has("--tls")) block << "tls = " << tomlString(invocation.value("--tls")) << "\n";
    block << "username = " << tomlString(account.address) << "\n";
    if (invocation.has("--oauth2")) {
        block << "auth = \"xoauth2\"\n"
              << "oauth2_client_id = " << tomlString(invocation.value("--oauth2-client-id")) << "\n"
              << "oauth2_refresh_token_file = "
              << tomlString((configDir / "secrets" / (account.name + ".refresh")).string()) << "\n";
    } else if (invocation.has("--password-file")) {
        block << "password_file = "
              << tomlString(fs::absolute(invocation.value("--password-file")).lexically_normal().string()) << "\n";
    } else {
        const std::string secret = askLine("password (or app password) for " + account.address + ": ", true);
        if (secret.empty()) throw UsageError("an empty password: nothing added");
        account.createdSecret = writeSecretFile(configDir / "secrets", account.name, secret);
        block << "password_file = " << tomlString(account.createdSecret.string()) << "\n";
    }
    if (invocation.has("--label")) {
        block << "labels = [";
        for (const auto& label : invocation.values("--label"))
            block << (&label == &invocation.values("--label").front() ? "" : ", ") << tomlString(label);
        block << "]\n";
    }
    account.block = block.str();
    return account;
}

int addCommand(const Invocation& invocation) {
    const std::string& path = invocation.configPath;
    config::Config before = config::loadConfig(path);  // refuses a broken or unsafe file first
    setUpLogging(&before);
    const fs::path configDir = fs::absolute(path).parent_path();
    if (invocation.operands.size() != 1) throw UsageError("add takes one ADDRESS");
    NewAccount account = describeAccount(invocation, before, configDir);
    auto forgetSecret = [&] {
        std::error_code ignored;
        if (!account.createdSecret.empty()) fs::remove(account.createdSecret, ignored);
    };
    try {
        std::string text = readWhole(path);
        const std::string separator = !text.empty() && text.back() != '\n' ? "\n" : "";
        config::Config after = config::parseConfig(text + separator + account.block, path);
        const config::AccountSettings* added = after.findAccount(account.name);
        std::cout << account.name << ": " << config::describeServer(*added) << "\n";
        if (!invocation.has("--no-check") && !invocation.has("--oauth2")) {
            collector::CheckReport report = collector::checkAccount(after, *added, nullptr);
            std::cout << report.account << ": " << (report.ok ? "OK" : "FAILED") << " - " << report.detail << "\n";
            if (!report.ok) {
                forgetSecret();
                std::cout << "not added; fix the above and run add again (or add --no-check)\n";
                return kExitAccountFailed;
            }
        }
        appendToFile(path, separator + account.block);
    } catch (...) {
        forgetSecret();
        throw;
    }
    std::cout << "added account " << account.name << " to " << path
              << (account.createdSecret.empty() ? "" : "; its secret is in " + account.createdSecret.string()) << "\n";
    if (invocation.has("--oauth2"))
        std::cout << "next: mailcollector oauth2 authorize -c " << path << " --account " << account.name << "\n";
    return kExitOk;
}

}  // namespace

CommandSpec addCommandSpec() {
    CommandSpec spec;
    spec.name = "add";
    spec.synopsis =
        "add ADDRESS -c FILE [--password-file F | --oauth2 --oauth2-client-id ID] [--name N] [--protocol P]\n"
        "add ADDRESS -c FILE [--provider P | --host H [--port N] [--tls T]] [--label L]... [--no-check]";
    spec.summary =
        "adds an account: the provider preset from the address (or the server given), the secret\n"
        "asked for and kept in a 0600 file of its own, checked like `check`, then appended to FILE";
    spec.help =
        "Adds an [[account]] to FILE. The server comes from the provider preset of ADDRESS's domain\n"
        "(or --provider), else from --host/--port/--tls, else it is asked for. The password (an app\n"
        "password for most providers) is asked for without echo, or read from stdin when it is not a\n"
        "terminal, and written to secrets/NAME beside FILE (mode 0600); --password-file names an\n"
        "existing file instead. The account is then checked as `check` does (login and listing) and\n"
        "appended only when that works; FILE's comments, layout and mode stay as they were.\n"
        "\n"
        "options:\n"
        "  --name N              account name (default: the address, '@' as '-')\n"
        "  --protocol pop3|imap  default pop3\n"
        "  --provider P          a preset by name (gmail, outlook, office365, yandex, mailru, ...)\n"
        "  --host H, --port N, --tls implicit|starttls|none   the server, when no preset applies\n"
        "  --password-file F     the secret is in F\n"
        "  --oauth2              OAuth2 instead (then run `oauth2 authorize`); --oauth2-client-id ID\n"
        "  --label L             a label for its messages (repeatable)\n"
        "  --no-check            append without logging in\n";
    spec.options = {{"--name", true},          {"--protocol", true}, {"--provider", true},
                    {"--host", true},          {"--port", true},     {"--tls", true},
                    {"--password-file", true}, {"--oauth2", false},  {"--oauth2-client-id", true},
                    {"--label", true},         {"--no-check", false}};
    spec.takesOperands = true;
    spec.needsConfig = false;
    spec.checkUsage = [](const Invocation& invocation) {
        if (invocation.configPath.empty()) throw UsageError("add needs -c FILE (the config to add the account to)");
        if (invocation.operands.size() != 1) throw UsageError("add takes one ADDRESS");
    };
    spec.run = [](const Invocation& invocation, const config::Config*) {
        try {
            return addCommand(invocation);
        } catch (const UsageError&) {
            throw;
        } catch (const config::ConfigError& e) {
            std::cerr << "mailcollector: " << e.what() << "\n";
            return kExitUsage;
        } catch (const std::exception& e) {
            std::cerr << "mailcollector: add: " << e.what() << "\n";
            return kExitAccountFailed;
        }
    };
    return spec;
}

}  // namespace mc::app
