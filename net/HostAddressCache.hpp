#pragma once
// Host names resolved once for a short while. A service polls many accounts on the same few
// servers, and a name lookup per connection (getaddrinfo: /etc/hosts, nsswitch, maybe DNS) was a
// measurable part of a poll that finds nothing new. An address is kept for `ttl` (the process's
// cache: 60 s), dropped when a connection to it fails, and all are dropped when the config is
// reloaded, so that a moved server is found again within a minute and at once after a reload.

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mc::net {

class HostAddressCache {
public:
    using Clock = std::chrono::steady_clock;
    // The numeric address to connect to for a host name; throws when the name does not resolve.
    using Resolver = std::function<std::string(const std::string& host)>;
    using Now = std::function<Clock::time_point()>;

    HostAddressCache(Resolver resolve, Now now, Clock::duration ttl);

    // The process's cache: Poco's resolution (the address Poco would connect to), 60 s.
    static HostAddressCache& process();

    // The cached address of `host`, or a fresh resolution (not cached when it throws).
    std::string addressOf(const std::string& host);
    void forget(const std::string& host);
    void clear();

private:
    struct Entry {
        std::string address;
        Clock::time_point resolvedAt;
    };
    // Bounds memory for configs naming very many hosts; past it the cache starts over.
    static constexpr std::size_t kMaxHosts = 4096;

    Resolver resolve_;
    Now now_;
    Clock::duration ttl_;
    std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace mc::net
