// parseSize and parseDuration.

#include <gtest/gtest.h>

#include "config/Config.hpp"

namespace mc::config {
namespace {

using std::chrono::seconds;

TEST(ParseSize, PlainBytes) {
    EXPECT_EQ(parseSize("0"), 0u);
    EXPECT_EQ(parseSize("1000"), 1000u);
    EXPECT_EQ(parseSize("1000B"), 1000u);
    EXPECT_EQ(parseSize(" 42 "), 42u);
}

TEST(ParseSize, DecimalUnitsAre1000Based) {
    EXPECT_EQ(parseSize("50MB"), 50'000'000u);
    EXPECT_EQ(parseSize("2KB"), 2'000u);
    EXPECT_EQ(parseSize("2kB"), 2'000u);
    EXPECT_EQ(parseSize("1GB"), 1'000'000'000u);
    EXPECT_EQ(parseSize("50 MB"), 50'000'000u);
}

TEST(ParseSize, BinaryUnitsAre1024Based) {
    EXPECT_EQ(parseSize("512k"), 512u * 1024);
    EXPECT_EQ(parseSize("512K"), 512u * 1024);
    EXPECT_EQ(parseSize("1KiB"), 1024u);
    EXPECT_EQ(parseSize("3M"), 3u * 1024 * 1024);
    EXPECT_EQ(parseSize("3MiB"), 3u * 1024 * 1024);
    EXPECT_EQ(parseSize("1G"), 1024ull * 1024 * 1024);
    EXPECT_EQ(parseSize("1GiB"), 1024ull * 1024 * 1024);
}

TEST(ParseSize, Malformed) {
    for (const char* text :
         {"", " ", "MB", "-1", "+1", "1.5MB", "50 XB", "50mb", "50 M B", "1e6", "0x10", "12abc", "1 2"})
        EXPECT_EQ(parseSize(text), std::nullopt) << '"' << text << '"';
}

TEST(ParseSize, Overflow) {
    EXPECT_EQ(parseSize("18446744073709551615"), 18446744073709551615ull);
    EXPECT_EQ(parseSize("18446744073709551616"), std::nullopt);
    EXPECT_EQ(parseSize("17179869184GiB"), std::nullopt);
}

TEST(ParseDuration, UnitsAndBareSeconds) {
    EXPECT_EQ(parseDuration("30s"), seconds(30));
    EXPECT_EQ(parseDuration("5m"), seconds(300));
    EXPECT_EQ(parseDuration("1h"), seconds(3600));
    EXPECT_EQ(parseDuration("2d"), seconds(2 * 86400));
    EXPECT_EQ(parseDuration("90"), seconds(90));
    EXPECT_EQ(parseDuration("0"), seconds(0));
    EXPECT_EQ(parseDuration(" 10s "), seconds(10));
}

TEST(ParseDuration, Compound) {
    EXPECT_EQ(parseDuration("1h30m"), seconds(5400));
    EXPECT_EQ(parseDuration("1d 12h"), seconds(36 * 3600));
}

TEST(ParseDuration, Malformed) {
    for (const char* text : {"", "s", "-5m", "5x", "5 m", "1.5h", "5mm", "1h30", "m5", "99999999999999999999"})
        EXPECT_EQ(parseDuration(text), std::nullopt) << '"' << text << '"';
}

TEST(ParseDuration, Overflow) {
    EXPECT_EQ(parseDuration("9223372036854775807"), seconds(9223372036854775807LL));
    EXPECT_EQ(parseDuration("9223372036854775808"), std::nullopt);
    EXPECT_EQ(parseDuration("999999999999999999d"), std::nullopt);
}

}  // namespace
}  // namespace mc::config
