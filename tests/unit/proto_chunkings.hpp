#pragma once
// Ways to feed a stream parser the same input: whole, one byte at a time, and in random pieces
// (empty pieces included) from fixed seeds, so a failure always reproduces.

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <random>
#include <string_view>
#include <vector>

namespace mc::proto::testing {

inline std::vector<std::vector<std::string_view>> chunkings(std::string_view input,
                                                            std::initializer_list<unsigned> seeds,
                                                            std::initializer_list<std::size_t> maxPieces) {
    std::vector<std::vector<std::string_view>> result;
    result.push_back({input});
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
    result.push_back(bytes);
    for (unsigned seed : seeds) {
        std::mt19937 rng(seed);
        for (std::size_t maxPiece : maxPieces) {
            std::uniform_int_distribution<std::size_t> size(0, maxPiece);
            std::vector<std::string_view> pieces;
            for (std::size_t pos = 0; pos < input.size();) {
                const std::size_t n = std::min(size(rng), input.size() - pos);
                pieces.push_back(input.substr(pos, n));
                pos += n;
            }
            result.push_back(pieces);
        }
    }
    return result;
}

}  // namespace mc::proto::testing
