#include "tests/support/TextClient.hpp"

#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Timespan.h>

#include <csignal>
#include <mutex>
#include <stdexcept>

namespace mc::testing {

namespace {

Poco::Timespan toTimespan(std::chrono::milliseconds timeout) {
    return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(timeout.count()) * 1000);
}

// Also ignores SIGPIPE: writing to a connection the server closed must fail, not kill the test
// (child processes get the default disposition back, see Process.cpp).
void initializeOnce() {
    static std::once_flag once;
    std::call_once(once, [] {
        std::signal(SIGPIPE, SIG_IGN);
        Poco::Net::initializeSSL();
    });
}

}  // namespace

Poco::Net::Context::Ptr verifyingClientContext(const std::string& caFile) {
    initializeOnce();
    Poco::Net::Context::Params params;
    params.caLocation = caFile;
    params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
    params.loadDefaultCAs = false;
    return new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
}

TextClient::TextClient(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout)
    : timeout_(timeout) {
    initializeOnce();
    socket_.connect(Poco::Net::SocketAddress(host, port), toTimespan(timeout));
    socket_.setReceiveTimeout(toTimespan(timeout));
    socket_.setSendTimeout(toTimespan(timeout));
}

TextClient::TextClient(const std::string& host, std::uint16_t port, Poco::Net::Context::Ptr context,
                       const std::string& verifyHost, std::chrono::milliseconds timeout)
    : timeout_(timeout) {
    initializeOnce();
    Poco::Net::SecureStreamSocket secure(context);
    secure.setPeerHostName(verifyHost);
    secure.setLazyHandshake(true);
    secure.connect(Poco::Net::SocketAddress(host, port), toTimespan(timeout));
    secure.setReceiveTimeout(toTimespan(timeout));
    secure.setSendTimeout(toTimespan(timeout));
    secure.completeHandshake();      // the chain is verified here (throws SSLException)
    secure.verifyPeerCertificate();  // and the name (throws CertificateValidationException)
    socket_ = secure;
}

void TextClient::startTls(Poco::Net::Context::Ptr context, const std::string& verifyHost) {
    if (!buffer_.empty()) throw std::runtime_error("startTls: unread data before the handshake");
    Poco::Net::SecureStreamSocket secure = Poco::Net::SecureStreamSocket::attach(socket_, verifyHost, context);
    secure.verifyPeerCertificate();
    secure.setReceiveTimeout(toTimespan(timeout_));
    secure.setSendTimeout(toTimespan(timeout_));
    socket_ = secure;
}

std::string TextClient::readLine() {
    for (;;) {
        std::size_t newline = buffer_.find('\n');
        if (newline != std::string::npos) {
            std::string line = buffer_.substr(0, newline);
            buffer_.erase(0, newline + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            return line;
        }
        char chunk[4096];
        int n = 0;
        try {
            n = socket_.receiveBytes(chunk, sizeof(chunk));
        } catch (const Poco::TimeoutException&) {
            throw std::runtime_error("timed out waiting for a line; have: '" + buffer_ + "'");
        }
        if (n <= 0) throw std::runtime_error("connection closed; unterminated: '" + buffer_ + "'");
        buffer_.append(chunk, static_cast<std::size_t>(n));
    }
}

void TextClient::writeRaw(std::string_view data) {
    std::size_t done = 0;
    while (done < data.size()) {
        int n = socket_.sendBytes(data.data() + done, static_cast<int>(data.size() - done));
        if (n <= 0) throw std::runtime_error("send failed");
        done += static_cast<std::size_t>(n);
    }
}

void TextClient::writeLine(std::string_view line) {
    std::string data(line);
    data += "\r\n";
    writeRaw(data);
}

std::string TextClient::command(std::string_view line) {
    writeLine(line);
    return readLine();
}

std::vector<std::string> TextClient::readDotTerminated() {
    std::vector<std::string> lines;
    for (;;) {
        std::string line = readLine();
        if (line == ".") return lines;
        if (!line.empty() && line[0] == '.') line.erase(0, 1);
        lines.push_back(std::move(line));
    }
}

std::vector<std::string> TextClient::readReply() {
    std::vector<std::string> lines;
    for (;;) {
        lines.push_back(readLine());
        const std::string& line = lines.back();
        if (line.size() < 4 || line[3] != '-') return lines;
    }
}

std::vector<std::string> TextClient::readUntilTagged(std::string_view tag) {
    std::vector<std::string> lines;
    std::string prefix = std::string(tag) + " ";
    for (;;) {
        lines.push_back(readLine());
        if (lines.back().rfind(prefix, 0) == 0) return lines;
    }
}

}  // namespace mc::testing
