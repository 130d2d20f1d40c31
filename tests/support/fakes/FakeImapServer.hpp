#pragma once
// A fake IMAP4rev1 server on a ScriptedServer, for what a real server will not do on demand:
// folders of messages served to CAPABILITY, STARTTLS, LOGIN, AUTHENTICATE PLAIN, LIST, SELECT,
// EXAMINE, FETCH, UID FETCH, UID STORE, UID EXPUNGE, UID MOVE, EXPUNGE, CLOSE, NOOP, IDLE and
// LOGOUT, with hostile behaviour on demand: any reply replaced by raw bytes, a PREAUTH greeting,
// FETCH responses cut into pieces sent with pauses (literals split across reads) or replaced by
// raw bytes, and one-shot events after a message's FETCH response (an unsolicited EXPUNGE, raw
// bytes such as a BYE, closing the connection).
//
// State lives across connections like a real mailbox: STORE, EXPUNGE and MOVE change it for
// later sessions; addMessage() makes a session in IDLE (or at its next NOOP) see "* n EXISTS".
// A UID FETCH of BODY[] without .PEEK sets \Seen, as a real server does; BODY.PEEK[HEADER] gets
// the header block (the hostile settings apply to BODY[] only). Everything the client
// sent is recorded by the ScriptedServer (server()).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/fakes/ScriptedServer.hpp"

namespace mc::testing {

struct FakeImapMessage {
    FakeImapMessage(std::string content = {}) : content(std::move(content)) {}  // NOLINT: implicit

    std::string content;                      // sent as a literal, byte for byte
    std::vector<std::string> flags;           // e.g. "\\Seen", "\\Deleted"
    std::uint32_t uid = 0;                    // 0: the folder's next UID
    std::optional<std::uint64_t> listedSize;  // RFC822.SIZE as listed; default: the content size
    // Raw bytes sent instead of the well-formed "* n FETCH (UID u BODY[] {size}\r\n...)\r\n".
    std::optional<std::string> fetchReply;
    // The FETCH response is sent in pieces cut at these offsets, with `pause` between them.
    std::vector<std::size_t> splitAt;
    Millis pause{50};
    // One-shot events right after this message's FETCH response (the first time only, so a later
    // run sees a well-behaved server): expunge the message with this UID (as another client's
    // EXPUNGE: "* n EXPUNGE" is sent), then send these raw bytes, then close the connection.
    std::uint32_t expungeAfter = 0;
    std::string sendAfter;
    bool closeAfter = false;
    // Gmail (add "X-GM-EXT-1" to the capabilities): X-GM-MSGID, and X-GM-LABELS as wire tokens
    // (e.g. "\\Inbox", "\"Work stuff\"", "&AMk-t&AOk-"), answered when a FETCH asks for them.
    std::uint64_t gmailMessageId = 0;
    std::vector<std::string> gmailLabels;
};

struct FakeImapFolder {
    std::string name = "INBOX";          // as on the wire (modified UTF-7)
    std::vector<std::string> listFlags;  // LIST attributes, e.g. "\\Trash"
    std::uint32_t uidValidity = 1000;
    std::vector<FakeImapMessage> messages;
};

struct FakeImapOptions {
    enum class Tls { None, Implicit, StartTls };
    Tls tls = Tls::None;
    std::string certFile, keyFile;  // for Implicit and StartTls
    bool offerStartTls = true;      // with StartTls: STARTTLS listed while TLS is not active

    std::string user = "alice";
    std::string password = "imap-Secret-4Kp";
    // When set, AUTHENTICATE XOAUTH2 and OAUTHBEARER log in with this access token (add
    // AUTH=XOAUTH2 / SASL-IR to capabilities as wanted); a wrong one gets the error challenge,
    // then NO.
    std::string accessToken;
    // STARTTLS is added while TLS is not active (see offerStartTls).
    std::vector<std::string> capabilities = {"IMAP4rev1", "LITERAL+",    "UIDPLUS",   "MOVE",
                                             "IDLE",      "SPECIAL-USE", "AUTH=PLAIN"};
    bool preauth = false;    // greet with "* PREAUTH": the session starts authenticated
    char delimiter = '/';    // the hierarchy delimiter LIST shows (Cyrus "/", Courier ".")
    bool sayUidNext = true;  // SELECT and EXAMINE tell [UIDNEXT n] (Courier does not)

    // Raw replies (CRLF included) by command, sent instead of the normal reply; "{tag}" is
    // replaced by the command's tag. Keys: "GREETING", "CAPABILITY", "STARTTLS", "LOGIN",
    // "AUTHENTICATE", "LIST", "SELECT", "EXAMINE", "FETCH", "UID FETCH", "UID STORE",
    // "UID EXPUNGE", "UID MOVE", "EXPUNGE", "CLOSE", "NOOP", "IDLE", "LOGOUT". After a STARTTLS
    // override containing " OK" the server still starts TLS.
    std::map<std::string, std::string> replies;
    // Replies written while they are generated (volumes too large to build in memory), by command
    // as for `replies`; called with the command's tag, the function sends everything, CRLF
    // included, and returns false to end the session. Takes precedence over `replies`.
    std::map<std::string, std::function<bool(ScriptedConnection&, const std::string& tag)>> generatedReplies;
};

class FakeImapServer {
public:
    explicit FakeImapServer(FakeImapOptions options, std::vector<FakeImapFolder> folders = {FakeImapFolder{}});
    ~FakeImapServer();

    std::string host() const { return "127.0.0.1"; }
    std::uint16_t port() const { return server_->port(); }
    const FakeImapOptions& options() const;

    ScriptedServer& server() { return *server_; }
    const ScriptedServer& server() const { return *server_; }

    // Adds a message (UID assigned when 0) and returns its UID; sessions in IDLE on that folder
    // are told "* n EXISTS".
    std::uint32_t addMessage(const std::string& folder, FakeImapMessage message);
    // UIDs still in FOLDER, ascending.
    std::vector<std::uint32_t> uids(const std::string& folder) const;
    std::vector<std::string> flags(const std::string& folder, std::uint32_t uid) const;
    // UIDs removed from FOLDER by EXPUNGE (any kind), MOVE or expungeAfter, in order.
    std::vector<std::uint32_t> expunged(const std::string& folder) const;
    // Sessions in IDLE now.
    std::size_t idling() const;
    bool waitUntilIdling(std::size_t count, Millis timeout = kStepTimeout) const;

    // Command lines the client sent whose command (after the tag) starts with PREFIX, ignoring
    // ASCII case ("LOGIN", "UID FETCH", "EXPUNGE" -- which does not match "UID EXPUNGE").
    std::size_t countCommands(const std::string& prefix) const;
    std::vector<std::string> commands(const std::string& prefix) const;
    // Any LOGIN or AUTHENTICATE command, or the password (plain or inside SASL PLAIN) anywhere
    // in what the client sent.
    bool sawCredentials() const;
    std::string transcript() const { return server_->transcript(); }

    struct Shared;

private:
    std::shared_ptr<Shared> shared_;
    std::unique_ptr<ScriptedServer> server_;
};

}  // namespace mc::testing
