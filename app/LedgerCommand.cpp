// `mailcollector ledger migrate`: moves a single-machine ledger into a shared PostgreSQL one.

#include <iostream>

#include "app/CommandTable.hpp"
#include "collector/ledger/LedgerMigration.hpp"
#include "collector/ledger/LedgerStore.hpp"

namespace mc::app {
namespace {

// The URL is printed redacted.
int ledgerMigrateCommand(const Invocation& invocation) {
    const std::string from = invocation.value("--from"), to = invocation.value("--to");
    if (!ledger::isPostgresLocation(to)) {
        std::cerr << "mailcollector: ledger migrate: --to must be a postgresql:// URL\n";
        return kExitUsage;
    }
    try {
        const auto counts = ledger::migrateLedger(from, to);
        std::cout << "copied " << counts.accounts << " accounts and " << counts.messages << " messages ("
                  << counts.pending << " pending, " << counts.quarantined << " quarantined) from " << from << " to "
                  << ledger::redactLocation(to) << "\n";
        return kExitOk;
    } catch (const ledger::LedgerError& e) {
        std::cerr << "mailcollector: ledger migrate: " << e.what() << "\n";
        return kExitLedger;
    }
}

}  // namespace

CommandSpec ledgerCommandSpec() {
    CommandSpec spec;
    spec.name = "ledger";
    spec.synopsis = "ledger migrate --from FILE.db --to postgresql://USER@HOST/DB";
    spec.summary =
        "migrate: copies a SQLite ledger (opened read-only) into a shared PostgreSQL one that\n"
        "has no rows of its accounts yet";
    spec.help =
        "migrate: copies a SQLite ledger (opened read-only) into a shared PostgreSQL one that has no\n"
        "rows of its accounts yet. Then point [collector] ledger at the URL. The URL's password is\n"
        "never printed.\n";
    spec.options = {{"--from", true}, {"--to", true}};
    spec.takesOperands = true;
    spec.checkUsage = [](const Invocation& invocation) {
        if (invocation.operands != std::vector<std::string>{"migrate"} || invocation.value("--from").empty() ||
            invocation.value("--to").empty())
            throw UsageError("ledger needs migrate --from FILE.db --to postgresql://...");
    };
    spec.run = [](const Invocation& invocation, const config::Config*) { return ledgerMigrateCommand(invocation); };
    return spec;
}

}  // namespace mc::app
