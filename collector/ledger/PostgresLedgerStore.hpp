#pragma once
// The PostgreSQL ledger, shared by several instances: the same rows and semantics as the SQLite
// ledger; lease times are the server's clock, so instances need not agree on theirs. A mark*
// call returns once PostgreSQL committed it (synchronous_commit is never off for our session).
// The store is SqlLedgerStore; this class connects it to a server (PostgresBackend.cpp). Error
// messages name the operation and PostgreSQL's reason, never the URL (it may hold a password).

#include <string>

#include "collector/ledger/SqlLedgerStore.hpp"

namespace mc::ledger {

class PostgresLedgerStore final : public SqlLedgerStore {
public:
    // The newest schema version this build knows; older schemas are migrated when opened.
    static int schemaVersion();

    // Connects to `url` (postgresql://...) and creates or migrates the schema; opens up to
    // `connections` sessions in all (see openLedger).
    explicit PostgresLedgerStore(const std::string& url, std::size_t connections = 1);
};

}  // namespace mc::ledger
