// The one mapping from config types to the plain options sessions and targets take.

#include <gtest/gtest.h>

#include "collector/SessionOptions.hpp"

namespace mc::collector {
namespace {

using namespace std::chrono_literals;

config::AccountSettings account() {
    config::AccountSettings account;
    account.name = "old-isp";
    account.endpoint.host = "pop.example.net";
    account.endpoint.port = 1995;
    account.endpoint.tls = config::TlsMode::StartTls;
    account.endpoint.caFile = "/etc/ca.pem";
    account.endpoint.tlsFingerprint = "ab:cd";
    account.username = "me@example.net";
    account.password = {config::SecretSource::Kind::Inline, "pop-Secret-1"};
    account.auth = config::AuthMethod::Login;
    account.maxMessageSize = 10 * 1000 * 1000;
    return account;
}

TEST(SessionOptions, Pop3FromAccount) {
    Pop3Options options = pop3Options(account(), 7s);
    EXPECT_EQ(options.connect.host, "pop.example.net");
    EXPECT_EQ(options.connect.port, 1995);
    EXPECT_FALSE(options.connect.implicitTls);
    EXPECT_EQ(options.connect.tls.caFile, "/etc/ca.pem");
    EXPECT_EQ(options.connect.tls.fingerprint, "ab:cd");
    EXPECT_EQ(options.connect.timeout, 7s);
    EXPECT_EQ(options.tls, net::TlsMode::StartTls);
    EXPECT_EQ(options.username, "me@example.net");
    EXPECT_EQ(options.password, "pop-Secret-1");
    EXPECT_FALSE(options.oauth2);
    EXPECT_EQ(options.sasl, proto::SaslMechanism::Login);
    EXPECT_EQ(options.maxMessageBytes, 10'000'000u + 1'000'000u + (1u << 20));
}

TEST(SessionOptions, ImapFromAccount) {
    auto settings = account();
    settings.endpoint.tls = config::TlsMode::Implicit;
    settings.auth = config::AuthMethod::Auto;
    ImapOptions options = imapOptions(settings, 3s);
    EXPECT_TRUE(options.connect.implicitTls);
    EXPECT_EQ(options.tls, net::TlsMode::Implicit);
    EXPECT_EQ(options.sasl, std::nullopt);
    EXPECT_EQ(options.password, "pop-Secret-1");
    EXPECT_EQ(options.maxMessageBytes, bodyCap(settings));
}

TEST(SessionOptions, MissingPasswordNamesTheAccount) {
    auto settings = account();
    settings.password = {config::SecretSource::Kind::Env, "MC_TEST_SURELY_UNSET_VARIABLE"};
    try {
        pop3Options(settings, 1s);
        FAIL() << "expected an error";
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("account old-isp password"), std::string::npos) << e.what();
    }
}

TEST(SessionOptions, TargetFromSettings) {
    config::TargetSettings target;
    target.protocol = config::TargetProtocol::Lmtp;
    target.endpoint.host = "127.0.0.1";
    target.endpoint.port = 24;
    target.endpoint.tls = config::TlsMode::None;
    target.recipient = "me";
    target.envelopeFrom = "collector@example.org";
    target.folder = "Archive";
    EXPECT_EQ(targetPassword(target), "");  // no username: no AUTH, nothing resolved
    target.username = "me";
    target.password = {config::SecretSource::Kind::Inline, "target-Secret-2"};
    EXPECT_EQ(targetPassword(target), "target-Secret-2");

    auto cutoff = std::make_shared<net::IoCutoff>();
    delivery::TargetOptions options = targetOptions(target, "pw", 9s, cutoff);
    EXPECT_EQ(options.protocol, delivery::TargetProtocol::Lmtp);
    EXPECT_EQ(options.connect.host, "127.0.0.1");
    EXPECT_EQ(options.connect.port, 24);
    EXPECT_EQ(options.connect.timeout, 9s);
    EXPECT_EQ(options.connect.cutoff, cutoff);
    EXPECT_EQ(options.tls, net::TlsMode::None);
    EXPECT_EQ(options.username, "me");
    EXPECT_EQ(options.password, "pw");
    EXPECT_EQ(options.recipient, "me");
    EXPECT_EQ(options.envelopeFrom, "collector@example.org");
    EXPECT_EQ(options.folder, "Archive");
    target.protocol = config::TargetProtocol::Imap;
    EXPECT_EQ(targetOptions(target, "", 1s).protocol, delivery::TargetProtocol::Imap);
}

}  // namespace
}  // namespace mc::collector
