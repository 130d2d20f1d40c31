#include "tests/support/fakes/FakePop3Server.hpp"

#include "tests/support/fakes/FakeOAuth2Server.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <mutex>
#include <set>

namespace mc::testing {

struct FakePop3Server::Shared {
    std::mutex mutex;
    FakePop3Options options;
    struct Stored {
        FakePop3Message message;
        bool deleted = false;
    };
    std::vector<Stored> messages;
    std::vector<std::string> deletedUidls;
};

namespace {

std::string upper(std::string text) {
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

std::string base64Decode(const std::string& text) {
    std::string out((text.size() / 4 + 1) * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (n < 0) return {};
    out.resize(static_cast<std::size_t>(n));
    // EVP_DecodeBlock counts the padding as zero bytes.
    std::size_t padding = 0;
    for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) ++padding;
    out.resize(out.size() - std::min(out.size(), padding));
    return out;
}

std::string uidlOf(const FakePop3Message& message, std::size_t position) {
    return message.uidl.empty() ? "uid-" + std::to_string(position + 1) : message.uidl;
}

std::string sizeOf(const FakePop3Message& message) {
    return message.listSize.empty() ? std::to_string(message.content.size()) : message.listSize;
}

// One POP3 session over CONNECTION.
void pop3Session(ScriptedConnection& c, FakePop3Server::Shared& shared) {
    FakePop3Options options;
    std::vector<std::size_t> visible;  // message number - 1 -> index into shared.messages
    {
        std::lock_guard lock(shared.mutex);
        options = shared.options;
        for (std::size_t i = 0; i < shared.messages.size(); ++i)
            if (!shared.messages[i].deleted) visible.push_back(i);
    }
    auto override = [&](const std::string& verb) -> std::optional<std::string> {
        auto it = options.replies.find(verb);
        if (it == options.replies.end()) return std::nullopt;
        return it->second;
    };
    auto message = [&](std::size_t index) {
        std::lock_guard lock(shared.mutex);
        return shared.messages[visible[index]].message;
    };

    if (!c.send(override("GREETING").value_or("+OK fake POP3 server ready <1896.697170952@fake>\r\n"))) return;
    std::string user;
    bool authorized = false;
    std::set<std::size_t> marked;

    // The message index for a "RETR n"/"DELE n" argument, or nullopt.
    auto numberArg = [&](const std::string& arg) -> std::optional<std::size_t> {
        if (arg.empty() || arg.size() > 9 ||
            !std::all_of(arg.begin(), arg.end(), [](unsigned char d) { return d >= '0' && d <= '9'; }))
            return std::nullopt;
        std::size_t n = std::stoul(arg);
        if (n == 0 || n > visible.size() || marked.count(n - 1)) return std::nullopt;
        return n - 1;
    };

    while (c.open() && !c.stopping()) {
        auto line = c.readLine(Millis(600'000));
        if (!line) return;
        std::string verb = upper(line->substr(0, line->find(' ')));
        std::string arg = line->find(' ') == std::string::npos ? "" : line->substr(line->find(' ') + 1);

        if (auto generated = options.generatedReplies.find(verb); generated != options.generatedReplies.end()) {
            if (!generated->second(c)) return;
            continue;
        }
        if (auto raw = override(verb)) {
            if (!c.send(*raw)) return;
            if (verb == "STLS" && raw->rfind("+OK", 0) == 0) {
                if (options.delayBeforeTls.count() > 0) c.stall(options.delayBeforeTls);
                if (!c.startTls(options.certFile, options.keyFile)) return;
            }
            if (verb == "QUIT") {
                c.close();
                return;
            }
            continue;
        }

        std::string reply;
        if (verb == "CAPA") {
            if (!options.capaSupported) {
                reply = "-ERR unknown command\r\n";
            } else {
                reply = "+OK Capability list follows\r\n";
                for (const auto& capability : options.capabilities) reply += capability + "\r\n";
                if (options.tls == FakePop3Options::Tls::StartTls && options.offerStls && !c.secure())
                    reply += "STLS\r\n";
                reply += ".\r\n";
            }
        } else if (verb == "STLS") {
            if (options.tls != FakePop3Options::Tls::StartTls || c.secure()) {
                reply = "-ERR STLS not available\r\n";
            } else {
                if (!c.send("+OK Begin TLS negotiation\r\n")) return;
                if (options.delayBeforeTls.count() > 0) c.stall(options.delayBeforeTls);
                if (!c.startTls(options.certFile, options.keyFile)) return;
                continue;
            }
        } else if (verb == "USER") {
            user = arg;
            reply = "+OK\r\n";
        } else if (verb == "PASS") {
            authorized = user == options.user && arg == options.password;
            reply = authorized ? "+OK maildrop locked and ready\r\n" : "-ERR [AUTH] invalid user name or password\r\n";
        } else if (verb == "AUTH") {
            std::string mechanism = upper(arg.substr(0, arg.find(' ')));
            std::string initial = arg.find(' ') == std::string::npos ? "" : arg.substr(arg.find(' ') + 1);
            if ((mechanism == "XOAUTH2" || mechanism == "OAUTHBEARER") && !options.accessToken.empty()) {
                if (initial.empty()) {
                    if (!c.send("+ \r\n")) return;
                    auto response = c.readLine();
                    if (!response) return;
                    initial = *response;
                }
                authorized = validOAuthResponse(base64Decode(initial), options.user, options.accessToken);
                if (!authorized) {
                    if (!c.send("+ " + oauthErrorChallenge() + "\r\n") || !c.readLine()) return;
                }
                reply = authorized ? "+OK authenticated\r\n" : "-ERR [AUTH] invalid credentials\r\n";
            } else if (mechanism != "PLAIN") {
                reply = "-ERR unsupported mechanism\r\n";
            } else {
                if (initial.empty()) {
                    if (!c.send("+ \r\n")) return;
                    auto response = c.readLine();
                    if (!response) return;
                    initial = *response;
                }
                authorized = base64Decode(initial) ==
                             std::string("\0", 1) + options.user + std::string("\0", 1) + options.password;
                reply = authorized ? "+OK authenticated\r\n" : "-ERR [AUTH] authentication failed\r\n";
            }
        } else if (verb == "QUIT") {
            if (authorized && !marked.empty()) {
                std::lock_guard lock(shared.mutex);
                for (auto index : marked) {
                    auto& stored = shared.messages[visible[index]];
                    stored.deleted = true;
                    shared.deletedUidls.push_back(uidlOf(stored.message, visible[index]));
                }
            }
            if (!options.loseQuitReply) c.send("+OK bye\r\n");
            c.close();
            return;
        } else if (verb == "NOOP") {
            reply = "+OK\r\n";
        } else if (!authorized) {
            reply = "-ERR authenticate first\r\n";
        } else if (verb == "STAT") {
            std::uint64_t total = 0;
            std::size_t count = 0;
            for (std::size_t i = 0; i < visible.size(); ++i)
                if (!marked.count(i)) ++count, total += message(i).content.size();
            reply = "+OK " + std::to_string(count) + " " + std::to_string(total) + "\r\n";
        } else if (verb == "UIDL" || verb == "LIST") {
            if (!arg.empty()) {
                auto index = numberArg(arg);
                if (!index) {
                    reply = "-ERR no such message\r\n";
                } else {
                    auto m = message(*index);
                    reply = "+OK " + arg + " " + (verb == "UIDL" ? uidlOf(m, visible[*index]) : sizeOf(m)) + "\r\n";
                }
            } else {
                reply = "+OK\r\n";
                for (std::size_t i = 0; i < visible.size(); ++i) {
                    if (marked.count(i)) continue;
                    auto m = message(i);
                    reply +=
                        std::to_string(i + 1) + " " + (verb == "UIDL" ? uidlOf(m, visible[i]) : sizeOf(m)) + "\r\n";
                }
                reply += ".\r\n";
            }
        } else if (verb == "RETR") {
            auto index = numberArg(arg);
            if (!index) {
                reply = "-ERR no such message\r\n";
            } else {
                auto m = message(*index);
                if (m.retrReply) {
                    reply = *m.retrReply;
                } else {
                    reply = "+OK " + std::to_string(m.content.size()) + " octets\r\n" + dotStuff(m.content);
                    if (!m.content.empty() && m.content.back() != '\n') reply += "\r\n";
                    reply += ".\r\n";
                }
            }
        } else if (verb == "TOP") {
            // TOP n 0 only: the header block and the blank line after it.
            auto index = numberArg(arg.substr(0, arg.find(' ')));
            if (!index) {
                reply = "-ERR no such message\r\n";
            } else {
                std::string content = message(*index).content;
                auto crlf = content.find("\r\n\r\n"), lf = content.find("\n\n");
                std::size_t end = std::min(crlf == std::string::npos ? content.size() : crlf + 4,
                                           lf == std::string::npos ? content.size() : lf + 2);
                std::string header = content.substr(0, end);
                reply = "+OK\r\n" + dotStuff(header);
                if (!header.empty() && header.back() != '\n') reply += "\r\n";
                reply += ".\r\n";
            }
        } else if (verb == "DELE") {
            auto index = numberArg(arg);
            if (!index) {
                reply = "-ERR no such message\r\n";
            } else {
                marked.insert(*index);
                reply = "+OK marked\r\n";
            }
        } else if (verb == "RSET") {
            marked.clear();
            reply = "+OK\r\n";
        } else {
            reply = "-ERR unknown command\r\n";
        }
        if (!c.send(reply)) return;
    }
}

}  // namespace

FakePop3Server::FakePop3Server(FakePop3Options options, std::vector<FakePop3Message> messages)
    : shared_(std::make_shared<Shared>()) {
    shared_->options = std::move(options);
    for (auto& message : messages) shared_->messages.push_back({std::move(message), false});
    auto shared = shared_;
    server_ = std::make_unique<ScriptedServer>(ScriptedServer::ScriptFor([shared](std::size_t) {
        Script script;
        if (shared->options.tls == FakePop3Options::Tls::Implicit && shared->options.delayBeforeTls.count() > 0)
            script.stall(shared->options.delayBeforeTls);
        if (shared->options.tls == FakePop3Options::Tls::Implicit)
            script.startTls(shared->options.certFile, shared->options.keyFile);
        script.run([shared](ScriptedConnection& c) { pop3Session(c, *shared); });
        return script;
    }));
}

FakePop3Server::~FakePop3Server() { server_->stop(); }

const FakePop3Options& FakePop3Server::options() const { return shared_->options; }

void FakePop3Server::setOptions(FakePop3Options options) {
    std::lock_guard lock(shared_->mutex);
    shared_->options = std::move(options);
}

void FakePop3Server::addMessage(FakePop3Message message) {
    std::lock_guard lock(shared_->mutex);
    shared_->messages.push_back({std::move(message), false});
}

std::size_t FakePop3Server::remaining() const {
    std::lock_guard lock(shared_->mutex);
    return std::count_if(shared_->messages.begin(), shared_->messages.end(),
                         [](const auto& stored) { return !stored.deleted; });
}

std::vector<std::string> FakePop3Server::deletedUidls() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->deletedUidls;
}

bool FakePop3Server::sawCredentials() const {
    return server_->sawLine("USER") || server_->sawLine("PASS") || server_->sawLine("AUTH") ||
           server_->receivedContains(shared_->options.password);
}

}  // namespace mc::testing
