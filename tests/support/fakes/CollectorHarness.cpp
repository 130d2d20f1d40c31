#include "tests/support/fakes/CollectorHarness.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace mc::testing {

CollectorHarness::CollectorHarness(std::string ioTimeout)
    : dir_("mc-hostile"), ioTimeout_(std::move(ioTimeout)), configPath_(dir_ / "mailcollector.toml") {}

std::string tomlString(const std::string& text) {
    std::string out = "\"";
    for (unsigned char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            out += escaped;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

std::string CollectorHarness::writeConfig(const TargetConfig& target, const std::vector<AccountConfig>& accounts) {
    std::ostringstream toml;
    toml << "[collector]\n"
         << "ledger = " << tomlString(ledgerPath().string()) << "\n"
         << "quarantine_dir = " << tomlString(quarantineDir().string()) << "\n"
         << "spool_dir = " << tomlString((dir_ / "spool").string()) << "\n"
         << "io_timeout = " << tomlString(ioTimeout_) << "\n"
         << "http_listen = \"\"\n"
         << "max_parallel = 2\n\n";
    toml << "[target]\n"
         << "protocol = " << tomlString(target.protocol) << "\n"
         << "host = " << tomlString(target.host) << "\n"
         << "port = " << target.port << "\n"
         << "tls = " << tomlString(target.tls) << "\n"
         << "recipient = " << tomlString(target.recipient) << "\n";
    if (!target.username.empty())
        toml << "username = " << tomlString(target.username) << "\n"
             << "password = " << tomlString(target.password) << "\n";
    if (!target.caFile.empty()) toml << "ca_file = " << tomlString(target.caFile) << "\n";
    toml << target.extra << "\n";
    for (const auto& account : accounts) {
        toml << "[[account]]\n"
             << "name = " << tomlString(account.name) << "\n"
             << "protocol = " << tomlString(account.protocol) << "\n"
             << "host = " << tomlString(account.host) << "\n"
             << "port = " << account.port << "\n"
             << "tls = " << tomlString(account.tls) << "\n"
             << "username = " << tomlString(account.username) << "\n";
        if (!account.password.empty()) toml << "password = " << tomlString(account.password) << "\n";
        toml << "keep = " << (account.keep ? "true" : "false") << "\n"
             << "interval = \"1h\"\n";
        if (!account.caFile.empty()) toml << "ca_file = " << tomlString(account.caFile) << "\n";
        if (!account.fingerprint.empty()) toml << "tls_fingerprint = " << tomlString(account.fingerprint) << "\n";
        toml << account.extra << "\n";
    }
    std::string text = toml.str();
    writeFile(configPath_, text, 0600);
    return text;
}

ProcessResult CollectorHarness::run(const std::vector<std::string>& accounts, std::chrono::seconds timeout) const {
    std::vector<std::string> argv = {mailcollectorBinary().string(), "run", "-c", configPath_.string(), "--once"};
    for (const auto& account : accounts) {
        argv.push_back("--account");
        argv.push_back(account);
    }
    return runProcess(argv, {}, timeout);
}

ProcessResult CollectorHarness::status() const {
    return runProcess({mailcollectorBinary().string(), "status", "-c", configPath_.string()}, {},
                      std::chrono::seconds(30));
}

ProcessResult CollectorHarness::command(const std::string& command, const std::vector<std::string>& args,
                                        std::chrono::seconds timeout) const {
    std::vector<std::string> argv = {mailcollectorBinary().string(), command, "-c", configPath_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProcess(argv, {}, timeout);
}

std::vector<std::filesystem::path> CollectorHarness::quarantinedFiles() const {
    std::vector<std::filesystem::path> files;
    std::error_code error;
    if (!std::filesystem::exists(quarantineDir(), error)) return files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(quarantineDir(), error))
        if (entry.is_regular_file()) files.push_back(entry.path());
    return files;
}

std::string certificateFingerprint(const std::string& pemFile) {
    FILE* file = std::fopen(pemFile.c_str(), "r");
    if (!file) throw std::runtime_error("cannot open " + pemFile);
    X509* certificate = PEM_read_X509(file, nullptr, nullptr, nullptr);
    std::fclose(file);
    if (!certificate) throw std::runtime_error("no certificate in " + pemFile);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    X509_digest(certificate, EVP_sha256(), digest, &length);
    X509_free(certificate);
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
        char byte[4];
        std::snprintf(byte, sizeof byte, "%02X", digest[i]);
        if (i) hex += ':';
        hex += byte;
    }
    return hex;
}

bool hasRawControlBytes(const std::string& text) {
    for (unsigned char c : text)
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return true;
    return false;
}

std::string linesContaining(const std::string& text, const std::string& needle) {
    std::istringstream stream(text);
    std::string line, out;
    while (std::getline(stream, line))
        if (line.find(needle) != std::string::npos) out += line + "\n";
    return out;
}

TargetConfig lmtpTarget(std::uint16_t port) {
    TargetConfig config;
    config.protocol = "lmtp";
    config.port = port;
    return config;
}

std::set<std::string> subjectsOf(const std::vector<std::string>& messages) {
    std::set<std::string> found;
    for (const auto& m : messages) {
        auto at = m.find("Subject: ");
        if (at != std::string::npos) found.insert(m.substr(at + 9, m.find('\r', at) - at - 9));
    }
    return found;
}

}  // namespace mc::testing
