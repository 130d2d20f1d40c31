#include "collector/ledger/LedgerStore.hpp"

namespace mc::ledger {

const char* toString(MessageState state) {
    switch (state) {
        case MessageState::Seen: return "seen";
        case MessageState::Delivered: return "delivered";
        case MessageState::Quarantined: return "quarantined";
        case MessageState::Skipped: return "skipped";
        case MessageState::Deleted: return "deleted";
    }
    return "unknown";
}

}  // namespace mc::ledger
