#include "collector/Quarantine.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>

#include "net/LineChannel.hpp"
#include "proto/MessageHeaders.hpp"

namespace mc::collector {
namespace {

namespace fs = std::filesystem;

// The ledger records a quarantine as "<reply> (copy: <path>)".
constexpr std::string_view kCopyMarker = " (copy: ";
// Enough of a copy to find From and Subject in its header.
constexpr std::size_t kHeadBytes = 64 * 1024;

std::string readHead(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string head(kHeadBytes, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    if (auto end = head.find("\n\n"); end != std::string::npos) head.resize(end + 1);
    if (auto end = head.find("\r\n\r\n"); end != std::string::npos) head.resize(end + 2);
    return head;
}

// Server text made a file name component: [A-Za-z0-9_-] only, at most 80 bytes.
std::string safeFileComponent(const std::string& text) {
    std::string out;
    for (unsigned char c : text.substr(0, 80)) out += std::isalnum(c) || c == '-' || c == '_' ? char(c) : '_';
    return out;
}

}  // namespace

UnknownQuarantineIds::UnknownQuarantineIds(std::vector<std::string> ids)
    : std::runtime_error("no quarantined message with ID " +
                         [&] {
                             std::string list;
                             for (const auto& id : ids) list += (list.empty() ? "" : ", ") + net::printable(id);
                             return list;
                         }()),
      ids_(std::move(ids)) {}

Quarantine::Quarantine(ledger::LedgerStore& ledger, std::string quarantineDir)
    : ledger_(ledger), quarantineDir_(std::move(quarantineDir)) {}

std::string Quarantine::idOf(const ledger::MessageKey& key) {
    // FNV-1a over the key's fields, each ended by a NUL: stable across runs and builds.
    std::uint64_t hash = 14695981039346656037ull;
    auto mix = [&](std::string_view text) {
        for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
        hash = (hash ^ 0u) * 1099511628211ull;
    };
    mix(key.account);
    mix(key.folder);
    mix(std::to_string(key.uidValidity));
    mix(key.uid);
    static const char* kHex = "0123456789abcdef";
    std::string id;
    for (int shift = 60; shift >= 16; shift -= 4) id += kHex[(hash >> shift) & 0xf];
    return id;
}

std::string Quarantine::reasonOf(const ledger::MessageRecord& record) {
    const auto at = record.lastError.rfind(kCopyMarker);
    if (at == std::string::npos || record.lastError.back() != ')') return record.lastError;
    return record.lastError.substr(0, at);
}

std::string Quarantine::store(const ledger::MessageKey& key, std::uint64_t listedSize,
                              const delivery::MessageBody& body, const std::string& reply, std::int64_t now) {
    std::string directory = quarantineDir_ + "/" + safeFileComponent(key.account);
    std::string name =
        std::to_string(now) + "-" + safeFileComponent(key.uid) + "-" + body.sha256().substr(0, 12) + ".eml";
    std::string path = directory + "/" + name;
    const int directoryFd = delivery::openDirectoryNoFollow(directory, true);
    struct stat existing {};
    try {
        if (::fstatat(directoryFd, name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) != 0)
            body.writeTo(directoryFd, name, path);
    } catch (...) {
        ::close(directoryFd);
        throw;
    }
    ::close(directoryFd);
    ledger_.markQuarantined(key, listedSize, reply + std::string(kCopyMarker) + path + ")");
    return path;
}

QuarantinedMessage Quarantine::describe(const ledger::MessageRecord& record) const {
    QuarantinedMessage message;
    message.id = idOf(record.key);
    message.key = record.key;
    message.size = record.size;
    message.quarantinedAt = record.firstSeenAt;
    message.reason = reasonOf(record);
    if (auto at = record.lastError.rfind(kCopyMarker); at != std::string::npos && record.lastError.back() == ')') {
        message.copyPath =
            record.lastError.substr(at + kCopyMarker.size(), record.lastError.size() - at - kCopyMarker.size() - 1);
    }
    std::error_code error;
    if (!message.copyPath.empty() && fs::is_regular_file(message.copyPath, error)) {
        auto written = fs::last_write_time(message.copyPath, error);
        if (!error)
            message.quarantinedAt = std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::file_clock::to_sys(written).time_since_epoch())
                                        .count();
        std::string head = readHead(message.copyPath);
        message.from = proto::findHeader(head, "From").value_or("");
        message.subject = proto::findHeader(head, "Subject").value_or("");
    }
    return message;
}

std::vector<QuarantinedMessage> Quarantine::list(const std::string& account) const {
    std::vector<QuarantinedMessage> messages;
    for (const auto& record : ledger_.quarantined(account)) messages.push_back(describe(record));
    return messages;
}

std::vector<QuarantinedMessage> Quarantine::select(const std::string& account,
                                                   const std::vector<std::string>& ids) const {
    auto all = list(account);
    if (ids.empty()) return all;
    std::vector<QuarantinedMessage> chosen;
    std::vector<std::string> unknown;
    std::set<std::string> seen;
    for (const auto& id : ids) {
        if (!seen.insert(id).second) continue;
        auto found = std::find_if(all.begin(), all.end(), [&](const auto& message) { return message.id == id; });
        if (found == all.end())
            unknown.push_back(id);
        else
            chosen.push_back(*found);
    }
    if (!unknown.empty()) throw UnknownQuarantineIds(unknown);
    return chosen;
}

std::vector<QuarantinedMessage> Quarantine::retry(const std::string& account, const std::vector<std::string>& ids) {
    std::vector<QuarantinedMessage> done;
    for (auto& message : select(account, ids))
        if (ledger_.requeueQuarantined(message.key)) done.push_back(std::move(message));
    return done;
}

std::vector<QuarantinedMessage> Quarantine::drop(const std::string& account, const std::vector<std::string>& ids) {
    std::vector<QuarantinedMessage> done;
    for (auto& message : select(account, ids)) {
        if (!ledger_.dropQuarantined(message.key, "dropped from quarantine; the target had said: " + message.reason))
            continue;
        if (!message.copyPath.empty()) removeCopy(message.copyPath);
        done.push_back(std::move(message));
    }
    return done;
}

void Quarantine::removeCopy(const std::string& path) const {
    std::error_code error;
    fs::path directory = fs::weakly_canonical(quarantineDir_, error);
    if (error) return;
    fs::path parent = fs::weakly_canonical(fs::path(path).parent_path(), error);
    if (error) return;
    auto [end, rest] = std::mismatch(directory.begin(), directory.end(), parent.begin(), parent.end());
    if (end != directory.end() || !fs::is_regular_file(fs::symlink_status(path, error))) {
        spdlog::warn("quarantine: not removing {}: not a file in quarantine_dir", net::printable(path));
        return;
    }
    fs::remove(path, error);
    if (error) spdlog::warn("quarantine: cannot remove {}: {}", net::printable(path), error.message());
}

}  // namespace mc::collector
