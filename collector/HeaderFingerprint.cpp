#include "collector/HeaderFingerprint.hpp"

#include <openssl/evp.h>

#include "base/Hex.hpp"
namespace mc::collector {
namespace {

constexpr std::size_t kMaxCanonicalBytes = 32 * 1024;

}  // namespace

std::string canonicalHeaderBlock(std::string_view message) {
    std::string out;
    std::size_t start = 0;
    while (start < message.size() && out.size() < kMaxCanonicalBytes) {
        std::size_t end = message.find('\n', start);
        std::string_view line =
            message.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) break;  // the blank line that ends the header block
        for (char c : line) out += c == '\r' ? ' ' : c;
        out += '\n';
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    if (out.size() > kMaxCanonicalBytes) out.resize(kMaxCanonicalBytes);
    return out;
}

std::string headerFingerprint(std::string_view message) {
    const std::string canonical = canonicalHeaderBlock(message);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(canonical.data(), canonical.size(), digest, &length, EVP_sha256(), nullptr);
    return base::lowerHex(digest, length);
}

}  // namespace mc::collector
