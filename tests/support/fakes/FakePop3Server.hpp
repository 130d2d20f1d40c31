#pragma once
// A fake POP3 server on a ScriptedServer: serves a list of messages (RFC 1939 USER/PASS, AUTH
// PLAIN, CAPA, STLS, UIDL, LIST, STAT, RETR, TOP, DELE, RSET, NOOP, QUIT) with configurable
// capabilities, TLS mode and hostile behaviour: any reply can be replaced by raw bytes, and each
// message can carry its own UIDL text, LIST size text and raw RETR reply.
//
// State lives across connections like a real maildrop: DELE marks, QUIT commits (the messages
// disappear from later sessions), a connection ending without QUIT commits nothing. Everything
// the client sent is recorded by the ScriptedServer (server()), e.g. to assert that no USER,
// PASS or AUTH line and no password byte sequence was ever received.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/fakes/ScriptedServer.hpp"

namespace mc::testing {

struct FakePop3Message {
    FakePop3Message(std::string content = {}) : content(std::move(content)) {}  // NOLINT: implicit

    std::string content;   // the message; sent dot-stuffed with its line endings as they are
    std::string uidl;      // UIDL text as sent; "" -> "uid-<position>"
    std::string listSize;  // LIST size text as sent; "" -> the octet count of content
    // Raw bytes sent as the whole RETR reply (status line, body, terminator) instead of the
    // well-formed "+OK", dot-stuffed content and ".".
    std::optional<std::string> retrReply;
};

struct FakePop3Options {
    enum class Tls { None, Implicit, StartTls };
    Tls tls = Tls::None;
    std::string certFile, keyFile;  // for Implicit and StartTls
    // Wait this long before answering the client's TLS handshake (implicit: after accepting;
    // STLS: after the "+OK"), as a slow or hostile server would.
    Millis delayBeforeTls{0};

    std::string user = "alice";
    std::string password = "pop3-Secret-7Qx";
    // When set, AUTH XOAUTH2 and AUTH OAUTHBEARER log in with this access token; a wrong one gets
    // the error challenge (recorded: the client's answer is the line after it), then -ERR.
    std::string accessToken;

    // CAPA lines (without the "+OK" line and the "."); "STLS" is added while TLS is not active
    // when tls == StartTls and offerStls is set.
    std::vector<std::string> capabilities = {"TOP", "UIDL", "USER", "RESP-CODES"};
    bool capaSupported = true;  // false: CAPA is answered "-ERR"
    bool offerStls = true;

    // Raw replies (CRLF included) by command verb, sent instead of the normal reply. Verbs:
    // "GREETING", "CAPA", "STLS", "USER", "PASS", "AUTH", "STAT", "UIDL", "LIST", "RETR",
    // "DELE", "QUIT". After an STLS override starting with "+OK" the server still starts TLS.
    std::map<std::string, std::string> replies;
    // Replies written while they are generated (volumes too large to build in memory), by verb as
    // for `replies`; the function sends everything, CRLF included, and returns false to end the
    // session. Takes precedence over `replies`.
    std::map<std::string, std::function<bool(ScriptedConnection&)>> generatedReplies;
    // QUIT commits the deletions, but the connection closes before the "+OK" (a lost reply).
    bool loseQuitReply = false;
};

class FakePop3Server {
public:
    explicit FakePop3Server(FakePop3Options options, std::vector<FakePop3Message> messages = {});
    ~FakePop3Server();

    std::string host() const { return "127.0.0.1"; }
    std::uint16_t port() const { return server_->port(); }
    const FakePop3Options& options() const;

    ScriptedServer& server() { return *server_; }
    const ScriptedServer& server() const { return *server_; }

    void addMessage(FakePop3Message message);
    // Options for the sessions that start from now on.
    void setOptions(FakePop3Options options);
    // Messages still on the server (not deleted by a committed QUIT).
    std::size_t remaining() const;
    // UIDLs whose deletion a QUIT committed, in order.
    std::vector<std::string> deletedUidls() const;

    // Any USER, PASS or AUTH line, or the password anywhere in what the client sent.
    bool sawCredentials() const;
    std::size_t deleCount() const { return server_->countLines("DELE"); }
    std::string transcript() const { return server_->transcript(); }

    struct Shared;

private:
    std::shared_ptr<Shared> shared_;
    std::unique_ptr<ScriptedServer> server_;
};

}  // namespace mc::testing
