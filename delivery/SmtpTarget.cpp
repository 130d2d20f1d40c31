// SMTP (RFC 5321) and LMTP (RFC 2033) delivery over our own line channel: EHLO/LHLO, required
// STARTTLS, AUTH PLAIN/LOGIN, PIPELINING, SIZE, 8BITMIME, and our own CRLF/dot-stuffing encoder.

#include <unistd.h>

#include <optional>

#include "delivery/ImapTarget.hpp"
#include "delivery/MessageTarget.hpp"
#include "delivery/TargetConnectionBudget.hpp"
#include "net/LineChannel.hpp"
#include "proto/MessageEncoder.hpp"
#include "proto/Sasl.hpp"
#include "proto/SmtpReply.hpp"

namespace mc::delivery {
namespace {

using proto::SmtpReply;

// RFC 5321 4.5.3.2.6 allows 10 minutes for the reply to the final dot: five times the
// command timeout (which defaults to two minutes).
constexpr int kDataTimeoutFactor = 5;
constexpr std::size_t kSendBuffer = 256 * 1024;

bool isMalformedSenderReply(int code) { return code == 501 || code == 553 || code == 550 || code == 555; }

class SmtpTarget final : public MessageTarget {
public:
    explicit SmtpTarget(TargetOptions options)
        : options_(std::move(options)),
          timeout_(options_.connect.timeout),
          lmtp_(options_.protocol == TargetProtocol::Lmtp) {
        options_.connect.implicitTls = options_.tls == net::TlsMode::Implicit;
    }

    ~SmtpTarget() override { close(); }

    void open() override {
        if (channel_) return;
        channel_ = std::make_unique<net::LineChannel>(net::connect(options_.connect), 4096 + 16);
        try {
            handshake();
        } catch (...) {
            channel_.reset();
            throw;
        }
    }

    DeliveryResult deliver(const OutgoingMessage& message) override {
        open();  // a target that cannot be reached or trusted fails the poll, not the message
        try {
            DeliveryResult result = transaction(message, message.envelopeFrom);
            if (result.outcome == DeliveryOutcome::Rejected && result.code != 0 && senderRejected_ &&
                isMalformedSenderReply(result.code) && message.envelopeFrom != fallbackSender()) {
                // The source's Return-Path may be something this target refuses; deliver it with
                // the target's own address rather than fail the message.
                open();
                result = transaction(message, fallbackSender());
            }
            return result;
        } catch (const net::TransportError& e) {
            channel_.reset();
            return DeliveryResult{DeliveryOutcome::Deferred, 0, e.what(), true, {}};
        }
    }

    TargetProbe probe() override {
        open();
        try {
            std::string sender = fallbackSender();
            SmtpReply mail = command("MAIL FROM:<" + sender + ">");
            if (!mail.positive()) {
                endProbe();
                return {false, "target refused MAIL FROM:<" + net::printable(sender) + ">: " + quote(mail) +
                                   "; check [target] envelope_from and username"};
            }
            SmtpReply rcpt = command("RCPT TO:<" + options_.recipient + ">");
            endProbe();
            std::string recipient = "<" + net::printable(options_.recipient) + ">";
            if (rcpt.positive()) return {true, "recipient " + recipient + " accepted"};
            if (rcpt.transient())
                return {false, "target deferred the recipient " + recipient + ": " + quote(rcpt) + "; try again later"};
            return {false, "target refused the recipient " + recipient + ": " + quote(rcpt) +
                               "; check [target] recipient (a mistyped address is refused like this)"};
        } catch (const net::TransportError&) {
            channel_.reset();
            throw;
        }
    }

    void close() override {
        if (!channel_) return;
        try {
            channel_->transport().setTimeout(std::chrono::milliseconds(5'000));
            channel_->send("QUIT\r\n");
            readReply();
        } catch (...) {
        }
        channel_.reset();
    }

private:
    // RSET after a probe; a target that refuses it is left.
    void endProbe() {
        if (!channel_) return;
        if (!command("RSET").positive()) channel_.reset();
    }

    std::string fallbackSender() const {
        if (options_.envelopeFrom != "original") return options_.envelopeFrom;
        if (options_.username.find('@') != std::string::npos) return options_.username;
        return options_.recipient;
    }

    SmtpReply readReply() {
        proto::SmtpReplyParser parser;
        for (;;) {
            std::string line = channel_->readLine();
            switch (parser.feedLine(line)) {
                case proto::SmtpReplyParser::Status::Complete:
                    return parser.take();
                case proto::SmtpReplyParser::Status::Error:
                    throw net::TransportError(net::TransportErrorKind::Protocol,
                                              "malformed reply from target: " + net::printable(line));
                case proto::SmtpReplyParser::Status::NeedMore:
                    break;
            }
        }
    }

    SmtpReply command(const std::string& line) {
        channel_->send(line + "\r\n");
        return readReply();
    }

    static std::string quote(const SmtpReply& reply) {
        return std::to_string(reply.code) + " " + net::printable(reply.text());
    }

    [[noreturn]] void fail(const std::string& what, const SmtpReply& reply) {
        channel_.reset();
        throw TargetError(what + ": " + quote(reply), reply.transient());
    }

    // At the greeting, EHLO or AUTH a 4xx (421 above all) or a "too many connections" text says
    // the target is full now, not that the settings are wrong: the caller waits and reconnects.
    [[noreturn]] void failOrBusy(const std::string& what, const SmtpReply& reply) {
        if (reply.transient() || soundsLikeTooManyConnections(reply.text())) {
            channel_.reset();
            throw TargetBusyError("too many connections to the target: " + quote(reply));
        }
        fail(what, reply);
    }

    void greetAndHello() {
        SmtpReply greeting = readReply();
        if (greeting.code != 220) failOrBusy("target greeting refused", greeting);
        hello();
    }

    void hello() {
        SmtpReply reply = command(std::string(lmtp_ ? "LHLO" : "EHLO") + " " + localName());
        if (reply.code != 250) failOrBusy(lmtp_ ? "LHLO refused" : "EHLO refused", reply);
        extensions_ = proto::parseEhloExtensions(reply);
    }

    void handshake() {
        greetAndHello();
        if (options_.tls == net::TlsMode::StartTls) {
            if (!extensions_.has("STARTTLS"))
                throw TargetError("target does not offer STARTTLS, which the config requires");
            SmtpReply reply = command("STARTTLS");
            if (reply.code != 220) fail("target refused STARTTLS", reply);
            channel_->startTls();
            hello();  // capabilities are re-read once TLS is up
        }
        if (!options_.username.empty()) authenticate();
    }

    void authenticate() {
        std::string mechanisms = " " + extensions_.parameters("AUTH") + " ";
        SmtpReply reply;
        if (mechanisms.find(" PLAIN ") != std::string::npos) {
            reply = command("AUTH PLAIN " + proto::saslPlain(options_.username, options_.password));
        } else if (mechanisms.find(" LOGIN ") != std::string::npos) {
            reply = command("AUTH LOGIN");
            if (reply.code == 334) reply = command(proto::base64Encode(options_.username));
            if (reply.code == 334) reply = command(proto::base64Encode(options_.password));
        } else {
            throw TargetError("target offers neither AUTH PLAIN nor AUTH LOGIN");
        }
        if (reply.code != 235) failOrBusy("target refused the credentials", reply);
    }

    std::string mailFrom(const std::string& sender, const OutgoingMessage& message) const {
        std::string line = "MAIL FROM:<" + sender + ">";
        if (extensions_.has("SIZE"))
            line += " SIZE=" + std::to_string(message.body->crlfSize() + message.headerPrefix.size());
        if (extensions_.has("8BITMIME")) line += " BODY=8BITMIME";
        return line;
    }

    DeliveryResult transaction(const OutgoingMessage& message, const std::string& sender) {
        senderRejected_ = false;
        std::string mail = mailFrom(sender, message);
        std::string rcpt = "RCPT TO:<" + message.recipient + ">";
        SmtpReply mailReply, rcptReply, dataReply;
        if (extensions_.has("PIPELINING")) {
            channel_->send(mail + "\r\n" + rcpt + "\r\nDATA\r\n");
            mailReply = readReply();
            rcptReply = readReply();
            dataReply = readReply();
        } else {
            mailReply = command(mail);
            if (mailReply.positive()) rcptReply = command(rcpt);
            if (mailReply.positive() && rcptReply.positive()) dataReply = command("DATA");
        }
        if (dataReply.code == 354 && (!mailReply.positive() || !rcptReply.positive())) {
            // A server that accepted DATA after a refusal: end the empty transaction cleanly.
            channel_->send(".\r\n");
            readReply();
        }
        if (!mailReply.positive()) {
            senderRejected_ = true;
            return endTransaction(mailReply, sender);
        }
        if (!rcptReply.positive()) return endTransaction(rcptReply, sender);
        if (dataReply.code != 354) return endTransaction(dataReply, sender);
        sendContent(message);
        channel_->transport().setTimeout(timeout_ * kDataTimeoutFactor);
        SmtpReply finalReply = readReply();  // LMTP: one reply per recipient; we send one
        channel_->transport().setTimeout(timeout_);
        return outcomeOf(finalReply, sender);
    }

    DeliveryResult endTransaction(const SmtpReply& reply, const std::string& sender) {
        DeliveryResult result = outcomeOf(reply, sender);
        if (result.connectionLost) return result;
        SmtpReply rset = command("RSET");
        if (!rset.positive()) channel_.reset();
        return result;
    }

    DeliveryResult outcomeOf(const SmtpReply& reply, const std::string& sender) {
        DeliveryResult result;
        result.code = reply.code;
        result.reply = std::to_string(reply.code) + " " + net::printable(reply.text());
        result.usedSender = sender;
        if (reply.positive())
            result.outcome = DeliveryOutcome::Accepted;
        else if (reply.transient())
            result.outcome = DeliveryOutcome::Deferred;
        else
            result.outcome = DeliveryOutcome::Rejected;
        if (reply.code == 421) {  // the server is closing the connection
            channel_.reset();
            result.connectionLost = true;
        }
        return result;
    }

    void sendContent(const OutgoingMessage& message) {
        proto::DotStuffingEncoder encoder;
        std::string out;
        out.reserve(kSendBuffer + 4096);
        auto pass = [&](std::string_view chunk) {
            while (!chunk.empty()) {
                std::string_view part = chunk.substr(0, kSendBuffer);
                chunk.remove_prefix(part.size());
                encoder.encode(part, out);
                if (out.size() >= kSendBuffer) {
                    channel_->send(out);
                    out.clear();
                }
            }
        };
        pass(message.headerPrefix);
        message.body->forEachChunk(pass);
        encoder.finish(out);
        channel_->send(out);
    }

    static std::string localName() {
        char name[256] = {};
        if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
        return name;
    }

    TargetOptions options_;
    std::chrono::milliseconds timeout_;  // as configured; DATA's final reply gets longer
    bool lmtp_;
    std::unique_ptr<net::LineChannel> channel_;
    proto::EhloExtensions extensions_;
    bool senderRejected_ = false;
};

}  // namespace

std::unique_ptr<MessageTarget> makeTarget(TargetOptions options) {
    if (options.protocol == TargetProtocol::Imap) return makeImapTarget(std::move(options));
    return std::make_unique<SmtpTarget>(std::move(options));
}

}  // namespace mc::delivery
