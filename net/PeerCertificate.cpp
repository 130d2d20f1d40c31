#include "net/PeerCertificate.hpp"

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>

#include "base/Hex.hpp"
#include "proto/SafeText.hpp"

namespace mc::net {
namespace {

struct X509Free {
    void operator()(X509* certificate) const { X509_free(certificate); }
};

thread_local std::unique_ptr<X509, X509Free> lastPeerCertificate;

std::string nameText(const X509_NAME* name) {
    if (!name) return {};
    BIO* bio = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio, &data);
    std::string text(data, static_cast<std::size_t>(length));
    BIO_free(bio);
    return proto::terminalEscape(text, 300);  // the server chose it
}

int verifyRemembering(X509_STORE_CTX* store, void*) {
    if (X509* leaf = X509_STORE_CTX_get0_cert(store)) {
        X509_up_ref(leaf);
        lastPeerCertificate.reset(leaf);
    }
    return X509_verify_cert(store);
}

}  // namespace

CertificateFacts certificateFacts(const X509* certificate) {
    CertificateFacts facts;
    facts.subject = nameText(X509_get_subject_name(certificate));
    facts.issuer = nameText(X509_get_issuer_name(certificate));
    if (const ASN1_TIME* notAfter = X509_get0_notAfter(certificate)) {
        std::tm tm{};
        if (ASN1_TIME_to_tm(notAfter, &tm) == 1) {
            char buffer[32];
            std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S UTC", &tm);
            facts.notAfter = buffer;
        }
        facts.expired = X509_cmp_current_time(notAfter) < 0;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (X509_digest(certificate, EVP_sha256(), digest, &length)) facts.sha256 = base::lowerHex(digest, length);
    return facts;
}

void rememberPeerCertificates(SSL_CTX* context) {
    SSL_CTX_set_cert_verify_callback(context, verifyRemembering, nullptr);
}

std::string describeLastPeerCertificate() {
    if (!lastPeerCertificate) return {};
    return describeRefusedCertificate(certificateFacts(lastPeerCertificate.get()));
}

std::string describeRefusedCertificate(const CertificateFacts& facts) {
    std::string text = "the server presented subject " + facts.subject + ", issuer " + facts.issuer + ", " +
                       (facts.expired ? "expired " : "valid until ") + facts.notAfter + ", sha256 " + facts.sha256;
    if (facts.expired) return text + "; an expired certificate is the server operator's to renew";
    return text + "; if you trust it, pin this certificate with tls_fingerprint = \"" + facts.sha256 +
           "\", or trust its issuer with ca_file = \"/path/to/issuer-ca.pem\"";
}

}  // namespace mc::net
