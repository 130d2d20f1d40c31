#include "collector/imap/ImapSession.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "collector/CrashPoints.hpp"
#include "collector/SourceSettings.hpp"
#include "proto/AsciiText.hpp"
#include "proto/ImapCommand.hpp"
#include "proto/ModifiedUtf7.hpp"
#include "proto/Sasl.hpp"

namespace mc::collector {
namespace {

using proto::ImapResponse;
using proto::ImapStatus;

// Below this a FETCH body stays in the parsed response; above it is streamed to a MessageBody.
constexpr std::uint64_t kStreamThreshold = 64 * 1024;

bool hasFlag(const std::vector<std::string>& flags, std::string_view flag) {
    return std::any_of(flags.begin(), flags.end(), [&](const std::string& f) { return proto::equalsNoCase(f, flag); });
}

// A server may send [ALERT]s without end: the first few are shown, the rest only counted.
constexpr std::uint64_t kLoggedAlerts = 5;

std::string describe(const ImapResponse& response) { return net::printable(response.text); }

// A set of UIDs given as ranges (a VANISHED response), sorted and merged, answering membership and
// counts in logarithmic time whatever a server sends.
class UidRanges {
public:
    explicit UidRanges(std::vector<proto::ImapRange> ranges) {
        std::sort(ranges.begin(), ranges.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (const auto& range : ranges) {
            if (!ranges_.empty() && range.first <= static_cast<std::uint64_t>(ranges_.back().last) + 1)
                ranges_.back().last = std::max(ranges_.back().last, range.last);
            else
                ranges_.push_back(range);
        }
        upTo_.reserve(ranges_.size());
        std::uint64_t total = 0;
        for (const auto& range : ranges_) upTo_.push_back(total += std::uint64_t(range.last) - range.first + 1);
    }
    bool contains(std::uint64_t uid) const {
        auto at = after(uid);
        return at != 0 && uid <= ranges_[at - 1].last;
    }
    // How many lie strictly between `low` and `high`.
    std::uint64_t between(std::uint64_t low, std::uint64_t high) const {
        return high <= low + 1 ? 0 : atMost(high - 1) - atMost(low);
    }

private:
    // The number of ranges starting at or below `uid`.
    std::size_t after(std::uint64_t uid) const {
        return static_cast<std::size_t>(std::upper_bound(ranges_.begin(), ranges_.end(), uid,
                                                         [](std::uint64_t u, const auto& r) { return u < r.first; }) -
                                        ranges_.begin());
    }
    std::uint64_t atMost(std::uint64_t uid) const {
        const std::size_t at = after(uid);
        if (at == 0) return 0;
        const auto& range = ranges_[at - 1];
        return upTo_[at - 1] - (uid < range.last ? range.last - uid : 0);
    }

    std::vector<proto::ImapRange> ranges_;
    std::vector<std::uint64_t> upTo_;  // UIDs in ranges_[0..i]
};

// Takes the messages a VANISHED response names out of the sequence tables (UIDs by sequence number
// - 1, 0 where not listed), as EXPUNGE does by number. A listed UID leaves its place; those not
// listed take unlisted places between their listed neighbours, since UIDs ascend with sequence
// numbers.
void dropVanished(std::vector<std::uint32_t>& uids, std::vector<std::uint64_t>& sizes, const UidRanges& vanished) {
    std::size_t kept = 0, unlisted = 0;  // unlisted: places kept since the last listed UID
    std::uint64_t below = 0;             // that listed UID
    auto dropUnlisted = [&](std::uint64_t above) {
        kept -= static_cast<std::size_t>(std::min<std::uint64_t>(unlisted, vanished.between(below, above)));
        unlisted = 0;
    };
    for (std::size_t i = 0; i < uids.size(); ++i) {
        if (uids[i] == 0) {
            ++unlisted;
        } else {
            dropUnlisted(uids[i]);
            below = uids[i];
            if (vanished.contains(uids[i])) continue;
        }
        uids[kept] = uids[i];
        sizes[kept] = sizes[i];
        ++kept;
    }
    dropUnlisted(std::uint64_t(1) << 32);
    uids.resize(kept);
    sizes.resize(kept);
}

}  // namespace

bool ImapFolder::selectable() const { return !hasFlag(flags, "\\Noselect") && !hasFlag(flags, "\\NonExistent"); }

bool ImapFolder::excludedFromStar() const {
    return othersNamespace || folderRole(flags, name, delimiter) != FolderRole::None;
}

int ImapFolder::trashRank() const {
    if (!selectable() || othersNamespace || folderRole(flags, name, delimiter) != FolderRole::Trash) return 0;
    return hasFlag(flags, "\\Trash") ? 2 : 1;
}

ImapSession::ImapSession(ImapOptions options) : options_(std::move(options)) {}

ImapSession::~ImapSession() {
    if (alerts_ > kLoggedAlerts)
        spdlog::warn("server alerts for {}: {} more not logged", options_.username, alerts_ - kLoggedAlerts);
}

net::ImapConnection& ImapSession::connection() {
    if (!connection_) throw ImapError("the connection to the server is no longer usable");
    return *connection_;
}

bool ImapSession::hasCapability(const std::string& name) const {
    return connection_ && connection_->hasCapability(name);
}

const std::vector<std::string>& ImapSession::capabilities() const {
    static const std::vector<std::string> kNone;
    return connection_ ? connection_->capabilities() : kNone;
}

ImapResponse ImapSession::readResponse() { return connection().readResponse(); }

void ImapSession::fail(const std::string& what, proto::FailureKind kind) {
    state_ = State::LoggedOut;
    connection().fail(what, kind);
}

void ImapSession::noteUntagged(const ImapResponse& response) {
    connection().noteCapabilities(response);
    if (auto exists = response.exists()) mailbox_.exists = *exists;
    if (auto recent = response.recent()) mailbox_.recent = *recent;
    if (auto expunged = response.expunge()) {
        if (mailbox_.exists > 0) --mailbox_.exists;
        // Later sequence numbers move down by one (RFC 3501 7.4.1).
        if (*expunged <= uidBySequence_.size()) {
            uidBySequence_.erase(uidBySequence_.begin() + (*expunged - 1));
            sizeBySequence_.erase(sizeBySequence_.begin() + (*expunged - 1));
        }
    }
    if (auto vanished = response.vanished()) {
        if (vanished->earlier) {  // SELECT ... (QRESYNC ...): expunged before it, since the known state
            // Past a bound the server's word is dropped: the poll lists the folder instead.
            if (mailbox_.vanished.size() + vanished->uids.size() > kImapMaxResponseValues) vanishedOverflow_ = true;
            if (!vanishedOverflow_)
                mailbox_.vanished.insert(mailbox_.vanished.end(), vanished->uids.begin(), vanished->uids.end());
        } else {  // EXPUNGE by UID (RFC 7162 3.2.10): one message fewer for each
            const UidRanges gone(std::move(vanished->uids));
            mailbox_.exists -= static_cast<std::uint32_t>(
                std::min<std::uint64_t>(mailbox_.exists, gone.between(0, std::uint64_t(1) << 32)));
            dropVanished(uidBySequence_, sizeBySequence_, gone);
        }
    }
    if (response.code) {
        if (response.code->is("HIGHESTMODSEQ")) mailbox_.highestModSeq = response.code->number().value_or(0);
        if (response.code->is("NOMODSEQ")) mailbox_.highestModSeq = 0;
        if (response.code->is("UIDVALIDITY"))
            mailbox_.uidValidity = static_cast<std::uint32_t>(response.code->number().value_or(0));
        if (response.code->is("UIDNEXT"))
            mailbox_.uidNext = static_cast<std::uint32_t>(response.code->number().value_or(0));
        if (response.code->is("ALERT") && ++alerts_ <= kLoggedAlerts)
            spdlog::warn("server alert for {}: {}", options_.username, describe(response));
    }
}

std::string ImapSession::send(const std::string& command) { return connection().send(command); }

ImapResponse ImapSession::run(const std::string& command, const std::function<void(const ImapResponse&)>& onUntagged,
                              std::size_t expectedUntagged) {
    return connection().run(
        command,
        [&](const ImapResponse& response) {
            noteUntagged(response);
            if (onUntagged) onUntagged(response);
        },
        expectedUntagged);
}

ImapResponse ImapSession::expectOk(const std::string& command, const std::string& what,
                                   const std::function<void(const ImapResponse&)>& onUntagged,
                                   std::size_t expectedUntagged) {
    ImapResponse response = run(command, onUntagged, expectedUntagged);
    if (response.status != ImapStatus::Ok) throw ImapError(what + " refused: " + describe(response));
    return response;
}

void ImapSession::open() {
    net::ImapConnectionOptions connectionOptions;
    connectionOptions.connect = options_.connect;
    connectionOptions.tls = options_.tls;
    connectionOptions.limits.streamThreshold = kStreamThreshold;
    connectionOptions.limits.maxLiteralSize = options_.maxMessageBytes;
    connectionOptions.limits.maxResponseSize = options_.maxResponseBytes;
    connectionOptions.limits.maxElements = kImapMaxResponseValues;
    connectionOptions.literalLimitNote = " (max_message_size plus a margin)";
    connection_ = std::make_unique<net::ImapConnection>(std::move(connectionOptions));
    state_ = State::NotAuthenticated;
    bool preauth = connection_->open();
    if (!preauth) authenticate();
    state_ = State::Authenticated;
    enableExtensions();
}

// One ENABLE for what the server offers and the session wants; a refusal is harmless.
// UTF8=ACCEPT (RFC 6855): a server in UTF-8 mode sends 8-bit headers as stored rather than
// downgrading them; mailbox names are then UTF-8 on the wire, not modified UTF-7.
// QRESYNC (RFC 7162, implies CONDSTORE): SELECT reports HIGHESTMODSEQ and, given a known state,
// the messages expunged since; expunges come as VANISHED instead of EXPUNGE.
void ImapSession::enableExtensions() {
    std::string wanted;
    if (hasCapability("UTF8=ACCEPT")) wanted += " UTF8=ACCEPT";
    if (options_.qresync && hasCapability("QRESYNC")) wanted += " QRESYNC";
    if (wanted.empty()) return;
    run("ENABLE" + wanted, [&](const ImapResponse& response) {
        if (response.keyword() != "ENABLED") return;
        for (const auto& value : response.data) {
            if (value.isAtom("UTF8=ACCEPT")) utf8Mode_ = true;
            if (value.isAtom("QRESYNC")) qresyncEnabled_ = true;
        }
    });
}

void ImapSession::authenticate() {
    using proto::SaslMechanism;
    net::ImapConnection& imap = connection();
    SaslMechanism mechanism = proto::chooseSaslMechanism(options_.sasl, options_.oauth2,
                                                         [&](std::string_view name) { return imap.offersSasl(name); });
    std::string oauthError;
    ImapResponse response = imap.authenticate(mechanism, options_.username, options_.password, &oauthError,
                                              [&](const ImapResponse& untagged) { noteUntagged(untagged); });
    if (response.status == ImapStatus::Ok) return;
    if (mechanism == SaslMechanism::XOAuth2 || mechanism == SaslMechanism::OAuthBearer) {
        if (options_.credentialRefused) options_.credentialRefused();
        std::string why = describe(response);
        if (!oauthError.empty()) why = "the server rejected the access token (" + oauthError + "): " + why;
        throw ImapError(std::string("authentication (AUTHENTICATE ") +
                            (mechanism == SaslMechanism::OAuthBearer ? "OAUTHBEARER" : "XOAUTH2") + ") refused: " + why,
                        true);
    }
    throw ImapError("authentication refused: " + describe(response), true);
}

std::vector<ImapFolder> ImapSession::listFolders() {
    // Where the user's own folders end: LIST also shows other users' folders shared with the user
    // and public ones (Cyrus: "user/bob", "team"), whose mail "*" must neither collect nor delete.
    proto::ImapNamespaces namespaces;
    if (hasCapability("NAMESPACE"))
        run("NAMESPACE", [&](const ImapResponse& response) {  // refused: every folder is the user's
            if (auto parsed = response.namespaces()) namespaces = std::move(*parsed);
        });
    std::vector<ImapFolder> folders;
    std::size_t listedBytes = 0;
    std::string command = hasCapability("SPECIAL-USE") ? "LIST \"\" \"*\" RETURN (SPECIAL-USE)" : "LIST \"\" \"*\"";
    expectOk(
        command, "LIST",
        [&](const ImapResponse& response) {
            auto entry = response.list();
            if (!entry) return;
            listedBytes += entry->name.size() * 2 + sizeof(ImapFolder);
            for (const auto& flag : entry->flags) listedBytes += flag.size() + sizeof(std::string);
            if (folders.size() >= kImapMaxFolders || listedBytes > kImapMaxFolderListBytes)
                fail("server LIST exceeds the limit of " + std::to_string(kImapMaxFolders) + " folders or " +
                         std::to_string(kImapMaxFolderListBytes) + " bytes; refused",
                     proto::FailureKind::Limit);
            ImapFolder folder;
            folder.wireName = entry->name;
            folder.name = utf8Mode_ ? entry->name : proto::modifiedUtf7Decode(entry->name).value_or(entry->name);
            folder.flags = entry->flags;
            folder.delimiter = entry->delimiter;
            folder.othersNamespace = namespaces.othersHold(entry->name);
            folders.push_back(std::move(folder));
        },
        kImapMaxFolders);
    return folders;
}

ImapMailboxState ImapSession::select(const std::string& name, bool readOnly,
                                     const std::optional<ImapKnownState>& known) {
    mailbox_ = ImapMailboxState{};
    vanishedOverflow_ = false;
    uidBySequence_.clear();
    sizeBySequence_.clear();
    std::string wire = utf8Mode_ ? name : proto::modifiedUtf7Encode(name).value_or(name);
    std::string command = std::string(readOnly ? "EXAMINE " : "SELECT ") + net::imapQuoted(wire, utf8Mode_);
    const bool resync = qresyncEnabled_ && known && known->uidValidity != 0 && known->modSeq != 0;
    if (resync)
        command += " (QRESYNC (" + std::to_string(known->uidValidity) + " " + std::to_string(known->modSeq) + "))";
    // With QRESYNC the server also sends a FETCH for each message whose flags changed: at most
    // one per known message, besides the usual few.
    ImapResponse response =
        run(command, {},
            resync ? static_cast<std::size_t>(std::min<std::uint64_t>(known->messages, kImapMaxFolderMessages)) : 0);
    if (response.status != ImapStatus::Ok) {
        state_ = State::Authenticated;
        throw ImapError("cannot open folder '" + net::printable(name) + "': " + describe(response));
    }
    if (mailbox_.uidValidity == 0)
        throw ImapError("server sent no UIDVALIDITY for folder '" + net::printable(name) + "'");
    mailbox_.readOnly = readOnly || (response.code && response.code->is("READ-ONLY"));
    // Resynced only under the UIDVALIDITY it was given (else the server sends no VANISHED) and
    // with mod-sequences kept (HIGHESTMODSEQ).
    mailbox_.resynced =
        resync && mailbox_.uidValidity == known->uidValidity && mailbox_.highestModSeq != 0 && !vanishedOverflow_;
    if (!mailbox_.resynced) mailbox_.vanished.clear();
    state_ = State::Selected;
    return mailbox_;
}

std::string ImapSession::listingItems() const {
    return hasCapability("X-GM-EXT-1") ? "UID RFC822.SIZE FLAGS X-GM-MSGID" : "UID RFC822.SIZE FLAGS";
}

void ImapSession::fetchListing(const std::string& command, std::uint64_t first, std::uint64_t last,
                               std::size_t expected, const std::function<bool(std::uint32_t uid)>& wanted,
                               std::vector<ImapListing>& listing) {
    // Indexed by sequence number - 1; 0 until that number's FETCH arrived. Responses for numbers
    // not asked for, or a second one for the same number, are dropped: a server cannot grow this.
    expectOk(
        command, "FETCH",
        [&](const ImapResponse& response) {
            auto fetch = response.fetch();
            if (!fetch || !fetch->uid || *fetch->uid == 0 || !fetch->rfc822Size) return;
            if (fetch->sequence < first || fetch->sequence > last || fetch->sequence > uidBySequence_.size() ||
                uidBySequence_[fetch->sequence - 1] != 0 || !wanted(*fetch->uid))
                return;
            uidBySequence_[fetch->sequence - 1] = *fetch->uid;
            sizeBySequence_[fetch->sequence - 1] = *fetch->rfc822Size;
            const proto::ImapValue* gmailId = fetch->item("X-GM-MSGID");
            listing.push_back({*fetch->uid, *fetch->rfc822Size, fetch->flags && hasFlag(*fetch->flags, "\\Deleted"),
                               gmailId ? gmailId->asNumber().value_or(0) : 0});
        },
        expected);
}

std::vector<ImapListing> ImapSession::listMessages() {
    std::uint32_t total = mailbox_.exists;
    if (total > kImapMaxFolderMessages)
        throw ImapError(proto::FailureKind::Limit,
                        "folder has " + std::to_string(total) + " messages, above the limit of " +
                            std::to_string(kImapMaxFolderMessages) + " messages listed per folder");
    std::vector<ImapListing> listing;
    listing.reserve(total);
    uidBySequence_.assign(total, 0);
    sizeBySequence_.assign(total, 0);
    for (std::uint64_t first = 1; first <= total; first += options_.listingChunk) {
        std::uint64_t last = std::min<std::uint64_t>(total, first + options_.listingChunk - 1);
        fetchListing(
            "FETCH " + std::to_string(first) + ":" + std::to_string(last) + " (" + listingItems() + ")", first, last,
            last - first + 1, [](std::uint32_t) { return true; }, listing);
    }
    std::sort(listing.begin(), listing.end(), [](const auto& a, const auto& b) { return a.uid < b.uid; });
    listing.erase(
        std::unique(listing.begin(), listing.end(), [](const auto& a, const auto& b) { return a.uid == b.uid; }),
        listing.end());
    return listing;
}

std::vector<ImapListing> ImapSession::listUids(const std::string& uidSet, std::size_t expected,
                                               const std::function<bool(std::uint32_t uid)>& wanted) {
    std::uint32_t total = std::min(mailbox_.exists, kImapMaxFolderMessages);
    if (uidBySequence_.size() < total) {  // keeps what an earlier listing of this folder found
        uidBySequence_.resize(total, 0);
        sizeBySequence_.resize(total, 0);
    }
    std::vector<ImapListing> listing;
    fetchListing("UID FETCH " + uidSet + " (" + listingItems() + ")", 1, uidBySequence_.size(),
                 std::min<std::size_t>(expected, total), wanted, listing);
    std::sort(listing.begin(), listing.end(), [](const auto& a, const auto& b) { return a.uid < b.uid; });
    return listing;
}

namespace {

// Streams big FETCH bodies into a MessageBody. Holds at most the body of the response being read:
// the session takes it or drops it as soon as that response is complete.
class BodySink final : public proto::ImapLiteralSink {
public:
    BodySink(const ImapSession::BodyFactory& makeBody, std::uint64_t maxBytes)
        : makeBody_(makeBody), maxBytes_(maxBytes) {}
    bool begin(const proto::ImapLiteralInfo& info) override {
        if (info.size > maxBytes_) return false;
        current_ = nullptr;
        if (info.messageNumber != 0 && info.key.rfind("BODY[]", 0) == 0) {
            // A second body in one response is counted and not kept: which one is the message?
            if (++bodies_ == 1) {
                body_ = makeBody_();
                current_ = &*body_;
            }
        }
        return true;
    }
    bool data(std::string_view bytes) override {
        if (current_) current_->append(bytes);
        return true;
    }
    void end() override { current_ = nullptr; }
    std::optional<delivery::MessageBody> take() { return std::exchange(body_, std::nullopt); }
    std::size_t bodies() const { return bodies_; }
    // Forgets the response's body (taken or not): called after every response.
    void drop() {
        body_.reset();
        bodies_ = 0;
        current_ = nullptr;
    }

private:
    const ImapSession::BodyFactory& makeBody_;
    std::uint64_t maxBytes_;
    std::optional<delivery::MessageBody> body_;
    std::size_t bodies_ = 0;
    delivery::MessageBody* current_ = nullptr;
};

}  // namespace

void ImapSession::retrieve(const std::vector<std::uint32_t>& uids, const BodyFactory& makeBody,
                           const BodyHandler& handle, const FailureHandler& failed) {
    std::vector<std::string> commands;
    for (std::size_t i = 0; i < uids.size(); i += options_.uidsPerFetch) {
        std::vector<std::uint32_t> group(uids.begin() + i,
                                         uids.begin() + std::min(uids.size(), i + options_.uidsPerFetch));
        for (auto& set : proto::imapSequenceSet(group))
            commands.push_back("UID FETCH " + set + " (UID RFC822.SIZE BODY.PEEK[])");
    }
    // What was asked for, and what has been answered: anything else is dropped, a second answer
    // for the same UID is a lie.
    std::vector<std::uint32_t> requested(uids);
    std::sort(requested.begin(), requested.end());
    std::vector<bool> answered(requested.size(), false);
    auto indexOf = [&](std::uint32_t uid) -> std::optional<std::size_t> {
        auto at = std::lower_bound(requested.begin(), requested.end(), uid);
        if (at == requested.end() || *at != uid) return std::nullopt;
        return static_cast<std::size_t>(at - requested.begin());
    };
    auto reject = [&](std::uint32_t uid, const std::string& why) {
        if (failed) failed(uid, why);
    };
    BodySink sink(makeBody, options_.maxMessageBytes);
    connection().parser().setLiteralSink(&sink);
    struct ResetSink {
        proto::ImapResponseParser& parser;
        ~ResetSink() { parser.setLiteralSink(nullptr); }
    } resetSink{connection().parser()};

    std::deque<std::string> inFlight;
    std::size_t next = 0;
    std::size_t untagged = 0;  // since the last tagged reply
    std::uint64_t dropped = 0;
    bool stopped = false;
    try {
        while (next < commands.size() || !inFlight.empty()) {
            while (!stopped && next < commands.size() && inFlight.size() < options_.fetchesInFlight)
                inFlight.push_back(send(commands[next++]));
            if (inFlight.empty()) break;
            sink.drop();
            ImapResponse response = readResponse();
            if (response.isTagged()) {
                if (!response.isTagged(inFlight.front())) fail("reply with an unexpected tag from the server");
                inFlight.pop_front();
                untagged = 0;
                if (response.status != ImapStatus::Ok) throw ImapError("UID FETCH refused: " + describe(response));
                continue;
            }
            connection().checkUntaggedBudget(++untagged, options_.fetchesInFlight * options_.uidsPerFetch);
            noteUntagged(response);
            auto fetch = response.fetch();
            if (!fetch) continue;  // EXISTS, alerts and the like
            const proto::ImapValue* value = fetch->body();
            auto index = fetch->uid ? indexOf(*fetch->uid) : std::nullopt;
            if (!index) {
                // No UID, or one not asked for: nothing to deliver it as. Flag updates land here too.
                if (value) ++dropped;
                continue;
            }
            if (!value || value->isNil()) continue;
            std::uint32_t uid = *fetch->uid;
            if (answered[*index]) {  // the first one was handled on its own merits
                ++dropped;
                continue;
            }
            answered[*index] = true;
            if (sink.bodies() > 1) {
                reject(uid, "server sent " + std::to_string(sink.bodies()) + " bodies in one FETCH response for UID " +
                                std::to_string(uid) + "; not delivered");
                continue;
            }
            std::uint64_t length = value->literal ? value->literalSize : value->text.size();
            if (!uidBySequence_.empty()) {
                std::uint32_t seq = fetch->sequence;
                if (seq == 0 || seq > uidBySequence_.size() || uidBySequence_[seq - 1] != uid) {
                    reject(uid, "server labelled message " + std::to_string(seq) + " as UID " + std::to_string(uid) +
                                    ", which it listed under another number; not delivered");
                    continue;
                }
                if (length != sizeBySequence_[seq - 1] || (fetch->rfc822Size && *fetch->rfc822Size != length)) {
                    reject(uid, "server sent a body of " + std::to_string(length) + " bytes for UID " +
                                    std::to_string(uid) + ", listed as " + std::to_string(sizeBySequence_[seq - 1]) +
                                    " bytes; not delivered");
                    continue;
                }
            }
            std::optional<delivery::MessageBody> body;
            if (value->streamed) {
                body = sink.take();
            } else {
                body = makeBody();
                body->append(value->text);
            }
            if (!body || stopped) continue;
            body->finish();
            if (!handle(uid, std::move(*body))) stopped = true;
        }
    } catch (...) {
        // Replies to the pipelined commands still due would be read as replies to later ones.
        if (!inFlight.empty() && connection_) {
            connection_->markBroken();
            state_ = State::LoggedOut;
        }
        throw;
    }
    if (dropped)
        spdlog::warn("{}: server sent {} message bodies not asked for (no UID, or another UID); dropped",
                     net::printable(options_.username), dropped);
}

void ImapSession::fetchEach(const std::vector<std::uint32_t>& uids, const std::string& item,
                            const std::string& answerKey,
                            const std::function<void(std::uint32_t uid, const proto::ImapValue& value)>& handle) {
    std::set<std::uint32_t> unanswered(uids.begin(), uids.end());
    for (std::size_t i = 0; i < uids.size(); i += options_.uidsPerFetch) {
        std::vector<std::uint32_t> group(uids.begin() + i,
                                         uids.begin() + std::min(uids.size(), i + options_.uidsPerFetch));
        for (auto& set : proto::imapSequenceSet(group))
            expectOk(
                "UID FETCH " + set + " (UID " + item + ")", "UID FETCH",
                [&](const ImapResponse& response) {
                    auto fetch = response.fetch();
                    // Only the first answer for a UID asked for counts.
                    const proto::ImapValue* value = fetch ? fetch->item(answerKey) : nullptr;
                    if (!value || value->isNil() || !fetch->uid || !unanswered.erase(*fetch->uid)) return;
                    handle(*fetch->uid, *value);
                },
                group.size());
    }
}

void ImapSession::headers(const std::vector<std::uint32_t>& uids,
                          const std::function<void(std::uint32_t uid, const std::string& header)>& handle) {
    constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
    fetchEach(uids, "BODY.PEEK[HEADER]", "BODY[HEADER]", [&](std::uint32_t uid, const proto::ImapValue& value) {
        handle(uid, value.text.substr(0, kMaxHeaderBytes));
    });
}

void ImapSession::gmailLabels(const std::vector<std::uint32_t>& uids,
                              const std::function<void(std::uint32_t uid, const proto::ImapValue& labels)>& handle) {
    fetchEach(uids, "X-GM-LABELS", "X-GM-LABELS", [&](std::uint32_t uid, const proto::ImapValue& value) {
        if (value.isList()) handle(uid, value);
    });
}

bool ImapSession::canDelete() const { return hasCapability("UIDPLUS") || hasCapability("MOVE"); }

bool ImapSession::deleteMessages(const std::vector<std::uint32_t>& uids, const std::string& trashWireName) {
    if (uids.empty()) return true;
    bool uidplus = hasCapability("UIDPLUS");
    bool move = hasCapability("MOVE") && !trashWireName.empty();
    if (!uidplus && !move) return false;
    // Each may answer with a response per UID (FETCH flags, EXPUNGE).
    const std::size_t perUid = uids.size();
    for (const auto& set : proto::imapSequenceSet(uids)) {
        if (uidplus) {
            expectOk("UID STORE " + set + " +FLAGS.SILENT (\\Deleted)", "UID STORE", {}, perUid);
            crashPoint("after-store");
            expectOk("UID EXPUNGE " + set, "UID EXPUNGE", {}, perUid);
        } else {
            expectOk("UID MOVE " + set + " " + net::imapQuoted(trashWireName, utf8Mode_), "UID MOVE", {}, perUid);
        }
    }
    return true;
}

void ImapSession::logout() {
    if (!connection_) return;
    if (!connection_->broken() && connection_->connected() && state_ != State::LoggedOut) {
        state_ = State::LoggedOut;
        try {
            connection_->transport().setTimeout(std::chrono::milliseconds(5'000));
            connection_->expectBye(true);
            run("LOGOUT");
        } catch (const std::exception&) {
        }
    }
    state_ = State::LoggedOut;
    connection_.reset();
}

ImapIdleEnd ImapSession::idle(const std::function<bool(const ImapResponse&)>& onUntagged,
                              const ImapIdleControl& control) {
    if (state_ != State::Selected) throw ImapError("IDLE needs a selected folder");
    if (!hasCapability("IDLE")) throw ImapError("server does not offer IDLE");
    auto stopRequested = [&] { return control.stopRequested && control.stopRequested(); };
    auto deliver = [&](const ImapResponse& response) {
        noteUntagged(response);
        return !onUntagged || onUntagged(response);
    };
    net::Transport& transport = connection().transport();
    const auto normalTimeout = transport.timeout();
    struct RestoreTimeout {
        net::Transport& transport;
        std::chrono::milliseconds timeout;
        ~RestoreTimeout() {
            try {
                transport.setTimeout(timeout);
            } catch (...) {
            }
        }
    } restore{transport, normalTimeout};
    try {
        std::string tag = send("IDLE");
        for (;;) {
            ImapResponse response = readResponse();
            if (response.isContinuation()) {
                if (control.onIdling) control.onIdling();
                break;
            }
            if (response.isTagged(tag)) {
                if (response.status == ImapStatus::Ok) return ImapIdleEnd::Server;
                throw ImapError("IDLE refused: " + describe(response));  // the session stays usable
            }
            if (response.isTagged()) fail("reply with an unknown tag from the server");
            deliver(response);
        }
        ImapIdleEnd end = ImapIdleEnd::Deadline;
        for (;;) {
            if (stopRequested()) {
                end = ImapIdleEnd::Stopped;
                break;
            }
            auto now = std::chrono::steady_clock::now();
            if (now >= control.until) break;
            // Short reads: a timeout here only means "no news", so a stop request or the deadline
            // is honoured within checkEvery. A response cut by it continues in the parser.
            auto left = std::chrono::ceil<std::chrono::milliseconds>(control.until - now);
            transport.setTimeout(std::max(std::chrono::milliseconds(1), std::min(control.checkEvery, left)));
            transport.beginExchange(normalTimeout);  // waiting for news is not a reply that is late
            ImapResponse response;
            try {
                response = readResponse();
            } catch (const net::TransportError& e) {
                if (e.kind() == net::TransportErrorKind::Timeout) continue;
                throw;
            }
            if (response.isTagged(tag)) {  // the server ended the IDLE by itself
                if (response.status == ImapStatus::Ok) return ImapIdleEnd::Server;
                throw ImapError("server ended IDLE: " + describe(response));
            }
            if (response.isTagged()) fail("reply with an unknown tag from the server");
            if (response.isContinuation()) continue;  // a repeated "+ idling" is harmless
            if (!deliver(response)) {
                end = ImapIdleEnd::Handler;
                break;
            }
        }
        transport.setTimeout(normalTimeout);
        connection().sendRaw("DONE\r\n");
        for (;;) {
            ImapResponse response = readResponse();
            if (response.isTagged(tag)) {
                if (response.status != ImapStatus::Ok)
                    throw ImapError("IDLE ended with an error: " + describe(response));
                return end;
            }
            if (response.isTagged()) fail("reply with an unknown tag from the server");
            if (!response.isContinuation()) deliver(response);
        }
    } catch (const ImapError&) {
        throw;
    } catch (...) {
        // A transport failure or a throwing handler: the server may still be in IDLE.
        if (connection_) connection_->markBroken();
        state_ = State::LoggedOut;
        throw;
    }
}

std::vector<std::string> resolveImapFolders(const config::AccountSettings& account,
                                            const std::vector<ImapFolder>& listed) {
    std::vector<std::string> names;
    for (const auto& wanted : account.folders) {
        if (wanted != "*") {
            if (std::find(names.begin(), names.end(), wanted) == names.end()) names.push_back(wanted);
            continue;
        }
        for (const auto& folder : listed)
            if (folder.selectable() && !folder.excludedFromStar() &&
                std::find(names.begin(), names.end(), folder.name) == names.end())
                names.push_back(folder.name);
    }
    return names;
}

bool imapFoldersNeedList(const config::AccountSettings& account) {
    return std::find(account.folders.begin(), account.folders.end(), "*") != account.folders.end();
}

}  // namespace mc::collector
