#include "collector/ledger/LedgerStore.hpp"

#include <algorithm>
#include <map>
#include <unordered_set>

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

// ---- The slow but correct defaults of the per-poll queries ------------------------------------

void LedgerStore::forEachMessage(const std::string& account, const std::string& folder, std::uint64_t uidValidity,
                                 const std::function<bool(const MessageRecord&)>& visit) {
    for (const MessageRecord& record : messages(account, folder, uidValidity))
        if (!visit(record)) return;
}

std::optional<MessageRecord> LedgerStore::message(const MessageKey& key) {
    std::optional<MessageRecord> found;
    forEachMessage(key.account, key.folder, key.uidValidity, [&](const MessageRecord& record) {
        if (record.key.uid == key.uid) found = record;
        return !found;
    });
    return found;
}

std::vector<MessageRecord> LedgerStore::workDue(const std::string& account, const std::string& folder,
                                                std::uint64_t uidValidity, std::optional<std::int64_t> deliveredBy,
                                                std::size_t limit) {
    std::vector<MessageRecord> due;
    forEachMessage(account, folder, uidValidity, [&](const MessageRecord& record) {
        if (record.state == MessageState::Seen ||
            (record.state == MessageState::Delivered && deliveredBy && record.deliveredAt <= *deliveredBy))
            due.push_back(record);
        return due.size() < limit;
    });
    return due;
}

namespace {
bool wasDelivered(const MessageRecord& record) {
    return record.state == MessageState::Delivered || record.state == MessageState::Deleted;
}
}  // namespace

bool LedgerStore::deliveredUnderOtherValidity(const std::string& account, const std::string& folder,
                                              std::uint64_t uidValidity) {
    for (const auto& record : messagesInFolder(account, folder))
        if (wasDelivered(record) && record.key.uidValidity != uidValidity) return true;
    return false;
}

void LedgerStore::forgetOtherValidities(const std::string& account, const std::string& folder,
                                        std::uint64_t uidValidity) {
    std::map<std::uint64_t, std::vector<std::string>> gone;  // per UIDVALIDITY
    for (const auto& record : messagesInFolder(account, folder))
        if (record.key.uidValidity != uidValidity && record.state != MessageState::Quarantined)
            gone[record.key.uidValidity].push_back(record.key.uid);
    for (const auto& [validity, uids] : gone) forget(account, folder, validity, uids);
}

void LedgerStore::forget(const std::string& account, const std::string& folder, std::uint64_t uidValidity,
                         const std::vector<std::string>& uids) {
    if (uids.empty()) return;
    const std::unordered_set<std::string> gone(uids.begin(), uids.end());
    std::vector<std::string> present;
    forEachMessage(account, folder, uidValidity, [&](const MessageRecord& record) {
        if (!gone.contains(record.key.uid)) present.push_back(record.key.uid);
        return true;
    });
    forgetAbsent(account, folder, uidValidity, present);
}

}  // namespace mc::ledger
