#include "tests/support/fakes/FaultProxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>

namespace mc::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kPollSliceMs = 50;
constexpr std::size_t kMaxPending = 1 << 20;

void setNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

void setNoDelay(int fd) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Connects to HOST:PORT within TIMEOUT; -1 on failure.
int connectTo(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return -1;
    int result = -1;
    for (addrinfo* ai = found; ai && result < 0; ai = ai->ai_next) {
        int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) continue;
        if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
            ::close(fd);
            continue;
        }
        pollfd entry{fd, POLLOUT, 0};
        int error = 0;
        socklen_t length = sizeof error;
        if (::poll(&entry, 1, static_cast<int>(timeout.count())) == 1 &&
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0) {
            result = fd;
        } else {
            ::close(fd);
        }
    }
    ::freeaddrinfo(found);
    return result;
}

struct Direction {
    Direction(int from, int to, FaultDirection plan) : from(from), to(to), plan(std::move(plan)) {}
    int from = -1;
    int to = -1;
    FaultDirection plan;
    std::string pending;
    std::uint64_t forwarded = 0;
    bool eof = false;       // the source closed its side
    bool shutDown = false;  // we passed the EOF on
    bool stalled = false;   // the stall happened (or is happening)
    Clock::time_point stallUntil{};

    bool stalledNow(Clock::time_point now) const { return stalled && now < stallUntil; }
    // How many bytes may be written now without crossing a stall or cut point.
    std::size_t allowance() const {
        std::size_t allowed = pending.size();
        if (plan.oneByteSegments) allowed = std::min<std::size_t>(allowed, 1);
        if (plan.stallAfter && !stalled && forwarded < *plan.stallAfter)
            allowed = std::min<std::size_t>(allowed, *plan.stallAfter - forwarded);
        if (plan.cutAfter)
            allowed = std::min<std::size_t>(allowed, *plan.cutAfter > forwarded ? *plan.cutAfter - forwarded : 0);
        return allowed;
    }
};

}  // namespace

FaultProxy::FaultProxy(std::string upstreamHost, std::uint16_t upstreamPort, FaultPlan plan)
    : upstreamHost_(std::move(upstreamHost)), upstreamPort_(upstreamPort), plan_(std::move(plan)) {
    listener_ = std::make_unique<LoopbackListener>([this](int client) { accepted(client); });
}

FaultProxy::~FaultProxy() { stop(); }

void FaultProxy::setPlan(FaultPlan plan) {
    std::lock_guard lock(mutex_);
    plan_ = std::move(plan);
}

std::size_t FaultProxy::connections() const { return connections_; }
std::size_t FaultProxy::cuts() const { return cuts_; }
std::uint64_t FaultProxy::bytesToServer() const { return bytesToServer_; }

std::string FaultProxy::sentToServer() const {
    std::lock_guard lock(sentMutex_);
    return sentToServer_;
}

void FaultProxy::clearSent() {
    std::lock_guard lock(sentMutex_);
    sentToServer_.clear();
}
std::uint64_t FaultProxy::bytesToClient() const { return bytesToClient_; }

void FaultProxy::stop() {
    stopping_ = true;
    if (listener_) listener_->stop();
    for (auto& thread : threads_)
        if (thread.joinable()) thread.join();
    threads_.clear();
}

void FaultProxy::accepted(int client) {
    FaultPlan plan;
    {
        std::lock_guard lock(mutex_);
        plan = plan_;
    }
    ++connections_;
    threads_.emplace_back([this, client, plan] { relay(client, plan); });
}

void FaultProxy::relay(int client, FaultPlan plan) {
    int server = connectTo(upstreamHost_, upstreamPort_, std::chrono::milliseconds(5000));
    if (server < 0) {
        ::close(client);
        return;
    }
    setNonBlocking(server);
    setNoDelay(server);
    setNoDelay(client);
    Direction up{client, server, plan.toServer};
    Direction down{server, client, plan.toClient};
    Direction* directions[2] = {&up, &down};
    std::atomic<std::uint64_t>* totals[2] = {&bytesToServer_, &bytesToClient_};
    bool cut = false;
    bool broken = false;

    while (!stopping_ && !cut && !broken) {
        auto now = Clock::now();
        // Forward what may go now.
        for (int i = 0; i < 2 && !cut && !broken; ++i) {
            Direction& d = *directions[i];
            if (d.plan.cutAfter && d.forwarded >= *d.plan.cutAfter) {
                cut = true;
                break;
            }
            if (d.pending.empty() || d.stalledNow(now)) continue;
            std::size_t allowed = d.allowance();
            if (allowed == 0) continue;
            ssize_t n = ::send(d.to, d.pending.data(), allowed, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) broken = true;
                continue;
            }
            if (i == 0) {
                std::lock_guard lock(sentMutex_);
                sentToServer_.append(d.pending, 0, static_cast<std::size_t>(n));
            }
            d.pending.erase(0, static_cast<std::size_t>(n));
            d.forwarded += static_cast<std::uint64_t>(n);
            *totals[i] += static_cast<std::uint64_t>(n);
            if (d.plan.stallAfter && !d.stalled && d.forwarded >= *d.plan.stallAfter) {
                d.stalled = true;
                d.stallUntil = Clock::now() + d.plan.stallFor;
            }
            if (d.plan.cutAfter && d.forwarded >= *d.plan.cutAfter) cut = true;
            if (d.plan.oneByteSegments && d.plan.segmentDelay.count() > 0)
                std::this_thread::sleep_for(d.plan.segmentDelay);
        }
        if (cut || broken) break;
        // Pass an EOF on once everything before it went through.
        for (Direction* d : directions)
            if (d->eof && d->pending.empty() && !d->shutDown) {
                ::shutdown(d->to, SHUT_WR);
                d->shutDown = true;
            }
        if (up.shutDown && down.shutDown) break;

        pollfd entries[4];
        int count = 0;
        int readIndex[2] = {-1, -1};
        int timeoutMs = kPollSliceMs;
        for (int i = 0; i < 2; ++i) {
            Direction& d = *directions[i];
            if (!d.eof && d.pending.size() < kMaxPending) {
                readIndex[i] = count;
                entries[count++] = pollfd{d.from, POLLIN, 0};
            }
            if (!d.pending.empty()) {
                if (d.stalledNow(now)) {
                    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(d.stallUntil - now).count();
                    timeoutMs = std::max<int>(1, std::min<int>(timeoutMs, static_cast<int>(left) + 1));
                } else if (d.allowance() > 0) {
                    entries[count++] = pollfd{d.to, POLLOUT, 0};
                }
            }
        }
        int ready = ::poll(entries, count, timeoutMs);
        if (ready < 0 && errno != EINTR) break;
        if (ready <= 0) continue;
        for (int i = 0; i < 2; ++i) {
            if (readIndex[i] < 0 || entries[readIndex[i]].revents == 0) continue;
            Direction& d = *directions[i];
            char chunk[65536];
            ssize_t n = ::recv(d.from, chunk, sizeof chunk, 0);
            if (n > 0)
                d.pending.append(chunk, static_cast<std::size_t>(n));
            else if (n == 0)
                d.eof = true;
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                broken = true;
        }
    }
    if (cut) {
        ++cuts_;
        if (plan.resetOnCut) {
            linger option{1, 0};
            ::setsockopt(client, SOL_SOCKET, SO_LINGER, &option, sizeof option);
            ::setsockopt(server, SOL_SOCKET, SO_LINGER, &option, sizeof option);
        }
    }
    ::close(client);
    ::close(server);
}

}  // namespace mc::testing
