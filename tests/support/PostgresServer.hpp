#pragma once
// A real PostgreSQL 15 server private to one test, through tests/support/private-postgres.sh:
// its own cluster in a TempDir, run by an unprivileged user, listening on a free port of
// 127.0.0.1, stopped by the destructor (and by a watcher if the test process dies).
//
// One login role with a password owns the database; url() carries that password (tests check
// that mailcollector never prints it). Fresh databases for tests that need an empty ledger come
// from createDatabase().

#include <cstdint>
#include <string>

#include "tests/support/TempDir.hpp"

namespace mc::testing {

class PostgresServer {
public:
    // Starts the server. Throws std::runtime_error with the script's output and the log tail if
    // it cannot start.
    PostgresServer();
    ~PostgresServer();
    PostgresServer(const PostgresServer&) = delete;
    PostgresServer& operator=(const PostgresServer&) = delete;

    // True when the PostgreSQL 15 server binaries are installed (tests skip without them).
    static bool available();

    std::uint16_t port() const { return port_; }
    const std::string& user() const { return user_; }
    const std::string& password() const { return password_; }
    const std::string& database() const { return database_; }
    // postgresql://USER:PASSWORD@127.0.0.1:PORT/DATABASE (DATABASE: the default one if empty).
    std::string url(const std::string& database = "") const;

    // Creates an empty database NAME (lower-case letters, digits, _) owned by user().
    void createDatabase(const std::string& name);
    // Runs SQL as the superuser in DATABASE; returns psql's unaligned output (rows, '|'-separated).
    std::string sql(const std::string& database, const std::string& sql);
    std::string log() const;  // the end of the server log (4 kB): for assertion messages

    // Stops the server now (the destructor does it otherwise). Idempotent.
    void stop();

private:
    TempDir dir_;
    bool running_ = false;
    std::uint16_t port_ = 0;
    std::string user_, password_, database_;
};

}  // namespace mc::testing
