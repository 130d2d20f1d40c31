#pragma once
// An IMAP4rev1 client session (RFC 3501/9051) as an explicit state machine over a line channel:
// NotAuthenticated -> Authenticated -> Selected -> LoggedOut. Reads with BODY.PEEK (no \Seen),
// deletes only by UID (UID STORE + UID EXPUNGE, or UID MOVE), never by a bare EXPUNGE or CLOSE.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/Config.hpp"
#include "delivery/MessageBody.hpp"
#include "net/ImapConnection.hpp"
#include "net/LineChannel.hpp"
#include "proto/ImapParser.hpp"
#include "proto/Sasl.hpp"

namespace mc::collector {

// Failures of the exchange come from the shared connection layer (net/ImapConnection).
using ImapError = net::ImapError;

// Budgets on what a server can make a session hold (README "Limits"). Over one, the account
// fails with an error that names the limit.
inline constexpr std::uint64_t kImapMaxResponseBytes = 8ull << 20;  // one response, as held
inline constexpr std::size_t kImapMaxResponseValues = 100'000;      // values in one response
inline constexpr std::uint32_t kImapMaxFolderMessages = 1'000'000;  // messages listed per folder
inline constexpr std::size_t kImapMaxFolders = 50'000;              // folders in a LIST
inline constexpr std::size_t kImapMaxFolderListBytes = 8u << 20;    // names and flags of a LIST

struct ImapOptions {
    net::ConnectOptions connect;
    net::TlsMode tls = net::TlsMode::Implicit;
    std::string username;
    std::string password;                      // or the OAuth2 access token when oauth2 is set
    std::optional<proto::SaslMechanism> sasl;  // nullopt: "auto" (proto::chooseSaslMechanism picks)
    // Log in with an OAuth2 token (auth "auto" then picks XOAUTH2 or OAUTHBEARER, never a password
    // mechanism); credentialRefused is called when the server turns the token down.
    bool oauth2 = false;
    std::function<void()> credentialRefused;
    std::size_t uidsPerFetch = 64;      // UIDs per UID FETCH BODY.PEEK[] command
    std::size_t fetchesInFlight = 4;    // such commands pipelined
    std::uint32_t listingChunk = 5000;  // sequence numbers per FETCH (UID RFC822.SIZE)
    std::uint64_t maxMessageBytes = 1ull << 32;
    // Bytes the parser may hold for one response (lines and inline literals; bodies above 64 KiB
    // are streamed and do not count). An IDLE connection, which never fetches a body, sets it
    // smaller.
    std::uint64_t maxResponseBytes = kImapMaxResponseBytes;
    // ENABLE QRESYNC (RFC 7162) when offered, so that select() can be told what is known of a
    // folder and hear which messages left it since. The poller asks; an IDLE connection does not.
    bool qresync = false;
};

struct ImapFolder {
    std::string wireName;  // as the server names it (modified UTF-7, or UTF-8 in UTF-8 mode)
    std::string name;      // UTF-8, for the config, logs and the ledger
    std::vector<std::string> flags;
    std::optional<char> delimiter;  // the hierarchy delimiter LIST gave; nullopt: flat
    // In the server's namespace of other users' folders or of shared ones (RFC 2342 NAMESPACE):
    // not the user's own mail.
    bool othersNamespace = false;
    bool selectable() const;
    // Trash, Junk, Drafts, a virtual folder (folderRole), or another's (othersNamespace): not
    // collected by "*".
    bool excludedFromStar() const;
    // Where UID MOVE puts deleted mail: 2 for a \Trash folder (RFC 6154), 1 for one whose last
    // hierarchy component is commonly a trash's name ("Trash", "Deleted Items"), 0 otherwise
    // (and for another's: "user/bob/Trash").
    int trashRank() const;
};

struct ImapMailboxState {
    std::uint32_t uidValidity = 0;
    std::uint32_t uidNext = 0;  // 0 when the server did not say
    std::uint32_t exists = 0;   // follows EXISTS, EXPUNGE and VANISHED responses
    std::uint32_t recent = 0;
    bool readOnly = true;
    // CONDSTORE (with QRESYNC enabled): the folder's HIGHESTMODSEQ at SELECT; 0: none (NOMODSEQ).
    std::uint64_t highestModSeq = 0;
    // QRESYNC: SELECT was given a known state (ImapKnownState) and the server took it; then
    // `vanished` names every message expunged since that mod-sequence (VANISHED (EARLIER)).
    bool resynced = false;
    std::vector<proto::ImapRange> vanished;
};

// What the client knew of a folder (its mark), for SELECT ... (QRESYNC (uidvalidity modseq)).
struct ImapKnownState {
    std::uint32_t uidValidity = 0;
    std::uint64_t modSeq = 0;
    std::uint64_t messages = 0;  // bounds the FETCH responses (flag changes) SELECT may bring
};

struct ImapListing {
    std::uint32_t uid = 0;
    std::uint64_t size = 0;
    bool deleted = false;  // flagged \Deleted (by another client, or by us before a crash)
    // Gmail (X-GM-EXT-1): the message's X-GM-MSGID, the same in every folder and for good; 0 when
    // the server is not Gmail or did not send one.
    std::uint64_t gmailMessageId = 0;
};

// How an IDLE (RFC 2177) ends: at the deadline (to be re-issued), on a stop request, because the
// handler asked for it, or because the server ended it by itself (a tagged OK).
enum class ImapIdleEnd { Deadline, Stopped, Handler, Server };

struct ImapIdleControl {
    // DONE is sent at this point (servers drop an IDLE after 30 minutes: RFC 2177 says re-issue
    // it at least every 29).
    std::chrono::steady_clock::time_point until = std::chrono::steady_clock::time_point::max();
    // Polled at least every `checkEvery`; true ends the IDLE (DONE) promptly.
    std::function<bool()> stopRequested;
    std::chrono::milliseconds checkEvery{1000};
    // Called once the server's "+" confirmed the IDLE.
    std::function<void()> onIdling;
};

class ImapSession {
public:
    enum class State { Disconnected, NotAuthenticated, Authenticated, Selected, LoggedOut };

    explicit ImapSession(ImapOptions options);
    ~ImapSession();

    void open();
    std::vector<ImapFolder> listFolders();
    // EXAMINE (readOnly) or SELECT a folder given by its UTF-8 name; with QRESYNC enabled and a
    // known state, asks which messages were expunged since (ImapMailboxState::vanished).
    ImapMailboxState select(const std::string& name, bool readOnly, const std::optional<ImapKnownState>& known = {});
    // QRESYNC is enabled on this connection: expunges come as VANISHED, select() can resync.
    bool qresyncEnabled() const { return qresyncEnabled_; }
    // UID, size and \Deleted flag of every message in the selected folder, in chunks; on Gmail
    // (X-GM-EXT-1) also its X-GM-MSGID.
    std::vector<ImapListing> listMessages();
    // The same for some messages only: `UID FETCH <uidSet> (UID RFC822.SIZE FLAGS)`, answers
    // kept for UIDs `wanted` accepts (new arrivals "n:*", or the messages the ledger has work
    // for). Adds to what retrieve() checks bodies against, until the next select or listMessages.
    std::vector<ImapListing> listUids(const std::string& uidSet, std::size_t expected,
                                      const std::function<bool(std::uint32_t uid)>& wanted);

    using BodyFactory = std::function<delivery::MessageBody()>;
    using BodyHandler = std::function<bool(std::uint32_t uid, delivery::MessageBody body)>;
    // A requested message whose response cannot be trusted (another UID's sequence number, a body
    // of another size than listed, two bodies): it is not handed on; `why` says what was wrong.
    using FailureHandler = std::function<void(std::uint32_t uid, const std::string& why)>;
    // UID FETCH BODY.PEEK[] pipelined; each body streamed into a MessageBody. Responses for UIDs
    // not requested, or without a UID, are dropped as they arrive. Bodies are checked against the
    // last listMessages() of this folder: sequence number, UID and size must agree.
    void retrieve(const std::vector<std::uint32_t>& uids, const BodyFactory& makeBody, const BodyHandler& handle,
                  const FailureHandler& failed = {});
    // UID FETCH (UID BODY.PEEK[HEADER]) in batches: each header block (its first 64 KiB) of
    // these UIDs goes to `handle` as it arrives (the first answer per UID), to be checked before a
    // later session deletes the message. UIDs not answered are skipped.
    void headers(const std::vector<std::uint32_t>& uids,
                 const std::function<void(std::uint32_t uid, const std::string& header)>& handle);
    // Gmail (X-GM-EXT-1): UID FETCH (UID X-GM-LABELS) in batches; each UID's label list (as sent)
    // goes to `handle` as it arrives (the first answer per UID). UIDs not answered are skipped.
    void gmailLabels(const std::vector<std::uint32_t>& uids,
                     const std::function<void(std::uint32_t uid, const proto::ImapValue& labels)>& handle);
    // Removes exactly these UIDs: UID STORE +FLAGS.SILENT (\Deleted) then UID EXPUNGE (UIDPLUS),
    // or UID MOVE to the Trash folder. Returns false (and does nothing) when the server offers
    // neither, since a bare EXPUNGE would also remove other clients' \Deleted mail.
    bool deleteMessages(const std::vector<std::uint32_t>& uids, const std::string& trashWireName);
    bool canDelete() const;
    // IDLE in the selected folder: every untagged response goes to `onUntagged` (false ends the
    // IDLE). Reads wake up every control.checkEvery to honour a stop request or the deadline, then
    // DONE ends the IDLE and its tagged reply is read. Throws ImapError when the server offers no
    // IDLE or refuses it (the session stays usable); after any other failure (net::TransportError,
    // a throwing handler) the session is LoggedOut, since the server may still be in IDLE.
    ImapIdleEnd idle(const std::function<bool(const proto::ImapResponse&)>& onUntagged, const ImapIdleControl& control);
    const ImapMailboxState& mailbox() const { return mailbox_; }
    // UIDVALIDITY of the selected folder as last announced by the server.
    std::uint32_t currentUidValidity() const { return mailbox_.uidValidity; }
    void logout();

    // LoggedOut also after a failure that leaves the connection unusable (BYE, a malformed or
    // out-of-order response, a refused pipelined command): nothing more can be sent on it.
    State state() const { return connection_ && connection_->broken() ? State::LoggedOut : state_; }
    const std::vector<std::string>& capabilities() const;
    bool hasCapability(const std::string& name) const;
    // The server enabled UTF8=ACCEPT (RFC 6855): 8-bit headers as stored, UTF-8 mailbox names.
    bool utf8Mode() const { return utf8Mode_; }

private:
    proto::ImapResponse readResponse();
    net::ImapConnection& connection();
    // Marks the connection unusable and throws ImapError(what).
    [[noreturn]] void fail(const std::string& what, proto::FailureKind kind = proto::FailureKind::Protocol);
    // Sends a command with a fresh tag; returns the tag.
    std::string send(const std::string& command);
    // Sends and reads until its tagged reply; untagged responses go to `onUntagged`.
    // `expectedUntagged`: how many untagged responses the command asks for (one per listed
    // message, folder or expunged UID); kImapUntaggedSlack more are allowed, then it fails.
    proto::ImapResponse run(const std::string& command,
                            const std::function<void(const proto::ImapResponse&)>& onUntagged = {},
                            std::size_t expectedUntagged = 0);
    proto::ImapResponse expectOk(const std::string& command, const std::string& what,
                                 const std::function<void(const proto::ImapResponse&)>& onUntagged = {},
                                 std::size_t expectedUntagged = 0);
    // UID FETCH (UID ITEM) in batches of uidsPerFetch: the first answer per UID asked for goes to
    // `handle` with the value of `answerKey` (e.g. BODY.PEEK[HEADER] is answered as BODY[HEADER]).
    void fetchEach(const std::vector<std::uint32_t>& uids, const std::string& item, const std::string& answerKey,
                   const std::function<void(std::uint32_t uid, const proto::ImapValue& value)>& handle);
    void noteUntagged(const proto::ImapResponse& response);
    // Runs a listing FETCH; keeps the answer for a sequence number in [first, last] not answered
    // yet, whose UID `wanted` accepts, in `listing` and the sequence tables.
    // The items of a listing FETCH: UID RFC822.SIZE FLAGS, and X-GM-MSGID on Gmail.
    std::string listingItems() const;
    void fetchListing(const std::string& command, std::uint64_t first, std::uint64_t last, std::size_t expected,
                      const std::function<bool(std::uint32_t uid)>& wanted, std::vector<ImapListing>& listing);
    void enableExtensions();
    void authenticate();

    ImapOptions options_;
    std::unique_ptr<net::ImapConnection> connection_;
    State state_ = State::Disconnected;
    ImapMailboxState mailbox_;
    // From the last listMessages(), to check FETCH bodies: UID and RFC822.SIZE by sequence number
    // - 1, kept in step with EXPUNGE.
    std::vector<std::uint32_t> uidBySequence_;
    std::vector<std::uint64_t> sizeBySequence_;
    bool utf8Mode_ = false;
    bool qresyncEnabled_ = false;
    bool vanishedOverflow_ = false;  // SELECT's VANISHED (EARLIER) named more ranges than are kept
    std::uint64_t alerts_ = 0;       // [ALERT]s seen; only the first few are logged (a server can flood them)
};

// The folders an account collects, as UTF-8 names: the configured ones, "*" expanded to every
// selectable folder of `listed` but Trash, Junk and Drafts.
std::vector<std::string> resolveImapFolders(const config::AccountSettings& account,
                                            const std::vector<ImapFolder>& listed);
// Whether resolving the account's folders needs a LIST (it names "*").
bool imapFoldersNeedList(const config::AccountSettings& account);

}  // namespace mc::collector
