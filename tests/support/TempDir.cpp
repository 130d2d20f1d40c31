#include "tests/support/TempDir.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace mc::testing {

namespace {

std::runtime_error sysError(const std::string& what) { return std::runtime_error(what + ": " + std::strerror(errno)); }

}  // namespace

TempDir::TempDir(std::string_view prefix) {
    const char* tmp = std::getenv("TMPDIR");
    std::string base = (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
    std::string pattern = base + "/" + std::string(prefix) + "-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) == nullptr) throw sysError("mkdtemp " + pattern);
    path_ = buffer.data();
    if (std::getenv("MC_KEEP_TEST_DIRS") != nullptr) keep_ = true;
}

TempDir::~TempDir() { remove(); }

TempDir::TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})), keep_(other.keep_) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
    if (this != &other) {
        remove();
        path_ = std::exchange(other.path_, {});
        keep_ = other.keep_;
    }
    return *this;
}

void TempDir::remove() noexcept {
    if (path_.empty()) return;
    if (keep_) {
        std::cerr << "[mc-testing] keeping " << path_.string() << "\n";
    } else {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    path_.clear();
}

std::filesystem::path TempDir::writeFile(std::string_view relative, std::string_view content, mode_t mode) const {
    std::filesystem::path target = path_ / relative;
    std::filesystem::create_directories(target.parent_path());
    mc::testing::writeFile(target, content, mode);
    return target;
}

std::uint16_t freeLoopbackPort() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw sysError("socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        auto error = sysError("bind 127.0.0.1:0");
        ::close(fd);
        throw error;
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

bool loopbackAccepts(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    ::close(fd);
    return connected;
}

bool waitUntilListening(std::uint16_t port, std::chrono::milliseconds timeout, const std::function<bool()>& starting) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (starting()) {
        if (loopbackAccepts(port)) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

std::map<std::string, std::string> readEnvFile(const std::filesystem::path& path) {
    std::map<std::string, std::string> values;
    std::istringstream lines(readFile(path));
    std::string line;
    while (std::getline(lines, line)) {
        auto equals = line.find('=');
        if (equals != std::string::npos) values[line.substr(0, equals)] = line.substr(equals + 1);
    }
    return values;
}

std::string logTail(const std::filesystem::path& file) {
    try {
        std::string log = readFile(file);
        if (log.size() > 4000) log = "..." + log.substr(log.size() - 4000);
        return log;
    } catch (const std::exception&) {
        return "(no log)";
    }
}

std::string readFile(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw sysError("open " + path.string());
    std::string content;
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            auto error = sysError("read " + path.string());
            ::close(fd);
            throw error;
        }
        if (n == 0) break;
        content.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return content;
}

void writeFile(const std::filesystem::path& path, std::string_view content, mode_t mode) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) throw sysError("create " + path.string());
    std::size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            auto error = sysError("write " + path.string());
            ::close(fd);
            throw error;
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd, mode) != 0 || ::close(fd) != 0) throw sysError("close " + path.string());
}

std::filesystem::path sourceDir() { return MC_SOURCE_DIR; }

std::filesystem::path supportFile(std::string_view name) { return sourceDir() / "tests" / "support" / name; }

std::filesystem::path mailcollectorBinary() {
    const char* fromEnv = std::getenv("MC_BINARY");
    if (fromEnv != nullptr && *fromEnv != '\0') return fromEnv;
    return MC_BINARY;
}

}  // namespace mc::testing
