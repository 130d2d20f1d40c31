#pragma once
// An IMAP4rev1 client session (RFC 3501/9051) as an explicit state machine over a line channel:
// NotAuthenticated -> Authenticated -> Selected -> LoggedOut. Reads with BODY.PEEK (no \Seen),
// deletes only by UID (UID STORE + UID EXPUNGE, or UID MOVE), never by a bare EXPUNGE or CLOSE.

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "collector/proto/ImapParser.hpp"
#include "config/Config.hpp"
#include "delivery/MessageBody.hpp"
#include "net/LineChannel.hpp"

namespace mc::collector {

class ImapError : public std::runtime_error {
public:
    ImapError(const std::string& what, bool authentication = false)
        : std::runtime_error(what), authentication_(authentication) {}
    bool authentication() const { return authentication_; }

private:
    bool authentication_;
};

struct ImapOptions {
    net::ConnectOptions connect;
    config::TlsMode tls = config::TlsMode::Implicit;
    std::string username;
    std::string password;
    config::AuthMethod auth = config::AuthMethod::Auto;
    std::size_t uidsPerFetch = 64;     // UIDs per UID FETCH BODY.PEEK[] command
    std::size_t fetchesInFlight = 4;   // such commands pipelined
    std::uint32_t listingChunk = 5000;  // sequence numbers per FETCH (UID RFC822.SIZE)
    std::uint64_t maxMessageBytes = 1ull << 32;
};

struct ImapFolder {
    std::string wireName;  // as the server names it (modified UTF-7)
    std::string name;      // UTF-8, for the config, logs and the ledger
    std::vector<std::string> flags;
    bool selectable() const;
    // \Trash, \Junk or \Drafts (RFC 6154), or a folder commonly named so when the server has no
    // SPECIAL-USE flags.
    bool excludedFromStar() const;
};

struct ImapMailboxState {
    std::uint32_t uidValidity = 0;
    std::uint32_t exists = 0;
    bool readOnly = true;
};

struct ImapListing {
    std::uint32_t uid = 0;
    std::uint64_t size = 0;
};

class ImapSession {
public:
    enum class State { Disconnected, NotAuthenticated, Authenticated, Selected, LoggedOut };

    explicit ImapSession(ImapOptions options);
    ~ImapSession();

    void open();
    std::vector<ImapFolder> listFolders();
    // EXAMINE (readOnly) or SELECT a folder given by its UTF-8 name.
    ImapMailboxState select(const std::string& name, bool readOnly);
    // UID and size of every message in the selected folder, in chunks.
    std::vector<ImapListing> listMessages();

    using BodyFactory = std::function<delivery::MessageBody()>;
    using BodyHandler = std::function<bool(std::uint32_t uid, delivery::MessageBody body)>;
    // UID FETCH BODY.PEEK[] pipelined; each body streamed into a MessageBody.
    void retrieve(const std::vector<std::uint32_t>& uids, const BodyFactory& makeBody,
                  const BodyHandler& handle);
    // Removes exactly these UIDs: UID STORE +FLAGS.SILENT (\Deleted) then UID EXPUNGE (UIDPLUS),
    // or UID MOVE to the Trash folder. Returns false (and does nothing) when the server offers
    // neither, since a bare EXPUNGE would also remove other clients' \Deleted mail.
    bool deleteMessages(const std::vector<std::uint32_t>& uids, const std::string& trashWireName);
    bool canDelete() const;
    // UIDVALIDITY of the selected folder as last announced by the server.
    std::uint32_t currentUidValidity() const { return mailbox_.uidValidity; }
    void logout();

    State state() const { return state_; }
    const std::vector<std::string>& capabilities() const { return capabilities_; }
    bool hasCapability(const std::string& name) const;

private:
    proto::ImapResponse readResponse();
    // Sends a command with a fresh tag; returns the tag.
    std::string send(const std::string& command);
    // Sends and reads until its tagged reply; untagged responses go to `onUntagged`.
    proto::ImapResponse run(const std::string& command,
                            const std::function<void(const proto::ImapResponse&)>& onUntagged = {});
    proto::ImapResponse expectOk(const std::string& command, const std::string& what,
                                 const std::function<void(const proto::ImapResponse&)>& onUntagged = {});
    void noteUntagged(const proto::ImapResponse& response);
    void refreshCapabilities();
    void authenticate();
    std::string astring(const std::string& value);

    ImapOptions options_;
    std::unique_ptr<net::LineChannel> channel_;
    proto::ImapResponseParser parser_;
    State state_ = State::Disconnected;
    std::vector<std::string> capabilities_;
    ImapMailboxState mailbox_;
    unsigned tagCounter_ = 0;
};

}  // namespace mc::collector
