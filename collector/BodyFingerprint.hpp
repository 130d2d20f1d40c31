#pragma once
// What cross-account dedupe ([collector] dedupe = "message-id") matches besides the Message-ID:
// a hash of the message's body, the part after the header block. Each server that passes a
// message on adds header lines of its own (Received:, Delivered-To:), so the whole message differs
// between two addresses; the body does not. CRs are left out, so that servers storing LF or CRLF
// line ends agree.

#include <string>

#include "delivery/MessageBody.hpp"

namespace mc::collector {

// sha256 hex of BODY's bytes after its header block (the first empty line), CRs left out.
std::string bodyFingerprint(const delivery::MessageBody& body);

}  // namespace mc::collector
