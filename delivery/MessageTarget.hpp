#pragma once
// Where collected messages go. A target keeps its connection between messages and reconnects
// on its own after a failure.

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "delivery/MessageBody.hpp"
#include "net/Transport.hpp"

namespace mc::delivery {

struct OutgoingMessage {
    std::string headerPrefix;  // trace lines to put in front (CRLF-terminated)
    const MessageBody* body = nullptr;
    std::string envelopeFrom;  // "" is the null sender
    std::string recipient;
    // For IMAP targets: the account's name, its labels (one folder or Gmail label each) and
    // whether `archive` keeps the message out of the target folder.
    std::string account;
    std::vector<std::string> labels;
    bool archive = false;
};

enum class DeliveryOutcome {
    Accepted,  // 2xx: the target took responsibility
    Deferred,  // 4xx, timeout or dropped connection: retry later
    Rejected,  // 5xx: quarantine, never retry by itself
};

struct DeliveryResult {
    DeliveryOutcome outcome = DeliveryOutcome::Deferred;
    int code = 0;       // the deciding reply code, 0 for network failures
    std::string reply;  // printable reply text or error description
    bool connectionLost = false;
    std::string usedSender;  // the MAIL FROM finally used (SMTP/LMTP)
};

// The target cannot be used at all (bad credentials, TLS refused, unreachable): stops the poll.
// Its kind: TargetPermanent unless the target said to try later (4xx): TargetTransient.
class TargetError : public proto::Failure {
public:
    explicit TargetError(const std::string& what, bool transient = false)
        : proto::Failure(transient ? proto::FailureKind::TargetTransient : proto::FailureKind::TargetPermanent, what) {}
};

// The target is there but takes no more connections now: IMAP NO [LIMIT] or [UNAVAILABLE], an
// SMTP 421 or other 4xx before the first transaction, a BYE greeting, or a reply that reads "too
// many connections". A transient state: wait and connect again. what() starts "too many
// connections to the target: " and quotes the reply.
class TargetBusyError : public TargetError {
public:
    explicit TargetBusyError(const std::string& what) : TargetError(what, true) {}
};

// What `check` learns by trying a delivery without delivering.
struct TargetProbe {
    bool ok = false;
    std::string detail;  // "recipient <me@example.org> accepted", or the refusal quoted with a hint
};

class MessageTarget {
public:
    virtual ~MessageTarget() = default;
    // Connects (if needed) and authenticates; throws TargetError or net::TransportError.
    virtual void open() = 0;
    // Throws like open() when the target cannot be reached or trusted; failures of the message
    // itself (replies, a connection lost mid-transaction) are in the result.
    virtual DeliveryResult deliver(const OutgoingMessage& message) = 0;
    // Tries what a delivery needs, delivering nothing: SMTP/LMTP MAIL FROM (the target's own
    // address) and RCPT TO the recipient, then RSET; IMAP STATUS of the target folder. Connects
    // first; throws like open().
    virtual TargetProbe probe() = 0;
    // Ends the session politely (QUIT); never throws.
    virtual void close() = 0;
};

enum class TargetProtocol { Smtp, Lmtp, Imap };

// What a target needs, as plain values (collector/SessionOptions fills it from the config).
struct TargetOptions {
    TargetProtocol protocol = TargetProtocol::Smtp;
    // Host, port, trust anchors, pin; `timeout` bounds every read and write (the final reply to
    // DATA or APPEND gets five times as long); `cutoff` (optional) ends its I/O when the poll that
    // delivers must stop. implicitTls is set from `tls`.
    net::ConnectOptions connect;
    net::TlsMode tls = net::TlsMode::Implicit;
    std::string username;  // empty: no AUTH
    std::string password;
    std::string recipient;                  // SMTP/LMTP
    std::string envelopeFrom = "original";  // "original" (the message's Return-Path) or an address
    std::string folder = "INBOX";           // IMAP
};

// SMTP, LMTP or IMAP (ImapTarget.cpp) according to the options.
std::unique_ptr<MessageTarget> makeTarget(TargetOptions options);

}  // namespace mc::delivery
