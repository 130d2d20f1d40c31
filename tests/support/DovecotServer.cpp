#include "tests/support/DovecotServer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "tests/support/Process.hpp"

namespace mc::testing {

namespace {

namespace fs = std::filesystem;

std::string script() { return supportFile("private-dovecot.sh").string(); }

std::uint16_t portValue(const std::map<std::string, std::string>& env, const std::string& key) {
    auto it = env.find(key);
    if (it == env.end()) throw std::runtime_error("ports.env has no " + key);
    return static_cast<std::uint16_t>(std::stoul(it->second));
}

void checkFolderName(const std::string& folder) {
    if (folder.empty() || folder.find('.') != std::string::npos || folder.front() == '/' || folder.back() == '/' ||
        folder.find("//") != std::string::npos)
        throw std::invalid_argument("folder '" + folder + "': use '/' as separator, no '.', no empty parts");
}

void makeOwnedDir(const fs::path& dir, uid_t uid, gid_t gid) {
    fs::create_directories(dir);
    if (::chown(dir.c_str(), uid, gid) != 0 || ::chmod(dir.c_str(), 0700) != 0)
        throw std::runtime_error("chown/chmod " + dir.string() + ": " + std::strerror(errno));
}

// Dovecot's order for maildir files: the seconds and microseconds in the name, then the name.
std::tuple<long long, long long, std::string> deliveryOrderKey(const fs::path& file) {
    std::string name = file.filename().string();
    name = name.substr(0, name.find(':'));
    long long seconds = 0;
    long long micros = 0;
    std::size_t dot = name.find('.');
    try {
        seconds = std::stoll(name.substr(0, dot));
        if (dot != std::string::npos && name.compare(dot + 1, 1, "M") == 0) micros = std::stoll(name.substr(dot + 2));
    } catch (const std::exception&) {
        // not a standard maildir name: order by name only
    }
    return {seconds, micros, name};
}

bool startsWithNoCase(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(text[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
            return false;
    return true;
}

DovecotOptions withCert(CertKind cert) {
    DovecotOptions options;
    options.cert = cert;
    return options;
}

}  // namespace

DovecotServer::DovecotServer(CertKind cert) : DovecotServer(withCert(cert)) {}

DovecotServer::DovecotServer(const DovecotOptions& options) : dir_("mc-dovecot"), cert_(options.cert) {
    const TestCa& ca = TestCa::shared();
    std::vector<std::string> command = {script(),
                                        "start",
                                        dir_.str(),
                                        "--cert",
                                        toString(cert_),
                                        "--tls-from",
                                        ca.dir().string(),
                                        "--watch-pid",
                                        std::to_string(::getpid()),
                                        "--max-userip-connections",
                                        std::to_string(options.maxUserIpConnections)};
    if (!options.quota.empty()) command.insert(command.end(), {"--quota", options.quota});
    if (options.publicFolders) command.push_back("--public-folders");
    ProcessResult result = runProcess(command, {}, std::chrono::seconds(60));
    if (!result.ok()) {
        runProcess({script(), "stop", dir_.str(), "--fast"}, {}, std::chrono::seconds(30));
        throw std::runtime_error("private-dovecot.sh start failed: " + result.describe() + "\n--- dovecot log:\n" +
                                 logTail(logFile()));
    }
    running_ = true;
    auto env = readEnvFile(dir_ / "ports.env");
    pop3Port_ = portValue(env, "POP3_PORT");
    pop3sPort_ = portValue(env, "POP3S_PORT");
    imapPort_ = portValue(env, "IMAP_PORT");
    imapsPort_ = portValue(env, "IMAPS_PORT");
    lmtpPort_ = portValue(env, "LMTP_PORT");
    caFile_ = env.at("CA_FILE");
    mailUid_ = static_cast<uid_t>(std::stoul(env.at("MAIL_UID")));
    mailGid_ = static_cast<gid_t>(std::stoul(env.at("MAIL_GID")));
}

DovecotServer::~DovecotServer() {
    try {
        stop();
    } catch (...) {
        // never throw from a destructor; the watcher stops Dovecot once we are gone anyway
    }
}

void DovecotServer::stop() {
    if (!running_) return;
    running_ = false;
    ProcessResult result = runProcess({script(), "stop", dir_.str(), "--fast"}, {}, std::chrono::seconds(30));
    if (!result.ok()) throw std::runtime_error("private-dovecot.sh stop: " + result.describe());
}

fs::path DovecotServer::logFile() const { return dir_ / "log" / "dovecot.log"; }

std::string DovecotServer::log() const { return logTail(logFile()); }

void DovecotServer::addUser(const std::string& user, const std::string& password) {
    ProcessResult result = runProcess({script(), "add-user", dir_.str(), user, password}, {}, std::chrono::seconds(60));
    if (!result.ok()) throw std::runtime_error("private-dovecot.sh add-user " + user + ": " + result.describe());
}

fs::path DovecotServer::maildir(const std::string& user, const std::string& folder) const {
    fs::path inbox = dir_ / "mail" / user / "Maildir";
    std::string upper = folder;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
    if (upper == "INBOX") return inbox;
    checkFolderName(folder);
    std::string stored = "." + folder;
    std::replace(stored.begin(), stored.end(), '/', '.');
    return inbox / stored;
}

fs::path DovecotServer::seed(const std::string& user, const std::string& folder, std::string_view content) {
    static std::atomic<unsigned> counter{0};
    fs::path inbox = maildir(user, "INBOX");
    if (!fs::is_directory(inbox / "new")) throw std::runtime_error("seed: no user '" + user + "' (addUser first)");
    fs::path box = maildir(user, folder);
    if (!fs::is_directory(box / "new")) {
        for (const char* sub : {"", "cur", "new", "tmp"}) makeOwnedDir(box / sub, mailUid_, mailGid_);
        fs::path marker = box / "maildirfolder";
        writeFile(marker, "", 0600);
        if (::chown(marker.c_str(), mailUid_, mailGid_) != 0)
            throw std::runtime_error("chown " + marker.string() + ": " + std::strerror(errno));
    }
    // Dovecot gives new mail UIDs in the order of (seconds, microseconds) in the file name.
    auto now = std::chrono::system_clock::now().time_since_epoch();
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now);
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now - seconds);
    char name[128];
    std::snprintf(name, sizeof(name), "%lld.M%06lldP%dQ%06u.mctest", static_cast<long long>(seconds.count()),
                  static_cast<long long>(micros.count()), static_cast<int>(::getpid()), ++counter);
    fs::path temp = box / "tmp" / name;
    fs::path final = box / "new" / name;
    writeFile(temp, content, 0600);
    if (::chown(temp.c_str(), mailUid_, mailGid_) != 0)
        throw std::runtime_error("chown " + temp.string() + ": " + std::strerror(errno));
    fs::rename(temp, final);
    return final;
}

std::vector<fs::path> DovecotServer::messageFiles(const std::string& user, const std::string& folder) const {
    fs::path box = maildir(user, folder);
    std::vector<fs::path> files;
    for (const char* sub : {"new", "cur"}) {
        std::error_code error;
        for (fs::directory_iterator it(box / sub, error), end; !error && it != end; it.increment(error)) {
            if (it->is_regular_file(error)) files.push_back(it->path());
        }
    }
    std::sort(files.begin(), files.end(),
              [](const fs::path& a, const fs::path& b) { return deliveryOrderKey(a) < deliveryOrderKey(b); });
    return files;
}

std::vector<std::string> DovecotServer::messages(const std::string& user, const std::string& folder) const {
    std::vector<std::string> contents;
    for (const auto& file : messageFiles(user, folder)) {
        try {
            contents.push_back(readFile(file));
        } catch (const std::exception&) {
            // moved from new/ to cur/ by a concurrent IMAP/POP3 session: read it there
            for (const auto& again : messageFiles(user, folder)) {
                if (std::get<2>(deliveryOrderKey(again)) == std::get<2>(deliveryOrderKey(file))) {
                    contents.push_back(readFile(again));
                    break;
                }
            }
        }
    }
    return contents;
}

bool DovecotServer::waitForMessages(const std::string& user, std::size_t count, std::chrono::milliseconds timeout,
                                    const std::string& folder) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (messageFiles(user, folder).size() >= count) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::string DovecotServer::stripTraceHeaders(std::string_view message) {
    std::size_t pos = 0;
    auto headerEnd = [&](std::size_t from) {
        std::size_t end = from;
        do {
            std::size_t newline = message.find('\n', end);
            end = newline == std::string_view::npos ? message.size() : newline + 1;
        } while (end < message.size() && (message[end] == ' ' || message[end] == '\t'));
        return end;
    };
    if (startsWithNoCase(message.substr(pos), "Return-Path:")) pos = headerEnd(pos);
    if (startsWithNoCase(message.substr(pos), "Delivered-To:")) pos = headerEnd(pos);
    if (startsWithNoCase(message.substr(pos), "Received:")) {
        std::size_t end = headerEnd(pos);
        if (message.substr(pos, end - pos).find(" with LMTP") != std::string_view::npos) pos = end;
    }
    return std::string(message.substr(pos));
}

}  // namespace mc::testing
