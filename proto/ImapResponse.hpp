#pragma once
// IMAP4 (RFC 3501, RFC 9051) responses as a small tree, with typed accessors for what a session
// needs (EXISTS, FETCH, LIST, STATUS, SEARCH/ESEARCH, CAPABILITY, response codes). Built by
// ImapResponseParser (ImapParser.hpp). Pure: no sockets, no throws.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mc::proto {

enum class ImapValueKind { Nil, Atom, Number, String, List };

// One element of a response's data: an atom (flags such as "\Seen" and "\*" included), a number,
// a string (quoted or literal), NIL, or a parenthesised list. A FETCH key such as
// BODY[HEADER.FIELDS (MESSAGE-ID)]<0> is an atom with a section (and an origin).
struct ImapValue {
    ImapValueKind kind = ImapValueKind::Nil;
    std::string text;                 // Atom, Number: as sent; String: the bytes, unescaped
    std::uint64_t number = 0;         // Number
    std::vector<ImapValue> children;  // List: the elements
    // Atom: BODY, BODY.PEEK, BINARY, BINARY.PEEK and BINARY.SIZE may carry "[section]<origin>".
    bool hasSection = false;
    std::vector<ImapValue> section;       // the tokens between the brackets
    std::optional<std::uint64_t> origin;  // "<n>" after the section
    // String: how it was sent.
    bool literal = false;           // as {n}, {n+} or ~{n}
    bool literal8 = false;          // as ~{n} (RFC 3516)
    bool streamed = false;          // the bytes went to the ImapLiteralSink; `text` is empty
    std::uint64_t literalSize = 0;  // literal: its size in bytes (streamed or not)

    bool isNil() const { return kind == ImapValueKind::Nil; }
    bool isList() const { return kind == ImapValueKind::List; }
    bool isString() const { return kind == ImapValueKind::String; }
    bool isNumber() const { return kind == ImapValueKind::Number; }
    // An atom without section equal to `name`, ignoring ASCII case.
    bool isAtom(std::string_view name) const;
    // IMAP "astring": the text of an atom (without section), number or non-streamed string.
    std::optional<std::string_view> asString() const;
    std::optional<std::uint64_t> asNumber() const;
    // A number that fits 32 bits (sequence numbers, UIDs, counts).
    std::optional<std::uint32_t> asNumber32() const;
    // The FETCH item key, upper-cased with single spaces: "UID", "BODY[]", "BODY[]<0>",
    // "BODY[HEADER.FIELDS (MESSAGE-ID)]".
    std::string key() const;
    // IMAP syntax for diagnostics and tests: strings quoted (a literal as "{n}" CRLF bytes),
    // lists parenthesised, streamed literals as "{n}<streamed>".
    std::string render() const;
};

// One range of a sequence set, first <= last ("5" is {5, 5}; "9:7" is {7, 9}).
struct ImapRange {
    std::uint32_t first = 0;
    std::uint32_t last = 0;
    bool operator==(const ImapRange&) const = default;
};
// Parses a sequence set as servers send it ("1:5,7,9:12"); nullopt when malformed, a number is 0
// or beyond 2^32-1, or it contains "*" (which responses never do).
std::optional<std::vector<ImapRange>> parseImapSequenceSet(std::string_view text);

struct ImapCopyUid {  // [COPYUID uidvalidity source-uids destination-uids] (RFC 4315)
    std::uint32_t uidValidity = 0;
    std::vector<ImapRange> source;
    std::vector<ImapRange> destination;
};
struct ImapAppendUid {  // [APPENDUID uidvalidity uids] (RFC 4315; several with MULTIAPPEND)
    std::uint32_t uidValidity = 0;
    std::vector<ImapRange> uids;
};

// "[NAME arguments]" at the start of a status response's text.
struct ImapResponseCode {
    std::string name;               // upper-cased: "UIDVALIDITY", "ALERT", "READ-WRITE", "X-FOO"
    std::string arguments;          // raw text between the name and "]", e.g. "(\Seen \*)"
    std::vector<ImapValue> values;  // `arguments` tokenized; empty when they are not IMAP data

    bool is(std::string_view codeName) const;  // ignoring ASCII case
    // The single numeric argument of UIDVALIDITY, UIDNEXT, UNSEEN, HIGHESTMODSEQ, ...
    std::optional<std::uint64_t> number() const;
    // CAPABILITY: its capabilities (upper-cased); PERMANENTFLAGS, BADCHARSET: the list's atoms;
    // otherwise the atoms among the arguments. Empty when there are none.
    std::vector<std::string> atoms() const;
    std::optional<ImapCopyUid> copyUid() const;      // only for COPYUID with valid arguments
    std::optional<ImapAppendUid> appendUid() const;  // only for APPENDUID with valid arguments
};

enum class ImapResponseKind { Tagged, Untagged, Continuation };
enum class ImapStatus { None, Ok, No, Bad, Bye, Preauth };

// * LIST (flags) "delimiter" name, and LSUB.
struct ImapListEntry {
    std::vector<std::string> flags;  // as sent, e.g. "\HasNoChildren", "\Noselect"
    std::optional<char> delimiter;   // nullopt for NIL (a flat namespace)
    std::string name;                // as sent: modified UTF-7 unless UTF8=ACCEPT is enabled
};

// * NAMESPACE (("" "/")) (("user/" "/")) (("shared/" "/"))   (RFC 2342): the prefixes of the
// user's own folders, of other users' folders shared with the user, and of shared (public)
// folders; each NIL when the server has none.
struct ImapNamespaces {
    std::vector<std::string> personal, otherUsers, shared;  // prefixes, as sent

    // Whether the folder named `wireName` (as LIST gave it) belongs to other users or is shared:
    // the longest prefix it starts with (or is, but for the prefix's trailing delimiter) is one
    // of theirs. INBOX is always the user's own; a name no prefix matches too. Without NAMESPACE
    // (or when it is refused) every folder is the user's own.
    bool othersHold(std::string_view wireName) const;
};

// * STATUS name (MESSAGES 3 UIDNEXT 44 ...)
struct ImapMailboxStatus {
    std::string name;
    std::vector<std::pair<std::string, std::uint64_t>> items;  // upper-cased names, in order
    std::optional<std::uint64_t> get(std::string_view item) const;
    std::optional<std::uint32_t> messages() const;
    std::optional<std::uint32_t> uidNext() const;
    std::optional<std::uint32_t> uidValidity() const;
    std::optional<std::uint32_t> unseen() const;
    std::optional<std::uint32_t> recent() const;
    std::optional<std::uint64_t> highestModseq() const;
};

// * ESEARCH (TAG "A1") UID MIN 2 MAX 9 COUNT 3 ALL 2,8:9   (RFC 4731)
struct ImapEsearch {
    std::string tag;  // empty when the server sent none
    bool uid = false;
    std::optional<std::uint32_t> min;
    std::optional<std::uint32_t> max;
    std::optional<std::uint32_t> count;
    std::optional<std::vector<ImapRange>> all;
    std::optional<std::uint64_t> modseq;
};

// * VANISHED (EARLIER) 41,43:116   (RFC 7162 QRESYNC: expunged messages named by UID; EARLIER:
// those expunged before this SELECT, since the mod-sequence the client gave)
struct ImapVanished {
    bool earlier = false;
    std::vector<ImapRange> uids;
};

// * n FETCH (UID u RFC822.SIZE s FLAGS (...) INTERNALDATE "..." BODY[] {literal} ...)
// The common items are checked and copied; `items` points into the ImapResponse it came from,
// which must outlive it and stay unchanged.
struct ImapFetch {
    std::uint32_t sequence = 0;
    std::optional<std::uint32_t> uid;
    std::optional<std::uint64_t> rfc822Size;
    std::optional<std::vector<std::string>> flags;
    std::optional<std::string> internalDate;
    std::optional<std::uint64_t> modseq;
    std::vector<std::pair<std::string, const ImapValue*>> items;  // key() and value, in order

    // The value of the item whose key() equals `itemKey` ignoring ASCII case, e.g. "BODY[]",
    // "BODY[HEADER.FIELDS (MESSAGE-ID)]"; nullptr when absent.
    const ImapValue* item(std::string_view itemKey) const;
    // The whole message: BODY[], else RFC822, else BINARY[]. A string (check `streamed`: then the
    // bytes went to the ImapLiteralSink) or NIL; nullptr when the response has none of these.
    const ImapValue* body() const;
};

struct ImapResponse {
    ImapResponseKind kind = ImapResponseKind::Untagged;
    std::string tag;                       // Tagged only
    ImapStatus status = ImapStatus::None;  // Tagged: Ok/No/Bad; untagged OK/NO/BAD/BYE/PREAUTH
    std::optional<ImapResponseCode> code;  // status responses: the "[...]" opening the text
    std::string text;                      // status responses: the text; Continuation: all of it
    std::vector<ImapValue> data;           // untagged data responses: everything after "* "

    bool isTagged() const { return kind == ImapResponseKind::Tagged; }
    bool isTagged(std::string_view expectedTag) const;
    bool isUntagged() const { return kind == ImapResponseKind::Untagged; }
    bool isContinuation() const { return kind == ImapResponseKind::Continuation; }
    bool isBye() const { return kind == ImapResponseKind::Untagged && status == ImapStatus::Bye; }
    bool isStatus() const { return status != ImapStatus::None; }
    // Upper-cased: the status ("OK", "BYE", ...) of a status response; for data the first atom
    // after an optional number ("EXISTS" for "* 3 EXISTS", "CAPABILITY", "FETCH"); "" otherwise.
    std::string keyword() const;

    // "* n EXISTS", "* n EXPUNGE" (n > 0), "* n RECENT"; nullopt for anything else.
    std::optional<std::uint32_t> exists() const;
    std::optional<std::uint32_t> expunge() const;
    std::optional<std::uint32_t> recent() const;
    // "* CAPABILITY ..." or a status response with a [CAPABILITY ...] code; upper-cased.
    std::optional<std::vector<std::string>> capabilities() const;
    std::optional<std::vector<std::string>> flags() const;   // "* FLAGS (...)"
    std::optional<ImapListEntry> list() const;               // "* LIST" and "* LSUB"
    std::optional<ImapMailboxStatus> mailboxStatus() const;  // "* STATUS"
    std::optional<ImapNamespaces> namespaces() const;        // "* NAMESPACE"
    // "* SEARCH n..." (a trailing CONDSTORE "(MODSEQ n)" is allowed and ignored).
    std::optional<std::vector<std::uint32_t>> search() const;
    std::optional<ImapEsearch> esearch() const;    // "* ESEARCH"
    std::optional<ImapVanished> vanished() const;  // "* VANISHED [(EARLIER)] uid-set"
    // "* n FETCH (...)"; nullopt when not a FETCH or one of its common items is malformed. The
    // result points into this response, so it cannot be taken from a temporary.
    std::optional<ImapFetch> fetch() const&;
    std::optional<ImapFetch> fetch() const&& = delete;
};

// Case-insensitive search in a capability list, e.g. hasImapCapability(caps, "LITERAL+").
bool hasImapCapability(const std::vector<std::string>& capabilities, std::string_view name);

}  // namespace mc::proto
