#pragma once
// The SQLite messages table's columns in the order the queries select them, read into a record:
// shared by SqliteLedgerStore and `ledger migrate`, whose row types both offer text(i) and
// integer(i). The state is parsed by the caller, which knows which error to raise.

#include <cstdint>

#include "collector/ledger/LedgerStore.hpp"

namespace mc::ledger {

// A macro, so that queries can be put together from string literals at compile time.
#define MC_LEDGER_MESSAGE_COLUMNS_BEFORE_V4                                       \
    "account, folder, uid_validity, uid, size, state, content_hash, message_id, " \
    "first_seen_at, delivered_at, attempts, last_error"
#define MC_LEDGER_MESSAGE_COLUMNS MC_LEDGER_MESSAGE_COLUMNS_BEFORE_V4 ", header_hash"
// Ledgers older than schema version 4 have no header_hash: read as '' (unknown).
#define MC_LEDGER_MESSAGE_COLUMNS_WITHOUT_HEADER_HASH MC_LEDGER_MESSAGE_COLUMNS_BEFORE_V4 ", ''"

template <typename Row>
MessageRecord messageFromColumns(const Row& row, MessageState state) {
    MessageRecord record;
    record.key.account = row.text(0);
    record.key.folder = row.text(1);
    record.key.uidValidity = static_cast<std::uint64_t>(row.integer(2));
    record.key.uid = row.text(3);
    record.size = static_cast<std::uint64_t>(row.integer(4));
    record.state = state;
    record.contentHash = row.text(6);
    record.messageId = row.text(7);
    record.firstSeenAt = row.integer(8);
    record.deliveredAt = row.integer(9);
    record.attempts = static_cast<int>(row.integer(10));
    record.lastError = row.text(11);
    record.headerHash = row.text(12);
    return record;
}

}  // namespace mc::ledger
