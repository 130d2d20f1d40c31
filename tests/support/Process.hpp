#pragma once
// Running programs from tests: fork/exec without a shell, output captured, bounded in time.
//
// Output goes to anonymous in-memory files rather than pipes, so a child that leaves a daemon
// behind holding its stdout/stderr (Dovecot does) never makes the caller wait. Each child runs
// in its own process group, which is what gets killed on timeout.

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mc::testing {

struct ProcessResult {
    int exitCode = -1;      // exit status; -1 when ended by a signal
    int termSignal = 0;     // the signal that ended it, 0 when it exited
    bool timedOut = false;  // killed (SIGKILL to its process group) because the timeout passed
    std::string out;        // everything written to stdout
    std::string err;        // everything written to stderr
    // runProcess: the program's peak resident set (ru_maxrss, KiB); 0 when killed on timeout.
    long peakRssKb = 0;

    bool ok() const { return exitCode == 0 && !timedOut; }
    // "exit 1" / "killed by signal 9" / "timed out", then both streams: for assertion messages.
    std::string describe() const;
};

// Everything about how to start a program.
struct ProcessSpec {
    std::vector<std::string> argv;                // argv[0] is looked up in PATH unless it contains '/'
    std::map<std::string, std::string> extraEnv;  // added to (or replacing in) our environment
    std::vector<std::string> unsetEnv;            // removed from the environment
    std::filesystem::path workingDir;             // empty: ours
    std::string input;                            // stdin content; empty: /dev/null
    // SIGKILL the program when the thread that started it ends (PR_SET_PDEATHSIG), so that a
    // crashed test leaves nothing running. Daemons it forks are not affected.
    bool dieWithParent = true;
    // Resource limits set just before exec (resource -> soft and hard limit), and signals the
    // program starts with ignored (every other signal starts with its default action). E.g.
    // {{RLIMIT_FSIZE, 256 * 1024}} with SIGXFSZ ignored: its writes past 256 KiB into any file
    // fail with EFBIG, as on a full disk, instead of killing it.
    std::map<int, rlim_t> limits;
    std::vector<int> ignoredSignals;
};

// Runs a program to completion (or until TIMEOUT, then kills its process group). Throws
// std::runtime_error if it cannot be started at all (e.g. no such executable).
ProcessResult runProcess(std::vector<std::string> argv, std::map<std::string, std::string> extraEnv = {},
                         std::chrono::seconds timeout = std::chrono::seconds(120));
ProcessResult runProcess(const ProcessSpec& spec, std::chrono::seconds timeout = std::chrono::seconds(120));

// A program running while the test goes on, e.g. the collector that a test kills with SIGKILL
// mid-run. The destructor kills its whole process group (SIGKILL) if it is still running.
class BackgroundProcess {
public:
    explicit BackgroundProcess(const ProcessSpec& spec);
    explicit BackgroundProcess(std::vector<std::string> argv, std::map<std::string, std::string> extraEnv = {});
    ~BackgroundProcess();
    BackgroundProcess(const BackgroundProcess&) = delete;
    BackgroundProcess& operator=(const BackgroundProcess&) = delete;

    pid_t pid() const { return pid_; }
    bool running();  // false once it has ended (it is reaped then)

    // Sends SIG to the process only (sendSignalToGroup: to its process group). No-op once ended.
    void sendSignal(int sig);
    void sendSignalToGroup(int sig);

    // Waits up to TIMEOUT for it to end; nullopt if it is still running.
    std::optional<ProcessResult> wait(std::chrono::milliseconds timeout);
    // Sends SIG (default SIGKILL) and waits for it to end (SIGKILL to the group after 30 s).
    ProcessResult stop(int sig = SIGKILL);

    // Output so far (also while it runs).
    std::string out() const;
    std::string err() const;
    // Waits until NEEDLE appears in stdout or stderr; false on timeout or if the process ends
    // without printing it.
    bool waitForOutput(std::string_view needle, std::chrono::milliseconds timeout);

private:
    bool reap(bool block);
    ProcessResult result() const;

    pid_t pid_ = -1;
    int outFd_ = -1;
    int errFd_ = -1;
    bool ended_ = false;
    int status_ = 0;
};

}  // namespace mc::testing
