#pragma once
// A Transport read line by line (with a cap) or in raw chunks, for line-based mail protocols.

#include <memory>
#include <string>
#include <string_view>

#include "net/ProtocolTrace.hpp"
#include "net/Transport.hpp"
#include "proto/LineBuffer.hpp"
#include "proto/SafeText.hpp"

namespace mc::net {

class LineChannel {
public:
    explicit LineChannel(std::unique_ptr<Transport> transport, std::size_t maxLineLength = 64 * 1024);

    // The next line without its line ending; throws TransportError (Protocol when over the cap).
    std::string readLine();
    // Whatever is buffered, or else at least one fresh chunk from the socket.
    std::string_view peekChunk();
    // Marks `n` bytes of the last peekChunk() as used. Bytes read this way are message content,
    // which extends the exchange's deadline (Transport::creditBulk); readLine() bytes do not.
    void consume(std::size_t n);
    // consume() for bytes a response parser read (IMAP): --trace shows them line by line.
    void consumeResponses(std::size_t n);
    void send(std::string_view bytes);
    // Starts TLS. Bytes the server sent after its go-ahead and before the handshake would be read
    // as post-TLS replies (response injection): they are refused.
    void startTls();
    bool secure() const { return transport_->secure(); }
    Transport& transport() { return *transport_; }

private:
    void fill();
    std::unique_ptr<Transport> transport_;
    proto::LineBuffer buffer_;
    ProtocolTrace trace_;
};

// Server text in errors and logs (proto/SafeText), by the name the protocol layers use.
using proto::printable;

}  // namespace mc::net
