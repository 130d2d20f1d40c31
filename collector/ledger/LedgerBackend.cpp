#include "collector/ledger/LedgerBackend.hpp"

#include <Poco/Data/Extraction.h>
#include <Poco/Data/Limit.h>

#include <ctime>

#include "proto/Utf8.hpp"

namespace mc::ledger {
namespace {

// Rows a cursor reads per round trip.
constexpr std::size_t kCursorBatch = 512;

}  // namespace

SqlRows::SqlRows(std::string_view types) {
    for (const char type : types) {
        if (type == 'I') {
            columns_.emplace_back(Integers{});
        } else {
            columns_.emplace_back(Texts{});
        }
    }
}

std::size_t SqlRows::size() const {
    if (columns_.empty()) return 0;
    return std::visit([](const auto& column) { return column.size(); }, columns_.front());
}

void SqlRows::extractFrom(Poco::Data::Statement& statement) {
    for (auto& column : columns_) {
        std::visit([&](auto& values) { statement.addExtract(Poco::Data::Keywords::into(values)); }, column);
    }
}

void SqlRows::clear() {
    for (auto& column : columns_) std::visit([](auto& values) { values.clear(); }, column);
}

Poco::Data::Session& LedgerBackend::session() {
    if (!session_) throw SqlFailure("not connected");
    return *session_;
}

const std::string& LedgerBackend::text(const char* sql) {
    auto it = texts_.find(sql);
    if (it == texts_.end()) it = texts_.emplace(sql, dialect(sql)).first;
    return it->second;
}

std::size_t LedgerBackend::execute(const char* sql, std::initializer_list<SqlValue> values) {
    return run(sql, values.begin(), values.end(), nullptr);
}

std::size_t LedgerBackend::execute(const char* sql, const std::vector<SqlValue>& values) {
    return run(sql, values.data(), values.data() + values.size(), nullptr);
}

SqlRows LedgerBackend::select(const char* sql, std::string_view types, std::initializer_list<SqlValue> values) {
    SqlRows rows(types);
    run(sql, values.begin(), values.end(), &rows);
    return rows;
}

void LedgerBackend::executeText(const std::string& sql) {
    Poco::Data::Statement statement(session());
    statement << sql;
    statement.execute();
}

LedgerBackend::Cursor::Cursor(LedgerBackend& backend, const char* sql, std::string_view types)
    : statement_(backend.session()), rows_(types) {
    statement_ << backend.text(sql);
    rows_.extractFrom(statement_);
    statement_, Poco::Data::Keywords::limit(kCursorBatch);
}

bool LedgerBackend::Cursor::next() {
    if (started_ && row_ + 1 < rows_.size()) {
        ++row_;
        return true;
    }
    if (started_ && statement_.done()) return false;
    started_ = true;
    rows_.clear();
    statement_.execute();
    row_ = 0;
    return rows_.size() > 0;
}

void LedgerBackend::copyMessages(const std::function<bool(StoredMessage&)>& next, ImportCounts& counts) {
    StoredMessage message;
    while (next(message)) {
        const MessageRecord& r = message.record;
        execute(
            "INSERT INTO messages (account, folder, uid_validity, uid, size, state, content_hash, message_id,"
            " first_seen_at, delivered_at, attempts, last_error, header_hash, deleted_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {r.key.account, r.key.folder, static_cast<std::int64_t>(r.key.uidValidity), r.key.uid,
             static_cast<std::int64_t>(r.size), std::string(toString(r.state)), validText(r.contentHash),
             validText(r.messageId), r.firstSeenAt, r.deliveredAt, std::int64_t{r.attempts}, validText(r.lastError),
             validText(r.headerHash), message.deletedAt});
        ++counts.messages;
        if (r.state == MessageState::Seen) ++counts.pending;
        if (r.state == MessageState::Quarantined) ++counts.quarantined;
    }
}

std::string replaceAll(std::string text, std::string_view token, std::string_view replacement) {
    for (std::size_t at = text.find(token); at != std::string::npos; at = text.find(token, at + replacement.size())) {
        text.replace(at, token.size(), replacement);
    }
    return text;
}

std::string validText(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t length = text[i] == '\0' ? 0 : proto::utf8SequenceLength(text, i);
        if (length != 0) {
            out.append(text, i, length);
            i += length;
        } else {
            out += '?';
            ++i;
        }
    }
    return out;
}

std::int64_t unixSeconds() { return static_cast<std::int64_t>(std::time(nullptr)); }

}  // namespace mc::ledger
