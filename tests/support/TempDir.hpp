#pragma once
// Scratch directories and small file helpers for tests.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace mc::testing {

// A fresh directory under $TMPDIR (or /tmp), mode 0700, removed with everything in it on
// destruction -- unless the environment variable MC_KEEP_TEST_DIRS is set (to anything), in
// which case its path is printed to stderr and it stays for inspection.
class TempDir {
public:
    explicit TempDir(std::string_view prefix = "mc-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    TempDir(TempDir&& other) noexcept;
    TempDir& operator=(TempDir&& other) noexcept;

    const std::filesystem::path& path() const { return path_; }
    std::string str() const { return path_.string(); }
    std::filesystem::path operator/(std::string_view relative) const { return path_ / relative; }

    // Writes RELATIVE (parent directories are created) and returns its absolute path.
    std::filesystem::path writeFile(std::string_view relative, std::string_view content, mode_t mode = 0644) const;

    // Keeps the directory after destruction.
    void keep() { keep_ = true; }

private:
    void remove() noexcept;

    std::filesystem::path path_;
    bool keep_ = false;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed). Servers
// started on it should retry with another port if binding fails.
std::uint16_t freeLoopbackPort();
// Whether something accepts TCP connections on 127.0.0.1:PORT now.
bool loopbackAccepts(std::uint16_t port);
// Polls until something accepts on 127.0.0.1:PORT (true), `timeout` passes or `starting` says the
// server gave up (false).
bool waitUntilListening(
    std::uint16_t port, std::chrono::milliseconds timeout, const std::function<bool()>& starting = [] { return true; });

// Whole-file helpers; they throw std::runtime_error with the path on failure.
std::string readFile(const std::filesystem::path& path);
void writeFile(const std::filesystem::path& path, std::string_view content, mode_t mode = 0644);
// KEY=VALUE lines (the private-*.sh scripts' ports.env) as a map.
std::map<std::string, std::string> readEnvFile(const std::filesystem::path& path);
// The last 4,000 bytes of a log file, for an error message; "(no log)" when it cannot be read.
std::string logTail(const std::filesystem::path& file);

// Where things are: the source tree, tests/support/NAME, and the mailcollector executable
// (environment MC_BINARY overrides the path compiled in).
std::filesystem::path sourceDir();
std::filesystem::path supportFile(std::string_view name);
std::filesystem::path mailcollectorBinary();

}  // namespace mc::testing
