#pragma once
// The line-end rule of proto/MessageEncoder written the slow, obvious way, byte by byte, as the
// reference the encoder is checked against (unit round trip and fuzz target).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mc::proto::testing {

struct LineEndModel {
    std::string text;  // the message as a target gets it, before any dot-stuffing
    std::uint64_t loneCrs = 0;
};

// LF, and CRs followed by LF, become one CRLF; any other CR a space; a CRLF closes a message
// whose last byte is not a LF.
inline LineEndModel lineEndModel(std::string_view message) {
    LineEndModel model;
    for (std::size_t i = 0; i < message.size(); ++i) {
        if (message[i] == '\n') {
            model.text += "\r\n";
        } else if (message[i] != '\r') {
            model.text += message[i];
        } else {
            std::size_t runEnd = i;
            while (runEnd < message.size() && message[runEnd] == '\r') ++runEnd;
            if (runEnd < message.size() && message[runEnd] == '\n') {
                model.text += "\r\n";
                i = runEnd;
            } else {
                model.text.append(runEnd - i, ' ');
                model.loneCrs += runEnd - i;
                i = runEnd - 1;
            }
        }
    }
    if (!message.empty() && message.back() != '\n') {
        model.text += "\r\n";
    }
    return model;
}

// LFs in `message`, plus one for a last line without one: the line ends a target must see.
inline std::size_t lineCount(std::string_view message) {
    std::size_t lines = 0;
    for (char c : message) lines += c == '\n';
    return lines + (!message.empty() && message.back() != '\n');
}

}  // namespace mc::proto::testing
