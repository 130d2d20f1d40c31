#pragma once
// The test PKI made by tests/support/make-test-ca.sh: a trusted test CA, an untrusted other CA,
// and server certificates of every kind the TLS tests need.

#include <filesystem>
#include <memory>
#include <ostream>
#include <string>

#include "tests/support/TempDir.hpp"

namespace mc::testing {

enum class CertKind {
    Valid,      // signed by the test CA, SAN DNS:localhost, IP:127.0.0.1
    Expired,    // like Valid, but expired in 2020
    WrongHost,  // signed by the test CA, SAN DNS:wrong.example only
    UnknownCa,  // like Valid, but signed by the other, untrusted CA
};

// "valid", "expired", "wronghost", "unknownca" (the names the scripts use).
std::string toString(CertKind kind);
std::ostream& operator<<(std::ostream& out, CertKind kind);  // for gtest parameter names

class TestCa {
public:
    // Creates the set in a fresh temporary directory (about a second: RSA keys).
    TestCa();
    // Creates (or reuses) the set in DIR.
    explicit TestCa(std::filesystem::path dir);

    // One set shared by every test: made once and cached in the build tree (<build>/test-ca,
    // or $MC_TEST_CA_DIR), safe with concurrent test processes.
    static const TestCa& shared();

    const std::filesystem::path& dir() const { return dir_; }
    std::string caFile() const;       // ca.pem: what clients should trust
    std::string otherCaFile() const;  // other-ca.pem: the CA of UnknownCa
    std::string certFile(CertKind kind) const;
    std::string keyFile(CertKind kind) const;

private:
    void create() const;

    std::shared_ptr<TempDir> temp_;
    std::filesystem::path dir_;
};

}  // namespace mc::testing
