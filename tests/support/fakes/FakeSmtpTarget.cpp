#include "tests/support/fakes/FakeSmtpTarget.hpp"

#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <mutex>
#include <optional>

namespace mc::testing {

struct FakeSmtpTarget::Shared {
    std::mutex mutex;
    FakeSmtpOptions options;
    std::map<std::string, std::deque<std::string>> replies;
    std::vector<FakeSmtpTransaction> transactions;
    std::vector<std::string> mailFroms;

    std::optional<std::string> take(const std::string& verb) {
        std::lock_guard lock(mutex);
        auto it = replies.find(verb);
        if (it == replies.end() || it->second.empty()) return std::nullopt;
        std::string reply = std::move(it->second.front());
        it->second.pop_front();
        return reply;
    }
};

namespace {

std::string upper(std::string text) {
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

std::string base64(const std::string& text) {
    std::string out(((text.size() + 2) / 3) * 4 + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

bool positive(const std::string& reply) { return !reply.empty() && (reply[0] == '2' || reply[0] == '3'); }

// Sends REPLY; false when the session must end (dropped, 421, or the client is gone).
bool answer(ScriptedConnection& c, const std::string& reply) {
    if (reply == kDropConnection) {
        c.note("dropping the connection without a reply");
        c.close();
        return false;
    }
    if (!c.send(reply + "\r\n")) return false;
    if (reply.rfind("421", 0) == 0) {
        c.close();
        return false;
    }
    return true;
}

void smtpSession(ScriptedConnection& c, FakeSmtpTarget::Shared& shared) {
    FakeSmtpOptions options;
    {
        std::lock_guard lock(shared.mutex);
        options = shared.options;
    }
    if (!answer(c, shared.take("GREETING")
                       .value_or("220 " + options.domain + (options.lmtp ? " LMTP" : " ESMTP") + " fake target ready")))
        return;

    std::optional<std::string> mailFrom;
    std::vector<std::string> rcpts;
    bool authenticated = false;
    auto resetTransaction = [&] {
        mailFrom.reset();
        rcpts.clear();
    };
    auto checkCredentials = [&](const std::string& user, const std::string& password) {
        authenticated = !options.user.empty() && user == options.user && password == options.password;
        return authenticated ? std::string("235 2.7.0 authenticated") : std::string("535 5.7.8 bad credentials");
    };

    while (c.open() && !c.stopping()) {
        auto line = c.readLine(Millis(600'000));
        if (!line) return;
        std::string word = upper(line->substr(0, line->find(' ')));
        std::string verb = word;
        if (word == "LHLO" || word == "HELO") verb = "EHLO";
        if (word.rfind("MAIL", 0) == 0) verb = "MAIL";
        if (word.rfind("RCPT", 0) == 0) verb = "RCPT";
        std::string arg = line->find(' ') == std::string::npos ? "" : line->substr(line->find(' ') + 1);

        if (verb == "MAIL") {
            std::lock_guard lock(shared.mutex);
            auto colon = line->find(':');
            shared.mailFroms.push_back(colon == std::string::npos ? "" : line->substr(colon + 1));
        }
        auto scripted = shared.take(verb);
        if (scripted && verb != "DATA" && verb != "AUTH" && verb != "STARTTLS") {
            if (!answer(c, *scripted)) return;
            if (verb == "MAIL") {
                if (positive(*scripted))
                    mailFrom = line->substr(line->find(':') + 1);
                else
                    resetTransaction();
            } else if (verb == "RCPT" && positive(*scripted)) {
                rcpts.push_back(line->substr(line->find(':') + 1));
            } else if (verb == "RSET") {
                resetTransaction();
            } else if (verb == "QUIT") {
                c.close();
                return;
            }
            continue;
        }

        std::string reply;
        if (verb == "EHLO") {
            resetTransaction();
            std::vector<std::string> lines = {options.domain + " hello " + arg};
            for (const auto& extension : options.extensions) lines.push_back(extension);
            if (options.tls == FakeSmtpOptions::Tls::StartTls && options.offerStartTls && !c.secure())
                lines.push_back("STARTTLS");
            if (!options.authMechanisms.empty()) lines.push_back("AUTH " + options.authMechanisms);
            for (std::size_t i = 0; i < lines.size(); ++i)
                reply += std::string(i + 1 < lines.size() ? "250-" : "250 ") + lines[i] +
                         (i + 1 < lines.size() ? "\r\n" : "");
        } else if (verb == "STARTTLS") {
            bool offered = options.tls == FakeSmtpOptions::Tls::StartTls && options.offerStartTls && !c.secure();
            std::string goAhead =
                scripted.value_or(offered ? "220 2.0.0 ready to start TLS" : "502 5.5.1 not available");
            if (!answer(c, goAhead)) return;
            if (goAhead.rfind("220", 0) == 0) {
                if (options.delayBeforeTls.count() > 0) c.stall(options.delayBeforeTls);
                if (!c.startTls(options.certFile, options.keyFile)) return;
                resetTransaction();
                authenticated = false;
            }
            continue;
        } else if (verb == "AUTH") {
            std::string mechanism = upper(arg.substr(0, arg.find(' ')));
            std::string initial = arg.find(' ') == std::string::npos ? "" : arg.substr(arg.find(' ') + 1);
            if (scripted) {
                reply = *scripted;
            } else if (mechanism == "PLAIN") {
                if (initial.empty()) {
                    if (!c.send("334 \r\n")) return;
                    auto response = c.readLine();
                    if (!response) return;
                    initial = *response;
                }
                std::string expected = std::string("\0", 1) + options.user + std::string("\0", 1) + options.password;
                reply = initial == base64(expected) ? checkCredentials(options.user, options.password)
                                                    : checkCredentials("", "");
            } else if (mechanism == "LOGIN") {
                if (!c.send("334 VXNlcm5hbWU6\r\n")) return;
                auto user = c.readLine();
                if (!user || !c.send("334 UGFzc3dvcmQ6\r\n")) return;
                auto password = c.readLine();
                if (!password) return;
                bool ok = *user == base64(options.user) && *password == base64(options.password);
                reply = ok ? checkCredentials(options.user, options.password) : checkCredentials("", "");
            } else {
                reply = "504 5.5.4 mechanism not supported";
            }
        } else if (verb == "MAIL") {
            resetTransaction();
            mailFrom = line->substr(line->find(':') + 1);
            reply = "250 2.1.0 sender ok";
        } else if (verb == "RCPT") {
            if (!mailFrom) {
                reply = "503 5.5.1 need MAIL first";
            } else {
                rcpts.push_back(line->substr(line->find(':') + 1));
                reply = "250 2.1.5 recipient ok";
            }
        } else if (verb == "DATA") {
            if (!mailFrom || rcpts.empty()) {
                if (!answer(c, scripted.value_or("503 5.5.1 need RCPT first"))) return;
                continue;
            }
            std::string goAhead = scripted.value_or("354 end data with <CR><LF>.<CR><LF>");
            if (!answer(c, goAhead)) return;
            if (goAhead.rfind("354", 0) != 0) {
                resetTransaction();
                continue;
            }
            FakeSmtpTransaction transaction;
            transaction.mailFrom = *mailFrom;
            transaction.rcptTo = rcpts;
            transaction.secure = c.secure();
            bool ended = false;
            while (auto raw = c.readRawLine()) {
                if (*raw == ".\r\n" || *raw == ".\n") {
                    ended = true;
                    break;
                }
                transaction.data += (*raw)[0] == '.' ? raw->substr(1) : *raw;
            }
            if (!ended) return;  // the client went away in the middle of DATA
            // LMTP: one reply per accepted recipient; SMTP: one.
            std::size_t replies = options.lmtp ? rcpts.size() : 1;
            bool alive = true;
            for (std::size_t i = 0; i < replies && alive; ++i) {
                std::string final = shared.take("DOT").value_or("250 2.0.0 queued as FAKE" + std::to_string(i));
                if (i == 0) {
                    transaction.reply = final == kDropConnection ? "" : final;
                    transaction.accepted = final != kDropConnection && final[0] == '2';
                    std::lock_guard lock(shared.mutex);
                    shared.transactions.push_back(transaction);
                }
                alive = answer(c, final);
            }
            if (!alive) return;
            resetTransaction();
            continue;
        } else if (verb == "RSET") {
            resetTransaction();
            reply = "250 2.0.0 reset";
        } else if (verb == "NOOP") {
            reply = "250 2.0.0 ok";
        } else if (verb == "QUIT") {
            c.send("221 2.0.0 bye\r\n");
            c.close();
            return;
        } else {
            reply = "502 5.5.2 command not recognized";
        }
        if (!answer(c, reply)) return;
    }
}

}  // namespace

FakeSmtpTarget::FakeSmtpTarget(FakeSmtpOptions options) : shared_(std::make_shared<Shared>()) {
    shared_->replies = options.replies;
    shared_->options = std::move(options);
    auto shared = shared_;
    server_ = std::make_unique<ScriptedServer>(ScriptedServer::ScriptFor([shared](std::size_t) {
        Script script;
        if (shared->options.tls == FakeSmtpOptions::Tls::Implicit && shared->options.delayBeforeTls.count() > 0)
            script.stall(shared->options.delayBeforeTls);
        if (shared->options.tls == FakeSmtpOptions::Tls::Implicit)
            script.startTls(shared->options.certFile, shared->options.keyFile);
        script.run([shared](ScriptedConnection& c) { smtpSession(c, *shared); });
        return script;
    }));
}

FakeSmtpTarget::~FakeSmtpTarget() { server_->stop(); }

const FakeSmtpOptions& FakeSmtpTarget::options() const { return shared_->options; }

void FakeSmtpTarget::script(const std::string& verb, std::string reply) {
    std::lock_guard lock(shared_->mutex);
    shared_->replies[verb].push_back(std::move(reply));
}

std::vector<FakeSmtpTransaction> FakeSmtpTarget::transactions() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->transactions;
}

std::vector<std::string> FakeSmtpTarget::messages() const {
    std::lock_guard lock(shared_->mutex);
    std::vector<std::string> accepted;
    for (const auto& transaction : shared_->transactions)
        if (transaction.accepted) accepted.push_back(transaction.data);
    return accepted;
}

std::vector<std::string> FakeSmtpTarget::mailFroms() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->mailFroms;
}

FakeSmtpOptions lmtpOptions() {
    FakeSmtpOptions options;
    options.lmtp = true;
    options.extensions = {"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"};
    return options;
}

std::string withoutTraceHeaders(const std::string& data, const std::string& account) {
    std::size_t position = 0;
    bool sawReceived = false, sawAccount = false;
    for (;;) {
        std::size_t end = data.find("\r\n", position);
        if (end == std::string::npos) break;
        std::string line = data.substr(position, end - position);
        if (line.rfind("Received: from ", 0) == 0 && line.find("by mailcollector") != std::string::npos) {
            sawReceived = true;
        } else if (line == "X-Mailcollector-Account: " + account) {
            sawAccount = true;
        } else if (line.rfind("X-Mailcollector-Labels: ", 0) == 0) {
        } else {
            break;
        }
        position = end + 2;
    }
    EXPECT_TRUE(sawReceived) << "no Received: trace header in:\n" << escapeBytes(data, 2000);
    EXPECT_TRUE(sawAccount) << "no X-Mailcollector-Account: trace header in:\n" << escapeBytes(data, 2000);
    return data.substr(position);
}

}  // namespace mc::testing
