#pragma once
// Lowercase hexadecimal of bytes: how digests (message hashes, certificate fingerprints) are written.

#include <cstddef>
#include <string>

namespace mc::base {

inline std::string lowerHex(const unsigned char* bytes, std::size_t size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        hex += kDigits[bytes[i] >> 4];
        hex += kDigits[bytes[i] & 15];
    }
    return hex;
}

}  // namespace mc::base
