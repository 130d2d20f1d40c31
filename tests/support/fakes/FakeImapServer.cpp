#include "tests/support/fakes/FakeImapServer.hpp"

#include "tests/support/fakes/FakeOAuth2Server.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <set>

namespace mc::testing {

struct FakeImapServer::Shared {
    struct Stored {
        FakeImapMessage message;
        bool eventsDone = false;
    };
    struct Folder {
        FakeImapFolder settings;
        std::vector<Stored> messages;  // ascending UIDs
        std::uint32_t nextUid = 1;
        std::vector<std::uint32_t> expunged;
    };

    mutable std::mutex mutex;
    mutable std::condition_variable changed;
    FakeImapOptions options;
    std::vector<Folder> folders;
    std::size_t idling = 0;

    Folder* folder(const std::string& name) {
        for (auto& folder : folders)
            if (folder.settings.name == name || (upper(name) == "INBOX" && folder.settings.name == "INBOX"))
                return &folder;
        return nullptr;
    }
    const Folder* folder(const std::string& name) const { return const_cast<Shared*>(this)->folder(name); }
    static Stored* find(Folder& folder, std::uint32_t uid) {
        for (auto& stored : folder.messages)
            if (stored.message.uid == uid) return &stored;
        return nullptr;
    }
    std::uint32_t add(Folder& folder, FakeImapMessage message) {
        if (message.uid == 0) message.uid = folder.nextUid;
        folder.nextUid = std::max(folder.nextUid, message.uid + 1);
        folder.messages.push_back({std::move(message), false});
        std::sort(folder.messages.begin(), folder.messages.end(),
                  [](const Stored& a, const Stored& b) { return a.message.uid < b.message.uid; });
        return folder.messages.back().message.uid;
    }
    static std::string upper(std::string text) {
        for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return text;
    }
};

namespace {

using Shared = FakeImapServer::Shared;

std::string upper(std::string text) { return Shared::upper(std::move(text)); }

bool hasFlag(const std::vector<std::string>& flags, const std::string& flag) {
    for (const auto& f : flags)
        if (upper(f) == upper(flag)) return true;
    return false;
}

std::string joined(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& word : words) out += (out.empty() ? "" : " ") + word;
    return out;
}

std::string base64(const std::string& bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string base64Decode(const std::string& text) {
    std::string out((text.size() / 4 + 1) * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (n < 0) return {};
    out.resize(static_cast<std::size_t>(n));
    std::size_t padding = 0;
    for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) ++padding;
    out.resize(out.size() - std::min(out.size(), padding));
    return out;
}

// Splits command arguments: atoms, quoted strings (unquoted and unescaped), parenthesised groups
// (kept whole, parentheses included).
std::vector<std::string> tokens(const std::string& text) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] == ' ') {
            ++i;
            continue;
        }
        std::string token;
        if (text[i] == '"') {
            for (++i; i < text.size() && text[i] != '"'; ++i) {
                if (text[i] == '\\' && i + 1 < text.size()) ++i;
                token += text[i];
            }
            ++i;
        } else if (text[i] == '(') {
            int depth = 0;
            for (; i < text.size(); ++i) {
                token += text[i];
                if (text[i] == '(') ++depth;
                if (text[i] == ')' && --depth == 0) {
                    ++i;
                    break;
                }
            }
        } else {
            while (i < text.size() && text[i] != ' ') token += text[i++];
        }
        out.push_back(token);
    }
    return out;
}

// "1:3,5,7:*" -> the numbers (ascending, unique); '*' is MAX.
std::vector<std::uint32_t> expandSet(const std::string& set, std::uint32_t max) {
    std::set<std::uint32_t> numbers;
    std::size_t start = 0;
    while (start <= set.size()) {
        std::size_t comma = set.find(',', start);
        std::string part = set.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        auto value = [&](const std::string& text) -> std::uint32_t {
            if (text == "*") return max;
            try {
                return static_cast<std::uint32_t>(std::stoul(text));
            } catch (...) {
                return 0;
            }
        };
        std::size_t colon = part.find(':');
        std::uint32_t a = value(part.substr(0, colon));
        std::uint32_t b = colon == std::string::npos ? a : value(part.substr(colon + 1));
        if (a > b) std::swap(a, b);
        for (std::uint64_t n = a; n <= b && n <= max && n != 0; ++n) numbers.insert(static_cast<std::uint32_t>(n));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return {numbers.begin(), numbers.end()};
}

class FakeImapSession {
public:
    FakeImapSession(ScriptedConnection& c, Shared& shared) : c_(c), shared_(shared) {
        std::lock_guard lock(shared.mutex);
        options_ = shared.options;
    }

    void run() {
        std::string greeting = override("GREETING", "")
                                   .value_or(std::string(options_.preauth ? "* PREAUTH" : "* OK") + " [CAPABILITY " +
                                             capabilities() + "] fake IMAP ready\r\n");
        authenticated_ = options_.preauth;
        if (!c_.send(greeting)) return;
        while (c_.open() && !c_.stopping()) {
            auto line = c_.readLine(Millis(600'000));
            if (!line) return;
            if (!handle(*line)) return;
        }
    }

private:
    std::string capabilities() const {
        std::string caps = joined(options_.capabilities);
        if (options_.tls == FakeImapOptions::Tls::StartTls && options_.offerStartTls && !c_.secure())
            caps += " STARTTLS";
        return caps;
    }

    std::optional<std::string> override(const std::string& key, const std::string& tag) const {
        auto it = options_.replies.find(key);
        if (it == options_.replies.end()) return std::nullopt;
        std::string reply = it->second;
        for (std::size_t at; (at = reply.find("{tag}")) != std::string::npos;) reply.replace(at, 5, tag);
        return reply;
    }

    // Handles one command line; false ends the session.
    bool handle(const std::string& line) {
        auto space = line.find(' ');
        std::string tag = line.substr(0, space);
        std::string rest = space == std::string::npos ? "" : line.substr(space + 1);
        auto args = tokens(rest);
        if (args.empty()) return c_.send(tag + " BAD empty command\r\n");
        std::string verb = upper(args[0]);
        args.erase(args.begin());
        if (verb == "UID" && !args.empty()) {
            verb += " " + upper(args[0]);
            args.erase(args.begin());
        }
        if (auto generated = options_.generatedReplies.find(verb); generated != options_.generatedReplies.end())
            return generated->second(c_, tag);
        if (auto raw = override(verb, tag)) {
            if (!c_.send(*raw)) return false;
            if (verb == "STARTTLS" && raw->find(" OK") != std::string::npos)
                return c_.startTls(options_.certFile, options_.keyFile);
            if (verb == "LOGOUT") {
                c_.close();
                return false;
            }
            return true;
        }
        if (verb == "CAPABILITY") return c_.send("* CAPABILITY " + capabilities() + "\r\n" + tag + " OK done\r\n");
        if (verb == "NOOP") return announceNew() && c_.send(tag + " OK NOOP done\r\n");
        if (verb == "LOGOUT") {
            c_.send("* BYE logging out\r\n" + tag + " OK LOGOUT done\r\n");
            c_.close();
            return false;
        }
        if (verb == "STARTTLS") {
            if (options_.tls != FakeImapOptions::Tls::StartTls || c_.secure())
                return c_.send(tag + " BAD STARTTLS not available\r\n");
            if (!c_.send(tag + " OK Begin TLS negotiation now\r\n")) return false;
            return c_.startTls(options_.certFile, options_.keyFile);
        }
        if (verb == "LOGIN") {
            if (args.size() != 2) return c_.send(tag + " BAD LOGIN needs two arguments\r\n");
            authenticated_ = args[0] == options_.user && args[1] == options_.password;
            return c_.send(authenticated_ ? tag + " OK [CAPABILITY " + capabilities() + "] Logged in\r\n"
                                          : tag + " NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
        }
        if (verb == "AUTHENTICATE" && !args.empty() && !options_.accessToken.empty() &&
            (upper(args[0]) == "XOAUTH2" || upper(args[0]) == "OAUTHBEARER")) {
            std::string initial = args.size() > 1 ? args[1] : "";
            if (initial.empty()) {
                if (!c_.send("+ \r\n")) return false;
                auto response = c_.readLine();
                if (!response) return false;
                initial = *response;
            }
            authenticated_ = validOAuthResponse(base64Decode(initial), options_.user, options_.accessToken);
            if (!authenticated_ && (!c_.send("+ " + oauthErrorChallenge() + "\r\n") || !c_.readLine())) return false;
            return c_.send(authenticated_ ? tag + " OK [CAPABILITY " + capabilities() + "] Logged in\r\n"
                                          : tag + " NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)\r\n");
        }
        if (verb == "AUTHENTICATE") {
            if (args.empty() || upper(args[0]) != "PLAIN") return c_.send(tag + " NO unsupported mechanism\r\n");
            std::string initial = args.size() > 1 ? args[1] : "";
            if (initial.empty()) {
                if (!c_.send("+ \r\n")) return false;
                auto response = c_.readLine();
                if (!response) return false;
                initial = *response;
            }
            authenticated_ = base64Decode(initial) ==
                             std::string("\0", 1) + options_.user + std::string("\0", 1) + options_.password;
            return c_.send(authenticated_ ? tag + " OK Logged in\r\n"
                                          : tag + " NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
        }
        if (!authenticated_) return c_.send(tag + " BAD log in first\r\n");
        if (verb == "LIST") return list(tag);
        if (verb == "SELECT" || verb == "EXAMINE") return select(tag, args, verb == "EXAMINE");
        if (selected_.empty()) return c_.send(tag + " BAD no folder selected\r\n");
        if (verb == "FETCH" || verb == "UID FETCH") return fetch(tag, args, verb == "UID FETCH");
        if (verb == "UID STORE" || verb == "STORE") return store(tag, args, verb == "UID STORE");
        if (verb == "UID EXPUNGE") return expunge(tag, args.empty() ? "" : args[0], true);
        if (verb == "EXPUNGE") return expunge(tag, "", true);
        if (verb == "CLOSE") {
            if (!readOnly_) expunge("", "", false);
            selected_.clear();
            return c_.send(tag + " OK CLOSE done\r\n");
        }
        if (verb == "UID MOVE") return move(tag, args);
        if (verb == "IDLE") return idle(tag);
        return c_.send(tag + " BAD unknown command\r\n");
    }

    bool list(const std::string& tag) {
        std::string reply;
        {
            std::lock_guard lock(shared_.mutex);
            for (const auto& folder : shared_.folders)
                reply += "* LIST (" + joined(folder.settings.listFlags) + ") \"" + options_.delimiter + "\" \"" +
                         folder.settings.name + "\"\r\n";
        }
        return c_.send(reply + tag + " OK LIST done\r\n");
    }

    bool select(const std::string& tag, const std::vector<std::string>& args, bool readOnly) {
        std::string reply;
        {
            std::lock_guard lock(shared_.mutex);
            auto* folder = args.empty() ? nullptr : shared_.folder(args[0]);
            if (!folder) {
                selected_.clear();
                return c_.send(tag + " NO Mailbox doesn't exist\r\n");
            }
            selected_ = folder->settings.name;
            readOnly_ = readOnly;
            view_.clear();
            for (const auto& stored : folder->messages) view_.push_back(stored.message.uid);
            reply = "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* " + std::to_string(view_.size()) +
                    " EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY " + std::to_string(folder->settings.uidValidity) +
                    "] UIDs valid\r\n";
            if (options_.sayUidNext)
                reply += "* OK [UIDNEXT " + std::to_string(folder->nextUid) + "] Predicted next UID\r\n";
        }
        return c_.send(reply + tag +
                       (readOnly ? " OK [READ-ONLY] EXAMINE done\r\n" : " OK [READ-WRITE] SELECT done\r\n"));
    }

    // Sequence number of UID in this session's view, or 0.
    std::uint32_t sequenceOf(std::uint32_t uid) const {
        auto it = std::find(view_.begin(), view_.end(), uid);
        return it == view_.end() ? 0 : static_cast<std::uint32_t>(it - view_.begin() + 1);
    }

    // Tells the client about messages added since it last looked ("* n EXISTS").
    bool announceNew() {
        if (selected_.empty()) return true;
        bool added = false;
        {
            std::lock_guard lock(shared_.mutex);
            auto* folder = shared_.folder(selected_);
            if (!folder) return true;
            std::uint32_t newest = view_.empty() ? 0 : *std::max_element(view_.begin(), view_.end());
            for (const auto& stored : folder->messages)
                if (stored.message.uid > newest) view_.push_back(stored.message.uid), added = true;
        }
        return !added || c_.send("* " + std::to_string(view_.size()) + " EXISTS\r\n");
    }

    // Removes UID from FOLDER (mutex held); returns its sequence number in this view (0: none).
    std::uint32_t removeLocked(Shared::Folder& folder, std::uint32_t uid) {
        auto it = std::find_if(folder.messages.begin(), folder.messages.end(),
                               [&](const auto& stored) { return stored.message.uid == uid; });
        if (it == folder.messages.end()) return 0;
        folder.messages.erase(it);
        folder.expunged.push_back(uid);
        std::uint32_t sequence = sequenceOf(uid);
        if (sequence) view_.erase(view_.begin() + (sequence - 1));
        return sequence;
    }

    bool fetch(const std::string& tag, const std::vector<std::string>& args, bool byUid) {
        if (args.size() < 2) return c_.send(tag + " BAD FETCH needs a set and items\r\n");
        std::string items = upper(args[1]);
        bool body = items.find("BODY") != std::string::npos || items.find("RFC822)") != std::string::npos;
        bool peek = items.find("BODY.PEEK") != std::string::npos;
        bool header = items.find("BODY.PEEK[HEADER]") != std::string::npos;
        bool gmail = items.find("X-GM-LABELS") != std::string::npos;
        bool gmailId = items.find("X-GM-MSGID") != std::string::npos;
        std::vector<std::uint32_t> uids;
        if (byUid) {
            std::uint32_t maxUid = view_.empty() ? 0 : *std::max_element(view_.begin(), view_.end());
            for (auto uid : expandSet(args[0], maxUid))
                if (sequenceOf(uid)) uids.push_back(uid);
        } else {
            for (auto sequence : expandSet(args[0], static_cast<std::uint32_t>(view_.size())))
                uids.push_back(view_[sequence - 1]);
            if (uids.empty()) return c_.send(tag + " BAD Invalid messageset\r\n");
        }
        for (auto uid : uids) {
            FakeImapMessage message;
            bool runEvents = false;
            {
                std::lock_guard lock(shared_.mutex);
                auto* folder = shared_.folder(selected_);
                auto* stored = folder ? Shared::find(*folder, uid) : nullptr;
                if (!stored) continue;  // expunged meanwhile
                if (body && !peek && !readOnly_ && !hasFlag(stored->message.flags, "\\Seen"))
                    stored->message.flags.push_back("\\Seen");
                message = stored->message;
                runEvents = body && !header && !stored->eventsDone;
                if (runEvents) stored->eventsDone = true;
            }
            std::string sequence = std::to_string(sequenceOf(uid));
            std::string response;
            if (gmail) {
                response = "* " + sequence + " FETCH (UID " + std::to_string(uid) + " X-GM-MSGID " +
                           std::to_string(message.gmailMessageId) + " X-GM-LABELS (" + joined(message.gmailLabels) +
                           "))\r\n";
            } else if (header) {
                // BODY.PEEK[HEADER]: the header block and the blank line after it.
                std::string content = message.content;
                auto crlf = content.find("\r\n\r\n"), lf = content.find("\n\n");
                std::size_t end = std::min(crlf == std::string::npos ? content.size() : crlf + 4,
                                           lf == std::string::npos ? content.size() : lf + 2);
                response = "* " + sequence + " FETCH (UID " + std::to_string(uid) + " BODY[HEADER] {" +
                           std::to_string(end) + "}\r\n" + content.substr(0, end) + ")\r\n";
            } else if (body) {
                response = message.fetchReply.value_or("* " + sequence + " FETCH (UID " + std::to_string(uid) +
                                                       " BODY[] {" + std::to_string(message.content.size()) + "}\r\n" +
                                                       message.content + ")\r\n");
            } else {
                response =
                    "* " + sequence + " FETCH (UID " + std::to_string(uid) + " RFC822.SIZE " +
                    std::to_string(message.listedSize.value_or(message.content.size())) + " FLAGS (" +
                    joined(message.flags) + ")" +
                    (gmailId && message.gmailMessageId ? " X-GM-MSGID " + std::to_string(message.gmailMessageId) : "") +
                    ")\r\n";
            }
            if (!sendInPieces(response, body && !header ? message.splitAt : std::vector<std::size_t>{}, message.pause))
                return false;
            if (runEvents && !events(message)) return false;
        }
        return c_.send(tag + " OK FETCH done\r\n");
    }

    bool sendInPieces(const std::string& bytes, std::vector<std::size_t> cuts, Millis pause) {
        std::sort(cuts.begin(), cuts.end());
        std::size_t from = 0;
        for (auto cut : cuts) {
            if (cut <= from || cut >= bytes.size()) continue;
            if (!c_.send(std::string_view(bytes).substr(from, cut - from))) return false;
            c_.stall(pause);
            from = cut;
        }
        return c_.send(std::string_view(bytes).substr(from));
    }

    bool events(const FakeImapMessage& message) {
        if (message.expungeAfter) {
            std::uint32_t sequence = 0;
            {
                std::lock_guard lock(shared_.mutex);
                if (auto* folder = shared_.folder(selected_)) sequence = removeLocked(*folder, message.expungeAfter);
            }
            if (sequence && !c_.send("* " + std::to_string(sequence) + " EXPUNGE\r\n")) return false;
        }
        if (!message.sendAfter.empty() && !c_.send(message.sendAfter)) return false;
        if (message.closeAfter) {
            c_.close();
            return false;
        }
        return true;
    }

    bool store(const std::string& tag, const std::vector<std::string>& args, bool byUid) {
        if (args.size() < 3) return c_.send(tag + " BAD STORE needs a set, an action and flags\r\n");
        if (readOnly_) return c_.send(tag + " NO mailbox is read-only\r\n");
        std::string action = upper(args[1]);
        bool silent = action.find(".SILENT") != std::string::npos;
        std::string list = args[2];
        if (!list.empty() && list.front() == '(') list = list.substr(1, list.size() - 2);
        auto flags = tokens(list);
        std::string reply;
        {
            std::lock_guard lock(shared_.mutex);
            auto* folder = shared_.folder(selected_);
            std::uint32_t maxUid = view_.empty() ? 0 : *std::max_element(view_.begin(), view_.end());
            std::vector<std::uint32_t> uids;
            if (byUid)
                uids = expandSet(args[0], maxUid);
            else
                for (auto sequence : expandSet(args[0], static_cast<std::uint32_t>(view_.size())))
                    uids.push_back(view_[sequence - 1]);
            for (auto uid : uids) {
                auto* stored = folder ? Shared::find(*folder, uid) : nullptr;
                if (!stored || !sequenceOf(uid)) continue;
                auto& current = stored->message.flags;
                for (const auto& flag : flags) {
                    bool present = hasFlag(current, flag);
                    if (action[0] == '-') {
                        current.erase(std::remove_if(current.begin(), current.end(),
                                                     [&](const std::string& f) { return upper(f) == upper(flag); }),
                                      current.end());
                    } else if (!present) {
                        current.push_back(flag);
                    }
                }
                if (!silent)
                    reply += "* " + std::to_string(sequenceOf(uid)) + " FETCH (UID " + std::to_string(uid) +
                             " FLAGS (" + joined(current) + "))\r\n";
            }
        }
        return c_.send(reply + tag + " OK STORE done\r\n");
    }

    // EXPUNGE (set empty) or UID EXPUNGE set: removes the \Deleted messages (of the set).
    bool expunge(const std::string& tag, const std::string& set, bool reply) {
        if (readOnly_) return c_.send(tag + " NO mailbox is read-only\r\n");
        std::string responses;
        {
            std::lock_guard lock(shared_.mutex);
            auto* folder = shared_.folder(selected_);
            if (folder) {
                std::vector<std::uint32_t> doomed;
                std::set<std::uint32_t> allowed;
                if (!set.empty()) {
                    auto uids = expandSet(set, std::numeric_limits<std::uint32_t>::max() - 1);
                    allowed.insert(uids.begin(), uids.end());
                }
                for (const auto& stored : folder->messages)
                    if (hasFlag(stored.message.flags, "\\Deleted") &&
                        (set.empty() || allowed.count(stored.message.uid)))
                        doomed.push_back(stored.message.uid);
                for (auto uid : doomed)
                    if (auto sequence = removeLocked(*folder, uid))
                        responses += "* " + std::to_string(sequence) + " EXPUNGE\r\n";
            }
        }
        if (!reply) return true;
        return c_.send(responses + tag + " OK EXPUNGE done\r\n");
    }

    bool move(const std::string& tag, const std::vector<std::string>& args) {
        if (args.size() < 2) return c_.send(tag + " BAD MOVE needs a set and a folder\r\n");
        if (readOnly_) return c_.send(tag + " NO mailbox is read-only\r\n");
        std::string responses;
        {
            std::lock_guard lock(shared_.mutex);
            auto* source = shared_.folder(selected_);
            auto* target = shared_.folder(args[1]);
            if (!source || !target) return c_.send(tag + " NO [TRYCREATE] no such folder\r\n");
            std::uint32_t maxUid = view_.empty() ? 0 : *std::max_element(view_.begin(), view_.end());
            for (auto uid : expandSet(args[0], maxUid)) {
                auto* stored = Shared::find(*source, uid);
                if (!stored || !sequenceOf(uid)) continue;
                FakeImapMessage copy = stored->message;
                copy.uid = 0;
                shared_.add(*target, std::move(copy));
                if (auto sequence = removeLocked(*source, uid))
                    responses += "* " + std::to_string(sequence) + " EXPUNGE\r\n";
            }
        }
        return c_.send(responses + tag + " OK MOVE done\r\n");
    }

    bool idle(const std::string& tag) {
        if (!c_.send("+ idling\r\n")) return false;
        {
            std::lock_guard lock(shared_.mutex);
            ++shared_.idling;
        }
        shared_.changed.notify_all();
        bool ok = true;
        for (;;) {
            auto line = c_.readLine(Millis(50));
            if (line) {
                if (upper(*line) != "DONE") c_.fail("expected DONE during IDLE, got: " + *line);
                ok = upper(*line) == "DONE";
                break;
            }
            if (!c_.open() || c_.stopping() || !announceNew()) {
                ok = false;
                break;
            }
        }
        {
            std::lock_guard lock(shared_.mutex);
            --shared_.idling;
        }
        shared_.changed.notify_all();
        return ok && c_.send(tag + " OK IDLE terminated\r\n");
    }

    ScriptedConnection& c_;
    Shared& shared_;
    FakeImapOptions options_;
    bool authenticated_ = false;
    std::string selected_;
    bool readOnly_ = true;
    std::vector<std::uint32_t> view_;  // UIDs by sequence number
};

}  // namespace

FakeImapServer::FakeImapServer(FakeImapOptions options, std::vector<FakeImapFolder> folders)
    : shared_(std::make_shared<Shared>()) {
    shared_->options = std::move(options);
    for (auto& settings : folders) {
        Shared::Folder folder;
        auto messages = std::move(settings.messages);
        folder.settings = std::move(settings);
        for (auto& message : messages) shared_->add(folder, std::move(message));
        shared_->folders.push_back(std::move(folder));
    }
    auto shared = shared_;
    server_ = std::make_unique<ScriptedServer>(ScriptedServer::ScriptFor([shared](std::size_t) {
        Script script;
        if (shared->options.tls == FakeImapOptions::Tls::Implicit)
            script.startTls(shared->options.certFile, shared->options.keyFile);
        script.run([shared](ScriptedConnection& c) { FakeImapSession(c, *shared).run(); });
        return script;
    }));
}

FakeImapServer::~FakeImapServer() { server_->stop(); }

const FakeImapOptions& FakeImapServer::options() const { return shared_->options; }

std::uint32_t FakeImapServer::addMessage(const std::string& folder, FakeImapMessage message) {
    std::lock_guard lock(shared_->mutex);
    auto* stored = shared_->folder(folder);
    if (!stored) throw std::invalid_argument("no folder " + folder);
    return shared_->add(*stored, std::move(message));
}

std::vector<std::uint32_t> FakeImapServer::uids(const std::string& folder) const {
    std::lock_guard lock(shared_->mutex);
    std::vector<std::uint32_t> out;
    if (const auto* stored = shared_->folder(folder))
        for (const auto& message : stored->messages) out.push_back(message.message.uid);
    return out;
}

std::vector<std::string> FakeImapServer::flags(const std::string& folder, std::uint32_t uid) const {
    std::lock_guard lock(shared_->mutex);
    if (const auto* stored = shared_->folder(folder))
        for (const auto& message : stored->messages)
            if (message.message.uid == uid) return message.message.flags;
    return {};
}

std::vector<std::uint32_t> FakeImapServer::expunged(const std::string& folder) const {
    std::lock_guard lock(shared_->mutex);
    const auto* stored = shared_->folder(folder);
    return stored ? stored->expunged : std::vector<std::uint32_t>{};
}

std::size_t FakeImapServer::idling() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->idling;
}

bool FakeImapServer::waitUntilIdling(std::size_t count, Millis timeout) const {
    std::unique_lock lock(shared_->mutex);
    return shared_->changed.wait_for(lock, timeout, [&] { return shared_->idling >= count; });
}

std::vector<std::string> FakeImapServer::commands(const std::string& prefix) const {
    std::vector<std::string> out;
    for (const auto& line : server_->lines()) {
        auto space = line.find(' ');
        if (space == std::string::npos) continue;
        if (startsWithNoCase(std::string_view(line).substr(space + 1), prefix)) out.push_back(line);
    }
    return out;
}

std::size_t FakeImapServer::countCommands(const std::string& prefix) const { return commands(prefix).size(); }

bool FakeImapServer::sawCredentials() const {
    const auto& options = shared_->options;
    std::string plain = std::string("\0", 1) + options.user + std::string("\0", 1) + options.password;
    return countCommands("LOGIN") > 0 || countCommands("AUTHENTICATE") > 0 ||
           server_->receivedContains(options.password) || server_->receivedContains(base64(plain));
}

}  // namespace mc::testing
