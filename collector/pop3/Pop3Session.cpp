#include "collector/pop3/Pop3Session.hpp"

#include <algorithm>
#include <map>

#include "proto/AsciiText.hpp"
#include "proto/Pop3Reply.hpp"
#include "proto/Sasl.hpp"

namespace mc::collector {
namespace {

constexpr std::size_t kMaxStatusLine = 8 * 1024;
// RFC 5034 4: an AUTH command with its initial response must not exceed 255 octets (CRLF
// included); a longer one (OAuth tokens often are) waits for the server's empty challenge.
constexpr std::size_t kMaxAuthLine = 255;

bool transientCode(const std::string& code) { return code == "IN-USE" || code == "SYS/TEMP"; }

}  // namespace

Pop3Session::Pop3Session(Pop3Options options) : options_(std::move(options)) {}

Pop3Session::~Pop3Session() = default;

void Pop3Session::expectOk(const std::string& command, const char* context, bool authentication) {
    if (!command.empty()) channel_->send(command + "\r\n");
    std::string line = channel_->readLine();
    auto status = proto::parsePop3Status(line);
    if (!status) throw Pop3Error(std::string("unexpected reply to ") + context + ": " + net::printable(line));
    if (!status->ok || status->continuation)
        throw Pop3Error(std::string(context) + " refused: " + net::printable(line), transientCode(status->code),
                        authentication && !transientCode(status->code));
}

void Pop3Session::readCapabilities() {
    capabilities_.clear();
    channel_->send("CAPA\r\n");
    auto status = proto::parsePop3Status(channel_->readLine());
    if (!status || !status->ok) return;  // CAPA is optional (RFC 2449); assume nothing
    readListing("CAPA", kPop3MaxCapaLines, kPop3MaxCapaBytes,
                [&](std::string& line) { capabilities_.push_back(std::move(line)); });
    pipelining_ = hasCapability("PIPELINING");
}

bool Pop3Session::hasCapability(const std::string& name) const {
    for (const auto& line : capabilities_) {
        std::string word = proto::asciiUpperCopy(line.substr(0, line.find(' ')));
        if (word == name) return true;
    }
    return false;
}

void Pop3Session::readListing(const char* what, std::size_t maxLines, std::size_t maxBytes,
                              const std::function<void(std::string& line)>& onLine) {
    std::size_t lines = 0, bytes = 0;
    for (;;) {
        std::string line = channel_->readLine();
        if (line == ".") return;
        if (!line.empty() && line[0] == '.') line.erase(0, 1);
        bytes += line.size() + 2;
        if (++lines > maxLines || bytes > maxBytes)
            throw Pop3Error(proto::FailureKind::Limit, std::string("server ") + what +
                                                           " listing exceeds the limit of " + std::to_string(maxLines) +
                                                           " lines or " + std::to_string(maxBytes) + " bytes; refused");
        onLine(line);
    }
}

void Pop3Session::open() {
    auto connectOptions = options_.connect;
    connectOptions.implicitTls = options_.tls == net::TlsMode::Implicit;
    channel_ = std::make_unique<net::LineChannel>(net::connect(connectOptions), kMaxStatusLine);
    state_ = State::Authorization;
    expectOk("", "greeting");
    readCapabilities();
    if (options_.tls == net::TlsMode::StartTls) {
        // Required STARTTLS: abort before any credential if it is missing or refused.
        if (!capabilities_.empty() && !hasCapability("STLS"))
            throw Pop3Error("server does not offer STLS, which the config requires");
        channel_->send("STLS\r\n");
        auto line = channel_->readLine();
        auto status = proto::parsePop3Status(line);
        if (!status || !status->ok)
            throw Pop3Error("server refused STLS, which the config requires: " + net::printable(line));
        channel_->startTls();
        readCapabilities();  // capabilities before TLS may have been forged
    }
    // RFC 6856: in UTF-8 mode the server sends 8-bit headers as stored; otherwise it may
    // downgrade them (Courier does). The RFC sends UTF8 before authentication; a server that
    // refuses it there is asked once more after login. A refusal is not an error.
    const bool offersUtf8 = hasCapability("UTF8");
    utf8Mode_ = offersUtf8 && enableUtf8();
    authenticate();
    state_ = State::Transaction;
    if (offersUtf8 && !utf8Mode_) utf8Mode_ = enableUtf8();
}

bool Pop3Session::enableUtf8() {
    channel_->send("UTF8\r\n");
    auto status = proto::parsePop3Status(channel_->readLine());
    return status && status->ok && !status->continuation;
}

void Pop3Session::authenticate() {
    std::string sasl;
    for (const auto& line : capabilities_)
        if (proto::asciiUpperCopy(line.substr(0, line.find(' '))) == "SASL")
            sasl = " " + proto::asciiUpperCopy(line) + " ";
    using proto::SaslMechanism;
    auto offered = [&](std::string_view name) { return sasl.find(" " + std::string(name) + " ") != std::string::npos; };
    const SaslMechanism mechanism = proto::chooseSaslMechanism(options_.sasl, options_.oauth2, offered);
    switch (mechanism) {
        case SaslMechanism::Plain:
            expectOk("AUTH PLAIN " + proto::saslPlain(options_.username, options_.password),
                     "authentication (AUTH PLAIN)", true);
            return;
        case SaslMechanism::Login:
            if (offered("LOGIN")) {
                authenticateLogin();
                return;
            }
            // USER/PASS (RFC 1939) is "login" for servers without SASL LOGIN
            expectOk("USER " + options_.username, "USER", true);
            expectOk("PASS " + options_.password, "authentication (USER/PASS)", true);
            return;
        case SaslMechanism::XOAuth2:
        case SaslMechanism::OAuthBearer:
            authenticateOAuth(mechanism == SaslMechanism::OAuthBearer);
            return;
    }
}

void Pop3Session::authenticateOAuth(bool oauthBearer) {
    const std::string mechanism = oauthBearer ? "OAUTHBEARER" : "XOAUTH2";
    const std::string context = "authentication (AUTH " + mechanism + ")";
    const std::string initial = oauthBearer ? proto::saslOAuthBearer(options_.username, options_.connect.host,
                                                                     options_.connect.port, options_.password)
                                            : proto::saslXoauth2(options_.username, options_.password);
    std::string command = "AUTH " + mechanism;
    bool initialSent = command.size() + 1 + initial.size() + 2 <= kMaxAuthLine;
    channel_->send(initialSent ? command + " " + initial + "\r\n" : command + "\r\n");
    auto refused = [&](const std::string& why, bool transient) {
        if (options_.credentialRefused && !transient) options_.credentialRefused();
        return Pop3Error(context + " refused: " + why, transient, !transient);
    };
    for (;;) {
        std::string line = channel_->readLine();
        auto status = proto::parsePop3Status(line);
        if (!status) throw Pop3Error("unexpected reply to " + context + ": " + net::printable(line));
        if (!status->continuation) {  // "+ challenge" counts as ok in Pop3Status too
            if (status->ok) return;
            throw refused(net::printable(line), transientCode(status->code));
        }
        if (!initialSent) {  // the empty challenge that asks for the initial response
            channel_->send(initial + "\r\n");
            initialSent = true;
            continue;
        }
        // An error challenge (RFC 7628 3.2.2): acknowledge it, then the server fails the exchange.
        auto error = proto::parseOAuthErrorChallenge(status->text);
        channel_->send(proto::oauthErrorAcknowledgement(oauthBearer) + "\r\n");
        std::string final = channel_->readLine();
        throw refused(
            "the server rejected the access token (" + proto::describeOAuthError(error) + "): " + net::printable(final),
            false);
    }
}

void Pop3Session::expectChallenge(const std::string& command) {
    channel_->send(command + "\r\n");
    std::string line = channel_->readLine();
    auto status = proto::parsePop3Status(line);
    if (status && status->continuation && proto::base64Decode(status->text)) return;
    if (status && !status->ok && !status->continuation)
        throw Pop3Error("authentication (AUTH LOGIN) refused: " + net::printable(line), transientCode(status->code),
                        !transientCode(status->code));
    throw Pop3Error("invalid SASL challenge from server: " + net::printable(line));
}

void Pop3Session::authenticateLogin() {
    expectChallenge("AUTH LOGIN");
    expectChallenge(proto::base64Encode(options_.username));
    expectOk(proto::base64Encode(options_.password), "authentication (AUTH LOGIN)", true);
}

std::optional<std::string> Pop3Session::okText(const char* context) {
    std::string line = channel_->readLine();
    auto status = proto::parsePop3Status(line);
    if (!status || status->continuation)
        throw Pop3Error(std::string("unexpected reply to ") + context + ": " + net::printable(line));
    if (!status->ok) return std::nullopt;
    return status->text;
}

std::optional<std::uint32_t> Pop3Session::messageCount() {
    channel_->send("STAT\r\n");
    return statCount();
}

std::optional<std::uint32_t> Pop3Session::statCount() {
    auto text = okText("STAT");
    auto stat = text ? proto::parseListLine(*text) : std::nullopt;  // "count octets", as a LIST line
    if (!stat) return std::nullopt;
    return stat->first;
}

Pop3Session::CountAndUidl Pop3Session::countAndUidlOf(std::uint32_t number) {
    CountAndUidl answer;
    pipeline({"STAT", "UIDL " + std::to_string(number)}, [&](std::size_t index) {
        if (index == 0) {
            answer.count = statCount();
            return answer.count && *answer.count >= number;  // else UIDL n is not sent, or its reply ignored
        }
        auto text = okText("UIDL");
        auto entry = text ? proto::parseUidlLine(*text) : std::nullopt;
        if (entry && entry->number == number && answer.count && *answer.count >= number)
            answer.uidl = std::move(entry->value);
        return true;
    });
    return answer;
}

const Pop3Listing& Pop3Session::listRange(std::uint32_t first, std::uint32_t last) {
    listing_ = Pop3Listing(options_.spoolDir);
    std::vector<std::string> commands;
    for (std::uint64_t number = first; number <= last; ++number) {
        commands.push_back("UIDL " + std::to_string(number));
        commands.push_back("LIST " + std::to_string(number));
    }
    std::vector<std::pair<std::uint32_t, std::uint64_t>> sizes;
    pipeline(commands, [&](std::size_t index) {
        const bool uidl = index % 2 == 0;
        auto text = okText(uidl ? "UIDL" : "LIST");
        if (!text) return true;
        if (uidl) {
            auto entry = proto::parseUidlLine(*text);
            if (!entry) throw Pop3Error("malformed UIDL reply: " + net::printable(*text));
            listing_.addUidl(entry->number, entry->value);
        } else {
            auto entry = proto::parseListLine(*text);
            if (!entry) throw Pop3Error("malformed LIST reply: " + net::printable(*text));
            sizes.push_back(*entry);
        }
        return true;
    });
    listing_.sortByNumber();
    for (const auto& [number, size] : sizes) listing_.setSize(number, size);
    listing_.seal();
    return listing_;
}

const Pop3Listing& Pop3Session::list() {
    listing_ = Pop3Listing(options_.spoolDir);
    // Room for the listing at once: growing it by doubling would hold it twice for a moment.
    listing_.reserve(std::min<std::size_t>(messageCount().value_or(0), kPop3MaxListingEntries));
    if (pipelining_)
        channel_->send("UIDL\r\nLIST\r\n");
    else
        channel_->send("UIDL\r\n");
    auto uidlStatus = proto::parsePop3Status(channel_->readLine());
    if (!uidlStatus || !uidlStatus->ok) {
        if (pipelining_) channel_->readLine();
        throw Pop3Error("server does not support UIDL; without unique ids messages cannot be tracked");
    }
    readListing(
        "UIDL", kPop3MaxListingEntries, kPop3MaxListingEntries * (kPop3MaxUidlLength + 16), [&](std::string& line) {
            auto space = line.find(' ');
            if (space != std::string::npos && line.size() - space - 1 > kPop3MaxUidlLength)
                throw Pop3Error(proto::FailureKind::Limit, "malformed UIDL line: a UIDL longer than the limit of " +
                                                               std::to_string(kPop3MaxUidlLength) +
                                                               " characters (RFC 1939); refused");
            auto entry = proto::parseUidlLine(line);
            if (!entry) throw Pop3Error("malformed UIDL line: " + net::printable(line));
            listing_.addUidl(entry->number, entry->value);
        });
    listing_.sortByNumber();
    if (!pipelining_) channel_->send("LIST\r\n");
    auto listStatus = proto::parsePop3Status(channel_->readLine());
    if (!listStatus || !listStatus->ok) throw Pop3Error("LIST refused");
    // A number listed twice: the last line counts.
    readListing("LIST", kPop3MaxListingEntries, kPop3MaxListingEntries * 32, [&](std::string& line) {
        auto entry = proto::parseListLine(line);
        if (!entry) throw Pop3Error("malformed LIST line: " + net::printable(line));
        listing_.setSize(entry->first, entry->second);
    });
    listing_.seal();
    return listing_;
}

Pop3Session::SentBody Pop3Session::readBody(delivery::MessageBody& body) {
    proto::DotStuffedBodyDecoder decoder;
    std::string decoded;
    SentBody sent;
    std::string lastTwo;
    for (;;) {
        std::string_view chunk = channel_->peekChunk();
        auto progress = decoder.feed(chunk, decoded);
        channel_->consume(progress.consumed);
        sent.octets += decoded.size();
        lastTwo += decoded.substr(decoded.size() - std::min<std::size_t>(2, decoded.size()));
        if (lastTwo.size() > 2) lastTwo.erase(0, lastTwo.size() - 2);
        sent.endsWithCrlf = lastTwo == "\r\n";
        body.append(decoded);
        decoded.clear();
        if (progress.done) return sent;
        if (body.size() > options_.maxMessageBytes)
            throw Pop3Error("server sent a message of more than " + std::to_string(options_.maxMessageBytes) +
                            " bytes; stopped reading it");
    }
}

void Pop3Session::pipeline(const std::vector<std::string>& commands,
                           const std::function<bool(std::size_t index)>& onReply) {
    std::size_t depth = pipelining_ ? std::max<std::size_t>(1, options_.pipelineDepth) : 1;
    std::size_t sent = 0, answered = 0;
    bool stopped = false;
    while (answered < commands.size()) {
        std::string batch;
        while (!stopped && sent < commands.size() && sent - answered < depth) batch += commands[sent++] + "\r\n";
        if (!batch.empty()) channel_->send(batch);
        if (answered == sent) return;
        // Replies to commands already sent must be read even after a stop, to stay in sync.
        bool wanted = onReply(answered++);
        if (!wanted) stopped = true;
    }
}

std::optional<std::uint64_t> Pop3Session::listedSize(std::uint32_t number) const {
    auto index = listing_.findNumber(number);
    if (!index) return std::nullopt;
    return listing_.size(*index);
}

bool Pop3Session::sizeAsListed(std::uint64_t listed, const SentBody& sent) {
    if (sent.octets == listed) return true;
    // A message not ending in CRLF gets one before the terminating "." (RFC 1939 3), which LIST
    // does not count (Dovecot).
    return sent.octets == listed + 2 && sent.endsWithCrlf;
}

void Pop3Session::retrieve(const std::vector<std::uint32_t>& numbers, const BodyFactory& makeBody,
                           const BodyHandler& handle, const FailureHandler& failed) {
    std::vector<std::string> commands;
    commands.reserve(numbers.size());
    for (auto number : numbers) commands.push_back("RETR " + std::to_string(number));
    bool stopped = false;
    std::vector<std::uint32_t> again;  // bodies of another length than listed: fetched once more
    auto fetchOne = [&](std::uint32_t number, bool lastTry) {
        std::string line = channel_->readLine();
        auto status = proto::parsePop3Status(line);
        if (!status) throw Pop3Error("unexpected reply to RETR: " + net::printable(line));
        if (!status->ok) return;  // gone meanwhile (another client); stays pending
        delivery::MessageBody body = makeBody();
        SentBody sent = readBody(body);
        body.finish();
        if (stopped) return;
        auto listed = listedSize(number);
        if (listed && !sizeAsListed(*listed, sent)) {
            if (!lastTry)
                again.push_back(number);
            else if (failed)
                failed(number, "server sent " + std::to_string(sent.octets) + " bytes, listed " +
                                   std::to_string(*listed) + " (fetched twice); not delivered");
            return;
        }
        if (!handle(number, std::move(body))) stopped = true;
    };
    pipeline(commands, [&](std::size_t index) {
        fetchOne(numbers[index], false);
        return !stopped;
    });
    for (auto number : again) {
        if (stopped) break;
        channel_->send("RETR " + std::to_string(number) + "\r\n");
        fetchOne(number, true);
    }
}

void Pop3Session::headers(const std::vector<std::uint32_t>& numbers,
                          const std::function<void(std::uint32_t number, const std::string& header)>& handle) {
    constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
    std::vector<std::string> commands;
    commands.reserve(numbers.size());
    for (auto number : numbers) commands.push_back("TOP " + std::to_string(number) + " 0");
    pipeline(commands, [&](std::size_t index) {
        std::string line = channel_->readLine();
        auto status = proto::parsePop3Status(line);
        if (!status) throw Pop3Error("unexpected reply to TOP: " + net::printable(line));
        if (!status->ok) return true;
        proto::DotStuffedBodyDecoder decoder;
        std::string decoded, header;
        std::uint64_t sent = 0;
        for (;;) {
            auto progress = decoder.feed(channel_->peekChunk(), decoded);
            channel_->consume(progress.consumed);
            sent += decoded.size();
            header.append(decoded, 0, kMaxHeaderBytes - std::min(kMaxHeaderBytes, header.size()));
            decoded.clear();
            if (progress.done) break;
            if (sent > options_.maxMessageBytes)
                throw Pop3Error("server sent a TOP reply of more than " + std::to_string(options_.maxMessageBytes) +
                                " bytes; stopped reading it");
        }
        handle(numbers[index], header);
        return true;
    });
}

std::vector<std::uint32_t> Pop3Session::markDeleted(const std::vector<std::uint32_t>& numbers) {
    std::vector<std::string> commands;
    commands.reserve(numbers.size());
    for (auto number : numbers) commands.push_back("DELE " + std::to_string(number));
    std::vector<std::uint32_t> accepted;
    pipeline(commands, [&](std::size_t index) {
        auto status = proto::parsePop3Status(channel_->readLine());
        if (status && status->ok) accepted.push_back(numbers[index]);
        return true;
    });
    return accepted;
}

bool Pop3Session::quit() {
    if (!channel_ || state_ == State::Closed) return false;
    bool confirmed = false;
    try {
        channel_->send("QUIT\r\n");
        auto status = proto::parsePop3Status(channel_->readLine());
        confirmed = status && status->ok;
    } catch (const std::exception&) {
    }
    state_ = State::Closed;
    channel_.reset();
    return confirmed;
}

}  // namespace mc::collector
