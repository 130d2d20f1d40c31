#include "delivery/TraceHeaders.hpp"

#include <cctype>

namespace mc::delivery {
namespace {

// Header values come from the config; still, nothing may break the header block.
std::string headerSafe(const std::string& text) {
    std::string out;
    for (unsigned char c : text) out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
    return out;
}

std::string rfc5322Date(std::time_t when) {
    std::tm utc{};
    gmtime_r(&when, &utc);
    char buffer[64];
    std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S +0000", &utc);
    return buffer;
}

}  // namespace

std::string traceHeaders(const TraceInfo& info) {
    std::string account = headerSafe(info.account);
    std::string out = "Received: from " + headerSafe(info.sourceHost) + " by mailcollector (mailcollector " +
                      MC_VERSION + ") for <" + account + ">; " + rfc5322Date(info.receivedAt) + "\r\n";
    out += "X-Mailcollector-Account: " + account + "\r\n";
    if (!info.labels.empty()) {
        out += "X-Mailcollector-Labels: ";
        for (std::size_t i = 0; i < info.labels.size(); ++i) {
            if (i) out += ", ";
            out += headerSafe(info.labels[i]);
        }
        out += "\r\n";
    }
    return out;
}

}  // namespace mc::delivery
