#pragma once
// A fake SMTP (RFC 5321) or LMTP (RFC 2033) target on a ScriptedServer: EHLO/LHLO with a
// configurable multi-line 250, STARTTLS, AUTH PLAIN/LOGIN, MAIL/RCPT/DATA/RSET/NOOP/QUIT, with
// PIPELINING-tolerant reading. Replies can be scripted per command: each use of a command takes
// the next scripted reply, and the normal reply applies once the queue is empty (queues are
// shared by all connections, so "421 on the first MAIL, then accept" spans two runs).
//
// Records every transaction that reached the end of DATA: envelope, the content (dot-unstuffed,
// line endings exactly as received) and the final reply.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/fakes/ScriptedServer.hpp"

namespace mc::testing {

// A scripted reply that closes the connection without replying.
inline const std::string kDropConnection = "<drop>";

struct FakeSmtpOptions {
    bool lmtp = false;
    enum class Tls { None, Implicit, StartTls };
    Tls tls = Tls::None;
    bool offerStartTls = true;  // with StartTls: STARTTLS listed in EHLO while TLS is not active
    std::string certFile, keyFile;
    Millis delayBeforeTls{0};  // wait before answering the TLS handshake (implicit or STARTTLS)

    std::string domain = "fake-target.example.org";
    // EHLO/LHLO keywords after the greeting line of the 250 reply.
    std::vector<std::string> extensions = {"PIPELINING", "8BITMIME", "SIZE 52428800", "ENHANCEDSTATUSCODES"};
    std::string authMechanisms;  // e.g. "PLAIN LOGIN": advertised as "AUTH ..."; "" none
    std::string user, password;

    // Scripted replies per command: "GREETING", "EHLO" (EHLO/LHLO/HELO), "STARTTLS", "AUTH",
    // "MAIL", "RCPT", "DATA" (the go-ahead), "DOT" (the reply after the message; LMTP: one per
    // recipient), "RSET", "QUIT". CRLF is appended; embed "\r\n" for multi-line replies. A reply
    // starting with "421" is sent and then the connection is closed; kDropConnection closes it
    // without a reply.
    std::map<std::string, std::deque<std::string>> replies;
};

struct FakeSmtpTransaction {
    std::string mailFrom;             // after "MAIL FROM:", e.g. "<a@b.example> SIZE=120 BODY=8BITMIME"
    std::vector<std::string> rcptTo;  // accepted RCPT arguments
    std::string data;                 // dot-unstuffed, line endings as received
    std::string reply;                // the final reply (first line for LMTP), "" when dropped
    bool accepted = false;            // 2xx
    bool secure = false;              // over TLS
};

class FakeSmtpTarget {
public:
    explicit FakeSmtpTarget(FakeSmtpOptions options = {});
    ~FakeSmtpTarget();

    std::string host() const { return "127.0.0.1"; }
    std::uint16_t port() const { return server_->port(); }
    const FakeSmtpOptions& options() const;

    ScriptedServer& server() { return *server_; }
    const ScriptedServer& server() const { return *server_; }

    // Adds a scripted reply for VERB (see FakeSmtpOptions::replies).
    void script(const std::string& verb, std::string reply);

    std::vector<FakeSmtpTransaction> transactions() const;  // every one that reached the final dot
    std::vector<std::string> messages() const;              // content of the accepted ones
    std::vector<std::string> mailFroms() const;             // every MAIL FROM argument, in order
    std::string transcript() const { return server_->transcript(); }

    struct Shared;

private:
    std::shared_ptr<Shared> shared_;
    std::unique_ptr<ScriptedServer> server_;
};

// An LMTP fake with the extensions Dovecot offers (PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES).
FakeSmtpOptions lmtpOptions();

// The content of a delivered message without the trace lines mailcollector puts in front;
// fails the test if the prefix holds anything but those lines or lacks Received:/Account:.
std::string withoutTraceHeaders(const std::string& data, const std::string& account = "acct");

}  // namespace mc::testing
