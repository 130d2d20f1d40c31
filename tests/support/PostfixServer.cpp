#include "tests/support/PostfixServer.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/Process.hpp"

namespace mc::testing {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kMailUser = "nobody";  // owns the Maildirs; virtual(8) refuses root

// The services this instance needs, none chrooted (chroot would need copies of /etc files).
std::string masterCf(std::uint16_t port) {
    return "127.0.0.1:" + std::to_string(port) +
           " inet n - n - - smtpd\n"
           "cleanup   unix  n - n -   0 cleanup\n"
           "qmgr      unix  n - n 300 1 qmgr\n"
           "rewrite   unix  - - n -   - trivial-rewrite\n"
           "bounce    unix  - - n -   0 bounce\n"
           "defer     unix  - - n -   0 bounce\n"
           "trace     unix  - - n -   0 bounce\n"
           "verify    unix  - - n -   1 verify\n"
           "flush     unix  n - n 1000? 0 flush\n"
           "proxymap  unix  - - n -   - proxymap\n"
           "smtp      unix  - - n -   - smtp\n"
           "error     unix  - - n -   - error\n"
           "retry     unix  - - n -   - error\n"
           "discard   unix  - - n -   - discard\n"
           "virtual   unix  - n n -   - virtual\n"
           "anvil     unix  - - n -   1 anvil\n"
           "scache    unix  - - n -   1 scache\n"
           "postlog   unix-dgram n - n - 1 postlogd\n";
}

std::string mainCf(const fs::path& dir, uid_t uid, gid_t gid) {
    const std::string d = dir.string();
    return "compatibility_level = 3.6\n"
           "queue_directory = " +
           d +
           "/queue\n"
           "data_directory = " +
           d +
           "/data\n"
           "mail_owner = postfix\n"
           "setgid_group = postdrop\n"
           "inet_interfaces = 127.0.0.1\n"
           "inet_protocols = ipv4\n"
           "myhostname = mc-postfix.test\n"
           "mydestination =\n"
           "mynetworks = 127.0.0.0/8\n"
           "relayhost =\n"
           // Deliver what was sent: no header rewriting, nothing added.
           "local_header_rewrite_clients =\n"
           "always_add_missing_headers = no\n"
           "virtual_mailbox_domains = " +
           PostfixServer::domain() +
           "\n"
           "virtual_mailbox_base = " +
           d +
           "/mail\n"
           "virtual_mailbox_maps = hash:" +
           d +
           "/etc/vmailbox\n"
           "virtual_uid_maps = static:" +
           std::to_string(uid) +
           "\n"
           "virtual_gid_maps = static:" +
           std::to_string(gid) +
           "\n"
           "virtual_minimum_uid = 1\n"
           "maillog_file = " +
           d +
           "/maillog\n"
           "maillog_file_prefixes = " +
           d +
           "\n"
           "biff = no\n"
           "message_size_limit = 104857600\n"
           "virtual_mailbox_limit = 0\n";
}

}  // namespace

bool PostfixServer::available() {
    return ::access("/usr/sbin/postfix", X_OK) == 0 && ::access("/usr/sbin/postmap", X_OK) == 0 &&
           ::getpwnam("postfix") != nullptr && ::getgrnam("postdrop") != nullptr;
}

PostfixServer::PostfixServer(const std::vector<std::string>& mailboxes) {
    const passwd* mailUser = ::getpwnam(kMailUser);
    if (mailUser == nullptr) throw std::runtime_error("no user 'nobody' to own the Maildirs");
    const passwd* postfixUser = ::getpwnam("postfix");
    if (postfixUser == nullptr) throw std::runtime_error("no user 'postfix': is Postfix installed?");
    const fs::path dir = dir_.path();
    // Mail is delivered as 'nobody', who must reach the Maildirs through the test directory.
    fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                             fs::perms::others_exec);
    for (const char* sub : {"etc", "queue", "data", "mail"}) fs::create_directories(dir / sub);
    if (::chown((dir / "data").c_str(), postfixUser->pw_uid, postfixUser->pw_gid) != 0 ||
        ::chown((dir / "mail").c_str(), mailUser->pw_uid, mailUser->pw_gid) != 0)
        throw std::runtime_error("cannot chown the Postfix directories");

    port_ = freeLoopbackPort();
    writeFile(dir / "etc/main.cf", mainCf(dir, mailUser->pw_uid, mailUser->pw_gid));
    writeFile(dir / "etc/master.cf", masterCf(port_));
    std::string map;
    for (const auto& mailbox : mailboxes) map += address(mailbox) + " " + mailbox + "/\n";  // "/": Maildir
    writeFile(dir / "etc/vmailbox", map);

    const std::string config = (dir / "etc").string();
    auto postmap = runProcess({"/usr/sbin/postmap", "-c", config, "hash:" + config + "/vmailbox"});
    if (postmap.exitCode != 0) throw std::runtime_error("postmap failed: " + postmap.describe());
    auto start = runProcess({"/usr/sbin/postfix", "-c", config, "start"});
    if (start.exitCode != 0) throw std::runtime_error("postfix start failed: " + start.describe() + "\n" + log());
    running_ = true;

    // Stops this instance should the test process die without running the destructor.
    ProcessSpec watcher;
    watcher.argv = {"/bin/sh", "-c",
                    "setsid sh -c 'while kill -0 \"$0\" 2>/dev/null && [ -d \"$1\" ]; do sleep 1; done; "
                    "/usr/sbin/postfix -c \"$1\" stop' " +
                        std::to_string(::getpid()) + " " + config + " >/dev/null 2>&1 </dev/null &"};
    runProcess(watcher);

    if (!waitUntilListening(port_, std::chrono::seconds(20))) {
        stop();
        throw std::runtime_error("Postfix does not listen on port " + std::to_string(port_) + "\n" + log());
    }
}

PostfixServer::~PostfixServer() { stop(); }

void PostfixServer::stop() {
    if (!running_) return;
    running_ = false;
    runProcess({"/usr/sbin/postfix", "-c", (dir_.path() / "etc").string(), "stop"});
}

std::string PostfixServer::log() const {
    std::string text;
    try {
        text = readFile(dir_.path() / "maillog");
    } catch (const std::exception&) {
        return "(no Postfix log)";
    }
    return text.size() > 4096 ? text.substr(text.size() - 4096) : text;
}

std::vector<std::string> PostfixServer::messages(const std::string& mailbox) const {
    std::vector<fs::path> files;
    std::error_code error;
    for (const char* sub : {"new", "cur"})
        for (fs::directory_iterator it(dir_.path() / "mail" / mailbox / sub, error), end; !error && it != end;
             it.increment(error))
            if (it->is_regular_file()) files.push_back(it->path());
    // Maildir names start with the delivery time in seconds, then a per-second sequence.
    std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
        auto at = fs::last_write_time(a), bt = fs::last_write_time(b);
        return at != bt ? at < bt : a.filename() < b.filename();
    });
    std::vector<std::string> messages;
    for (const auto& file : files) messages.push_back(readFile(file));
    return messages;
}

bool PostfixServer::waitForMessages(const std::string& mailbox, std::size_t count,
                                    std::chrono::milliseconds timeout) const {
    const auto deadline = Clock::now() + timeout;
    while (messages(mailbox).size() < count) {
        if (Clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
}

}  // namespace mc::testing
