#pragma once
// Shared by the libFuzzer targets: a check that aborts (so libFuzzer records the input) and a
// splitter that cuts the payload into pieces chosen by the input itself, so the fuzzer explores
// chunk boundaries as well as bytes.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string_view>
#include <vector>

#define MC_FUZZ_CHECK(condition)                                                               \
    do {                                                                                       \
        if (!(condition)) {                                                                    \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
            std::abort();                                                                      \
        }                                                                                      \
    } while (0)

namespace mc::fuzz {

struct FuzzInput {
    std::uint32_t seed = 0;    // drives chunk sizes and other choices
    std::string_view payload;  // the bytes under test
};

// The first four bytes are the seed, the rest is the payload.
inline FuzzInput splitInput(const std::uint8_t* data, std::size_t size) {
    FuzzInput input;
    const std::size_t seedBytes = size < 4 ? size : 4;
    for (std::size_t i = 0; i < seedBytes; ++i) {
        input.seed = (input.seed << 8) | data[i];
    }
    input.payload = std::string_view(reinterpret_cast<const char*>(data) + seedBytes, size - seedBytes);
    return input;
}

// Pieces of 0..maxPiece bytes (empty pieces included) covering `text` in order.
inline std::vector<std::string_view> pieces(std::string_view text, std::uint32_t seed) {
    std::minstd_rand rng(seed | 1);
    const std::size_t maxPiece = 1 + (seed >> 24) % 32;
    std::vector<std::string_view> result;
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t n = rng() % (maxPiece + 1);
        if (n > text.size() - pos) {
            n = text.size() - pos;
        }
        result.push_back(text.substr(pos, n));
        pos += n;
    }
    return result;
}

}  // namespace mc::fuzz
