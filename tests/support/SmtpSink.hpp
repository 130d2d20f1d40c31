#pragma once
// Postfix's smtp-sink as an SMTP or LMTP target for tests: accepts everything (or rejects what
// it is told to) on a free port of 127.0.0.1 and dumps each message to a file.
//
// What smtp-sink dumps (one file per completed DATA, verified with Postfix 3.7): its own header
// lines X-Client-Addr, X-Client-Proto, X-Helo-Args (if HELO/EHLO/LHLO was sent), X-Mail-Args,
// one X-Rcpt-Args per RCPT, a three-line "Received: ... (smtp-sink) ..." header, then the
// message as received -- dot-unstuffed, with every "\r" dropped (so "\n" line ends) -- and one
// extra empty line. transactions() parses that back; messages() returns only the message.
//
// Gotchas: smtp-sink writes the dump when the final "." arrives, BEFORE it replies, so a message
// rejected at "." (-r . / -f . / -Q . / -q .) is dumped all the same: transactions() lists it,
// messages() does not (it returns only what was answered 2xx). Transactions abandoned before
// the end of DATA (RSET, disconnect) leave no file. -r/-f imply "no PIPELINING advertised", and
// then smtp-sink does not answer a client that pipelines anyway.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/Process.hpp"
#include "tests/support/TempDir.hpp"

namespace mc::testing {

struct SmtpSinkOptions {
    bool lmtp = false;                      // -L: speak LMTP (LHLO, one reply per recipient)
    std::vector<std::string> extraFlags{};  // more options, e.g. {"-r", "."}, {"-Q", "RCPT"}
};

// One completed mail transaction as smtp-sink dumped it.
struct SinkTransaction {
    std::string protocol;               // "SMTP", "ESMTP" or "LMTP"
    std::string heloArgs;               // argument of the last HELO/EHLO/LHLO
    std::string mailArgs;               // "<from@example.org> SIZE=123 BODY=8BITMIME"
    std::vector<std::string> rcptArgs;  // "<to@example.org>", in order
    std::string content;                // the message ("\n" line ends)
    std::filesystem::path file;         // the dump file
};

class SmtpSink {
public:
    explicit SmtpSink(SmtpSinkOptions options = {});
    ~SmtpSink();
    SmtpSink(const SmtpSink&) = delete;
    SmtpSink& operator=(const SmtpSink&) = delete;

    std::string host() const { return "127.0.0.1"; }
    std::uint16_t port() const { return port_; }

    // Messages smtp-sink accepted (2xx after "."), in arrival order.
    std::vector<std::string> messages() const;
    // Every completed transaction, including those then rejected at ".", in arrival order.
    std::vector<SinkTransaction> transactions() const;
    // Polls until at least COUNT transactions are complete; false on timeout.
    bool waitForTransactions(std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

    // smtp-sink's own stdout/stderr (warnings, -c counters, -v conversation).
    std::string output() const;

    // Stops smtp-sink now (the destructor does it otherwise); dumps stay readable. Idempotent.
    void stop();

private:
    bool rejectsDot() const;

    SmtpSinkOptions options_;
    TempDir dir_;
    std::filesystem::path dumpDir_;
    std::uint16_t port_ = 0;
    std::unique_ptr<BackgroundProcess> process_;
};

}  // namespace mc::testing
