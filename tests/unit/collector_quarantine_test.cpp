// The quarantine as one class: the pipeline stores what the target refused; list, retry and drop
// read and remove those copies.

#include "collector/Quarantine.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mc::collector {
namespace {

namespace fs = std::filesystem;

class QuarantineTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "mc-quarantine-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        ledger_ = ledger::openLedger((dir_ / "ledger.db").string());
    }
    void TearDown() override {
        ledger_.reset();
        fs::remove_all(dir_);
    }

    delivery::MessageBody body(const std::string& content) {
        delivery::MessageBody message(dir_.string());
        message.append(content);
        message.finish();
        return message;
    }

    static std::string read(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        std::ostringstream out;
        out << in.rdbuf();
        return out.str();
    }

    fs::path dir_;
    std::unique_ptr<ledger::LedgerStore> ledger_;
};

TEST_F(QuarantineTest, StoreKeepsACopyThatListShowsAndDropRemoves) {
    Quarantine quarantine(*ledger_, (dir_ / "quarantine").string());
    ledger::MessageKey key{"old/isp", "", 0, "uid 1/../x"};
    ledger_->recordSeen(key, 60);
    const std::string content = "From: Ann <ann@example.org>\r\nSubject: Hello\r\n\r\nbody\r\n";
    std::string path = quarantine.store(key, 60, body(content), "550 5.1.1 no such user", 1'700'000'000);

    EXPECT_EQ(fs::path(path).parent_path(), dir_ / "quarantine" / "old_isp");  // server text made a safe name
    EXPECT_EQ(fs::path(path).filename().string().rfind("1700000000-uid_1____x-", 0), 0u) << path;
    EXPECT_EQ(read(path), content);
    struct stat info {};
    ASSERT_EQ(::stat(path.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat(fs::path(path).parent_path().c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0700u);

    auto listed = quarantine.list("old/isp");
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].id, Quarantine::idOf(key));
    EXPECT_EQ(listed[0].reason, "550 5.1.1 no such user");
    EXPECT_EQ(listed[0].copyPath, path);
    EXPECT_EQ(listed[0].subject, "Hello");

    auto dropped = quarantine.drop("old/isp", {});
    ASSERT_EQ(dropped.size(), 1u);
    EXPECT_FALSE(fs::exists(path));
    EXPECT_TRUE(quarantine.list("").empty());
}

TEST_F(QuarantineTest, StoreRefusesALinkedAccountDirectoryAndRecordsNothing) {
    fs::create_directories(dir_ / "quarantine");
    fs::create_directories(dir_ / "elsewhere");
    fs::create_symlink(dir_ / "elsewhere", dir_ / "quarantine" / "acct");
    Quarantine quarantine(*ledger_, (dir_ / "quarantine").string());
    ledger::MessageKey key{"acct", "", 0, "u1"};
    ledger_->recordSeen(key, 10);
    EXPECT_ANY_THROW(quarantine.store(key, 10, body("Subject: x\r\n\r\ny\r\n"), "554 refused", 1));
    EXPECT_TRUE(fs::is_empty(dir_ / "elsewhere"));
    EXPECT_TRUE(quarantine.list("acct").empty());
}

}  // namespace
}  // namespace mc::collector
