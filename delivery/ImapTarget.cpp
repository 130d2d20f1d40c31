// IMAP APPEND delivery (RFC 3501, RFC 9051): implicit TLS or required STARTTLS, AUTHENTICATE
// PLAIN or LOGIN, one APPEND per label folder and then one into the target folder (folders made
// on NO [TRYCREATE]), LITERAL+/LITERAL- when offered, and Gmail labels set with X-GM-LABELS.
// The pure decisions (plan, names, literal form, reply classes) are in ImapAppend.

#include "delivery/ImapTarget.hpp"

#include <spdlog/spdlog.h>

#include <functional>
#include <optional>

#include "delivery/ImapAppend.hpp"
#include "delivery/TargetConnectionBudget.hpp"
#include "net/ImapConnection.hpp"
#include "net/LineChannel.hpp"
#include "proto/AsciiText.hpp"
#include "proto/ImapParser.hpp"
#include "proto/MessageEncoder.hpp"
#include "proto/ModifiedUtf7.hpp"
#include "proto/Sasl.hpp"

namespace mc::delivery {
namespace {

using proto::ImapResponse;
using proto::ImapStatus;

// The tagged reply to APPEND comes after the server stored the message: as for SMTP's reply to
// the final dot, it gets five times the command timeout.
constexpr int kAppendTimeoutFactor = 5;
constexpr std::size_t kSendBuffer = 256 * 1024;
constexpr std::size_t kMaxListedFolders = 50'000;          // LIST responses expected when looking for \All
constexpr const char* kGmailAllMail = "[Gmail]/All Mail";  // when LIST names no \All folder

// "NO [OVERQUOTA] Quota exceeded", printable.
std::string describe(const ImapResponse& response) {
    std::string text = response.status == ImapStatus::Ok ? "OK" : response.status == ImapStatus::No ? "NO" : "BAD";
    if (response.code)
        text +=
            " [" + response.code->name + (response.code->arguments.empty() ? "" : " " + response.code->arguments) + "]";
    return net::printable(text + " " + response.text);
}

// A refusal at login that means "not now" rather than "not you": RFC 5530's LIMIT and
// UNAVAILABLE, or a text about too many connections (Dovecot: "NO [LIMIT] Maximum number of
// connections from user+IP exceeded").
bool isBusyReply(const ImapResponse& response) {
    if (response.code && (response.code->is("LIMIT") || response.code->is("UNAVAILABLE"))) return true;
    return soundsLikeTooManyConnections(response.text);
}

// Every byte of the literal: the trace lines, then the message with CRLF line endings.
template <typename Sink>
void encodeMessage(const OutgoingMessage& message, Sink&& sink) {
    proto::CrlfEncoder encoder;
    std::string out;
    auto pass = [&](std::string_view chunk) {
        while (!chunk.empty()) {
            std::string_view part = chunk.substr(0, kSendBuffer);
            chunk.remove_prefix(part.size());
            encoder.encode(part, out);
            if (out.size() >= kSendBuffer) {
                sink(out);
                out.clear();
            }
        }
    };
    pass(message.headerPrefix);
    message.body->forEachChunk(pass);
    encoder.finish(out);
    sink(out);
}

class ImapTarget final : public MessageTarget {
public:
    explicit ImapTarget(TargetOptions options) : options_(std::move(options)), timeout_(options_.connect.timeout) {}

    ~ImapTarget() override { close(); }

    void open() override {
        if (connection_) return;
        net::ImapConnectionOptions options;
        options.connect = options_.connect;
        options.tls = options_.tls;
        options.limits = parserLimits();
        options.peer = "IMAP target";
        options.tagPrefix = "M";
        options.allowPreauth = false;
        connection_ = std::make_unique<net::ImapConnection>(std::move(options));
        selected_.reset();
        allMail_.reset();
        try {
            connection_->open();
            authenticate();
        } catch (const net::ImapError& e) {
            // Garbage or a dropped exchange is a transport failure; a refusal is the target's. A
            // BYE before the login completed, or a "too many connections" greeting, is a server
            // turning connections away for now.
            bool broken = connection_->broken();
            connection_.reset();
            std::string what = e.what();
            if (what.find("closed the connection") != std::string::npos || soundsLikeTooManyConnections(what))
                throw TargetBusyError("too many connections to the target: " + what);
            if (broken) throw net::TransportError(net::TransportErrorKind::Protocol, what);
            throw TargetError(what);
        } catch (...) {
            connection_.reset();
            throw;
        }
    }

    DeliveryResult deliver(const OutgoingMessage& message) override {
        open();  // a target that cannot be reached or trusted fails the poll, not the message
        try {
            return appendEverywhere(message);
        } catch (const net::TransportError& e) {
            connection_.reset();
            return {DeliveryOutcome::Deferred, 0, e.what(), true, {}};
        } catch (const net::ImapError& e) {  // garbage, BYE, a reply out of step
            connection_.reset();
            return {DeliveryOutcome::Deferred, 0, e.what(), true, {}};
        } catch (...) {
            // E.g. the spool file failed to read mid-literal: the server still waits for the
            // literal's remaining bytes, so nothing more may be sent on this connection.
            connection_.reset();
            throw;
        }
    }

    TargetProbe probe() override {
        open();
        std::string folder = "'" + net::printable(options_.folder) + "'";
        try {
            ImapResponse reply = command("STATUS " + mailbox(options_.folder) + " (MESSAGES)");
            if (reply.status == ImapStatus::Ok) return {true, "folder " + folder + " can be opened"};
            if (reply.status == ImapStatus::No && reply.code &&
                (reply.code->is("NONEXISTENT") || reply.code->is("TRYCREATE")))
                return {true, "folder " + folder + " does not exist yet; the first delivery creates it"};
            return {false, "target refused STATUS of folder " + folder + ": " + describe(reply) +
                               "; check [target] folder and the account's rights on it"};
        } catch (const net::ImapError& e) {
            connection_.reset();
            throw net::TransportError(net::TransportErrorKind::Protocol, e.what());
        } catch (const net::TransportError&) {
            connection_.reset();
            throw;
        }
    }

    void close() override {
        if (!connection_) return;
        try {
            connection_->transport().setTimeout(std::chrono::milliseconds(5'000));
            connection_->expectBye(true);
            command("LOGOUT");
        } catch (...) {
        }
        connection_.reset();
    }

private:
    static proto::ImapParserLimits parserLimits() {
        proto::ImapParserLimits limits;  // a target sends short replies; nothing is streamed
        limits.maxLiteralSize = 1 << 20;
        limits.maxResponseSize = 4 << 20;
        return limits;
    }

    bool has(std::string_view capability) const { return connection_->hasCapability(capability); }

    std::string sendCommand(const std::string& line) { return connection_->send(line); }

    // Reads up to the tagged reply to `tag`. With `onContinuation`, a "+" calls it (once the caller
    // has sent what the server waits for, the reading goes on); without, a "+" is a protocol error.
    ImapResponse awaitTagged(const std::string& tag, const std::function<void()>& onContinuation = {}) {
        if (!onContinuation) return connection_->awaitTagged(tag);
        return connection_->awaitTagged(tag, {}, [&](const ImapResponse&) { onContinuation(); });
    }

    ImapResponse command(const std::string& line) { return connection_->run(line); }

    void authenticate() {
        auto mechanism = proto::chooseSaslMechanism(
            std::nullopt, false, [&](std::string_view name) { return connection_->offersSasl(name); });
        ImapResponse reply = connection_->authenticate(mechanism, options_.username, options_.password);
        if (reply.status != ImapStatus::Ok && isBusyReply(reply))
            throw TargetBusyError("too many connections to the target: " + describe(reply));
        if (reply.status != ImapStatus::Ok)
            throw TargetError("IMAP target refused the credentials: " + describe(reply));
    }

    proto::ImapLiteralMode literalMode() const {
        if (has("LITERAL+")) return proto::ImapLiteralMode::LiteralPlus;
        if (has("LITERAL-")) return proto::ImapLiteralMode::LiteralMinus;
        return proto::ImapLiteralMode::Synchronizing;
    }

    static std::string mailbox(const std::string& name) {
        auto argument = imapMailboxArgument(name);
        if (!argument)
            throw TargetError("folder or label '" + net::printable(name) + "' cannot be sent to an IMAP server");
        return *argument;
    }

    // APPEND with the message as literal; a synchronizing literal waits for "+", and a server
    // that answers at once (NO [TRYCREATE]) never gets the bytes.
    ImapResponse append(const std::string& folder, const OutgoingMessage& message, std::uint64_t size) {
        std::string literal = appendLiteral(size, literalMode());
        bool synchronizing = literal.back() == '}' && literal[literal.size() - 2] != '+';
        auto sendLiteral = [&] {
            encodeMessage(message, [&](const std::string& bytes) { connection_->sendRaw(bytes); });
            connection_->sendRaw("\r\n");
            connection_->transport().setTimeout(timeout_ * kAppendTimeoutFactor);
        };
        std::string tag = sendCommand("APPEND " + mailbox(folder) + " " + literal);
        if (!synchronizing) sendLiteral();
        bool sent = !synchronizing;
        ImapResponse reply = awaitTagged(tag, [&] {
            if (sent)
                throw net::TransportError(net::TransportErrorKind::Protocol, "IMAP target asked twice for the message");
            sendLiteral();
            sent = true;
        });
        connection_->transport().setTimeout(timeout_);
        // An OK before the server had the message cannot mean it stored it (a NO may come first).
        if (!sent && reply.status == ImapStatus::Ok)
            throw net::TransportError(net::TransportErrorKind::Protocol,
                                      "IMAP target answered APPEND with OK before it received the message");
        return reply;
    }

    // APPEND; a missing folder is created (CREATE) and the APPEND tried once more. A refused
    // CREATE may mean another connection just made the folder, so the APPEND is tried anyway; if
    // the folder is still missing, CREATE's refusal is the answer.
    ImapResponse appendCreating(const std::string& folder, const OutgoingMessage& message, std::uint64_t size) {
        ImapResponse reply = append(folder, message, size);
        if (classifyImapReply(reply) != ImapReplyKind::TryCreate) return reply;
        ImapResponse created = command("CREATE " + mailbox(folder));
        if (created.status == ImapStatus::Ok) spdlog::info("IMAP target: created folder '{}'", net::printable(folder));
        reply = append(folder, message, size);
        if (classifyImapReply(reply) == ImapReplyKind::TryCreate && created.status != ImapStatus::Ok) return created;
        return reply;
    }

    // Gmail's "All Mail" by its \All attribute (its name is localised), once per connection.
    const std::string& gmailAllMail() {
        if (allMail_) return *allMail_;
        std::string found;
        connection_->run(
            "LIST \"\" \"*\"",
            [&](const ImapResponse& response) {
                auto entry = response.list();
                if (!entry || !found.empty()) return;
                for (const auto& flag : entry->flags)
                    if (proto::equalsNoCase(flag, "\\All"))
                        found = proto::modifiedUtf7Decode(entry->name).value_or(entry->name);
            },
            kMaxListedFolders);
        allMail_ = found.empty() ? kGmailAllMail : found;
        return *allMail_;
    }

    // UID STORE uid +X-GM-LABELS (...) on the folder the message was appended to. nullopt when
    // Gmail named no single APPENDUID (no UIDPLUS): the message is in, but without its labels.
    std::optional<ImapResponse> applyGmailLabels(const std::string& folder, const ImapResponse& appended,
                                                 const std::vector<std::string>& labels) {
        auto appendUid = appended.code ? appended.code->appendUid() : std::nullopt;
        if (!appendUid || appendUid->uids.size() != 1 || appendUid->uids[0].first != appendUid->uids[0].last) {
            spdlog::warn(
                "IMAP target: Gmail sent no APPENDUID for a message appended to '{}'; its labels "
                "were not set",
                net::printable(folder));
            return std::nullopt;
        }
        auto labelList = gmailLabelList(labels);
        if (!labelList) throw TargetError("a label cannot be sent to Gmail");
        if (selected_ != folder) {
            selected_.reset();
            ImapResponse selected = command("SELECT " + mailbox(folder));
            if (selected.status != ImapStatus::Ok) return selected;
            selected_ = folder;
        }
        return command("UID STORE " + std::to_string(appendUid->uids[0].first) + " +X-GM-LABELS " + *labelList);
    }

    DeliveryResult appendEverywhere(const OutgoingMessage& message) {
        std::uint64_t size = 0;
        encodeMessage(message, [&](const std::string& bytes) { size += bytes.size(); });
        bool gmail = has("X-GM-EXT-1");
        bool archiveGmail = gmail && message.archive && !message.labels.empty();
        AppendPlan plan = planAppends(options_.folder, message.labels, message.archive, gmail,
                                      archiveGmail ? gmailAllMail() : kGmailAllMail);
        // Every name is checked before the first APPEND, so an unsendable one leaves no copies.
        for (const auto& folder : plan.folders) mailbox(folder);
        if (!plan.gmailLabels.empty() && !gmailLabelList(plan.gmailLabels))
            throw TargetError("a label cannot be sent to Gmail");
        std::string done;  // folders that already hold the message
        for (const auto& folder : plan.folders) {
            ImapResponse reply = appendCreating(folder, message, size);
            if (reply.status != ImapStatus::Ok)
                return failure(reply, "APPEND to '" + net::printable(folder) + "'", done);
            done += (done.empty() ? "" : ", ") + net::printable(folder);
            if (!plan.gmailLabels.empty()) {
                auto labelled = applyGmailLabels(folder, reply, plan.gmailLabels);
                if (labelled && labelled->status != ImapStatus::Ok)
                    return failure(*labelled, "setting Gmail labels", done);
            }
        }
        return {DeliveryOutcome::Accepted, 0, net::printable("OK appended to " + done), false, {}};
    }

    DeliveryResult failure(const ImapResponse& reply, const std::string& step, const std::string& done) {
        DeliveryResult result;
        result.reply = step + ": " + describe(reply);
        if (!done.empty()) result.reply += net::printable(" (already in " + done + ", which a retry appends to again)");
        switch (classifyImapReply(reply)) {
            case ImapReplyKind::Transient:
                result.outcome = DeliveryOutcome::Deferred;
                close();  // the next message starts on a fresh connection
                break;
            case ImapReplyKind::Ok:  // not reached: only failures get here
            case ImapReplyKind::TryCreate:
            case ImapReplyKind::Permanent:
                result.outcome = DeliveryOutcome::Rejected;
                if (reply.status == ImapStatus::Bad) connection_.reset();  // maybe out of step
                break;
        }
        return result;
    }

    TargetOptions options_;
    std::chrono::milliseconds timeout_;  // as configured; APPEND's final reply gets longer
    std::unique_ptr<net::ImapConnection> connection_;
    std::optional<std::string> selected_;  // Gmail: the folder selected for UID STORE
    std::optional<std::string> allMail_;   // Gmail: the \All folder's name
};

}  // namespace

std::unique_ptr<MessageTarget> makeImapTarget(TargetOptions options) {
    return std::make_unique<ImapTarget>(std::move(options));
}

}  // namespace mc::delivery
