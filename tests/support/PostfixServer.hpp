#pragma once
// A real, full Postfix private to one test: `postfix -c DIR/etc start` with its own main.cf,
// master.cf, queue and logs in a TempDir, smtpd on a free port of 127.0.0.1, and virtual(8)
// delivering every recipient of `domain()` listed with addMailbox() into a Maildir. Stopped
// (`postfix -c DIR/etc stop`) by the destructor, and by a watcher if the test process dies.
//
// Postfix is told not to rewrite what it relays (local_header_rewrite_clients empty,
// always_add_missing_headers = no), so a stored message is what was sent, with line ends "\n",
// minus a Return-Path header (Postfix drops it and puts its own in front), plus the lines
// virtual(8) and smtpd put in front: Return-Path, X-Original-To, Delivered-To and a folded
// "Received: ... (Postfix) with ESMTP ..." header.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/TempDir.hpp"

namespace mc::testing {

class PostfixServer {
public:
    // Starts Postfix with mailboxes for MAILBOXES (local parts). Throws std::runtime_error with
    // the output and the log when it cannot start.
    explicit PostfixServer(const std::vector<std::string>& mailboxes = {"me"});
    ~PostfixServer();
    PostfixServer(const PostfixServer&) = delete;
    PostfixServer& operator=(const PostfixServer&) = delete;

    // Whether Postfix is installed (tests skip otherwise).
    static bool available();

    std::string host() const { return "127.0.0.1"; }
    std::uint16_t port() const { return port_; }
    static std::string domain() { return "example.org"; }
    std::string address(const std::string& mailbox) const { return mailbox + "@" + domain(); }
    std::string log() const;  // the end of Postfix's log (4 kB): for assertion messages

    // The messages delivered into MAILBOX's Maildir (new/ and cur/), oldest first.
    std::vector<std::string> messages(const std::string& mailbox) const;
    // Polls until MAILBOX holds at least COUNT messages; false on timeout. Postfix queues first
    // and delivers a moment after its 250 reply.
    bool waitForMessages(const std::string& mailbox, std::size_t count,
                         std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;

    // Stops Postfix now (the destructor does it otherwise). Idempotent.
    void stop();

private:
    TempDir dir_;
    std::uint16_t port_ = 0;
    bool running_ = false;
};

}  // namespace mc::testing
