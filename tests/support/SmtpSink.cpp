#include "tests/support/SmtpSink.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace mc::testing {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kSinkUser = "nobody";

std::string sinkExecutable() {
    if (::access("/usr/sbin/smtp-sink", X_OK) == 0) return "/usr/sbin/smtp-sink";
    return "smtp-sink";
}

// Files that process PID has open (those dumps are still being written).
std::set<fs::path> openFiles(pid_t pid) {
    std::set<fs::path> files;
    std::error_code error;
    fs::path fdDir = fs::path("/proc") / std::to_string(pid) / "fd";
    for (fs::directory_iterator it(fdDir, error), end; !error && it != end; it.increment(error)) {
        std::error_code linkError;
        fs::path target = fs::read_symlink(it->path(), linkError);
        if (!linkError) files.insert(target);
    }
    return files;
}

bool startsWith(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

SinkTransaction parseDump(const fs::path& file, const std::string& dump) {
    SinkTransaction transaction;
    transaction.file = file;
    std::string_view rest(dump);
    // Skip a -S start string, if any.
    std::size_t start = startsWith(rest, "X-Client-Addr: ") ? 0 : rest.find("\nX-Client-Addr: ");
    if (start == std::string_view::npos) throw std::runtime_error("not a dump: " + file.string());
    rest.remove_prefix(start == 0 ? 0 : start + 1);
    auto nextLine = [&rest]() {
        std::size_t newline = rest.find('\n');
        std::string_view line = rest.substr(0, newline);
        rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
        return line;
    };
    auto value = [](std::string_view line, std::string_view prefix) { return std::string(line.substr(prefix.size())); };
    while (!rest.empty()) {
        std::string_view line = nextLine();
        if (startsWith(line, "X-Client-Addr: ")) {
            continue;
        } else if (startsWith(line, "X-Client-Proto: ")) {
            transaction.protocol = value(line, "X-Client-Proto: ");
        } else if (startsWith(line, "X-Helo-Args: ")) {
            transaction.heloArgs = value(line, "X-Helo-Args: ");
        } else if (startsWith(line, "X-Mail-Args: ")) {
            transaction.mailArgs = value(line, "X-Mail-Args: ");
        } else if (startsWith(line, "X-Rcpt-Args: ")) {
            transaction.rcptArgs.push_back(value(line, "X-Rcpt-Args: "));
        } else if (startsWith(line, "Received: ")) {
            while (startsWith(rest, "\t")) nextLine();
            break;
        } else {
            throw std::runtime_error("unexpected line in dump " + file.string() + ": " + std::string(line));
        }
    }
    // The message, then the "\n" of the final ".\r\n" line.
    transaction.content = std::string(rest);
    if (!transaction.content.empty() && transaction.content.back() == '\n') transaction.content.pop_back();
    return transaction;
}

}  // namespace

SmtpSink::SmtpSink(SmtpSinkOptions options)
    : options_(std::move(options)), dir_("mc-smtp-sink"), dumpDir_(dir_ / "dump") {
    bool root = ::geteuid() == 0;
    fs::create_directories(dumpDir_);
    if (root) {
        // smtp-sink writes the dumps as kSinkUser.
        const passwd* user = ::getpwnam(kSinkUser);
        if (user == nullptr) throw std::runtime_error("smtp-sink: no user " + std::string(kSinkUser));
        if (::chmod(dir_.path().c_str(), 0755) != 0 || ::chown(dumpDir_.c_str(), user->pw_uid, user->pw_gid) != 0)
            throw std::runtime_error("smtp-sink: cannot prepare " + dumpDir_.string() + ": " + std::strerror(errno));
    }
    std::string lastOutput;
    for (int attempt = 0; attempt < 5; ++attempt) {
        port_ = freeLoopbackPort();
        std::vector<std::string> argv{sinkExecutable()};
        if (options_.lmtp) argv.push_back("-L");
        if (root) argv.insert(argv.end(), {"-u", kSinkUser});
        argv.insert(argv.end(), {"-d", (dumpDir_ / "%Y%m%d%H%M%S.").string()});
        argv.insert(argv.end(), options_.extraFlags.begin(), options_.extraFlags.end());
        argv.insert(argv.end(), {"127.0.0.1:" + std::to_string(port_), "64"});
        process_ = std::make_unique<BackgroundProcess>(argv);

        if (waitUntilListening(port_, std::chrono::seconds(10), [&] { return process_->running(); })) return;
        ProcessResult ended = process_->stop(SIGKILL);
        lastOutput = ended.describe();
        if (lastOutput.find("in use") == std::string::npos) break;  // retry only a taken port
    }
    process_.reset();
    throw std::runtime_error("smtp-sink did not start: " + lastOutput);
}

SmtpSink::~SmtpSink() { stop(); }

void SmtpSink::stop() {
    if (process_ && process_->running()) process_->stop(SIGTERM);
}

std::string SmtpSink::output() const {
    if (!process_) return "";
    return process_->out() + process_->err();
}

bool SmtpSink::rejectsDot() const {
    const auto& flags = options_.extraFlags;
    for (std::size_t i = 0; i < flags.size(); ++i) {
        const std::string& flag = flags[i];
        if (flag.size() < 2 || flag[0] != '-' || std::string("rfQq").find(flag[1]) == std::string::npos) continue;
        std::string commands = flag.size() > 2 ? flag.substr(2) : (i + 1 < flags.size() ? flags[i + 1] : "");
        std::replace_if(
            commands.begin(), commands.end(), [](char c) { return c == ',' || c == '\t'; }, ' ');
        std::istringstream words(commands);
        std::string word;
        while (words >> word)
            if (word == ".") return true;
    }
    return false;
}

std::vector<SinkTransaction> SmtpSink::transactions() const {
    // List first, then exclude what smtp-sink still has open: a file in the listing that is
    // no longer open is complete (or was abandoned and deleted: then reading it fails).
    std::vector<std::pair<fs::file_time_type, fs::path>> files;
    std::error_code error;
    for (fs::directory_iterator it(dumpDir_, error), end; !error && it != end; it.increment(error)) {
        std::error_code timeError;
        auto time = it->last_write_time(timeError);
        if (!timeError && it->is_regular_file(timeError)) files.emplace_back(time, it->path());
    }
    std::set<fs::path> busy;
    if (process_ && process_->running()) busy = openFiles(process_->pid());
    std::sort(files.begin(), files.end());
    std::vector<SinkTransaction> result;
    for (const auto& [time, file] : files) {
        if (busy.count(file) != 0) continue;
        std::string dump;
        try {
            dump = readFile(file);
        } catch (const std::exception&) {
            continue;  // abandoned transaction, deleted meanwhile
        }
        if (dump.empty()) continue;
        result.push_back(parseDump(file, dump));
    }
    return result;
}

std::vector<std::string> SmtpSink::messages() const {
    std::vector<std::string> contents;
    if (rejectsDot()) return contents;
    for (auto& transaction : transactions()) contents.push_back(std::move(transaction.content));
    return contents;
}

bool SmtpSink::waitForTransactions(std::size_t count, std::chrono::milliseconds timeout) const {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        if (transactions().size() >= count) return true;
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace mc::testing
