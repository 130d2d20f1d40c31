#include "net/HostAddressCache.hpp"

#include <Poco/Net/SocketAddress.h>

#include <utility>

namespace mc::net {

HostAddressCache::HostAddressCache(Resolver resolve, Now now, Clock::duration ttl)
    : resolve_(std::move(resolve)), now_(std::move(now)), ttl_(ttl) {}

HostAddressCache& HostAddressCache::process() {
    // Never destroyed: connections may be made while statics are destroyed.
    static auto* cache = new HostAddressCache(
        [](const std::string& host) { return Poco::Net::SocketAddress(host, 0).host().toString(); },
        [] { return Clock::now(); }, std::chrono::seconds(60));
    return *cache;
}

std::string HostAddressCache::addressOf(const std::string& host) {
    {
        std::lock_guard lock(mutex_);
        if (auto it = entries_.find(host); it != entries_.end()) {
            if (now_() - it->second.resolvedAt < ttl_) return it->second.address;
            entries_.erase(it);
        }
    }
    // Resolved outside the lock: one slow name server must not hold up connections to others.
    std::string address = resolve_(host);
    const auto resolvedAt = now_();
    std::lock_guard lock(mutex_);
    if (entries_.size() >= kMaxHosts && !entries_.count(host)) entries_.clear();
    entries_[host] = Entry{address, resolvedAt};
    return address;
}

void HostAddressCache::forget(const std::string& host) {
    std::lock_guard lock(mutex_);
    entries_.erase(host);
}

void HostAddressCache::clear() {
    std::lock_guard lock(mutex_);
    entries_.clear();
}

}  // namespace mc::net
