// Host names are looked up once a minute, not once a connection; a failed connection and a reload
// make the next connection look up again.

#include <gtest/gtest.h>

#include <stdexcept>

#include "net/HostAddressCache.hpp"

namespace mc::net {
namespace {

struct FakeResolver {
    int lookups = 0;
    std::string answer = "192.0.2.1";
    HostAddressCache::Clock::time_point now{};

    HostAddressCache cache() {
        return HostAddressCache(
            [this](const std::string& host) {
                ++lookups;
                if (host == "nowhere.invalid") throw std::runtime_error("no such host");
                return answer + " for " + host;
            },
            [this] { return now; }, std::chrono::seconds(60));
    }
};

TEST(HostAddressCache, LooksUpAHostOnceWithinItsTtl) {
    FakeResolver resolver;
    auto cache = resolver.cache();
    EXPECT_EQ(cache.addressOf("pop.example.net"), "192.0.2.1 for pop.example.net");
    resolver.answer = "192.0.2.2";
    resolver.now += std::chrono::seconds(59);
    EXPECT_EQ(cache.addressOf("pop.example.net"), "192.0.2.1 for pop.example.net");
    EXPECT_EQ(resolver.lookups, 1);
    EXPECT_EQ(cache.addressOf("imap.example.net"), "192.0.2.2 for imap.example.net");  // keyed by host
    EXPECT_EQ(resolver.lookups, 2);
}

TEST(HostAddressCache, LooksUpAgainAfterTheTtl) {
    FakeResolver resolver;
    auto cache = resolver.cache();
    cache.addressOf("pop.example.net");
    resolver.answer = "192.0.2.2";
    resolver.now += std::chrono::seconds(60);
    EXPECT_EQ(cache.addressOf("pop.example.net"), "192.0.2.2 for pop.example.net");
    EXPECT_EQ(resolver.lookups, 2);
}

TEST(HostAddressCache, ForgetAndClearMakeTheNextConnectionLookUpAgain) {
    FakeResolver resolver;
    auto cache = resolver.cache();
    cache.addressOf("a.example");
    cache.addressOf("b.example");
    cache.forget("a.example");
    cache.addressOf("a.example");
    cache.addressOf("b.example");
    EXPECT_EQ(resolver.lookups, 3);
    cache.clear();
    cache.addressOf("a.example");
    cache.addressOf("b.example");
    EXPECT_EQ(resolver.lookups, 5);
}

TEST(HostAddressCache, AFailedLookupIsNotRemembered) {
    FakeResolver resolver;
    auto cache = resolver.cache();
    EXPECT_THROW(cache.addressOf("nowhere.invalid"), std::runtime_error);
    EXPECT_THROW(cache.addressOf("nowhere.invalid"), std::runtime_error);
    EXPECT_EQ(resolver.lookups, 2);
}

TEST(HostAddressCache, TheProcessCacheGivesTheAddressPocoConnectsTo) {
    EXPECT_EQ(HostAddressCache::process().addressOf("127.0.0.1"), "127.0.0.1");
    const auto localhost = HostAddressCache::process().addressOf("localhost");
    EXPECT_TRUE(localhost == "127.0.0.1" || localhost == "::1") << localhost;
}

}  // namespace
}  // namespace mc::net
