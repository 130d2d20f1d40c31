#include "collector/imap/ImapSession.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <utility>

#include "collector/CrashPoints.hpp"
#include "collector/SourceSettings.hpp"
#include "collector/proto/AsciiText.hpp"
#include "collector/proto/ImapCommand.hpp"
#include "collector/proto/ModifiedUtf7.hpp"
#include "collector/proto/Sasl.hpp"

namespace mc::collector {
namespace {

using proto::ImapResponse;
using proto::ImapStatus;

// Below this a FETCH body stays in the parsed response; above it is streamed to a MessageBody.
constexpr std::uint64_t kStreamThreshold = 64 * 1024;

bool hasFlag(const std::vector<std::string>& flags, std::string_view flag) {
    return std::any_of(flags.begin(), flags.end(), [&](const std::string& f) { return proto::equalsNoCase(f, flag); });
}

std::string describe(const ImapResponse& response) { return net::printable(response.text); }

}  // namespace

bool ImapFolder::selectable() const { return !hasFlag(flags, "\\Noselect") && !hasFlag(flags, "\\NonExistent"); }

bool ImapFolder::excludedFromStar() const {
    if (hasFlag(flags, "\\Trash") || hasFlag(flags, "\\Junk") || hasFlag(flags, "\\Drafts")) return true;
    static const char* kCommonNames[] = {"Trash", "Junk", "Spam", "Drafts", "Deleted Messages", "Deleted Items"};
    for (const char* common : kCommonNames)
        if (proto::equalsNoCase(name, common)) return true;
    return false;
}

int ImapFolder::trashRank() const {
    if (!selectable()) return 0;
    if (hasFlag(flags, "\\Trash")) return 2;
    for (const char* common : {"Trash", "Deleted Items", "Deleted Messages"})
        if (proto::equalsNoCase(name, common)) return 1;
    return 0;
}

ImapSession::ImapSession(ImapOptions options) : options_(std::move(options)) {
    proto::ImapParserLimits limits;
    limits.streamThreshold = kStreamThreshold;
    limits.maxLiteralSize = options_.maxMessageBytes;
    limits.maxResponseSize = options_.maxResponseBytes;
    limits.maxElements = kImapMaxResponseValues;
    parser_ = proto::ImapResponseParser(limits);
}

ImapSession::~ImapSession() = default;

bool ImapSession::hasCapability(const std::string& name) const {
    return proto::hasImapCapability(capabilities_, name);
}

ImapResponse ImapSession::readResponse() {
    for (;;) {
        if (parser_.hasResponse()) return parser_.take();
        std::string_view chunk = channel_->peekChunk();
        auto progress = parser_.feed(chunk);
        channel_->consume(progress.consumed);
        if (progress.status == proto::ImapResponseParser::Status::Error) {
            auto error = parser_.error();
            // The sink refuses a body above the cap before any byte of it is held.
            using proto::ImapParseError;
            if (error == ImapParseError::LiteralTooLarge || error == ImapParseError::SinkRejected)
                fail("server announced a literal larger than the limit of " +
                     std::to_string(options_.maxMessageBytes) + " bytes (max_message_size plus a margin); refused");
            if (error == ImapParseError::ResponseTooLarge)
                fail("server response exceeds the limit of " + std::to_string(options_.maxResponseBytes) +
                     " bytes held per response; refused");
            if (error == ImapParseError::TooManyElements)
                fail("server response exceeds the limit of " + std::to_string(kImapMaxResponseValues) +
                     " values per response; refused");
            fail("malformed response from the server (" + std::string(proto::imapParseErrorName(error)) +
                 ")");
        }
        if (progress.status == proto::ImapResponseParser::Status::Complete) {
            ImapResponse response = parser_.take();
            if (response.isBye() && state_ != State::LoggedOut)
                fail("server closed the connection: " + describe(response));
            return response;
        }
    }
}

void ImapSession::fail(const std::string& what) {
    // After BYE, a parse failure or a reply out of order, what comes next cannot be trusted to
    // belong to the next command.
    broken_ = true;
    state_ = State::LoggedOut;
    throw ImapError(what);
}

void ImapSession::noteUntagged(const ImapResponse& response) {
    if (auto caps = response.capabilities()) capabilities_ = *caps;
    if (auto exists = response.exists()) mailbox_.exists = *exists;
    if (auto recent = response.recent()) mailbox_.recent = *recent;
    if (auto expunged = response.expunge()) {
        if (mailbox_.exists > 0) --mailbox_.exists;
        // Later sequence numbers move down by one (RFC 3501 7.4.1).
        if (*expunged <= uidBySequence_.size()) {
            uidBySequence_.erase(uidBySequence_.begin() + (*expunged - 1));
            sizeBySequence_.erase(sizeBySequence_.begin() + (*expunged - 1));
        }
    }
    if (response.code) {
        if (response.code->is("UIDVALIDITY")) mailbox_.uidValidity = static_cast<std::uint32_t>(response.code->number().value_or(0));
        if (response.code->is("UIDNEXT"))
            mailbox_.uidNext = static_cast<std::uint32_t>(response.code->number().value_or(0));
        if (response.code->is("ALERT")) spdlog::warn("server alert for {}: {}", options_.username, describe(response));
    }
}

std::string ImapSession::send(const std::string& command) {
    if (broken_ || !channel_) throw ImapError("the connection to the server is no longer usable");
    std::string tag = "A" + std::to_string(++tagCounter_);
    channel_->send(tag + " " + command + "\r\n");
    return tag;
}

void ImapSession::checkUntaggedBudget(std::size_t count, std::size_t expected) {
    if (count > expected + kImapUntaggedSlack)
        fail("server exceeded the limit of " + std::to_string(expected + kImapUntaggedSlack) +
             " untagged responses to one command; refused");
}

ImapResponse ImapSession::run(const std::string& command,
                              const std::function<void(const ImapResponse&)>& onUntagged,
                              std::size_t expectedUntagged) {
    std::string tag = send(command);
    std::size_t untagged = 0;
    for (;;) {
        ImapResponse response = readResponse();
        if (response.isTagged(tag)) {
            if (response.code && response.code->is("CAPABILITY")) capabilities_ = response.code->atoms();
            return response;
        }
        if (response.isTagged()) fail("reply with an unknown tag from the server");
        if (response.isContinuation()) fail("unexpected continuation request from the server");
        checkUntaggedBudget(++untagged, expectedUntagged);
        noteUntagged(response);
        if (onUntagged) onUntagged(response);
    }
}

ImapResponse ImapSession::expectOk(const std::string& command, const std::string& what,
                                   const std::function<void(const ImapResponse&)>& onUntagged,
                                   std::size_t expectedUntagged) {
    ImapResponse response = run(command, onUntagged, expectedUntagged);
    if (response.status != ImapStatus::Ok) throw ImapError(what + " refused: " + describe(response));
    return response;
}

void ImapSession::refreshCapabilities() { expectOk("CAPABILITY", "CAPABILITY"); }

std::string ImapSession::astring(const std::string& value) {
    // Only used for names and credentials that fit a quoted string; others are refused rather
    // than sent as literals (which would need a continuation round trip).
    auto quoted = proto::imapQuote(value, proto::ImapLiteralMode::Synchronizing);
    if (!quoted || quoted->literal) throw ImapError("a name or credential cannot be sent as a quoted IMAP string");
    return quoted->token;
}

void ImapSession::open() {
    auto connectOptions = options_.connect;
    connectOptions.implicitTls = options_.tls == config::TlsMode::Implicit;
    channel_ = std::make_unique<net::LineChannel>(net::connect(connectOptions));
    state_ = State::NotAuthenticated;
    ImapResponse greeting = readResponse();
    if (greeting.status == ImapStatus::Preauth) {
        // A PREAUTH greeting skips STARTTLS: the classic downgrade. Refused when TLS is required.
        if (options_.tls == config::TlsMode::StartTls)
            throw ImapError("server greeted with PREAUTH, which would skip the required STARTTLS");
        state_ = State::Authenticated;
    } else if (greeting.status != ImapStatus::Ok) {
        throw ImapError("unexpected greeting: " + describe(greeting));
    }
    if (greeting.code && greeting.code->is("CAPABILITY")) capabilities_ = greeting.code->atoms();
    else refreshCapabilities();
    if (options_.tls == config::TlsMode::StartTls) {
        if (!hasCapability("STARTTLS")) throw ImapError("server does not offer STARTTLS, which the config requires");
        expectOk("STARTTLS", "STARTTLS");
        channel_->startTls();
        capabilities_.clear();
        refreshCapabilities();  // capabilities before TLS may have been forged
    }
    if (state_ == State::NotAuthenticated) authenticate();
    state_ = State::Authenticated;
}

void ImapSession::authenticate() {
    using config::AuthMethod;
    AuthMethod method = options_.auth;
    if (method == AuthMethod::Auto && options_.oauth2)
        method = !hasCapability("AUTH=XOAUTH2") && hasCapability("AUTH=OAUTHBEARER") ? AuthMethod::OAuthBearer
                                                                                     : AuthMethod::XOAuth2;
    else if (method == AuthMethod::Auto)
        method = hasCapability("AUTH=PLAIN") ? AuthMethod::Plain : AuthMethod::Login;
    ImapResponse response;
    switch (method) {
        case AuthMethod::Plain: {
            std::string initial = proto::saslPlain(options_.username, options_.password);
            if (hasCapability("SASL-IR")) {
                response = run("AUTHENTICATE PLAIN " + initial);
            } else {
                std::string tag = send("AUTHENTICATE PLAIN");
                for (;;) {
                    response = readResponse();
                    if (response.isContinuation()) {
                        channel_->send(initial + "\r\n");
                        continue;
                    }
                    if (response.isTagged(tag)) break;
                    noteUntagged(response);
                }
            }
            break;
        }
        case AuthMethod::Login:
        case AuthMethod::Auto:
            if (hasCapability("LOGINDISABLED")) throw ImapError("server disabled LOGIN and offers no AUTH=PLAIN");
            response = run("LOGIN " + astring(options_.username) + " " + astring(options_.password));
            break;
        case AuthMethod::XOAuth2:
        case AuthMethod::OAuthBearer:
            response = authenticateOAuth(method == AuthMethod::OAuthBearer);
            break;
    }
    if (response.status != ImapStatus::Ok)
        throw ImapError("authentication refused: " + describe(response), true);
    if (!(response.code && response.code->is("CAPABILITY"))) refreshCapabilities();
}

ImapResponse ImapSession::authenticateOAuth(bool oauthBearer) {
    const std::string mechanism = oauthBearer ? "OAUTHBEARER" : "XOAUTH2";
    const std::string initial =
        oauthBearer ? proto::saslOAuthBearer(options_.username, options_.connect.host, options_.connect.port,
                                             options_.password)
                    : proto::saslXoauth2(options_.username, options_.password);
    bool initialSent = hasCapability("SASL-IR");  // RFC 4959
    std::string tag = send("AUTHENTICATE " + mechanism + (initialSent ? " " + initial : ""));
    std::optional<proto::OAuthErrorChallenge> error;
    bool errorChallenge = false;
    for (;;) {
        ImapResponse response = readResponse();
        if (response.isTagged(tag)) {
            if (response.status == ImapStatus::Ok) {
                if (response.code && response.code->is("CAPABILITY")) capabilities_ = response.code->atoms();
                return response;
            }
            if (options_.credentialRefused) options_.credentialRefused();
            std::string why = describe(response);
            if (errorChallenge)
                why = "the server rejected the access token (" + proto::describeOAuthError(error) + "): " + why;
            throw ImapError("authentication (AUTHENTICATE " + mechanism + ") refused: " + why, true);
        }
        if (response.isTagged()) fail("reply with an unknown tag from the server");
        if (!response.isContinuation()) {
            noteUntagged(response);
            continue;
        }
        if (!initialSent) {  // the empty challenge that asks for the initial response
            channel_->send(initial + "\r\n");
            initialSent = true;
        } else if (!errorChallenge) {
            // An error challenge (RFC 7628 3.2.2): acknowledge it; the server then answers NO.
            error = proto::parseOAuthErrorChallenge(response.text);
            errorChallenge = true;
            channel_->send(proto::oauthErrorAcknowledgement(oauthBearer) + "\r\n");
        } else {
            channel_->send("*\r\n");  // a server that keeps challenging: cancel (RFC 3501 6.2.2)
        }
    }
}

std::vector<ImapFolder> ImapSession::listFolders() {
    std::vector<ImapFolder> folders;
    std::size_t listedBytes = 0;
    std::string command = hasCapability("SPECIAL-USE") ? "LIST \"\" \"*\" RETURN (SPECIAL-USE)" : "LIST \"\" \"*\"";
    expectOk(command, "LIST", [&](const ImapResponse& response) {
        auto entry = response.list();
        if (!entry) return;
        listedBytes += entry->name.size() * 2 + sizeof(ImapFolder);
        for (const auto& flag : entry->flags) listedBytes += flag.size() + sizeof(std::string);
        if (folders.size() >= kImapMaxFolders || listedBytes > kImapMaxFolderListBytes)
            fail("server LIST exceeds the limit of " + std::to_string(kImapMaxFolders) + " folders or " +
                 std::to_string(kImapMaxFolderListBytes) + " bytes; refused");
        ImapFolder folder;
        folder.wireName = entry->name;
        folder.name = proto::modifiedUtf7Decode(entry->name).value_or(entry->name);
        folder.flags = entry->flags;
        folders.push_back(std::move(folder));
    }, kImapMaxFolders);
    return folders;
}

ImapMailboxState ImapSession::select(const std::string& name, bool readOnly) {
    mailbox_ = ImapMailboxState{};
    uidBySequence_.clear();
    sizeBySequence_.clear();
    std::string wire = proto::modifiedUtf7Encode(name).value_or(name);
    ImapResponse response = run(std::string(readOnly ? "EXAMINE " : "SELECT ") + astring(wire));
    if (response.status != ImapStatus::Ok) {
        state_ = State::Authenticated;
        throw ImapError("cannot open folder '" + net::printable(name) + "': " + describe(response));
    }
    if (mailbox_.uidValidity == 0) throw ImapError("server sent no UIDVALIDITY for folder '" + net::printable(name) + "'");
    mailbox_.readOnly = readOnly || (response.code && response.code->is("READ-ONLY"));
    state_ = State::Selected;
    return mailbox_;
}

std::vector<ImapListing> ImapSession::listMessages() {
    std::uint32_t total = mailbox_.exists;
    if (total > kImapMaxFolderMessages)
        throw ImapError("folder has " + std::to_string(total) + " messages, above the limit of " +
                        std::to_string(kImapMaxFolderMessages) + " messages listed per folder");
    std::vector<ImapListing> listing;
    listing.reserve(total);
    // Indexed by sequence number - 1; 0 until that number's FETCH arrived. Responses for numbers
    // not asked for, or a second one for the same number, are dropped: a server cannot grow this.
    uidBySequence_.assign(total, 0);
    sizeBySequence_.assign(total, 0);
    for (std::uint64_t first = 1; first <= total; first += options_.listingChunk) {
        std::uint64_t last = std::min<std::uint64_t>(total, first + options_.listingChunk - 1);
        expectOk("FETCH " + std::to_string(first) + ":" + std::to_string(last) + " (UID RFC822.SIZE FLAGS)",
                 "FETCH",
                 [&](const ImapResponse& response) {
                     auto fetch = response.fetch();
                     if (!fetch || !fetch->uid || *fetch->uid == 0 || !fetch->rfc822Size) return;
                     if (fetch->sequence < first || fetch->sequence > last ||
                         fetch->sequence > uidBySequence_.size() || uidBySequence_[fetch->sequence - 1] != 0)
                         return;
                     uidBySequence_[fetch->sequence - 1] = *fetch->uid;
                     sizeBySequence_[fetch->sequence - 1] = *fetch->rfc822Size;
                     listing.push_back({*fetch->uid, *fetch->rfc822Size,
                                        fetch->flags && hasFlag(*fetch->flags, "\\Deleted")});
                 },
                 last - first + 1);
    }
    std::sort(listing.begin(), listing.end(), [](const auto& a, const auto& b) { return a.uid < b.uid; });
    listing.erase(std::unique(listing.begin(), listing.end(), [](const auto& a, const auto& b) { return a.uid == b.uid; }),
                  listing.end());
    return listing;
}

namespace {

// Streams big FETCH bodies into a MessageBody. Holds at most the body of the response being read:
// the session takes it or drops it as soon as that response is complete.
class BodySink final : public proto::ImapLiteralSink {
public:
    BodySink(const ImapSession::BodyFactory& makeBody, std::uint64_t maxBytes) : makeBody_(makeBody), maxBytes_(maxBytes) {}
    bool begin(const proto::ImapLiteralInfo& info) override {
        if (info.size > maxBytes_) return false;
        current_ = nullptr;
        if (info.messageNumber != 0 && info.key.rfind("BODY[]", 0) == 0) {
            // A second body in one response is counted and not kept: which one is the message?
            if (++bodies_ == 1) {
                body_ = makeBody_();
                current_ = &*body_;
            }
        }
        return true;
    }
    bool data(std::string_view bytes) override {
        if (current_) current_->append(bytes);
        return true;
    }
    void end() override { current_ = nullptr; }
    std::optional<delivery::MessageBody> take() { return std::exchange(body_, std::nullopt); }
    std::size_t bodies() const { return bodies_; }
    // Forgets the response's body (taken or not): called after every response.
    void drop() {
        body_.reset();
        bodies_ = 0;
        current_ = nullptr;
    }

private:
    const ImapSession::BodyFactory& makeBody_;
    std::uint64_t maxBytes_;
    std::optional<delivery::MessageBody> body_;
    std::size_t bodies_ = 0;
    delivery::MessageBody* current_ = nullptr;
};

}  // namespace

void ImapSession::retrieve(const std::vector<std::uint32_t>& uids, const BodyFactory& makeBody,
                           const BodyHandler& handle, const FailureHandler& failed) {
    std::vector<std::string> commands;
    for (std::size_t i = 0; i < uids.size(); i += options_.uidsPerFetch) {
        std::vector<std::uint32_t> group(uids.begin() + i, uids.begin() + std::min(uids.size(), i + options_.uidsPerFetch));
        for (auto& set : proto::imapSequenceSet(group))
            commands.push_back("UID FETCH " + set + " (UID RFC822.SIZE BODY.PEEK[])");
    }
    // What was asked for, and what has been answered: anything else is dropped, a second answer
    // for the same UID is a lie.
    std::vector<std::uint32_t> requested(uids);
    std::sort(requested.begin(), requested.end());
    std::vector<bool> answered(requested.size(), false);
    auto indexOf = [&](std::uint32_t uid) -> std::optional<std::size_t> {
        auto at = std::lower_bound(requested.begin(), requested.end(), uid);
        if (at == requested.end() || *at != uid) return std::nullopt;
        return static_cast<std::size_t>(at - requested.begin());
    };
    auto reject = [&](std::uint32_t uid, const std::string& why) {
        if (failed) failed(uid, why);
    };
    BodySink sink(makeBody, options_.maxMessageBytes);
    parser_.setLiteralSink(&sink);
    struct ResetSink {
        proto::ImapResponseParser& parser;
        ~ResetSink() { parser.setLiteralSink(nullptr); }
    } resetSink{parser_};

    std::deque<std::string> inFlight;
    std::size_t next = 0;
    std::size_t untagged = 0;  // since the last tagged reply
    std::uint64_t dropped = 0;
    bool stopped = false;
    try {
        while (next < commands.size() || !inFlight.empty()) {
            while (!stopped && next < commands.size() && inFlight.size() < options_.fetchesInFlight)
                inFlight.push_back(send(commands[next++]));
            if (inFlight.empty()) break;
            sink.drop();
            ImapResponse response = readResponse();
            if (response.isTagged()) {
                if (!response.isTagged(inFlight.front()))
                    fail("reply with an unexpected tag from the server");
                inFlight.pop_front();
                untagged = 0;
                if (response.status != ImapStatus::Ok)
                    throw ImapError("UID FETCH refused: " + describe(response));
                continue;
            }
            checkUntaggedBudget(++untagged, options_.fetchesInFlight * options_.uidsPerFetch);
            noteUntagged(response);
            auto fetch = response.fetch();
            if (!fetch) continue;  // EXISTS, alerts and the like
            const proto::ImapValue* value = fetch->body();
            auto index = fetch->uid ? indexOf(*fetch->uid) : std::nullopt;
            if (!index) {
                // No UID, or one not asked for: nothing to deliver it as. Flag updates land here too.
                if (value) ++dropped;
                continue;
            }
            if (!value || value->isNil()) continue;
            std::uint32_t uid = *fetch->uid;
            if (answered[*index]) {  // the first one was handled on its own merits
                ++dropped;
                continue;
            }
            answered[*index] = true;
            if (sink.bodies() > 1) {
                reject(uid, "server sent " + std::to_string(sink.bodies()) + " bodies in one FETCH response for UID " +
                              std::to_string(uid) + "; not delivered");
                continue;
            }
            std::uint64_t length = value->literal ? value->literalSize : value->text.size();
            if (!uidBySequence_.empty()) {
                std::uint32_t seq = fetch->sequence;
                if (seq == 0 || seq > uidBySequence_.size() || uidBySequence_[seq - 1] != uid) {
                    reject(uid, "server labelled message " + std::to_string(seq) + " as UID " + std::to_string(uid) +
                                  ", which it listed under another number; not delivered");
                    continue;
                }
                if (length != sizeBySequence_[seq - 1] || (fetch->rfc822Size && *fetch->rfc822Size != length)) {
                    reject(uid, "server sent a body of " + std::to_string(length) + " bytes for UID " +
                                  std::to_string(uid) + ", listed as " + std::to_string(sizeBySequence_[seq - 1]) +
                                  " bytes; not delivered");
                    continue;
                }
            }
            std::optional<delivery::MessageBody> body;
            if (value->streamed) {
                body = sink.take();
            } else {
                body = makeBody();
                body->append(value->text);
            }
            if (!body || stopped) continue;
            body->finish();
            if (!handle(uid, std::move(*body))) stopped = true;
        }
    } catch (...) {
        // Replies to the pipelined commands still due would be read as replies to later ones.
        if (!inFlight.empty()) {
            broken_ = true;
            state_ = State::LoggedOut;
        }
        throw;
    }
    if (dropped)
        spdlog::warn("{}: server sent {} message bodies not asked for (no UID, or another UID); dropped",
                     net::printable(options_.username), dropped);
}

bool ImapSession::canDelete() const { return hasCapability("UIDPLUS") || hasCapability("MOVE"); }

bool ImapSession::deleteMessages(const std::vector<std::uint32_t>& uids, const std::string& trashWireName) {
    if (uids.empty()) return true;
    bool uidplus = hasCapability("UIDPLUS");
    bool move = hasCapability("MOVE") && !trashWireName.empty();
    if (!uidplus && !move) return false;
    // Each may answer with a response per UID (FETCH flags, EXPUNGE).
    const std::size_t perUid = uids.size();
    for (const auto& set : proto::imapSequenceSet(uids)) {
        if (uidplus) {
            expectOk("UID STORE " + set + " +FLAGS.SILENT (\\Deleted)", "UID STORE", {}, perUid);
            crashPoint("after-store");
            expectOk("UID EXPUNGE " + set, "UID EXPUNGE", {}, perUid);
        } else {
            expectOk("UID MOVE " + set + " " + astring(trashWireName), "UID MOVE", {}, perUid);
        }
    }
    return true;
}

void ImapSession::logout() {
    if (!channel_) return;
    if (!broken_ && state_ != State::LoggedOut) {
        state_ = State::LoggedOut;
        try {
            channel_->transport().setTimeout(std::chrono::milliseconds(5'000));
            run("LOGOUT");
        } catch (const std::exception&) {
        }
    }
    state_ = State::LoggedOut;
    channel_.reset();
}

ImapIdleEnd ImapSession::idle(const std::function<bool(const ImapResponse&)>& onUntagged,
                              const ImapIdleControl& control) {
    if (state_ != State::Selected) throw ImapError("IDLE needs a selected folder");
    if (!hasCapability("IDLE")) throw ImapError("server does not offer IDLE");
    auto stopRequested = [&] { return control.stopRequested && control.stopRequested(); };
    auto deliver = [&](const ImapResponse& response) {
        noteUntagged(response);
        return !onUntagged || onUntagged(response);
    };
    net::Transport& transport = channel_->transport();
    const auto normalTimeout = transport.timeout();
    struct RestoreTimeout {
        net::Transport& transport;
        std::chrono::milliseconds timeout;
        ~RestoreTimeout() {
            try {
                transport.setTimeout(timeout);
            } catch (...) {
            }
        }
    } restore{transport, normalTimeout};
    try {
        std::string tag = send("IDLE");
        for (;;) {
            ImapResponse response = readResponse();
            if (response.isContinuation()) {
                if (control.onIdling) control.onIdling();
                break;
            }
            if (response.isTagged(tag)) {
                if (response.status == ImapStatus::Ok) return ImapIdleEnd::Server;
                throw ImapError("IDLE refused: " + describe(response));  // the session stays usable
            }
            if (response.isTagged()) fail("reply with an unknown tag from the server");
            deliver(response);
        }
        ImapIdleEnd end = ImapIdleEnd::Deadline;
        for (;;) {
            if (stopRequested()) {
                end = ImapIdleEnd::Stopped;
                break;
            }
            auto now = std::chrono::steady_clock::now();
            if (now >= control.until) break;
            // Short reads: a timeout here only means "no news", so a stop request or the deadline
            // is honoured within checkEvery. A response cut by it continues in the parser.
            auto left = std::chrono::ceil<std::chrono::milliseconds>(control.until - now);
            transport.setTimeout(std::max(std::chrono::milliseconds(1), std::min(control.checkEvery, left)));
            ImapResponse response;
            try {
                response = readResponse();
            } catch (const net::TransportError& e) {
                if (e.kind() == net::TransportErrorKind::Timeout) continue;
                throw;
            }
            if (response.isTagged(tag)) {  // the server ended the IDLE by itself
                if (response.status == ImapStatus::Ok) return ImapIdleEnd::Server;
                throw ImapError("server ended IDLE: " + describe(response));
            }
            if (response.isTagged()) fail("reply with an unknown tag from the server");
            if (response.isContinuation()) continue;  // a repeated "+ idling" is harmless
            if (!deliver(response)) {
                end = ImapIdleEnd::Handler;
                break;
            }
        }
        transport.setTimeout(normalTimeout);
        channel_->send("DONE\r\n");
        for (;;) {
            ImapResponse response = readResponse();
            if (response.isTagged(tag)) {
                if (response.status != ImapStatus::Ok)
                    throw ImapError("IDLE ended with an error: " + describe(response));
                return end;
            }
            if (response.isTagged()) fail("reply with an unknown tag from the server");
            if (!response.isContinuation()) deliver(response);
        }
    } catch (const ImapError&) {
        throw;
    } catch (...) {
        // A transport failure or a throwing handler: the server may still be in IDLE.
        broken_ = true;
        state_ = State::LoggedOut;
        throw;
    }
}

ImapOptions imapOptionsFor(const config::AccountSettings& account, std::chrono::milliseconds timeout,
                           std::uint64_t maxMessageBytes) {
    ImapOptions options;
    options.connect = sourceConnectOptions(account, timeout);
    options.tls = account.endpoint.tls;
    options.username = account.username;
    auto login = sourceLogin(account, timeout);
    options.password = std::move(login.secret);
    options.oauth2 = login.oauth2;
    options.credentialRefused = std::move(login.refused);
    options.auth = account.auth;
    options.maxMessageBytes = maxMessageBytes;
    return options;
}

std::vector<std::string> resolveImapFolders(const config::AccountSettings& account,
                                            const std::vector<ImapFolder>& listed) {
    std::vector<std::string> names;
    for (const auto& wanted : account.folders) {
        if (wanted != "*") {
            if (std::find(names.begin(), names.end(), wanted) == names.end()) names.push_back(wanted);
            continue;
        }
        for (const auto& folder : listed)
            if (folder.selectable() && !folder.excludedFromStar() &&
                std::find(names.begin(), names.end(), folder.name) == names.end())
                names.push_back(folder.name);
    }
    return names;
}

bool imapFoldersNeedList(const config::AccountSettings& account) {
    return std::find(account.folders.begin(), account.folders.end(), "*") != account.folders.end();
}

}  // namespace mc::collector
