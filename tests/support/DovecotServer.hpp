#pragma once
// A real Dovecot (POP3, POP3S, IMAP, IMAPS, LMTP) private to one test, through
// tests/support/private-dovecot.sh: own config, users and maildirs in a TempDir, listening on
// free ports of 127.0.0.1, stopped by the destructor (and by a watcher if the test process dies).
//
// Users log in with PLAIN/LOGIN (USER/PASS for POP3) over plain or TLS connections; mail
// belongs to an unprivileged user ("nobody"). LMTP recipients are user names ("me" or
// "me@localhost"); "me+label" delivers into me's folder "label" (created on the fly). Folders
// use "/" as the hierarchy separator ("Work/2019").

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/TempDir.hpp"
#include "tests/support/TestCa.hpp"

namespace mc::testing {

struct DovecotOptions {
    CertKind cert = CertKind::Valid;  // the server certificate presented (from TestCa::shared())
    // Logins per user and IP at once (mail_max_userip_connections), as a real server limits them.
    int maxUserIpConnections = 500;
    // Every mailbox's size limit, e.g. "100k" ("": none): a delivery that would exceed it is
    // refused for now (LMTP 452 4.2.2), as by a server with quota_full_tempfail.
    std::string quota;
    // A public namespace "Public/" (shared folders every user lists and may use, as Cyrus's and
    // Courier's public folders): NAMESPACE names it as shared.
    bool publicFolders = false;
};

class DovecotServer {
public:
    // Starts Dovecot presenting a server certificate of kind CERT.
    // Throws std::runtime_error with the script's output and the log tail if it cannot start.
    explicit DovecotServer(CertKind cert = CertKind::Valid);
    explicit DovecotServer(const DovecotOptions& options);
    ~DovecotServer();
    DovecotServer(const DovecotServer&) = delete;
    DovecotServer& operator=(const DovecotServer&) = delete;

    std::string host() const { return "127.0.0.1"; }
    std::uint16_t pop3Port() const { return pop3Port_; }    // plain, STARTTLS available
    std::uint16_t pop3sPort() const { return pop3sPort_; }  // implicit TLS
    std::uint16_t imapPort() const { return imapPort_; }    // plain, STARTTLS available
    std::uint16_t imapsPort() const { return imapsPort_; }  // implicit TLS
    std::uint16_t lmtpPort() const { return lmtpPort_; }    // plain, STARTTLS available
    std::string caFile() const { return caFile_; }          // the CA to trust
    CertKind certKind() const { return cert_; }
    const std::filesystem::path& dir() const { return dir_.path(); }
    std::filesystem::path logFile() const;
    std::string log() const;  // the end of Dovecot's log (4 kB): for assertion messages

    // Adds (or changes the password of) a user; it can log in when this returns.
    void addUser(const std::string& user, const std::string& password);

    // Puts CONTENT as a new message into USER's FOLDER ("INBOX", "Work/2019", ...; created if
    // missing) and returns the file. Messages seeded one after another get ascending UIDs (and
    // POP3 message numbers). Store messages with "\n" line ends, as a maildir would.
    std::filesystem::path seed(const std::string& user, const std::string& folder, std::string_view content);

    // The messages in USER's FOLDER (new/ and cur/), in delivery order: what mailcollector
    // delivered by LMTP into a target user shows up here, with the three trace header lines
    // Dovecot's LMTP prepends (see stripTraceHeaders). Line ends are "\n".
    std::vector<std::string> messages(const std::string& user, const std::string& folder = "INBOX") const;
    std::vector<std::filesystem::path> messageFiles(const std::string& user, const std::string& folder = "INBOX") const;
    // Polls until FOLDER holds at least COUNT messages; false on timeout.
    bool waitForMessages(const std::string& user, std::size_t count,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10),
                         const std::string& folder = "INBOX") const;
    // The maildir of USER's FOLDER (Maildir/ or Maildir/.Work.2019/).
    std::filesystem::path maildir(const std::string& user, const std::string& folder = "INBOX") const;

    // Stops Dovecot now (the destructor does it otherwise). Idempotent.
    void stop();

    // Removes the "Return-Path:", "Delivered-To:" and "Received: ... with LMTP ..." lines that
    // Dovecot's LMTP puts in front of a delivered message; other headers are left alone.
    static std::string stripTraceHeaders(std::string_view message);

private:
    TempDir dir_;
    CertKind cert_;
    bool running_ = false;
    std::uint16_t pop3Port_ = 0;
    std::uint16_t pop3sPort_ = 0;
    std::uint16_t imapPort_ = 0;
    std::uint16_t imapsPort_ = 0;
    std::uint16_t lmtpPort_ = 0;
    std::string caFile_;
    uid_t mailUid_ = 0;
    gid_t mailGid_ = 0;
};

}  // namespace mc::testing
