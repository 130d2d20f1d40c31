#include "collector/ledger/LedgerMigration.hpp"

#include "collector/ledger/PostgresLedgerStore.hpp"
#include "collector/ledger/SqliteLedgerStore.hpp"

namespace mc::ledger {

ImportCounts migrateLedger(const std::string& sqlitePath, const std::string& postgresUrl) {
    // The source first: a missing or foreign file is refused before the target is touched.
    SqliteLedgerStore source(sqlitePath, SqliteLedgerStore::Access::ReadOnly);
    PostgresLedgerStore target(postgresUrl);
    return source.copyInto(target);
}

}  // namespace mc::ledger
