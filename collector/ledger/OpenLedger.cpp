#include <memory>
#include <string>

#include "collector/ledger/LedgerStore.hpp"
#include "collector/ledger/SqliteLedgerStore.hpp"

namespace mc::ledger {

std::unique_ptr<LedgerStore> openLedger(const std::string& location) {
    if (location.empty()) throw LedgerError("ledger location is empty");
    // Config allows a URL here; without this check it would become a relative file path. The URL
    // is not echoed back: it may carry a password.
    if (location.starts_with("postgresql://") || location.starts_with("postgres://")) {
        throw LedgerError("PostgreSQL ledgers are not supported by this build; use a file path");
    }
    return std::make_unique<SqliteLedgerStore>(location);
}

}  // namespace mc::ledger
