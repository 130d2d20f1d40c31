#include "tests/support/PostgresServer.hpp"

#include <unistd.h>

#include <map>
#include <sstream>
#include <stdexcept>

#include "tests/support/Process.hpp"

namespace mc::testing {

namespace {

std::string script() { return supportFile("private-postgres.sh").string(); }

}  // namespace

bool PostgresServer::available() { return ::access("/usr/lib/postgresql/15/bin/pg_ctl", X_OK) == 0; }

PostgresServer::PostgresServer() : dir_("mc-postgres") {
    ProcessResult result = runProcess({script(), "start", dir_.str(), "--watch-pid", std::to_string(::getpid())}, {},
                                      std::chrono::seconds(90));
    if (!result.ok()) {
        runProcess({script(), "stop", dir_.str()}, {}, std::chrono::seconds(30));
        throw std::runtime_error("private-postgres.sh start failed: " + result.describe() + "\n--- postgres log:\n" +
                                 log());
    }
    running_ = true;
    auto env = readEnvFile(dir_ / "postgres.env");
    port_ = static_cast<std::uint16_t>(std::stoul(env.at("PORT")));
    user_ = env.at("USER");
    password_ = env.at("PASSWORD");
    database_ = env.at("DATABASE");
}

PostgresServer::~PostgresServer() {
    try {
        stop();
    } catch (...) {
        // never throw from a destructor; the watcher stops the server once we are gone anyway
    }
}

std::string PostgresServer::url(const std::string& database) const {
    return "postgresql://" + user_ + ":" + password_ + "@127.0.0.1:" + std::to_string(port_) + "/" +
           (database.empty() ? database_ : database);
}

void PostgresServer::createDatabase(const std::string& name) {
    ProcessResult result = runProcess({script(), "create-db", dir_.str(), name}, {}, std::chrono::seconds(60));
    if (!result.ok()) throw std::runtime_error("create-db " + name + ": " + result.describe());
}

std::string PostgresServer::sql(const std::string& database, const std::string& sql) {
    ProcessResult result = runProcess({script(), "sql", dir_.str(), database, sql}, {}, std::chrono::seconds(60));
    if (!result.ok()) throw std::runtime_error("sql " + sql + ": " + result.describe());
    return result.out;
}

std::string PostgresServer::log() const { return logTail(dir_ / "postgres.log"); }

void PostgresServer::stop() {
    if (!running_) return;
    running_ = false;
    ProcessResult result = runProcess({script(), "stop", dir_.str()}, {}, std::chrono::seconds(60));
    if (!result.ok()) throw std::runtime_error("private-postgres.sh stop: " + result.describe());
}

}  // namespace mc::testing
