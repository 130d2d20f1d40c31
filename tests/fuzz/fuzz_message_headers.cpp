// Fuzzes header lookup and Return-Path parsing: no crash, and results stay within their input.

#include <string>

#include "proto/MessageHeaders.hpp"
#include "tests/fuzz/FuzzSupport.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = mc::fuzz::splitInput(data, size);
    for (std::string_view name : {"Return-Path", "Message-ID", "received", "X"}) {
        if (const auto value = mc::proto::findHeader(input.payload, name)) {
            MC_FUZZ_CHECK(value->size() <= input.payload.size());
            MC_FUZZ_CHECK(value->empty() || (value->front() != ' ' && value->back() != ' '));
            if (const auto address = mc::proto::parseReturnPath(*value)) {
                MC_FUZZ_CHECK(address->size() + 2 <= value->size());
            }
        }
    }
    if (const auto address = mc::proto::parseReturnPath(input.payload)) {
        for (char c : *address) {
            MC_FUZZ_CHECK(c > ' ' && c < 0x7F && c != '<' && c != '>');
        }
    }
    return 0;
}
