// resolveSecret: each source, its failures, and that no message ever carries the secret.

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/Config.hpp"

namespace mc::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* kSecret = "s3cr3t-Pa55";
constexpr const char* kWhat = "account old-yandex password";

std::string secretError(const SecretSource& source) {
    try {
        resolveSecret(source, kWhat);
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

class SecretsTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (std::filesystem::temp_directory_path() / "mc-secrets-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override {
        std::filesystem::remove_all(dir_);
        ::unsetenv("MC_TEST_SECRET");
    }

    std::string write(const std::string& name, const std::string& content) {
        std::string path = (dir_ / name).string();
        std::ofstream(path, std::ios::binary) << content;
        ::chmod(path.c_str(), 0600);
        return path;
    }

    std::filesystem::path dir_;
};

TEST_F(SecretsTest, InlineIsTheValue) {
    EXPECT_EQ(resolveSecret({SecretSource::Kind::Inline, kSecret}, kWhat), kSecret);
}

TEST_F(SecretsTest, NoneIsAnError) { EXPECT_EQ(secretError({}), std::string(kWhat) + ": no password configured"); }

TEST_F(SecretsTest, FileStripsExactlyOneTrailingNewline) {
    using Kind = SecretSource::Kind;
    EXPECT_EQ(resolveSecret({Kind::File, write("a", kSecret)}, kWhat), kSecret);
    EXPECT_EQ(resolveSecret({Kind::File, write("b", std::string(kSecret) + "\n")}, kWhat), kSecret);
    EXPECT_EQ(resolveSecret({Kind::File, write("c", std::string(kSecret) + "\r\n")}, kWhat), kSecret);
    EXPECT_EQ(resolveSecret({Kind::File, write("d", std::string(kSecret) + "\n\n")}, kWhat),
              std::string(kSecret) + "\n");
    EXPECT_EQ(resolveSecret({Kind::File, write("e", " spaced \n")}, kWhat), " spaced ");
}

TEST_F(SecretsTest, MissingFileNamesThePathButNoSecret) {
    std::string path = (dir_ / "absent").string();
    std::string error = secretError({SecretSource::Kind::File, path});
    EXPECT_EQ(error, std::string(kWhat) + ": cannot open password file " + path + ": No such file or directory");
}

TEST_F(SecretsTest, EmptyFileIsAnError) {
    std::string path = write("empty", "\n");
    EXPECT_EQ(secretError({SecretSource::Kind::File, path}),
              std::string(kWhat) + ": password file " + path + " is empty");
}

TEST_F(SecretsTest, HugeFileIsRefusedWithoutQuotingIt) {
    std::string huge(100 * 1024, 'x');
    std::string error = secretError({SecretSource::Kind::File, write("huge", huge)});
    EXPECT_THAT(error, HasSubstr("larger than 64 KiB"));
    EXPECT_THAT(error, Not(HasSubstr("xxxx")));
}

TEST_F(SecretsTest, Environment) {
    ::setenv("MC_TEST_SECRET", kSecret, 1);
    EXPECT_EQ(resolveSecret({SecretSource::Kind::Env, "MC_TEST_SECRET"}, kWhat), kSecret);
}

TEST_F(SecretsTest, UnsetOrEmptyEnvironmentIsAnError) {
    ::unsetenv("MC_TEST_SECRET");
    EXPECT_EQ(secretError({SecretSource::Kind::Env, "MC_TEST_SECRET"}),
              std::string(kWhat) + ": environment variable MC_TEST_SECRET is not set");
    ::setenv("MC_TEST_SECRET", "", 1);
    EXPECT_EQ(secretError({SecretSource::Kind::Env, "MC_TEST_SECRET"}),
              std::string(kWhat) + ": environment variable MC_TEST_SECRET is empty");
}

TEST_F(SecretsTest, CommandTakesTheFirstLine) {
    using Kind = SecretSource::Kind;
    EXPECT_EQ(resolveSecret({Kind::Command, std::string("echo ") + kSecret}, kWhat), kSecret);
    EXPECT_EQ(resolveSecret({Kind::Command, "printf 'first\\r\\nsecond\\n'"}, kWhat), "first");
    EXPECT_EQ(resolveSecret({Kind::Command, "printf 'no-newline'"}, kWhat), "no-newline");
}

TEST_F(SecretsTest, CommandRunsThroughTheShell) {
    ::setenv("MC_TEST_SECRET", kSecret, 1);
    EXPECT_EQ(resolveSecret({SecretSource::Kind::Command, "cat " + write("f", "from-file\n") + " | tr a-z A-Z"}, kWhat),
              "FROM-FILE");
    EXPECT_EQ(resolveSecret({SecretSource::Kind::Command, "echo \"$MC_TEST_SECRET\""}, kWhat), kSecret);
}

TEST_F(SecretsTest, CommandStdinIsEmpty) {
    // A command that waits for input must not hang the collector.
    EXPECT_EQ(secretError({SecretSource::Kind::Command, "read line || echo no-input"}), "");
    EXPECT_EQ(resolveSecret({SecretSource::Kind::Command, "cat; echo done"}, kWhat), "done");
}

TEST_F(SecretsTest, FailingCommandNeverLeaksItsOutput) {
    std::string command = std::string("echo ") + kSecret + "; exit 3";
    std::string error = secretError({SecretSource::Kind::Command, command});
    EXPECT_EQ(error, std::string(kWhat) + ": password command exited with status 3");
    EXPECT_THAT(error, Not(HasSubstr(kSecret)));
}

TEST_F(SecretsTest, CommandKilledBySignal) {
    EXPECT_EQ(secretError({SecretSource::Kind::Command, "kill -9 $$"}),
              std::string(kWhat) + ": password command was killed by signal 9");
}

TEST_F(SecretsTest, CommandThatPrintsNothing) {
    EXPECT_EQ(secretError({SecretSource::Kind::Command, "true"}),
              std::string(kWhat) + ": password command printed nothing");
    EXPECT_EQ(secretError({SecretSource::Kind::Command, "echo; echo later"}),
              std::string(kWhat) + ": password command printed nothing");
}

TEST_F(SecretsTest, MissingCommandFails) {
    std::string error = secretError({SecretSource::Kind::Command, "exec 2>/dev/null; /nonexistent/secret-helper x"});
    EXPECT_THAT(error, StartsWith(std::string(kWhat) + ": password command exited with status 127"));
    // The command line may embed a secret, so it is not quoted either.
    EXPECT_THAT(error, Not(HasSubstr("secret-helper")));
}

TEST_F(SecretsTest, LongOutputIsDrainedSoTheCommandDoesNotBlock) {
    // 1 MiB after the first line: a command blocked on a full pipe would never exit.
    EXPECT_EQ(resolveSecret({SecretSource::Kind::Command, "echo first; head -c 1048576 /dev/zero | tr '\\0' x"}, kWhat),
              "first");
}

}  // namespace
}  // namespace mc::config
