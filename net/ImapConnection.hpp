#pragma once
// One IMAP4 client connection (RFC 3501, RFC 9051), shared by the IMAP source (collector/imap)
// and the IMAP target (delivery/ImapTarget): connect (implicit TLS or required STARTTLS), the
// greeting and PREAUTH, tags, responses through the streaming parser and its byte budgets, the
// untagged budget per command, continuations, capabilities and SASL logins. Callers keep their
// own commands; failures of the exchange are ImapError, and leave the connection broken().

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "net/LineChannel.hpp"
#include "proto/Failure.hpp"
#include "proto/ImapParser.hpp"
#include "proto/Sasl.hpp"

namespace mc::net {

// `authentication`: the server refused the credentials.
class ImapError : public proto::Failure {
public:
    ImapError(const std::string& what, bool authentication = false)
        : proto::Failure(authentication ? proto::FailureKind::Authentication : proto::FailureKind::Protocol, what) {}
    ImapError(proto::FailureKind kind, const std::string& what) : proto::Failure(kind, what) {}
    bool authentication() const { return failureKind() == proto::FailureKind::Authentication; }
};

// Untagged responses one command may draw beyond those it asks for (EXISTS, FLAGS, alerts...).
inline constexpr std::size_t kImapUntaggedSlack = 10'000;

struct ImapConnectionOptions {
    ConnectOptions connect;  // implicitTls is set from `tls`
    TlsMode tls = TlsMode::Implicit;
    proto::ImapParserLimits limits;
    // Who the other side is in messages: "server", "IMAP target".
    std::string peer = "server";
    std::string tagPrefix = "A";
    // Appended to the literal limit in its error, e.g. " (max_message_size plus a margin)".
    std::string literalLimitNote;
    // PREAUTH skips the login; it is refused when false, and always when STARTTLS is required
    // (it would skip it: the classic downgrade).
    bool allowPreauth = true;
};

class ImapConnection {
public:
    using ResponseHandler = std::function<void(const proto::ImapResponse&)>;

    explicit ImapConnection(ImapConnectionOptions options);

    // Connects, reads the greeting, learns the capabilities and does the required STARTTLS.
    // Returns true when the server greeted with PREAUTH (already authenticated).
    bool open();

    // The next response; BYE (unless expectBye()) and malformed input throw ImapError.
    proto::ImapResponse readResponse();
    // Sends a command with a fresh tag; returns the tag.
    std::string send(const std::string& command);
    // Sends bytes as they are (a SASL response, a literal, DONE).
    void sendRaw(std::string_view bytes);
    // Reads until the tagged reply to `tag`. Untagged responses update the capabilities and go to
    // onUntagged; more than expectedUntagged + kImapUntaggedSlack of them fail the connection.
    // A continuation goes to onContinuation; without one it is a protocol error.
    proto::ImapResponse awaitTagged(const std::string& tag, const ResponseHandler& onUntagged = {},
                                    const ResponseHandler& onContinuation = {}, std::size_t expectedUntagged = 0);
    proto::ImapResponse run(const std::string& command, const ResponseHandler& onUntagged = {},
                            std::size_t expectedUntagged = 0);

    // Logs in with `mechanism` (Login: the LOGIN command). OAuth mechanisms answer an error
    // challenge as RFC 7628 asks; `oauthError` then tells what the server said. The tagged reply
    // is returned whatever its status; afterwards the capabilities are current.
    proto::ImapResponse authenticate(proto::SaslMechanism mechanism, const std::string& user, const std::string& secret,
                                     std::string* oauthError = nullptr, const ResponseHandler& onUntagged = {});
    bool offersSasl(std::string_view mechanism) const;

    void refreshCapabilities();
    // Takes the capabilities a response announces ("* CAPABILITY", a [CAPABILITY] code), if any.
    void noteCapabilities(const proto::ImapResponse& response);
    const std::vector<std::string>& capabilities() const { return capabilities_; }
    bool hasCapability(std::string_view name) const;

    // Fails the untagged budget check for `count` responses to a command asking for `expected`.
    void checkUntaggedBudget(std::size_t count, std::size_t expected);
    // Marks the connection unusable and throws ImapError(what).
    [[noreturn]] void fail(const std::string& what, proto::FailureKind kind = proto::FailureKind::Protocol);
    bool broken() const { return broken_; }
    void markBroken() { broken_ = true; }
    // A BYE is the expected end (LOGOUT), not a failure.
    void expectBye(bool expected) { byeExpected_ = expected; }

    proto::ImapResponseParser& parser() { return parser_; }
    Transport& transport() { return channel_->transport(); }
    const ImapConnectionOptions& options() const { return options_; }
    bool connected() const { return channel_ != nullptr; }
    void close() { channel_.reset(); }

private:
    ImapConnectionOptions options_;
    std::unique_ptr<LineChannel> channel_;
    proto::ImapResponseParser parser_;
    std::vector<std::string> capabilities_;
    std::uint64_t tagCounter_ = 0;
    bool broken_ = false;
    bool byeExpected_ = false;
};

// A string as an IMAP quoted string; ImapError when it needs a literal (credentials and names
// that do are refused rather than sent with a continuation round trip). `utf8`: UTF8=ACCEPT is
// enabled, so UTF-8 may be quoted (RFC 6855).
std::string imapQuoted(const std::string& value, bool utf8 = false);

}  // namespace mc::net
