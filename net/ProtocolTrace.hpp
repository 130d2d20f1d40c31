#pragma once
// --trace: every line of the protocol exchange, logged at trace level as "C: ..." and "S: ...",
// with credentials and message content left out. Off by default; one process-wide switch.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mc::net {

void setProtocolTrace(bool on);
bool protocolTraceOn();

// What of one connection's exchange may be shown. Pure: it decides, LineChannel logs.
class ProtocolTrace {
public:
    // The lines to show for bytes the client sends.
    std::vector<std::string> sent(std::string_view bytes);
    // The line to show for a line the server sent.
    std::string received(std::string_view line);
    // The lines to show for bytes of a server's stream read by a parser rather than by line
    // (IMAP): each line, and each literal as its size (message content is not shown).
    std::vector<std::string> receivedStream(std::string_view bytes);

private:
    std::string sentLine(std::string_view line);

    bool sasl_ = false;              // an AUTH exchange is going on: client lines are credentials
    bool smtpData_ = false;          // after 354: message content until the lone "."
    std::uint64_t literalLeft_ = 0;  // IMAP literal bytes still to come
    // receivedStream: the start of a line whose end has not arrived (at most kMostHeldLineBytes
    // of it), and the server's literal bytes still to come and seen so far.
    std::string partialLine_;
    std::string lineTail_;  // and the last bytes of it, where a literal's "{n}" is
    std::uint64_t receivedLiteralLeft_ = 0, receivedLiteralSeen_ = 0;
};

}  // namespace mc::net
