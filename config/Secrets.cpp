// Turning a SecretSource into the secret. Every message names `what` and the place the secret was
// looked for (file, variable) but never any part of the secret itself, nor the command line,
// which may carry one ("echo hunter2").

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include "config/Config.hpp"
#include "proto/UniqueFd.hpp"

extern char** environ;

namespace mc::config {

namespace {

// A secret is a password or token; anything bigger is a misconfiguration (say, /dev/zero).
constexpr std::size_t kMaxSecretBytes = 64 * 1024;
// A password command that hangs (a prompt nobody answers) must not stall a worker forever.
constexpr std::chrono::seconds kCommandTimeout{60};

[[noreturn]] void fail(const std::string& what, const std::string& problem) {
    throw ConfigError(what + ": " + problem);
}

std::string errnoText(int error) { return std::strerror(error); }

// Closes a file descriptor when the scope ends, so that early throws do not leak it.
using Fd = proto::UniqueFd;

void stripOneNewline(std::string& text) {
    if (text.size() >= 2 && text.compare(text.size() - 2, 2, "\r\n") == 0)
        text.resize(text.size() - 2);
    else if (!text.empty() && text.back() == '\n')
        text.pop_back();
}

std::string readSecretFile(const std::string& path, const std::string& what) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) fail(what, "cannot open password file " + path + ": " + errnoText(errno));
    std::string content;
    char buffer[4096];
    for (;;) {
        ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) fail(what, "cannot read password file " + path + ": " + errnoText(errno));
        if (got == 0) break;
        content.append(buffer, static_cast<std::size_t>(got));
        if (content.size() > kMaxSecretBytes) fail(what, "password file " + path + " is larger than 64 KiB");
    }
    stripOneNewline(content);
    if (content.empty()) fail(what, "password file " + path + " is empty");
    return content;
}

std::string readSecretEnv(const std::string& variable, const std::string& what) {
    const char* value = std::getenv(variable.c_str());
    if (!value) fail(what, "environment variable " + variable + " is not set");
    if (*value == '\0') fail(what, "environment variable " + variable + " is empty");
    return value;
}

// Starts /bin/sh -c COMMAND with stdout on a pipe and stdin on /dev/null; stderr is inherited so
// that the command's own complaints reach the log. Every other descriptor is closed in the child,
// CLOEXEC or not (sockets accepted by Poco are not): a command that leaves a process behind must
// not keep the admin port, the ledger or a mail connection open. Returns the pid; `readEnd` gets
// the pipe.
pid_t spawnShell(const std::string& command, Fd& readEnd, const std::string& what) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) fail(what, "cannot create a pipe: " + errnoText(errno));
    readEnd.reset(fds[0]);
    Fd writeEnd(fds[1]);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, writeEnd.get(), STDOUT_FILENO);
    posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
    const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
    pid_t pid = -1;
    int error = ::posix_spawn(&pid, "/bin/sh", &actions, nullptr, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) fail(what, "cannot run password command: " + errnoText(error));
    return pid;
}

// Reads everything the command prints (so it never dies of SIGPIPE) until EOF or the deadline.
// Returns false on timeout.
bool drainOutput(int fd, std::string& output, const std::string& what) {
    auto deadline = std::chrono::steady_clock::now() + kCommandTimeout;
    char buffer[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd waitFor{fd, POLLIN, 0};
        int ready = ::poll(&waitFor, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) fail(what, "cannot wait for password command: " + errnoText(errno));
        if (ready == 0) return false;
        ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) fail(what, "cannot read password command output: " + errnoText(errno));
        if (got == 0) return true;
        if (output.size() < kMaxSecretBytes) output.append(buffer, static_cast<std::size_t>(got));
    }
}

int waitForExit(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

void checkExitStatus(int status, const std::string& what) {
    if (WIFSIGNALED(status)) fail(what, "password command was killed by signal " + std::to_string(WTERMSIG(status)));
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        fail(what, "password command exited with status " + std::to_string(WEXITSTATUS(status)));
}

std::string firstLine(const std::string& output) {
    std::string line = output.substr(0, output.find('\n'));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

std::string runSecretCommand(const std::string& command, const std::string& what) {
    Fd readEnd;
    pid_t pid = spawnShell(command, readEnd, what);
    std::string output;
    bool finished = false;
    try {
        finished = drainOutput(readEnd.get(), output, what);
    } catch (...) {
        ::kill(pid, SIGKILL);
        waitForExit(pid);
        throw;
    }
    if (!finished) ::kill(pid, SIGKILL);
    int status = waitForExit(pid);
    if (!finished)
        fail(what, "password command did not finish within " + std::to_string(kCommandTimeout.count()) + " seconds");
    checkExitStatus(status, what);
    std::string secret = firstLine(output);
    if (secret.empty()) fail(what, "password command printed nothing");
    return secret;
}

}  // namespace

std::string resolveSecret(const SecretSource& source, const std::string& what) {
    switch (source.kind) {
        case SecretSource::Kind::Inline:
            if (source.reference.empty()) fail(what, "password is empty");
            return source.reference;
        case SecretSource::Kind::File:
            return readSecretFile(source.reference, what);
        case SecretSource::Kind::Env:
            return readSecretEnv(source.reference, what);
        case SecretSource::Kind::Command:
            return runSecretCommand(source.reference, what);
        case SecretSource::Kind::None:
            break;
    }
    fail(what, "no password configured");
}

}  // namespace mc::config
