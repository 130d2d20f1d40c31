#pragma once
// `mailcollector ledger migrate`: moves a single-machine SQLite ledger into a shared PostgreSQL
// one, so that the instances sharing it refetch nothing.

#include <string>

#include "collector/ledger/LedgerBackend.hpp"

namespace mc::ledger {

// Copies every account row and message row (every state: delivered, deleted, pending,
// quarantined, skipped, with attempts and errors) of the SQLite ledger at `sqlitePath`, opened
// read-only, into the PostgreSQL ledger at `postgresUrl` in one transaction. Refuses, copying
// nothing, when the target already has rows of any of those accounts. Throws LedgerError.
ImportCounts migrateLedger(const std::string& sqlitePath, const std::string& postgresUrl);

}  // namespace mc::ledger
