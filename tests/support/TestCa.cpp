#include "tests/support/TestCa.hpp"

#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <system_error>

#include "tests/support/Process.hpp"

namespace mc::testing {

std::string toString(CertKind kind) {
    switch (kind) {
        case CertKind::Valid:
            return "valid";
        case CertKind::Expired:
            return "expired";
        case CertKind::WrongHost:
            return "wronghost";
        case CertKind::UnknownCa:
            return "unknownca";
    }
    return "valid";
}

TestCa::TestCa() : temp_(std::make_shared<TempDir>("mc-test-ca")), dir_(temp_->path()) { create(); }

TestCa::TestCa(std::filesystem::path dir) : dir_(std::move(dir)) { create(); }

void TestCa::create() const {
    ProcessResult result =
        runProcess({supportFile("make-test-ca.sh").string(), dir_.string()}, {}, std::chrono::seconds(180));
    if (!result.ok()) throw std::runtime_error("make-test-ca.sh " + dir_.string() + " failed: " + result.describe());
}

std::ostream& operator<<(std::ostream& out, CertKind kind) { return out << toString(kind); }

const TestCa& TestCa::shared() {
    static const TestCa instance = [] {
        if (const char* fromEnv = std::getenv("MC_TEST_CA_DIR"); fromEnv && *fromEnv)
            return TestCa(std::filesystem::path(fromEnv));
        // MC_BINARY is <build>/app/mailcollector: keep the set next to it, in <build>/test-ca.
        std::filesystem::path build = std::filesystem::path(MC_BINARY).parent_path().parent_path();
        std::error_code error;
        if (!build.empty() && std::filesystem::is_directory(build, error) && ::access(build.c_str(), W_OK) == 0)
            return TestCa(build / "test-ca");
        return TestCa();
    }();
    return instance;
}

std::string TestCa::caFile() const { return (dir_ / "ca.pem").string(); }

std::string TestCa::otherCaFile() const { return (dir_ / "other-ca.pem").string(); }

std::string TestCa::certFile(CertKind kind) const { return (dir_ / (toString(kind) + ".crt")).string(); }

std::string TestCa::keyFile(CertKind kind) const { return (dir_ / (toString(kind) + ".key")).string(); }

}  // namespace mc::testing
