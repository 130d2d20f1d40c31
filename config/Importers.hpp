#pragma once
// `mailcollector import`: fetchmail and getmail6 configurations -> mailcollector TOML. Pure: text
// in, an ImportResult out, never a throw on bad input (a parse error carries file and line).
//
// The importers fill an ImportedConfig (the settings to print, with the comments that go above
// each table); renderToml() prints it. What cannot be translated becomes a comment in the output
// and, for anything that changes behaviour, an ImportNote the CLI prints as a warning. Secret
// values never appear in notes or errors.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/SafeText.hpp"

namespace mc::config::importer {

struct ImportOptions {
    // The local login: fetchmail's default remote user name and delivery recipient, and the
    // recipient of getmail destinations that name none.
    std::string localUser = "me";
};

struct ImportNote {
    std::string file;
    int line = 0;
    std::string text;
};

struct ImportedTarget {
    std::string protocol = "smtp";  // smtp | lmtp
    std::string host = "localhost";
    int port = 0;     // 0: the protocol's default (not printed)
    std::string tls;  // "": the default (starttls); "none" is printed for loopback hosts only
    std::string username;
    std::string password;  // inline, as the source file had it
    std::string recipient;
    std::vector<std::string> comments;  // printed above [target]
};

struct ImportedAccount {
    std::string name;
    std::string protocol = "pop3";  // pop3 | imap
    std::string host;
    int port = 0;                  // 0: the default for protocol and tls (not printed)
    std::string tls = "implicit";  // implicit | starttls
    std::string caFile;
    std::string tlsFingerprint;  // SHA-256 hex
    std::string auth;            // "": auto
    std::string username;
    // One of these (all empty: password_env = passwordEnv placeholder).
    std::string password;
    std::string passwordCommand;
    std::string passwordEnv;
    std::vector<std::string> folders;  // imap; empty: the default (INBOX)
    bool keep = true;
    int deleteAfterDays = 0;
    std::string fetch = "all";          // all | new
    std::uint64_t maxMessageSize = 0;   // 0: the default
    int intervalSeconds = 0;            // 0: the default
    std::optional<bool> idle;           // imap only
    bool disabled = false;              // printed commented out (a fetchmail `skip` entry)
    std::vector<std::string> comments;  // printed above [[account]]
};

struct ImportedConfig {
    std::vector<std::string> sources;  // the files read, for the header
    std::string tool;                  // "fetchmailrc" | "getmailrc"
    std::vector<std::string> header;   // comments about global settings
    ImportedTarget target;
    std::vector<ImportedAccount> accounts;
    std::vector<ImportNote> warnings;  // for stderr; each also appears as a comment
};

struct ImportResult {
    ImportedConfig config;
    // Set when an input file cannot be parsed; then config is incomplete and must not be printed.
    std::string errorFile;
    int errorLine = 0;
    std::string error;

    bool ok() const { return error.empty(); }
    // "FILE:LINE: problem"
    std::string errorText() const;
};

ImportResult importFetchmailrc(const std::string& text, const std::string& file, const ImportOptions& options = {});

// One getmailrc per account: (path, text) pairs, in the order given.
ImportResult importGetmailrc(const std::vector<std::pair<std::string, std::string>>& files,
                             const ImportOptions& options = {});

// The whole TOML document.
std::string renderToml(const ImportedConfig& config);

// ---- building blocks, shared by the importers and exposed for tests -------------------------

// A TOML basic string with its quotes: \" \\ and control characters escaped; valid UTF-8 passes
// through; a byte that is not valid UTF-8 is read as Latin-1 (\u00XX).
std::string tomlString(std::string_view text);
using proto::isValidUtf8;
// A name the config accepts (letters, digits, '.', '_', '-'), unique among `taken`.
std::string accountName(const std::string& user, const std::string& host, const std::vector<std::string>& taken);
bool isLoopbackHost(const std::string& host);

// Fills config.target from the first account's wish; later differing wishes become warnings.
struct TargetWish {
    ImportedTarget target;
    std::string file;
    int line = 0;
    std::string account;
};
void chooseTarget(ImportedConfig& config, const std::vector<TargetWish>& wishes, const ImportOptions& options);

}  // namespace mc::config::importer
