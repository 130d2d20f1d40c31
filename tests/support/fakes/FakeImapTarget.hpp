#pragma once
// A fake IMAP server as a delivery target (APPEND), on a ScriptedServer, for what Dovecot will
// not do on demand: Gmail's X-GM-EXT-1 (LIST with \All, SELECT, UID STORE +X-GM-LABELS), no
// LITERAL+ (it then checks that the client waits for "+" before sending a literal), and scripted
// replies to APPEND (NO [OVERQUOTA], NO, BAD, or a BYE and a closed connection).
//
// Commands: CAPABILITY, LOGIN, APPEND, CREATE, LIST, SELECT, UID STORE, NOOP, LOGOUT. A folder
// that does not exist gets NO [TRYCREATE] (at once for a synchronizing literal). Messages are
// stored per folder with their bytes exactly as received.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/fakes/ScriptedServer.hpp"

namespace mc::testing {

struct FakeImapTargetOptions {
    std::vector<std::string> capabilities = {"IMAP4rev1", "LITERAL+", "UIDPLUS"};
    std::string user = "me";
    std::string password = "target-Secret-7Qw";
    std::vector<std::string> folders = {"INBOX"};  // wire names (modified UTF-7) that exist
    // LIST answers (after "* LIST "), e.g. R"((\HasNoChildren \All) "/" "[Gmail]/All Mail")".
    std::vector<std::string> listEntries;
    // Replies to successive APPENDs whose literal arrived ("{tag}" becomes the tag); "BYE" sends
    // "* BYE" and closes without a tagged reply. When used up: OK [APPENDUID 1 uid].
    std::deque<std::string> appendReplies;
};

struct FakeAppended {
    std::string folder;   // wire name
    std::string content;  // the literal's bytes
    std::uint32_t uid = 0;
    std::vector<std::string> gmailLabels;  // as sent in UID STORE +X-GM-LABELS (...)
};

class FakeImapTarget {
public:
    explicit FakeImapTarget(FakeImapTargetOptions options = {});
    ~FakeImapTarget();

    std::string host() const { return "127.0.0.1"; }
    std::uint16_t port() const { return server_->port(); }

    // Messages stored (in order), in every folder or in one.
    std::vector<FakeAppended> appended() const;
    std::vector<FakeAppended> appended(const std::string& folder) const;
    std::vector<std::string> folders() const;
    // Command lines (without tag) starting with PREFIX, ignoring ASCII case.
    std::vector<std::string> commands(const std::string& prefix) const;
    // Script failures, e.g. a literal sent before the "+" continuation.
    std::vector<std::string> failures() const { return server_->failures(); }
    std::string transcript() const { return server_->transcript(); }
    ScriptedServer& server() { return *server_; }

    struct Shared;

private:
    std::shared_ptr<Shared> shared_;
    std::unique_ptr<ScriptedServer> server_;
};

}  // namespace mc::testing
