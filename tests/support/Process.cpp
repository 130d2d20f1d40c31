#include "tests/support/Process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace mc::testing {

namespace {

using Clock = std::chrono::steady_clock;

std::runtime_error sysError(const std::string& what) { return std::runtime_error(what + ": " + std::strerror(errno)); }

int memoryFile(const char* name) {
    int fd = ::memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) throw sysError("memfd_create");
    return fd;
}

std::string readWhole(int fd) {
    std::string content;
    char buffer[65536];
    off_t offset = 0;
    for (;;) {
        ssize_t n = ::pread(fd, buffer, sizeof(buffer), offset);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        content.append(buffer, static_cast<std::size_t>(n));
        offset += n;
    }
    return content;
}

std::string findExecutable(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    const char* path = std::getenv("PATH");
    std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
    std::istringstream stream(dirs);
    std::string dir;
    while (std::getline(stream, dir, ':')) {
        if (dir.empty()) dir = ".";
        std::string candidate = dir + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    throw std::runtime_error("cannot run '" + name + "': not found in PATH");
}

// Starts SPEC with stdout/stderr on OUTFD/ERRFD; returns the child's pid. The child is the
// leader of a new process group.
pid_t spawn(const ProcessSpec& spec, int outFd, int errFd) {
    if (spec.argv.empty()) throw std::invalid_argument("runProcess: empty argv");
    const std::string executable = findExecutable(spec.argv[0]);

    // Everything the child needs is prepared here: after fork() only async-signal-safe calls.
    std::vector<std::string> envStrings;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        std::string_view item(*entry);
        std::string key(item.substr(0, item.find('=')));
        bool dropped = spec.extraEnv.count(key) != 0;
        for (const auto& name : spec.unsetEnv) dropped = dropped || name == key;
        if (!dropped) envStrings.emplace_back(item);
    }
    for (const auto& [key, value] : spec.extraEnv) envStrings.push_back(key + "=" + value);
    std::vector<char*> envp;
    for (auto& item : envStrings) envp.push_back(item.data());
    envp.push_back(nullptr);
    std::vector<std::string> argStrings = spec.argv;
    std::vector<char*> argv;
    for (auto& item : argStrings) argv.push_back(item.data());
    argv.push_back(nullptr);
    const char* workingDir = spec.workingDir.empty() ? nullptr : spec.workingDir.c_str();
    const bool dieWithParent = spec.dieWithParent;
    const std::vector<std::pair<int, rlim_t>> limits(spec.limits.begin(), spec.limits.end());
    const std::vector<int>& ignoredSignals = spec.ignoredSignals;
    const pid_t parent = ::getpid();

    int inFd;
    if (spec.input.empty()) {
        inFd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (inFd < 0) throw sysError("open /dev/null");
    } else {
        inFd = memoryFile("mc-stdin");
        if (::write(inFd, spec.input.data(), spec.input.size()) != static_cast<ssize_t>(spec.input.size()) ||
            ::lseek(inFd, 0, SEEK_SET) != 0) {
            ::close(inFd);
            throw sysError("writing stdin");
        }
    }
    int errorPipe[2];
    if (::pipe2(errorPipe, O_CLOEXEC) != 0) {
        ::close(inFd);
        throw sysError("pipe2");
    }

    pid_t pid = ::fork();
    if (pid < 0) {
        ::close(inFd);
        ::close(errorPipe[0]);
        ::close(errorPipe[1]);
        throw sysError("fork");
    }
    if (pid == 0) {
        if (dieWithParent) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(127);  // the parent is already gone
        }
        ::setpgid(0, 0);
        struct sigaction defaultAction {};
        defaultAction.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &defaultAction, nullptr);
        struct sigaction ignoreAction {};
        ignoreAction.sa_handler = SIG_IGN;
        for (int sig : ignoredSignals) ::sigaction(sig, &ignoreAction, nullptr);
        sigset_t none;
        ::sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        int reportFd = errorPipe[1];
        if (::dup2(inFd, 0) < 0 || ::dup2(outFd, 1) < 0 || ::dup2(errFd, 2) < 0 ||
            (workingDir != nullptr && ::chdir(workingDir) != 0)) {
            int error = errno;
            (void)!::write(reportFd, &error, sizeof(error));
            ::_exit(127);
        }
        for (const auto& [resource, value] : limits) {
            const struct rlimit limit { value, value };
            if (::setrlimit(resource, &limit) != 0) {
                int error = errno;
                (void)!::write(reportFd, &error, sizeof(error));
                ::_exit(127);
            }
        }
        // Do not leak the test's sockets and files into servers that may outlive it.
        if (reportFd > 3) ::syscall(SYS_close_range, 3, reportFd - 1, 0);
        ::syscall(SYS_close_range, reportFd + 1, ~0U, 0);
        ::execve(executable.c_str(), argv.data(), envp.data());
        int error = errno;
        (void)!::write(reportFd, &error, sizeof(error));
        ::_exit(127);
    }
    ::close(inFd);
    ::close(errorPipe[1]);
    int childErrno = 0;
    ssize_t n;
    do {
        n = ::read(errorPipe[0], &childErrno, sizeof(childErrno));
    } while (n < 0 && errno == EINTR);
    ::close(errorPipe[0]);
    if (n == sizeof(childErrno)) {
        ::waitpid(pid, nullptr, 0);
        errno = childErrno;
        throw sysError("cannot run " + executable);
    }
    return pid;
}

ProcessSpec specFor(std::vector<std::string> argv, std::map<std::string, std::string> extraEnv) {
    ProcessSpec spec;
    spec.argv = std::move(argv);
    spec.extraEnv = std::move(extraEnv);
    return spec;
}

void fillStatus(ProcessResult& result, int status) {
    if (WIFEXITED(status)) {
        result.exitCode = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.exitCode = -1;
        result.termSignal = WTERMSIG(status);
    }
}

// Polls wait4 until PID ends or DEADLINE passes; true if it ended (STATUS and USAGE set).
bool waitUntil(pid_t pid, Clock::time_point deadline, int& status, struct rusage& usage) {
    auto pause = std::chrono::microseconds(500);
    for (;;) {
        pid_t done = ::wait4(pid, &status, WNOHANG, &usage);
        if (done == pid) return true;
        if (done < 0 && errno != EINTR) throw sysError("waitpid");
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(20000));
    }
}

}  // namespace

std::string ProcessResult::describe() const {
    std::ostringstream text;
    if (timedOut) {
        text << "timed out (killed)";
    } else if (termSignal != 0) {
        text << "killed by signal " << termSignal;
    } else {
        text << "exit " << exitCode;
    }
    text << "\n--- stdout:\n" << out << "\n--- stderr:\n" << err << "\n---";
    return text.str();
}

ProcessResult runProcess(std::vector<std::string> argv, std::map<std::string, std::string> extraEnv,
                         std::chrono::seconds timeout) {
    return runProcess(specFor(std::move(argv), std::move(extraEnv)), timeout);
}

ProcessResult runProcess(const ProcessSpec& spec, std::chrono::seconds timeout) {
    int outFd = memoryFile("mc-stdout");
    int errFd = memoryFile("mc-stderr");
    ProcessResult result;
    try {
        pid_t pid = spawn(spec, outFd, errFd);
        int status = 0;
        struct rusage usage {};
        if (!waitUntil(pid, Clock::now() + timeout, status, usage)) {
            ::kill(-pid, SIGKILL);
            ::kill(pid, SIGKILL);
            while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            result.timedOut = true;
        }
        fillStatus(result, status);
        result.peakRssKb = usage.ru_maxrss;
    } catch (...) {
        ::close(outFd);
        ::close(errFd);
        throw;
    }
    result.out = readWhole(outFd);
    result.err = readWhole(errFd);
    ::close(outFd);
    ::close(errFd);
    return result;
}

BackgroundProcess::BackgroundProcess(const ProcessSpec& spec) {
    outFd_ = memoryFile("mc-bg-stdout");
    errFd_ = memoryFile("mc-bg-stderr");
    try {
        pid_ = spawn(spec, outFd_, errFd_);
    } catch (...) {
        ::close(outFd_);
        ::close(errFd_);
        throw;
    }
}

BackgroundProcess::BackgroundProcess(std::vector<std::string> argv, std::map<std::string, std::string> extraEnv)
    : BackgroundProcess(specFor(std::move(argv), std::move(extraEnv))) {}

BackgroundProcess::~BackgroundProcess() {
    if (!ended_ && pid_ > 0) {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        reap(true);
    }
    ::close(outFd_);
    ::close(errFd_);
}

bool BackgroundProcess::reap(bool block) {
    if (ended_) return true;
    int status = 0;
    pid_t done;
    do {
        done = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    } while (done < 0 && errno == EINTR);
    if (done == pid_) {
        ended_ = true;
        status_ = status;
    }
    return ended_;
}

bool BackgroundProcess::running() { return !reap(false); }

void BackgroundProcess::sendSignal(int sig) {
    if (running()) ::kill(pid_, sig);
}

void BackgroundProcess::sendSignalToGroup(int sig) {
    if (running()) ::kill(-pid_, sig);
}

std::optional<ProcessResult> BackgroundProcess::wait(std::chrono::milliseconds timeout) {
    if (!ended_) {
        int status = 0;
        struct rusage usage {};
        if (!waitUntil(pid_, Clock::now() + timeout, status, usage)) return std::nullopt;
        ended_ = true;
        status_ = status;
    }
    return result();
}

ProcessResult BackgroundProcess::stop(int sig) {
    sendSignal(sig);
    if (auto done = wait(std::chrono::seconds(30))) return *done;
    sendSignalToGroup(SIGKILL);
    reap(true);
    ProcessResult killed = result();
    killed.timedOut = true;
    return killed;
}

ProcessResult BackgroundProcess::result() const {
    ProcessResult result;
    fillStatus(result, status_);
    result.out = out();
    result.err = err();
    return result;
}

std::string BackgroundProcess::out() const { return readWhole(outFd_); }

std::string BackgroundProcess::err() const { return readWhole(errFd_); }

bool BackgroundProcess::waitForOutput(std::string_view needle, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        bool wasRunning = running();
        if (out().find(needle) != std::string::npos || err().find(needle) != std::string::npos) return true;
        if (!wasRunning || Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

}  // namespace mc::testing
