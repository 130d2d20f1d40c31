#pragma once
// What a server's certificate says, for an error that names the certificate a client refused
// and how to trust it (as fetchmail names it; with the sha256 that tls_fingerprint pins).

#include <string>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct x509_st X509;

namespace mc::net {

struct CertificateFacts {
    std::string subject;   // "CN=mail.example.net,O=Example"
    std::string issuer;    // "CN=Example CA"
    std::string notAfter;  // "2026-01-31 12:00:00 UTC"
    bool expired = false;
    std::string sha256;  // 64 lowercase hex digits
};

CertificateFacts certificateFacts(const X509* certificate);

// Makes every handshake of CONTEXT remember, in the calling thread, the certificate the server
// presented (before it is verified), for describeLastPeerCertificate.
void rememberPeerCertificates(SSL_CTX* context);

// The certificate of the last handshake this thread made, and the two ways to trust it; "" when
// no certificate was presented.
std::string describeLastPeerCertificate();

// One sentence for an error: subject, issuer, expiry, sha256, and the two ways to trust it.
std::string describeRefusedCertificate(const CertificateFacts& facts);

}  // namespace mc::net
