#pragma once
// A raw TCP client for 127.0.0.1, for what a protocol library would not send: partial, slow or
// bad requests, bytes before a greeting, a connection held open (header-only: unit tests use it
// too). Every read is bounded in time.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace mc::testing {

class RawClient {
public:
    explicit RawClient(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(port);
        if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    ~RawClient() {
        if (fd_ >= 0) ::close(fd_);
    }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    bool connected() const { return fd_ >= 0; }
    // False when not every byte was sent (the server closed or reset the connection).
    bool send(const std::string& bytes) {
        return fd_ >= 0 && ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
    }
    // Whether the server sent something (or closed) within `wait`.
    bool readable(std::chrono::milliseconds wait) {
        pollfd ready{fd_, POLLIN, 0};
        return fd_ >= 0 && ::poll(&ready, 1, static_cast<int>(wait.count())) == 1;
    }
    // Reads until `total` bytes, the end of the stream (`*eof` set) or `timeout`.
    std::string receive(std::size_t total, std::chrono::milliseconds timeout, bool* eof = nullptr) {
        std::string out;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (fd_ >= 0 && out.size() < total && std::chrono::steady_clock::now() < deadline) {
            if (!readable(std::chrono::milliseconds(20))) continue;
            char chunk[4096];
            const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
            if (got <= 0) {
                if (eof) *eof = true;
                break;
            }
            out.append(chunk, static_cast<std::size_t>(got));
        }
        return out;
    }
    // Everything until the server closes the connection (at most `timeout`).
    std::string receiveAll(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        return receive(std::string::npos, timeout);
    }

private:
    int fd_ = -1;
};

// Sends `request` on a new connection and returns everything until the server closes it (at most
// 10 s); "" when nothing listens.
inline std::string rawRoundTrip(std::uint16_t port, const std::string& request) {
    RawClient client(port);
    if (!client.send(request)) return {};
    return client.receiveAll();
}

}  // namespace mc::testing
