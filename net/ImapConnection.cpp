#include "net/ImapConnection.hpp"

#include "proto/AsciiText.hpp"
#include "proto/ImapCommand.hpp"

namespace mc::net {

using proto::ImapResponse;
using proto::ImapStatus;

ImapConnection::ImapConnection(ImapConnectionOptions options)
    : options_(std::move(options)), parser_(options_.limits) {}

bool ImapConnection::open() {
    auto connectOptions = options_.connect;
    connectOptions.implicitTls = options_.tls == TlsMode::Implicit;
    channel_ = std::make_unique<LineChannel>(connect(connectOptions));
    parser_ = proto::ImapResponseParser(options_.limits);
    capabilities_.clear();
    broken_ = false;
    byeExpected_ = false;
    ImapResponse greeting = readResponse();
    bool preauth = false;
    if (greeting.status == ImapStatus::Preauth && greeting.isUntagged()) {
        if (options_.tls == TlsMode::StartTls)
            throw ImapError(options_.peer + " greeted with PREAUTH, which would skip the required STARTTLS");
        if (!options_.allowPreauth)
            throw ImapError(options_.peer +
                            " greeted with PREAUTH; a login is required (and PREAUTH would skip STARTTLS)");
        preauth = true;
    } else if (greeting.status != ImapStatus::Ok || !greeting.isUntagged()) {
        throw ImapError("unexpected greeting from the " + options_.peer + ": " + printable(greeting.text));
    }
    if (greeting.code && greeting.code->is("CAPABILITY"))
        capabilities_ = greeting.code->atoms();
    else
        refreshCapabilities();
    if (options_.tls == TlsMode::StartTls) {
        if (!hasCapability("STARTTLS"))
            throw ImapError(options_.peer + " does not offer STARTTLS, which the config requires");
        ImapResponse reply = run("STARTTLS");
        if (reply.status != ImapStatus::Ok)
            throw ImapError("STARTTLS refused by the " + options_.peer + ": " + printable(reply.text));
        channel_->startTls();
        capabilities_.clear();
        refreshCapabilities();  // capabilities before TLS may have been forged
    }
    return preauth;
}

ImapResponse ImapConnection::readResponse() {
    if (!channel_) throw ImapError("the connection to the " + options_.peer + " is no longer usable");
    for (;;) {
        if (parser_.hasResponse()) return parser_.take();
        std::string_view chunk = channel_->peekChunk();
        auto progress = parser_.feed(chunk);
        channel_->consumeResponses(progress.consumed);
        if (progress.status == proto::ImapResponseParser::Status::Error) {
            using proto::ImapParseError;
            const auto& limits = parser_.limits();
            switch (parser_.error()) {
                case ImapParseError::LiteralTooLarge:
                case ImapParseError::SinkRejected:  // the sink refuses a body above the cap
                    fail(options_.peer + " announced a literal larger than the limit of " +
                             std::to_string(limits.maxLiteralSize) + " bytes" + options_.literalLimitNote + "; refused",
                         proto::FailureKind::Limit);
                case ImapParseError::ResponseTooLarge:
                    fail(options_.peer + " response exceeds the limit of " + std::to_string(limits.maxResponseSize) +
                             " bytes held per response; refused",
                         proto::FailureKind::Limit);
                case ImapParseError::TooManyElements:
                    fail(options_.peer + " response exceeds the limit of " + std::to_string(limits.maxElements) +
                             " values per response; refused",
                         proto::FailureKind::Limit);
                default:
                    fail("malformed response from the " + options_.peer + " (" +
                         std::string(proto::imapParseErrorName(parser_.error())) + ")");
            }
        }
        if (progress.status == proto::ImapResponseParser::Status::Complete) {
            ImapResponse response = parser_.take();
            if (response.isBye() && !byeExpected_)
                fail(options_.peer + " closed the connection: " + printable(response.text));
            return response;
        }
    }
}

void ImapConnection::fail(const std::string& what, proto::FailureKind kind) {
    // After BYE, a parse failure or a reply out of order, what comes next cannot be trusted to
    // belong to the next command.
    broken_ = true;
    throw ImapError(kind, what);
}

std::string ImapConnection::send(const std::string& command) {
    if (broken_ || !channel_) throw ImapError("the connection to the " + options_.peer + " is no longer usable");
    std::string tag = options_.tagPrefix + std::to_string(++tagCounter_);
    channel_->send(tag + " " + command + "\r\n");
    return tag;
}

void ImapConnection::sendRaw(std::string_view bytes) {
    if (broken_ || !channel_) throw ImapError("the connection to the " + options_.peer + " is no longer usable");
    channel_->send(bytes);
}

void ImapConnection::checkUntaggedBudget(std::size_t count, std::size_t expected) {
    if (count > expected + kImapUntaggedSlack)
        fail(options_.peer + " exceeded the limit of " + std::to_string(expected + kImapUntaggedSlack) +
                 " untagged responses to one command; refused",
             proto::FailureKind::Limit);
}

void ImapConnection::noteCapabilities(const ImapResponse& response) {
    if (auto caps = response.capabilities()) capabilities_ = std::move(*caps);
}

ImapResponse ImapConnection::awaitTagged(const std::string& tag, const ResponseHandler& onUntagged,
                                         const ResponseHandler& onContinuation, std::size_t expectedUntagged) {
    std::size_t untagged = 0;
    for (;;) {
        ImapResponse response = readResponse();
        if (response.isTagged(tag)) {
            if (response.code && response.code->is("CAPABILITY")) capabilities_ = response.code->atoms();
            return response;
        }
        if (response.isTagged()) fail("reply with an unknown tag from the " + options_.peer);
        if (response.isContinuation()) {
            if (!onContinuation) fail("unexpected continuation request from the " + options_.peer);
            onContinuation(response);
            continue;
        }
        checkUntaggedBudget(++untagged, expectedUntagged);
        noteCapabilities(response);
        if (onUntagged) onUntagged(response);
    }
}

ImapResponse ImapConnection::run(const std::string& command, const ResponseHandler& onUntagged,
                                 std::size_t expectedUntagged) {
    return awaitTagged(send(command), onUntagged, {}, expectedUntagged);
}

void ImapConnection::refreshCapabilities() {
    ImapResponse reply = run("CAPABILITY");
    if (reply.status != ImapStatus::Ok) throw ImapError("CAPABILITY refused: " + printable(reply.text));
}

bool ImapConnection::hasCapability(std::string_view name) const {
    return proto::hasImapCapability(capabilities_, name);
}

bool ImapConnection::offersSasl(std::string_view mechanism) const {
    return hasCapability("AUTH=" + std::string(mechanism));
}

ImapResponse ImapConnection::authenticate(proto::SaslMechanism mechanism, const std::string& user,
                                          const std::string& secret, std::string* oauthError,
                                          const ResponseHandler& onUntagged) {
    using proto::SaslMechanism;
    ImapResponse reply;
    switch (mechanism) {
        case SaslMechanism::Plain: {
            std::string initial = proto::saslPlain(user, secret);
            if (hasCapability("SASL-IR")) {  // RFC 4959
                reply = run("AUTHENTICATE PLAIN " + initial, onUntagged);
                break;
            }
            bool sent = false;
            reply = awaitTagged(send("AUTHENTICATE PLAIN"), onUntagged, [&](const ImapResponse&) {
                // A second challenge would be a server out of step: cancel the exchange.
                sendRaw(sent ? "*\r\n" : initial + "\r\n");
                sent = true;
            });
            break;
        }
        case SaslMechanism::Login:
            if (hasCapability("LOGINDISABLED"))
                throw ImapError(options_.peer + " disabled LOGIN and offers no AUTH=PLAIN");
            reply = run("LOGIN " + imapQuoted(user) + " " + imapQuoted(secret), onUntagged);
            break;
        case SaslMechanism::XOAuth2:
        case SaslMechanism::OAuthBearer: {
            const bool bearer = mechanism == SaslMechanism::OAuthBearer;
            const std::string initial =
                bearer ? proto::saslOAuthBearer(user, options_.connect.host, options_.connect.port, secret)
                       : proto::saslXoauth2(user, secret);
            bool initialSent = hasCapability("SASL-IR");
            bool errorChallenge = false;
            std::optional<proto::OAuthErrorChallenge> error;
            std::string tag = send(std::string("AUTHENTICATE ") + (bearer ? "OAUTHBEARER" : "XOAUTH2") +
                                   (initialSent ? " " + initial : ""));
            reply = awaitTagged(tag, onUntagged, [&](const ImapResponse& challenge) {
                if (!initialSent) {  // the empty challenge that asks for the initial response
                    sendRaw(initial + "\r\n");
                    initialSent = true;
                } else if (!errorChallenge) {
                    // An error challenge (RFC 7628 3.2.2): acknowledge it; the server then answers NO.
                    error = proto::parseOAuthErrorChallenge(challenge.text);
                    errorChallenge = true;
                    sendRaw(proto::oauthErrorAcknowledgement(bearer) + "\r\n");
                } else {
                    sendRaw("*\r\n");  // a server that keeps challenging: cancel (RFC 3501 6.2.2)
                }
            });
            if (errorChallenge && oauthError) *oauthError = proto::describeOAuthError(error);
            break;
        }
    }
    if (reply.status == ImapStatus::Ok && !(reply.code && reply.code->is("CAPABILITY"))) refreshCapabilities();
    return reply;
}

std::string imapQuoted(const std::string& value, bool utf8) {
    auto quoted = proto::imapQuote(value, proto::ImapLiteralMode::Synchronizing, utf8);
    if (!quoted || quoted->literal) throw ImapError("a name or credential cannot be sent as a quoted IMAP string");
    return quoted->token;
}

}  // namespace mc::net
