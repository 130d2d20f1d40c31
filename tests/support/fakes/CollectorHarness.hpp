#pragma once
// Running the real mailcollector binary against fakes: writes a TOML config (mode 0600) with the
// ledger and quarantine inside a TempDir, runs `run -c FILE --once` or `status -c FILE`, and
// offers small checks on the output.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "tests/support/Process.hpp"
#include "tests/support/TempDir.hpp"

namespace mc::testing {

struct AccountConfig {
    std::string name = "acct";
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string tls = "none";  // none | implicit | starttls
    std::string username = "alice";
    std::string password = "pop3-Secret-7Qx";  // empty: no password key
    std::string protocol = "pop3";
    std::string caFile;
    std::string fingerprint;
    bool keep = true;
    std::string extra;  // more TOML lines for the [[account]] table
};

struct TargetConfig {
    std::string protocol = "lmtp";  // smtp | lmtp
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string tls = "none";
    std::string username;  // empty: no AUTH
    std::string password;
    std::string recipient = "archive@example.org";
    std::string caFile;
    std::string extra;  // more TOML lines for [target]
};

class CollectorHarness {
public:
    explicit CollectorHarness(std::string ioTimeout = "2s");

    const TempDir& dir() const { return dir_; }
    const std::filesystem::path& configPath() const { return configPath_; }
    std::filesystem::path quarantineDir() const { return dir_ / "quarantine"; }
    std::filesystem::path ledgerPath() const { return dir_ / "ledger.db"; }

    // Writes the config file (mode 0600) and returns its text.
    std::string writeConfig(const TargetConfig& target, const std::vector<AccountConfig>& accounts);

    // `mailcollector run -c FILE --once [--account NAME]...`, killed after TIMEOUT.
    ProcessResult run(const std::vector<std::string>& accounts = {},
                      std::chrono::seconds timeout = std::chrono::seconds(60)) const;
    // `mailcollector status -c FILE`.
    ProcessResult status() const;
    // `mailcollector COMMAND -c FILE ARGS...` (e.g. "check", "validate").
    ProcessResult command(const std::string& command, const std::vector<std::string>& args = {},
                          std::chrono::seconds timeout = std::chrono::seconds(60)) const;

    // Every file under quarantineDir(), recursively.
    std::vector<std::filesystem::path> quarantinedFiles() const;

private:
    TempDir dir_;
    std::string ioTimeout_;
    std::filesystem::path configPath_;
};

// An LMTP target without TLS on 127.0.0.1:PORT (a fake or smtp-sink).
TargetConfig lmtpTarget(std::uint16_t port);
// The Subject values of MESSAGES (CRLF line ends).
std::set<std::string> subjectsOf(const std::vector<std::string>& messages);

// A TOML basic string, quoted and escaped.
std::string tomlString(const std::string& text);
// The SHA-256 fingerprint of the first certificate in a PEM file, as "AB:CD:...".
std::string certificateFingerprint(const std::string& pemFile);
// True when TEXT contains any byte below 0x20 other than '\n' and '\t' (or DEL).
bool hasRawControlBytes(const std::string& text);
// The lines of TEXT that contain NEEDLE (for assertion messages).
std::string linesContaining(const std::string& text, const std::string& needle);

}  // namespace mc::testing
