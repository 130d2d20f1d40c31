#pragma once
// The SQLite ledger: one WAL-mode database file (0600, no symlinks), written with
// synchronous=FULL so that a mark* call is on disk when it returns. Several processes may share
// the file: each write is a BEGIN IMMEDIATE transaction that waits (up to 30 s) for the others,
// and account leases (times from this machine's clock) keep one poller per account. The store is
// SqlLedgerStore; this class opens it on a file (SqliteBackend.cpp).

#include <string>

#include "collector/ledger/SqlLedgerStore.hpp"

namespace mc::ledger {

class SqliteLedgerStore final : public SqlLedgerStore {
public:
    // ReadOnly: an existing ledger of any schema version this build knows, never written,
    // migrated or created (the source of `ledger migrate`).
    enum class Access { ReadWrite, ReadOnly };

    // The newest schema version this build knows; older ledgers are migrated when opened.
    static int schemaVersion();

    // Opens or creates the ledger at `path` (see openLedger for the file rules).
    explicit SqliteLedgerStore(const std::string& path, Access access = Access::ReadWrite);

    // The absolute path of the database file.
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace mc::ledger
