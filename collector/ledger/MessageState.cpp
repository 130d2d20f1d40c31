#include "collector/ledger/LedgerStore.hpp"

namespace mc::ledger {

const char* toString(MessageState state) {
    switch (state) {
        case MessageState::Seen:
            return "seen";
        case MessageState::Delivered:
            return "delivered";
        case MessageState::Quarantined:
            return "quarantined";
        case MessageState::Skipped:
            return "skipped";
        case MessageState::Deleted:
            return "deleted";
    }
    return "unknown";
}

std::optional<MessageState> parseMessageState(std::string_view text) {
    for (MessageState state : {MessageState::Seen, MessageState::Delivered, MessageState::Quarantined,
                               MessageState::Skipped, MessageState::Deleted})
        if (text == toString(state)) return state;
    return std::nullopt;
}

void addStateCount(AccountRecord& record, MessageState state, std::uint64_t count) {
    record.seen += count;  // every row was seen once, whatever happened to it since
    switch (state) {
        case MessageState::Seen:
            record.pending += count;
            break;
        case MessageState::Delivered:
            record.delivered += count;
            break;
        case MessageState::Quarantined:
            record.quarantined += count;
            break;
        case MessageState::Skipped:
            record.skipped += count;
            break;
        case MessageState::Deleted:
            record.deleted += count;
            break;
    }
}

}  // namespace mc::ledger
