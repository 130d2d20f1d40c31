#pragma once
// A minimal line-based client (POP3, IMAP, SMTP, LMTP) for tests that talk to the test servers
// directly: to check a server, seed it by protocol, or look at what it holds afterwards. Lines
// are sent with "\r\n"; every read is bounded by the timeout and throws std::runtime_error on
// timeout or end of stream.

#include <Poco/Net/Context.h>
#include <Poco/Net/StreamSocket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mc::testing {

// A client TLS context that verifies strictly against CA_FILE only (no system CAs).
Poco::Net::Context::Ptr verifyingClientContext(const std::string& caFile);

class TextClient {
public:
    // Plain TCP connection.
    TextClient(const std::string& host, std::uint16_t port,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // Implicit TLS, verifying the server certificate against CONTEXT for VERIFY_HOST (the name
    // or address that the certificate must match). Throws Poco::Net::SSLException (or a
    // subclass) when verification fails.
    TextClient(const std::string& host, std::uint16_t port, Poco::Net::Context::Ptr context,
               const std::string& verifyHost, std::chrono::milliseconds timeout = std::chrono::seconds(10));

    // Upgrades the connection to TLS (after STLS / STARTTLS was accepted).
    void startTls(Poco::Net::Context::Ptr context, const std::string& verifyHost);

    std::string readLine();  // one line without its "\r\n"
    void writeLine(std::string_view line);
    void writeRaw(std::string_view data);
    std::string command(std::string_view line);  // writeLine + readLine

    // POP3 multi-line body after a "+OK" line: lines until ".", dot-unstuffed.
    std::vector<std::string> readDotTerminated();
    // SMTP/LMTP reply: lines until one with "NNN " (a space after the code).
    std::vector<std::string> readReply();
    // IMAP: lines until one starting with "TAG ".
    std::vector<std::string> readUntilTagged(std::string_view tag);

    Poco::Net::StreamSocket& socket() { return socket_; }

private:
    Poco::Net::StreamSocket socket_;
    std::chrono::milliseconds timeout_;
    std::string buffer_;
};

}  // namespace mc::testing
