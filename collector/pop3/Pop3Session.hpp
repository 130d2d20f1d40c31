#pragma once
// A POP3 client session (RFC 1939, 2449 CAPA, 2595 STLS, 5034 SASL) as an explicit state machine
// over a line channel: Authorization -> Transaction -> Update (QUIT) -> Closed.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "collector/pop3/Pop3Listing.hpp"
#include "delivery/MessageBody.hpp"
#include "net/LineChannel.hpp"
#include "proto/Sasl.hpp"

namespace mc::collector {

// Budgets on what a server can make a session hold (README "Limits"); over one, the account fails
// with an error naming the limit.
inline constexpr std::size_t kPop3MaxCapaLines = 1'000;
inline constexpr std::size_t kPop3MaxCapaBytes = 64 * 1024;
inline constexpr std::size_t kPop3MaxListingEntries = 1'000'000;  // UIDL and LIST lines
inline constexpr std::size_t kPop3MaxUidlLength = 70;             // RFC 1939 7

// A POP3 protocol failure. `transient`: the server said try later ([IN-USE], [SYS/TEMP]).
class Pop3Error : public proto::Failure {
public:
    Pop3Error(const std::string& what, bool transient = false, bool authentication = false)
        : proto::Failure(authentication ? proto::FailureKind::Authentication : proto::FailureKind::Protocol, what),
          transient_(transient) {}
    Pop3Error(proto::FailureKind kind, const std::string& what) : proto::Failure(kind, what), transient_(false) {}
    bool transient() const { return transient_; }
    bool authentication() const { return failureKind() == proto::FailureKind::Authentication; }

private:
    bool transient_;
};

struct Pop3Options {
    net::ConnectOptions connect;
    net::TlsMode tls = net::TlsMode::Implicit;
    std::string username;
    std::string password;                      // or the OAuth2 access token when oauth2 is set
    std::optional<proto::SaslMechanism> sasl;  // nullopt: "auto" (proto::chooseSaslMechanism picks)
    // Log in with an OAuth2 token (auth "auto" then picks XOAUTH2 or OAUTHBEARER, never a password
    // mechanism); credentialRefused is called when the server turns the token down.
    bool oauth2 = false;
    std::function<void()> credentialRefused;
    std::size_t pipelineDepth = 32;  // RETR/DELE commands in flight when the server pipelines
    // A body longer than this is a hostile or broken server (the listed size is checked first).
    std::uint64_t maxMessageBytes = 1ull << 32;
    std::string spoolDir;  // where a large listing's UIDL text goes (see Pop3Listing)
};

class Pop3Session {
public:
    enum class State { Disconnected, Authorization, Transaction, Closed };

    explicit Pop3Session(Pop3Options options);
    ~Pop3Session();

    // Connects, negotiates TLS, re-reads CAPA and authenticates.
    void open();
    // STAT: how many messages the mailbox holds; nullopt when the server refuses it.
    std::optional<std::uint32_t> messageCount();
    // UIDL + LIST of the whole mailbox, merged by message number; held by the session until the
    // next listing.
    const Pop3Listing& list();
    // `UIDL n` and `LIST n` for messages first..last only (pipelined when the server allows it): the
    // listing of a mailbox that only grew. A message the server refuses either for is left out.
    const Pop3Listing& listRange(std::uint32_t first, std::uint32_t last);
    // STAT, then `UIDL n` when the mailbox holds n messages or more, in one round trip where the
    // server pipelines: the count (nullopt when STAT is refused) and message n's UIDL (nullopt
    // when not asked or refused).
    struct CountAndUidl {
        std::optional<std::uint32_t> count;
        std::optional<std::string> uidl;
    };
    CountAndUidl countAndUidlOf(std::uint32_t number);

    using BodyFactory = std::function<delivery::MessageBody()>;
    // Called per retrieved message, in order; return false to stop after this one.
    using BodyHandler = std::function<bool(std::uint32_t number, delivery::MessageBody body)>;
    // Called, with why, for a message that is not handed on because its body cannot be trusted.
    using FailureHandler = std::function<void(std::uint32_t number, const std::string& why)>;
    // RETRs the messages, pipelined when the server allows it, streaming each body. A body whose
    // length differs from what LIST announced (a truncating or lying server) is not handed on: it
    // is fetched once more, and if it differs again `failed` is told instead of `handle`.
    void retrieve(const std::vector<std::uint32_t>& numbers, const BodyFactory& makeBody, const BodyHandler& handle,
                  const FailureHandler& failed = {});
    // TOP n 0 for each number, pipelined: each header block (its first 64 KiB) goes to `handle`
    // as it arrives. A message the server refuses TOP for is skipped.
    void headers(const std::vector<std::uint32_t>& numbers,
                 const std::function<void(std::uint32_t number, const std::string& header)>& handle);
    // Marks messages deleted; returns the numbers the server accepted. They are removed at quit().
    std::vector<std::uint32_t> markDeleted(const std::vector<std::uint32_t>& numbers);
    // QUIT: true when the server confirmed (and so committed any deletions).
    bool quit();

    State state() const { return state_; }
    bool pipelining() const { return pipelining_; }
    // The server agreed to UTF-8 mode (RFC 6856 UTF8), so it does not downgrade 8-bit headers.
    bool utf8Mode() const { return utf8Mode_; }
    const std::vector<std::string>& capabilities() const { return capabilities_; }

private:
    void expectOk(const std::string& command, const char* context, bool authentication = false);
    void readCapabilities();
    // Sends UTF8; true when the server accepted it.
    bool enableUtf8();
    bool hasCapability(const std::string& name) const;
    // Reads a multi-line listing up to its "." line, passing each line (dot-unstuffed) on.
    // Throws Pop3Error naming the limit after `maxLines` lines or `maxBytes` bytes.
    void readListing(const char* what, std::size_t maxLines, std::size_t maxBytes,
                     const std::function<void(std::string& line)>& onLine);
    void authenticate();
    void authenticateLogin();
    void authenticateOAuth(bool oauthBearer);
    // Sends a SASL step and requires a "+ base64" challenge in reply.
    void expectChallenge(const std::string& command);
    // What the server sent for a body, dot-unstuffed (as LIST counts it), whatever BODY then
    // makes of the bytes.
    struct SentBody {
        std::uint64_t octets = 0;
        bool endsWithCrlf = false;
    };
    SentBody readBody(delivery::MessageBody& body);
    std::optional<std::uint64_t> listedSize(std::uint32_t number) const;
    // Reads a one-line reply; its text when +OK, nullopt when -ERR.
    std::optional<std::string> okText(const char* context);
    // The count of a STAT reply (its command already sent); nullopt when refused.
    std::optional<std::uint32_t> statCount();
    static bool sizeAsListed(std::uint64_t listed, const SentBody& sent);
    // Sends commands keeping at most pipelineDepth unanswered; calls onReply per command in order.
    void pipeline(const std::vector<std::string>& commands, const std::function<bool(std::size_t index)>& onReply);

    Pop3Options options_;
    std::unique_ptr<net::LineChannel> channel_;
    State state_ = State::Disconnected;
    std::vector<std::string> capabilities_;
    bool pipelining_ = false;
    bool utf8Mode_ = false;
    Pop3Listing listing_;  // from list() or listRange()
};

}  // namespace mc::collector
