#include "tests/support/fakes/FakeImapTarget.hpp"

#include <algorithm>
#include <mutex>
#include <regex>

namespace mc::testing {

struct FakeImapTarget::Shared {
    mutable std::mutex mutex;
    FakeImapTargetOptions options;
    std::vector<FakeAppended> appended;
    std::vector<std::string> commands;
    std::uint32_t nextUid = 1;

    bool exists(const std::string& folder) const {
        return std::find(options.folders.begin(), options.folders.end(), folder) != options.folders.end();
    }
};

namespace {

using Shared = FakeImapTarget::Shared;

std::string upper(std::string text) {
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

// An astring at the front of REST (quoted with escapes, or an atom); REST moves past it.
std::string takeAstring(std::string& rest) {
    std::string value;
    std::size_t i = 0;
    if (!rest.empty() && rest[0] == '"') {
        for (i = 1; i < rest.size() && rest[i] != '"'; ++i) {
            if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
            value += rest[i];
        }
        ++i;
    } else {
        while (i < rest.size() && rest[i] != ' ') value += rest[i++];
    }
    rest.erase(0, std::min(rest.size(), i + 1));
    return value;
}

std::string withTag(std::string reply, const std::string& tag) {
    for (std::size_t at; (at = reply.find("{tag}")) != std::string::npos;) reply.replace(at, 5, tag);
    return reply;
}

// Reads a literal of SIZE bytes: the client sends whole CRLF-terminated lines, then the CRLF
// ending the command.
std::optional<std::string> readLiteral(ScriptedConnection& c, std::size_t size) {
    std::string content;
    while (content.size() < size) {
        auto line = c.readRawLine();
        if (!line) return std::nullopt;
        content += *line;
    }
    if (content.size() != size) {
        c.fail("literal of " + std::to_string(size) + " bytes did not end with a line ending");
        return std::nullopt;
    }
    auto end = c.readRawLine();
    if (!end || *end != "\r\n") {
        c.fail("no CRLF after the literal");
        return std::nullopt;
    }
    return content;
}

bool handleAppend(const std::shared_ptr<Shared>& shared, ScriptedConnection& c, const std::string& tag,
                  std::string rest) {
    std::string folder = takeAstring(rest);
    std::smatch match;
    if (!std::regex_match(rest, match, std::regex(R"(\{(\d+)(\+?)\})"))) {
        c.send(tag + " BAD expected APPEND mailbox {size}\r\n");
        return true;
    }
    std::size_t size = std::stoul(match[1]);
    bool synchronizing = match[2].length() == 0;
    bool exists;
    {
        std::lock_guard lock(shared->mutex);
        exists = shared->exists(folder);
    }
    if (synchronizing) {
        if (!exists) return c.send(tag + " NO [TRYCREATE] Mailbox doesn't exist: " + folder + "\r\n");
        // Nothing may arrive before the go-ahead.
        if (auto early = c.readLine(Millis(300))) {
            c.fail("client sent the literal before the \"+\" continuation: " + escapeBytes(*early));
            return false;
        }
        c.send("+ OK\r\n");
    }
    auto content = readLiteral(c, size);
    if (!content) return false;
    if (!exists) return c.send(tag + " NO [TRYCREATE] Mailbox doesn't exist: " + folder + "\r\n");
    std::string reply;
    std::uint32_t uid = 0;
    {
        std::lock_guard lock(shared->mutex);
        if (!shared->options.appendReplies.empty()) {
            reply = shared->options.appendReplies.front();
            shared->options.appendReplies.pop_front();
        } else {
            uid = shared->nextUid++;
            shared->appended.push_back({folder, *content, uid, {}});
        }
    }
    if (reply == "BYE") {
        c.send("* BYE Server shutting down\r\n");
        c.close();
        return false;
    }
    if (uid == 0) return c.send(withTag(reply, tag));
    return c.send(tag + " OK [APPENDUID 1 " + std::to_string(uid) + "] Append completed.\r\n");
}

bool handle(const std::shared_ptr<Shared>& shared, ScriptedConnection& c, const std::string& line) {
    std::string rest = line;
    std::string tag = takeAstring(rest);
    {
        std::lock_guard lock(shared->mutex);
        shared->commands.push_back(rest);
    }
    std::string verb = upper(rest.substr(0, rest.find(' ')));
    std::string arguments = rest.find(' ') == std::string::npos ? "" : rest.substr(rest.find(' ') + 1);
    if (verb == "APPEND") return handleAppend(shared, c, tag, arguments);  // locks while not reading
    std::lock_guard lock(shared->mutex);
    const auto& options = shared->options;
    if (verb == "CAPABILITY") {
        std::string caps;
        for (const auto& cap : options.capabilities) caps += " " + cap;
        return c.send("* CAPABILITY" + caps + "\r\n" + tag + " OK done\r\n");
    }
    if (verb == "LOGIN") {
        std::string user = takeAstring(arguments);
        std::string password = takeAstring(arguments);
        if (user == options.user && password == options.password) return c.send(tag + " OK Logged in\r\n");
        return c.send(tag + " NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
    }
    if (verb == "CREATE") {
        std::string folder = takeAstring(arguments);
        if (shared->exists(folder)) return c.send(tag + " NO [ALREADYEXISTS] Mailbox already exists\r\n");
        shared->options.folders.push_back(folder);
        return c.send(tag + " OK Create completed.\r\n");
    }
    if (verb == "LIST") {
        std::string out;
        for (const auto& entry : options.listEntries) out += "* LIST " + entry + "\r\n";
        return c.send(out + tag + " OK List completed.\r\n");
    }
    if (verb == "SELECT") {
        std::string folder = takeAstring(arguments);
        if (!shared->exists(folder)) return c.send(tag + " NO [NONEXISTENT] Mailbox doesn't exist\r\n");
        return c.send("* FLAGS (\\Seen)\r\n* 1 EXISTS\r\n* OK [UIDVALIDITY 1] UIDs valid\r\n" + tag +
                      " OK [READ-WRITE] Select completed.\r\n");
    }
    if (verb == "UID" && upper(arguments).rfind("STORE ", 0) == 0) {
        std::smatch match;
        if (!std::regex_match(arguments, match, std::regex(R"(STORE (\d+) \+X-GM-LABELS \((.*)\))", std::regex::icase)))
            return c.send(tag + " BAD unexpected UID STORE\r\n");
        std::uint32_t uid = static_cast<std::uint32_t>(std::stoul(match[1]));
        std::string labels = match[2];
        auto stored = std::find_if(shared->appended.begin(), shared->appended.end(),
                                   [&](const FakeAppended& a) { return a.uid == uid; });
        if (stored == shared->appended.end()) return c.send(tag + " NO no such message\r\n");
        while (!labels.empty()) stored->gmailLabels.push_back(takeAstring(labels));
        return c.send("* 1 FETCH (X-GM-LABELS (" + match[2].str() + ") UID " + match[1].str() + ")\r\n" + tag +
                      " OK Store completed.\r\n");
    }
    if (verb == "NOOP") return c.send(tag + " OK NOOP completed.\r\n");
    if (verb == "LOGOUT") {
        c.send("* BYE Logging out\r\n" + tag + " OK Logout completed.\r\n");
        c.close();
        return false;
    }
    return c.send(tag + " BAD Unknown command\r\n");
}

}  // namespace

FakeImapTarget::FakeImapTarget(FakeImapTargetOptions options) : shared_(std::make_shared<Shared>()) {
    shared_->options = std::move(options);
    auto shared = shared_;
    server_ = std::make_unique<ScriptedServer>(
        Script()
            .sendLine("* OK IMAP fake target ready")
            .onEachLine([shared](ScriptedConnection& c, const std::string& line) { return handle(shared, c, line); }));
}

FakeImapTarget::~FakeImapTarget() { server_->stop(); }

std::vector<FakeAppended> FakeImapTarget::appended() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->appended;
}

std::vector<FakeAppended> FakeImapTarget::appended(const std::string& folder) const {
    std::vector<FakeAppended> out;
    for (auto& message : appended())
        if (message.folder == folder) out.push_back(message);
    return out;
}

std::vector<std::string> FakeImapTarget::folders() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->options.folders;
}

std::vector<std::string> FakeImapTarget::commands(const std::string& prefix) const {
    std::lock_guard lock(shared_->mutex);
    std::vector<std::string> out;
    for (const auto& command : shared_->commands)
        if (startsWithNoCase(command, prefix)) out.push_back(command);
    return out;
}

}  // namespace mc::testing
