// `mailcollector add ADDRESS -c FILE`: a new account from an address, the way Gmail's "Add a mail
// account" did it -- the provider preset fills in the server (and the protocol it offers), the
// secret goes to a file of its own (0600), the same checks as `check` run, and only then is an
// [[account]] table appended to the config, leaving its comments, layout and mode as they were.
// The config stays locked (flock) for the whole add, so that two adds cannot both take a name,
// and a failed append is cut back off: the file is whole before and after.

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
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

// The config loader's rule for account names; it also keeps secrets/NAME inside secrets/.
bool isAccountName(const std::string& name) {
    return !name.empty() && name != "." && name != ".." && std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '_' || c == '-';
    });
}

// The terminal's settings while a secret is read without echo, for the signal handler.
termios gSavedTerminal{};
volatile std::sig_atomic_t gTerminalSaved = 0;

// Ctrl-C (or a kill) at the password prompt: echo back on, then the signal's own end.
extern "C" void restoreTerminalAndReraise(int signal) {
    if (gTerminalSaved) ::tcsetattr(STDIN_FILENO, TCSANOW, &gSavedTerminal);
    [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, "\n", 1);
    ::signal(signal, SIG_DFL);
    ::raise(signal);
}

// While it lives, the signals that end the program restore the terminal first.
class TerminalRestorer {
public:
    explicit TerminalRestorer(const termios& saved) {
        gSavedTerminal = saved;
        gTerminalSaved = 1;
        for (std::size_t i = 0; i < kSignals.size(); ++i) {
            struct sigaction action {};
            action.sa_handler = restoreTerminalAndReraise;
            ::sigemptyset(&action.sa_mask);
            installed_[i] = ::sigaction(kSignals[i], nullptr, &previous_[i]) == 0 &&
                            previous_[i].sa_handler != SIG_IGN &&  // e.g. nohup: keep ignoring it
                            ::sigaction(kSignals[i], &action, nullptr) == 0;
        }
    }
    ~TerminalRestorer() {
        for (std::size_t i = 0; i < kSignals.size(); ++i)
            if (installed_[i]) ::sigaction(kSignals[i], &previous_[i], nullptr);
        gTerminalSaved = 0;
    }
    TerminalRestorer(const TerminalRestorer&) = delete;
    TerminalRestorer& operator=(const TerminalRestorer&) = delete;

private:
    static constexpr std::array<int, 4> kSignals{SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    std::array<struct sigaction, 4> previous_{};
    std::array<bool, 4> installed_{};
};

// One line from the terminal (echo off when `secret`) or, without one, from stdin.
std::string askLine(const std::string& prompt, bool secret) {
    const bool terminal = ::isatty(STDIN_FILENO) == 1;
    termios saved{};
    bool quiet = false;
    if (terminal) {
        std::cerr << prompt << std::flush;
        quiet = secret && ::tcgetattr(STDIN_FILENO, &saved) == 0;
    }
    std::optional<TerminalRestorer> restorer;
    if (quiet) {
        restorer.emplace(saved);
        termios noEcho = saved;
        noEcho.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &noEcho);
    }
    std::string line;
    const bool got = static_cast<bool>(std::getline(std::cin, line));
    if (quiet) {
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        restorer.reset();
    }
    if (terminal && secret) std::cerr << "\n";
    if (!got) throw UsageError("no input for: " + prompt);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

// Before the password is asked for: secrets/ beside the config must be a real directory (or
// not exist yet), and secrets/NAME must not exist.
void checkSecretPlace(const fs::path& dir, const std::string& name) {
    struct stat status {};
    if (::lstat(dir.c_str(), &status) == 0) {
        if (S_ISLNK(status.st_mode))
            throw UsageError(dir.string() +
                             " is a symbolic link: secrets are written only into a real directory "
                             "(make it one, mode 0700, or give the secret with --password-file F)");
        if (!S_ISDIR(status.st_mode)) throw UsageError(dir.string() + " is not a directory");
    } else if (errno != ENOENT) {
        throw std::runtime_error("cannot look at " + dir.string() + ": " + std::strerror(errno));
    }
    const fs::path file = dir / name;
    if (::lstat(file.c_str(), &status) == 0)
        throw UsageError(file.string() + " exists already (an earlier add?): use it with --password-file " +
                         file.string() + ", or remove it, or choose another --name");
}

// Writes the secret to DIR/NAME: DIR made 0700 if missing and never followed if it is a symbolic
// link; NAME created new (O_EXCL), 0600, never through a symbolic link.
fs::path writeSecretFile(const fs::path& dir, const std::string& name, const std::string& secret) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        throw std::runtime_error("cannot create " + dir.string() + ": " + std::strerror(errno));
    const int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dirFd < 0)
        throw std::runtime_error("cannot open " + dir.string() +
                                 " (a symbolic link is refused): " + std::strerror(errno));
    ::fchmod(dirFd, 0700);  // only its owner may list or enter it (fails harmlessly if not ours)
    fs::path file = dir / name;
    const int fd = ::openat(dirFd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    const int openError = errno;
    if (fd < 0) {
        ::close(dirFd);
        if (openError == EEXIST)
            throw UsageError(file.string() + " exists already: use it with --password-file " + file.string() +
                             ", or remove it, or choose another --name");
        throw std::runtime_error("cannot create " + file.string() + ": " + std::strerror(openError));
    }
    const std::string text = secret + "\n";
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!written) ::unlinkat(dirFd, name.c_str(), 0);
    ::close(dirFd);
    if (!written) throw std::runtime_error("cannot write " + file.string());
    return file;
}

// The config, open and locked (flock, exclusive) until destroyed: every `add` takes this lock
// before it reads the file, so two of them run one after the other.
class LockedConfig {
public:
    explicit LockedConfig(const std::string& path) : path_(path) {
        fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        if (fd_ < 0 && errno == ENOENT)
            throw UsageError(path +
                             " does not exist; add appends to a config that has a [collector] and a [target] "
                             "table. Write one first (see examples/single-user.toml and \"Using it\" in the "
                             "README, or `mailcollector import fetchmailrc ~/.fetchmailrc > " +
                             path + "`), then run add again");
        if (fd_ < 0) throw std::runtime_error("cannot open " + path + " for writing: " + std::strerror(errno));
        if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
        if (errno != EWOULDBLOCK) fail("cannot lock");
        std::cerr << "mailcollector: add: waiting for another `mailcollector add` to finish with " << path << "\n";
        while (::flock(fd_, LOCK_EX) != 0)
            if (errno != EINTR) fail("cannot lock");
    }
    ~LockedConfig() { ::close(fd_); }  // and the lock with it
    LockedConfig(const LockedConfig&) = delete;
    LockedConfig& operator=(const LockedConfig&) = delete;

    // The whole file as it is now.
    std::string read() const {
        std::string text;
        char buffer[65536];
        for (off_t offset = 0;;) {
            const ssize_t got = ::pread(fd_, buffer, sizeof buffer, offset);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) fail("cannot read");
            if (got == 0) return text;
            text.append(buffer, static_cast<std::size_t>(got));
            offset += got;
        }
    }

    // Appends TEXT after the SIZE bytes the caller read; a short or failed write (a full disk) is
    // cut back off, so that no half [[account]] table stays behind.
    void append(std::size_t size, const std::string& text) const {
        struct stat byFd {
        }, byPath{};
        if (::fstat(fd_, &byFd) != 0) fail("cannot look at");
        if (::stat(path_.c_str(), &byPath) != 0 || byPath.st_dev != byFd.st_dev || byPath.st_ino != byFd.st_ino ||
            static_cast<std::size_t>(byFd.st_size) != size)
            throw std::runtime_error(path_ + " changed while the account was being added (an editor saved it?): " +
                                     "nothing added; run add again");
        std::size_t done = 0;
        int error = 0;
        while (done < text.size()) {
            const ssize_t wrote =
                ::pwrite(fd_, text.data() + done, text.size() - done, static_cast<off_t>(size + done));
            if (wrote < 0 && errno == EINTR) continue;
            if (wrote <= 0) {
                error = wrote < 0 ? errno : EIO;
                break;
            }
            done += static_cast<std::size_t>(wrote);
        }
        if (done == text.size() && ::fsync(fd_) == 0) return;
        if (error == 0) error = errno;
        const bool restored = ::ftruncate(fd_, static_cast<off_t>(size)) == 0 && ::fsync(fd_) == 0;
        throw std::runtime_error("cannot append to " + path_ + ": " + std::strerror(error) +
                                 (restored ? "; the file is as it was, nothing added"
                                           : "; and cannot cut it back to its " + std::to_string(size) +
                                                 " bytes: remove the partial [[account]] at its end by hand"));
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw std::runtime_error(what + " " + path_ + ": " + std::strerror(errno));
    }

    std::string path_;
    int fd_ = -1;
};

struct NewAccount {
    std::string name;
    std::string address;
    std::string block;  // the [[account]] table as appended
    fs::path createdSecret;
};

// The account's name, checked before anything is asked or written: it names secrets/NAME.
std::string accountName(const Invocation& invocation) {
    std::string name =
        invocation.has("--name") ? invocation.value("--name") : nameFromAddress(invocation.operands.at(0));
    if (!isAccountName(name))
        throw UsageError("--name \"" + name + "\": an account name may contain only letters, digits, '.', '_' and '-'");
    return name;
}

// The protocol: --protocol, else what the preset offers (POP3 when it has it, else IMAP: iCloud).
// Refuses, before any secret is asked for, what the preset's provider would refuse: a protocol it
// does not offer, and a password where it takes only OAuth2 (Outlook.com, Microsoft 365).
std::string chooseProtocol(const Invocation& invocation, const config::ProviderPreset* preset) {
    const bool serverFromPreset = preset && !invocation.has("--host");
    std::string protocol = invocation.value("--protocol");
    if (protocol.empty()) protocol = serverFromPreset && preset->pop3.host.empty() ? "imap" : "pop3";
    if (protocol != "pop3" && protocol != "imap") throw UsageError("--protocol must be pop3 or imap");
    if (!serverFromPreset) return protocol;
    const std::string name(preset->name);
    if (config::presetServer(*preset, protocol == "imap" ? config::SourceProtocol::Imap : config::SourceProtocol::Pop3)
            .host.empty())
        throw UsageError(name + " offers no " + (protocol == "imap" ? "IMAP" : "POP3") + ": give --protocol " +
                         (protocol == "imap" ? "pop3" : "imap") + " (or leave --protocol out)");
    if (preset->oauth2Only && !invocation.has("--oauth2"))
        throw UsageError(name +
                         " accepts only OAuth2 logins, no passwords: add it with --oauth2 --oauth2-client-id ID "
                         "(the id of an OAuth client you registered for the device flow; see \"OAuth2\" in the "
                         "README), then run `mailcollector oauth2 authorize`");
    return protocol;
}

// The [[account]] table for the invocation: the preset's server unless --host (or the answers to
// "host"/"port" when no preset knows the address), and where the secret is.
NewAccount describeAccount(const Invocation& invocation, const config::Config& existing, const fs::path& configDir) {
    NewAccount account;
    account.address = invocation.operands.at(0);
    account.name = accountName(invocation);
    if (existing.findAccount(account.name))
        throw UsageError("an account named \"" + account.name + "\" exists already; choose another with --name");

    const config::ProviderPreset* preset = invocation.has("--provider")
                                               ? config::findProvider(invocation.value("--provider"))
                                               : config::providerForAddress(account.address);
    if (invocation.has("--provider") && !preset)
        throw UsageError("unknown provider \"" + invocation.value("--provider") +
                         "\"; known: " + config::providerIds());
    const std::string protocol = chooseProtocol(invocation, preset);
    if (invocation.has("--oauth2") && invocation.value("--oauth2-client-id").empty())
        throw UsageError(
            "--oauth2 needs --oauth2-client-id ID: the id of the OAuth client you registered (see "
            "\"OAuth2\" in the README)");
    const bool asksSecret = !invocation.has("--oauth2") && !invocation.has("--password-file");
    const fs::path secretsDir = configDir / "secrets";
    if (asksSecret) checkSecretPlace(secretsDir, account.name);
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
              << "oauth2_refresh_token_file = " << tomlString((secretsDir / (account.name + ".refresh")).string())
              << "\n";
    } else if (invocation.has("--password-file")) {
        block << "password_file = "
              << tomlString(fs::absolute(invocation.value("--password-file")).lexically_normal().string()) << "\n";
    } else {
        const std::string secret = askLine("password (or app password) for " + account.address + ": ", true);
        if (secret.empty()) throw UsageError("an empty password: nothing added");
        account.createdSecret = writeSecretFile(secretsDir, account.name, secret);
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
    if (invocation.operands.size() != 1) throw UsageError("add takes one ADDRESS");
    accountName(invocation);  // a bad --name is refused before the config is even opened
    // Locked for the whole add: a second add waits here, then reads the file with this one's
    // account in it.
    LockedConfig locked(path);
    config::Config before = config::loadConfig(path);  // refuses a broken or unsafe file first
    setUpLogging(&before);
    const fs::path configDir = fs::absolute(path).parent_path();
    NewAccount account = describeAccount(invocation, before, configDir);
    auto forgetSecret = [&] {
        std::error_code ignored;
        if (!account.createdSecret.empty()) fs::remove(account.createdSecret, ignored);
    };
    try {
        std::string text = locked.read();
        std::string separator = !text.empty() && text.back() != '\n' ? "\n" : "";
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
        // The check took a while: append to the file as it is now (an editor may have saved it),
        // and only if the account still fits in.
        const std::string now = locked.read();
        if (now != text) {
            text = now;
            separator = !text.empty() && text.back() != '\n' ? "\n" : "";
            if (config::parseConfig(text, path).findAccount(account.name))
                throw UsageError("an account named \"" + account.name + "\" was added to " + path +
                                 " meanwhile; nothing added");
            config::parseConfig(text + separator + account.block, path);
        }
        locked.append(text.size(), separator + account.block);
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
        "existing file instead; providers that take only OAuth2 (Outlook.com, Microsoft 365) need\n"
        "--oauth2. The account is then checked as `check` does (login and listing) and appended only\n"
        "when that works; FILE's comments, layout and mode stay as they were. FILE stays locked\n"
        "meanwhile (another add waits), and a failed write leaves it as it was.\n"
        "\n"
        "options:\n"
        "  --name N              account name: letters, digits, '.', '_', '-' (default: the address,\n"
        "                        '@' as '-')\n"
        "  --protocol pop3|imap  default pop3, or imap when the provider has no POP3 (iCloud)\n"
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
