#include "collector/BodyFingerprint.hpp"

#include <openssl/evp.h>

#include <memory>

#include "base/Hex.hpp"
namespace mc::collector {

std::string bodyFingerprint(const delivery::MessageBody& body) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr);
    // Until the header block ended: whether the line read so far is empty (CRs aside).
    bool inHeader = true, lineEmpty = true;
    std::string kept;
    body.forEachChunk([&](std::string_view chunk) {
        kept.clear();
        for (char c : chunk) {
            if (c == '\r') continue;
            if (!inHeader) {
                kept += c;
            } else if (c == '\n') {
                inHeader = !lineEmpty;
                lineEmpty = true;
            } else {
                lineEmpty = false;
            }
        }
        EVP_DigestUpdate(context.get(), kept.data(), kept.size());
    });
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(context.get(), digest, &length);
    return base::lowerHex(digest, length);
}

}  // namespace mc::collector
