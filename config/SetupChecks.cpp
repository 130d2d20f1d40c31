#include "config/SetupChecks.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "config/TableReader.hpp"

namespace mc::config {
namespace {

// Exists: a missing file is a warning (a CA file copied later); Private: a secret, which must
// exist and be 0600; MayBeMissing: a secret that a command writes later (OAuth2 tokens).
enum class Need { Exists, Private, MayBeMissing };

std::string modeText(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

class Checker {
public:
    explicit Checker(const Config& config) : config_(config) {}

    // PATH named by KEY (at LINE) must exist as a regular file and, for a secret, be private.
    void file(const std::string& key, int line, const std::string& path, Need need, const std::string& fix) {
        if (path.empty()) return;
        struct stat status {};
        if (::stat(path.c_str(), &status) != 0) {
            if (need != Need::Private)
                add(false, line, key, path + " does not exist yet: " + fix);
            else
                add(true, line, key, path + " does not exist: " + fix);
            return;
        }
        if (!S_ISREG(status.st_mode)) return add(true, line, key, path + " is not a regular file");
        if (need != Need::Exists && (status.st_mode & 077) != 0)
            add(true, line, key,
                path + " holds a secret and others can read it (mode " + modeText(status.st_mode) + "): chmod 600 " +
                    path);
    }

    void add(bool error, int line, const std::string& key, const std::string& problem) {
        findings_.push_back({error, detail::errorText(config_.path, line, key, problem)});
    }

    std::vector<SetupFinding> take() { return std::move(findings_); }

private:
    const Config& config_;
    std::vector<SetupFinding> findings_;
};

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

// Two IMAP accounts on one login may read different folders; anything else reads the same mail.
bool shareMail(const AccountSettings& a, const AccountSettings& b) {
    if (lowercase(a.endpoint.host) != lowercase(b.endpoint.host) || a.username != b.username) return false;
    if (a.protocol != SourceProtocol::Imap || b.protocol != SourceProtocol::Imap) return true;
    return std::any_of(a.folders.begin(), a.folders.end(), [&](const std::string& folder) {
        return std::find(b.folders.begin(), b.folders.end(), folder) != b.folders.end();
    });
}

}  // namespace

std::vector<SetupFinding> checkSetup(const Config& config) {
    Checker check(config);
    const std::string secretFix = "write the password on its first line, then chmod 600 it";
    if (config.target.password.kind == SecretSource::Kind::File)
        check.file("target.password_file", 0, config.target.password.reference, Need::Private, secretFix);
    check.file("target.ca_file", 0, config.target.endpoint.caFile, Need::Exists,
               "TLS to the target fails until it does");
    for (const auto& account : config.accounts) {
        const std::string prefix = "account[" + account.name + "].";
        if (account.password.kind == SecretSource::Kind::File)
            check.file(prefix + "password_file", account.line, account.password.reference, Need::Private, secretFix);
        check.file(prefix + "oauth2_client_secret_file", account.line, account.oauth2ClientSecretFile, Need::Private,
                   "write the OAuth2 client secret on its first line, then chmod 600 it");
        check.file(prefix + "oauth2_refresh_token_file", account.line, account.oauth2RefreshTokenFile,
                   Need::MayBeMissing,
                   "run mailcollector oauth2 authorize -c " + config.path + " --account " + account.name);
        check.file(prefix + "ca_file", account.line, account.endpoint.caFile, Need::Exists,
                   "TLS to this account fails until it does");
    }
    for (std::size_t i = 0; i < config.accounts.size(); ++i)
        for (std::size_t j = 0; j < i; ++j) {
            const auto& a = config.accounts[j];
            const auto& b = config.accounts[i];
            if (!shareMail(a, b)) continue;
            check.add(false, b.line, "account[" + b.name + "]",
                      "collects the same mailbox as account " + a.name + " (line " + std::to_string(a.line) +
                          "): " + b.username + " at " + b.endpoint.host +
                          "; every message would be delivered twice: keep one of them");
        }
    return check.take();
}

}  // namespace mc::config
