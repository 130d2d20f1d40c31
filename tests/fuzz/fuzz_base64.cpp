// Fuzzes base64: encoding round-trips, and strict decoding accepts only canonical text, so
// anything it accepts re-encodes to exactly the same string.

#include <string>

#include "proto/Sasl.hpp"
#include "tests/fuzz/FuzzSupport.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const std::string encoded = mc::proto::base64Encode(bytes);
    MC_FUZZ_CHECK(encoded.size() == (size + 2) / 3 * 4);
    MC_FUZZ_CHECK(mc::proto::base64Decode(encoded) == std::string(bytes));
    if (const auto decoded = mc::proto::base64Decode(bytes)) {
        MC_FUZZ_CHECK(mc::proto::base64Encode(*decoded) == bytes);
    }
    return 0;
}
