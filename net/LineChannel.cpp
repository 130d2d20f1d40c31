#include "net/LineChannel.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace mc::net {

LineChannel::LineChannel(std::unique_ptr<Transport> transport, std::size_t maxLineLength)
    : transport_(std::move(transport)), buffer_(maxLineLength) {}

void LineChannel::fill() {
    char chunk[64 * 1024];
    std::size_t n = transport_->receive(chunk, sizeof chunk);
    buffer_.append(std::string_view(chunk, n));
}

std::string LineChannel::readLine() {
    for (;;) {
        if (auto line = buffer_.nextLine()) {
            if (protocolTraceOn()) spdlog::trace("{}", trace_.received(*line));
            return std::move(*line);
        }
        if (buffer_.error() != proto::LineError::None)
            throw TransportError(TransportErrorKind::Protocol, "server sent a line longer than the limit");
        fill();
    }
}

void LineChannel::send(std::string_view bytes) {
    if (protocolTraceOn())
        for (const auto& line : trace_.sent(bytes)) spdlog::trace("{}", line);
    transport_->send(bytes);
}

std::string_view LineChannel::peekChunk() {
    if (buffer_.bufferedSize() == 0) fill();
    return buffer_.buffered();
}

void LineChannel::consume(std::size_t n) {
    buffer_.discard(n);
    transport_->creditBulk(n);
}

void LineChannel::consumeResponses(std::size_t n) {
    if (protocolTraceOn())
        for (const auto& line : trace_.receivedStream(buffer_.buffered().substr(0, n))) spdlog::trace("{}", line);
    consume(n);
}

void LineChannel::startTls() {
    if (buffer_.bufferedSize() != 0)
        throw TransportError(TransportErrorKind::Protocol,
                             "server sent data before the TLS handshake (response injection); refused");
    transport_->startTls();
}

}  // namespace mc::net
