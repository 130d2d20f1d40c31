#include "net/ProtocolTrace.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>

#include "net/LineChannel.hpp"

namespace mc::net {
namespace {

std::atomic<bool> traceOn{false};

std::string upper(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
    return out;
}

// The words of LINE, the IMAP tag skipped: "a3 LOGIN u p" -> "LOGIN".
std::string commandWord(std::string_view line, std::size_t& commandStart) {
    auto wordAt = [&](std::size_t from, std::size_t& end) {
        end = line.find(' ', from);
        return upper(line.substr(from, end == std::string_view::npos ? std::string_view::npos : end - from));
    };
    std::size_t end = 0;
    std::string first = wordAt(0, end);
    commandStart = 0;
    static const char* kCommands[] = {"PASS", "USER", "AUTH", "APOP", "LOGIN", "AUTHENTICATE"};
    for (const char* command : kCommands)
        if (first == command) return first;
    if (end == std::string_view::npos) return first;
    commandStart = end + 1;
    return wordAt(end + 1, end);
}

// "{123}" or "{123+}" at the end of a line: an IMAP literal of that many bytes follows.
std::uint64_t literalSize(std::string_view line) {
    if (line.empty() || line.back() != '}') return 0;
    const std::size_t open = line.rfind('{');
    if (open == std::string_view::npos) return 0;
    std::string_view digits = line.substr(open + 1, line.size() - open - 2);
    if (!digits.empty() && digits.back() == '+') digits.remove_suffix(1);
    if (digits.empty() || digits.size() > 18 ||
        !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); }))
        return 0;
    return std::stoull(std::string(digits));
}

}  // namespace

void setProtocolTrace(bool on) { traceOn = on; }
bool protocolTraceOn() { return traceOn; }

std::vector<std::string> ProtocolTrace::sent(std::string_view bytes) {
    std::vector<std::string> shown;
    auto content = [&](std::size_t size) {
        shown.push_back("C: [" + std::to_string(size) + " bytes of message content]");
        bytes.remove_prefix(size);
    };
    while (!bytes.empty()) {
        if (literalLeft_ > 0) {
            const auto size = static_cast<std::size_t>(std::min<std::uint64_t>(literalLeft_, bytes.size()));
            literalLeft_ -= size;
            content(size);
        } else if (smtpData_) {
            if (bytes == ".\r\n" || (bytes.size() >= 5 && bytes.substr(bytes.size() - 5) == "\r\n.\r\n"))
                smtpData_ = false;
            content(bytes.size());
        } else {
            const std::size_t end = bytes.find("\r\n");
            if (end != 0) shown.push_back("C: " + sentLine(bytes.substr(0, end)));
            bytes.remove_prefix(end == std::string_view::npos ? bytes.size() : end + 2);
        }
    }
    return shown;
}

std::string ProtocolTrace::sentLine(std::string_view line) {
    if (sasl_) return "[credentials]";
    std::size_t commandStart = 0;
    const std::string command = commandWord(line, commandStart);
    literalLeft_ = literalSize(line);
    if (command == "AUTH" || command == "AUTHENTICATE") sasl_ = true;
    if (command == "PASS" || command == "LOGIN" || command == "AUTH" || command == "AUTHENTICATE" ||
        command == "APOP") {
        const std::size_t mechanism = line.find(' ', commandStart);
        const std::string_view kept =
            line.substr(0, command == "AUTH" || command == "AUTHENTICATE"
                               ? line.find(' ', mechanism == std::string_view::npos ? line.size() : mechanism + 1)
                               : mechanism);
        return printable(kept) + " [credentials]";
    }
    return printable(line, 300);
}

std::string ProtocolTrace::received(std::string_view line) {
    // A continuation ("+ ..." in IMAP, POP3 AUTH; 334 in SMTP) keeps an AUTH exchange going.
    // An IMAP untagged response ("* ...") may come in between: only the final reply ends it.
    const bool continuation = line == "+" || line.substr(0, 2) == "+ " || line.substr(0, 4) == "334 ";
    if (!continuation && line.substr(0, 2) != "* ") sasl_ = false;
    // SMTP's go-ahead for DATA: what the client sends next is the message, until the lone ".".
    if (line.substr(0, 4) == "354 " || line == "354") smtpData_ = true;
    return "S: " + printable(line, 300);
}

std::vector<std::string> ProtocolTrace::receivedStream(std::string_view bytes) {
    constexpr std::size_t kMostHeldLineBytes = 1024;  // more than a trace line shows
    constexpr std::size_t kTailBytes = 32;            // "{n}" at the end of a line of any length
    std::vector<std::string> shown;
    while (!bytes.empty()) {
        if (receivedLiteralLeft_ > 0) {
            const auto size = static_cast<std::size_t>(std::min<std::uint64_t>(receivedLiteralLeft_, bytes.size()));
            receivedLiteralLeft_ -= size;
            receivedLiteralSeen_ += size;
            bytes.remove_prefix(size);
            if (receivedLiteralLeft_ == 0)
                shown.push_back("S: [" + std::to_string(receivedLiteralSeen_) + " bytes of message content]");
            continue;
        }
        const std::size_t end = bytes.find('\n');
        const std::string_view piece = bytes.substr(0, end);
        partialLine_.append(piece.substr(0, kMostHeldLineBytes - std::min(kMostHeldLineBytes, partialLine_.size())));
        lineTail_.append(piece.substr(piece.size() - std::min(piece.size(), kTailBytes)));
        if (lineTail_.size() > kTailBytes) lineTail_.erase(0, lineTail_.size() - kTailBytes);
        if (end == std::string_view::npos) break;
        bytes.remove_prefix(end + 1);
        std::string line = std::move(partialLine_), tail = std::move(lineTail_);
        partialLine_.clear();
        lineTail_.clear();
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!tail.empty() && tail.back() == '\r') tail.pop_back();
        receivedLiteralLeft_ = literalSize(tail);
        receivedLiteralSeen_ = 0;
        shown.push_back(received(line));
    }
    return shown;
}

}  // namespace mc::net
