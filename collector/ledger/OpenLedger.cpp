#include <memory>
#include <string>

#include "collector/ledger/LedgerStore.hpp"
#include "collector/ledger/PostgresLedgerStore.hpp"
#include "collector/ledger/SqliteLedgerStore.hpp"

namespace mc::ledger {

bool isPostgresLocation(const std::string& location) {
    return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

std::string redactLocation(const std::string& location) {
    if (!isPostgresLocation(location)) return location;
    // postgresql://user:password@host/db?password=...: the userinfo password, and any password
    // parameter, become "***".
    std::string out = location;
    const std::size_t start = out.find("://") + 3;
    const std::size_t at = out.find('@', start);
    const std::size_t slash = out.find('/', start);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
        const std::size_t colon = out.find(':', start);
        if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
    for (std::size_t key = out.find("password="); key != std::string::npos; key = out.find("password=", key + 1)) {
        const std::size_t value = key + 9;
        const std::size_t end = out.find('&', value);
        out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
    }
    return out;
}

std::unique_ptr<LedgerStore> openLedger(const std::string& location, std::size_t connections) {
    if (location.empty()) throw LedgerError("ledger location is empty");
    // The URL is never echoed back: it may carry a password.
    if (isPostgresLocation(location)) return std::make_unique<PostgresLedgerStore>(location, connections);
    return std::make_unique<SqliteLedgerStore>(location);
}

}  // namespace mc::ledger
