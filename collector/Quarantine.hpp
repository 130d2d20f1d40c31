#pragma once
// What the target refused, and the way back: lists the quarantined messages with a stable ID
// each, makes them pending again (the source still holds them, so the next poll fetches and
// delivers them) or gives them up. The one place that writes, reads and removes quarantined
// copies: the delivery pipeline stores what the target refused, `mailcollector quarantine` and the
// status page list, retry and drop.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "collector/ledger/LedgerStore.hpp"
#include "delivery/MessageBody.hpp"

namespace mc::collector {

struct QuarantinedMessage {
    std::string id;  // stable: derived from the ledger key, the same in every run
    ledger::MessageKey key;
    std::uint64_t size = 0;
    std::int64_t quarantinedAt = 0;  // unix seconds: when the copy was written (else first seen)
    std::string from, subject;       // from the quarantined copy; empty without one
    std::string reason;              // the target's reply
    std::string copyPath;            // the copy in quarantine_dir; empty when none is recorded
};

// IDs that name no quarantined message (of the account, when one is given).
class UnknownQuarantineIds : public std::runtime_error {
public:
    explicit UnknownQuarantineIds(std::vector<std::string> ids);
    const std::vector<std::string>& ids() const { return ids_; }

private:
    std::vector<std::string> ids_;
};

class Quarantine {
public:
    Quarantine(ledger::LedgerStore& ledger, std::string quarantineDir);

    // Keeps a copy of a message the target refused, as quarantine_dir/<account>/<unix time>-<uid>-
    // <sha256 prefix>.eml (names only [A-Za-z0-9_-.]; the account directory made 0700 and never
    // entered through a symbolic link; an existing copy is kept), and records the message in the
    // ledger as quarantined with the target's reply. Returns the copy's path.
    std::string store(const ledger::MessageKey& key, std::uint64_t listedSize, const delivery::MessageBody& body,
                      const std::string& reply, std::int64_t now);

    // The quarantined messages of `account` (all accounts when empty).
    std::vector<QuarantinedMessage> list(const std::string& account = "") const;
    // Makes the messages named by `ids` pending again (every one of `account`'s, or of all
    // accounts, when `ids` is empty); returns them. Throws UnknownQuarantineIds, changing
    // nothing, when an ID names none. The copies stay in quarantine_dir as they are (what is
    // delivered is the source's message).
    std::vector<QuarantinedMessage> retry(const std::string& account, const std::vector<std::string>& ids);
    // Gives the messages up (chosen as for retry): the ledger keeps them as skipped, so they are
    // never fetched again nor deleted from the source, and their copies are removed.
    std::vector<QuarantinedMessage> drop(const std::string& account, const std::vector<std::string>& ids);

    // The target's reply a quarantined row records (without the copy's path), read from the ledger
    // alone: cheap enough for a page that refreshes every few seconds.
    static std::string reasonOf(const ledger::MessageRecord& record);
    // The ID of a ledger key (12 hex digits).
    static std::string idOf(const ledger::MessageKey& key);

private:
    std::vector<QuarantinedMessage> select(const std::string& account, const std::vector<std::string>& ids) const;
    QuarantinedMessage describe(const ledger::MessageRecord& record) const;
    // Removes a copy only when it is a regular file inside quarantine_dir (the path comes from
    // ledger text).
    void removeCopy(const std::string& path) const;

    ledger::LedgerStore& ledger_;
    std::string quarantineDir_;
};

}  // namespace mc::collector
