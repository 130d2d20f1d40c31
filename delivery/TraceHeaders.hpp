#pragma once
// The header lines mailcollector adds in front of every delivered message (SPEC "Labels").

#include <ctime>
#include <string>
#include <vector>

namespace mc::delivery {

struct TraceInfo {
    std::string sourceHost;
    std::string account;
    std::vector<std::string> labels;
    std::time_t receivedAt = 0;
};

// "Received: from HOST by mailcollector (mailcollector VERSION) for <ACCOUNT>; DATE\r\n"
// "X-Mailcollector-Account: ACCOUNT\r\n" and, with labels, "X-Mailcollector-Labels: a, b\r\n".
std::string traceHeaders(const TraceInfo& info);

}  // namespace mc::delivery
