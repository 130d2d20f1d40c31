#include "proto/ImapResponse.hpp"
#include "proto/AsciiText.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace mc::proto {

namespace {

constexpr std::uint64_t kMaxUint32 = std::numeric_limits<std::uint32_t>::max();

// 1..2^32-1 in decimal digits only.
std::optional<std::uint32_t> parseNzNumber32(std::string_view text) {
    if (text.empty() || text.size() > 10) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (value == 0 || value > kMaxUint32) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(value);
}

std::optional<std::uint32_t> nzNumber32(const ImapValue& value) {
    const auto number = value.asNumber32();
    if (!number || *number == 0) {
        return std::nullopt;
    }
    return number;
}

// A list of atoms (flags); numbers count as atoms, since a keyword may be all digits.
std::optional<std::vector<std::string>> atomList(const ImapValue& value) {
    if (!value.isList()) {
        return std::nullopt;
    }
    std::vector<std::string> atoms;
    atoms.reserve(value.children.size());
    for (const ImapValue& child : value.children) {
        if ((child.kind != ImapValueKind::Atom && child.kind != ImapValueKind::Number) || child.hasSection) {
            return std::nullopt;
        }
        atoms.push_back(child.text);
    }
    return atoms;
}

// A sequence set sent as a number ("5") or an atom ("1:5,7").
std::optional<std::vector<ImapRange>> sequenceSetValue(const ImapValue& value) {
    if ((value.kind != ImapValueKind::Atom && value.kind != ImapValueKind::Number) || value.hasSection) {
        return std::nullopt;
    }
    return parseImapSequenceSet(value.text);
}

void appendQuoted(std::string& out, std::string_view text) {
    out.push_back('"');
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    out.push_back('"');
}

void appendRendered(std::string& out, const std::vector<ImapValue>& values) {
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0) {
            out.push_back(' ');
        }
        out += values[i].render();
    }
}

std::string_view statusName(ImapStatus status) {
    switch (status) {
        case ImapStatus::Ok:
            return "OK";
        case ImapStatus::No:
            return "NO";
        case ImapStatus::Bad:
            return "BAD";
        case ImapStatus::Bye:
            return "BYE";
        case ImapStatus::Preauth:
            return "PREAUTH";
        case ImapStatus::None:
            break;
    }
    return "";
}

}  // namespace

// ---- ImapValue ----

bool ImapValue::isAtom(std::string_view name) const {
    return kind == ImapValueKind::Atom && !hasSection && equalsNoCase(text, name);
}

std::optional<std::string_view> ImapValue::asString() const {
    if ((kind == ImapValueKind::Atom && !hasSection) || kind == ImapValueKind::Number ||
        (kind == ImapValueKind::String && !streamed)) {
        return std::string_view(text);
    }
    return std::nullopt;
}

std::optional<std::uint64_t> ImapValue::asNumber() const {
    if (kind != ImapValueKind::Number) {
        return std::nullopt;
    }
    return number;
}

std::optional<std::uint32_t> ImapValue::asNumber32() const {
    if (kind != ImapValueKind::Number || number > kMaxUint32) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(number);
}

std::string ImapValue::key() const { return asciiUpperCopy(render()); }

std::string ImapValue::render() const {
    std::string out;
    switch (kind) {
        case ImapValueKind::Nil:
            return "NIL";
        case ImapValueKind::Number:
            return text.empty() ? std::to_string(number) : text;
        case ImapValueKind::Atom:
            out = text;
            if (hasSection) {
                out.push_back('[');
                appendRendered(out, section);
                out.push_back(']');
            }
            if (origin) {
                out += '<' + std::to_string(*origin) + '>';
            }
            return out;
        case ImapValueKind::String:
            if (streamed) {
                return (literal8 ? "~{" : "{") + std::to_string(literalSize) + "}<streamed>";
            }
            if (literal || text.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
                return (literal8 ? "~{" : "{") + std::to_string(text.size()) + "}\r\n" + text;
            }
            appendQuoted(out, text);
            return out;
        case ImapValueKind::List:
            out.push_back('(');
            appendRendered(out, children);
            out.push_back(')');
            return out;
    }
    return out;
}

// ---- sequence sets ----

std::optional<std::vector<ImapRange>> parseImapSequenceSet(std::string_view text) {
    if (text.empty()) {
        return std::nullopt;
    }
    std::vector<ImapRange> ranges;
    while (true) {
        const std::size_t comma = text.find(',');
        const std::string_view part = text.substr(0, comma);
        const std::size_t colon = part.find(':');
        const auto first = parseNzNumber32(part.substr(0, colon));
        if (!first) {
            return std::nullopt;
        }
        ImapRange range{*first, *first};
        if (colon != std::string_view::npos) {
            const auto last = parseNzNumber32(part.substr(colon + 1));
            if (!last) {
                return std::nullopt;
            }
            range.first = std::min(*first, *last);
            range.last = std::max(*first, *last);
        }
        ranges.push_back(range);
        if (comma == std::string_view::npos) {
            break;
        }
        text.remove_prefix(comma + 1);
    }
    return ranges;
}

// ---- ImapResponseCode ----

bool ImapResponseCode::is(std::string_view codeName) const { return equalsNoCase(name, codeName); }

std::optional<std::uint64_t> ImapResponseCode::number() const {
    if (values.size() != 1) {
        return std::nullopt;
    }
    return values[0].asNumber();
}

std::vector<std::string> ImapResponseCode::atoms() const {
    std::vector<std::string> result;
    const bool capability = is("CAPABILITY");
    for (const ImapValue& value : values) {
        if (value.kind == ImapValueKind::Atom || value.kind == ImapValueKind::Number) {
            result.push_back(capability ? asciiUpperCopy(value.text) : value.text);
        } else if (value.isList() && !capability) {
            for (const ImapValue& child : value.children) {
                if (child.kind == ImapValueKind::Atom || child.kind == ImapValueKind::Number) {
                    result.push_back(child.text);
                }
            }
        }
    }
    return result;
}

std::optional<ImapCopyUid> ImapResponseCode::copyUid() const {
    if (!is("COPYUID") || values.size() != 3) {
        return std::nullopt;
    }
    const auto uidValidity = nzNumber32(values[0]);
    auto source = sequenceSetValue(values[1]);
    auto destination = sequenceSetValue(values[2]);
    if (!uidValidity || !source || !destination) {
        return std::nullopt;
    }
    return ImapCopyUid{*uidValidity, std::move(*source), std::move(*destination)};
}

std::optional<ImapAppendUid> ImapResponseCode::appendUid() const {
    if (!is("APPENDUID") || values.size() != 2) {
        return std::nullopt;
    }
    const auto uidValidity = nzNumber32(values[0]);
    auto uids = sequenceSetValue(values[1]);
    if (!uidValidity || !uids) {
        return std::nullopt;
    }
    return ImapAppendUid{*uidValidity, std::move(*uids)};
}

// ---- ImapMailboxStatus ----

std::optional<std::uint64_t> ImapMailboxStatus::get(std::string_view item) const {
    for (const auto& [name, value] : items) {
        if (equalsNoCase(name, item)) {
            return value;
        }
    }
    return std::nullopt;
}

namespace {

std::optional<std::uint32_t> get32(const ImapMailboxStatus& status, std::string_view item) {
    const auto value = status.get(item);
    if (!value || *value > kMaxUint32) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(*value);
}

}  // namespace

std::optional<std::uint32_t> ImapMailboxStatus::messages() const { return get32(*this, "MESSAGES"); }
std::optional<std::uint32_t> ImapMailboxStatus::uidNext() const { return get32(*this, "UIDNEXT"); }
std::optional<std::uint32_t> ImapMailboxStatus::uidValidity() const { return get32(*this, "UIDVALIDITY"); }
std::optional<std::uint32_t> ImapMailboxStatus::unseen() const { return get32(*this, "UNSEEN"); }
std::optional<std::uint32_t> ImapMailboxStatus::recent() const { return get32(*this, "RECENT"); }
std::optional<std::uint64_t> ImapMailboxStatus::highestModseq() const { return get("HIGHESTMODSEQ"); }

// ---- ImapFetch ----

const ImapValue* ImapFetch::item(std::string_view itemKey) const {
    for (const auto& [key, value] : items) {
        if (equalsNoCase(key, itemKey)) {
            return value;
        }
    }
    return nullptr;
}

const ImapValue* ImapFetch::body() const {
    for (std::string_view key : {"BODY[]", "RFC822", "BINARY[]"}) {
        if (const ImapValue* value = item(key)) {
            return value;
        }
    }
    return nullptr;
}

// ---- ImapResponse ----

bool ImapResponse::isTagged(std::string_view expectedTag) const {
    return kind == ImapResponseKind::Tagged && tag == expectedTag;
}

std::string ImapResponse::keyword() const {
    if (status != ImapStatus::None) {
        return std::string(statusName(status));
    }
    if (kind != ImapResponseKind::Untagged || data.empty()) {
        return "";
    }
    std::size_t index = data[0].isNumber() ? 1 : 0;
    if (index < data.size() && data[index].kind == ImapValueKind::Atom && !data[index].hasSection) {
        return asciiUpperCopy(data[index].text);
    }
    return "";
}

namespace {

std::optional<std::uint32_t> numberedResponse(const ImapResponse& response, std::string_view name) {
    if (response.kind != ImapResponseKind::Untagged || response.status != ImapStatus::None ||
        response.data.size() != 2 || !response.data[1].isAtom(name)) {
        return std::nullopt;
    }
    return response.data[0].asNumber32();
}

bool isData(const ImapResponse& response, std::string_view name) {
    return response.kind == ImapResponseKind::Untagged && response.status == ImapStatus::None &&
           !response.data.empty() && response.data[0].isAtom(name);
}

}  // namespace

std::optional<std::uint32_t> ImapResponse::exists() const { return numberedResponse(*this, "EXISTS"); }

std::optional<std::uint32_t> ImapResponse::expunge() const {
    const auto number = numberedResponse(*this, "EXPUNGE");
    if (!number || *number == 0) {
        return std::nullopt;
    }
    return number;
}

std::optional<std::uint32_t> ImapResponse::recent() const { return numberedResponse(*this, "RECENT"); }

std::optional<std::vector<std::string>> ImapResponse::capabilities() const {
    if (isData(*this, "CAPABILITY")) {
        std::vector<std::string> result;
        for (std::size_t i = 1; i < data.size(); ++i) {
            if ((data[i].kind != ImapValueKind::Atom && data[i].kind != ImapValueKind::Number) || data[i].hasSection) {
                return std::nullopt;
            }
            result.push_back(asciiUpperCopy(data[i].text));
        }
        return result;
    }
    if (status != ImapStatus::None && code && code->is("CAPABILITY")) {
        return code->atoms();
    }
    return std::nullopt;
}

std::optional<std::vector<std::string>> ImapResponse::flags() const {
    if (!isData(*this, "FLAGS") || data.size() != 2) {
        return std::nullopt;
    }
    return atomList(data[1]);
}

std::optional<ImapListEntry> ImapResponse::list() const {
    if ((!isData(*this, "LIST") && !isData(*this, "LSUB")) || data.size() < 4) {
        return std::nullopt;
    }
    ImapListEntry entry;
    auto flags = atomList(data[1]);
    if (!flags) {
        return std::nullopt;
    }
    entry.flags = std::move(*flags);
    const ImapValue& delimiter = data[2];
    if (delimiter.isString() && !delimiter.streamed && delimiter.text.size() == 1) {
        entry.delimiter = delimiter.text[0];
    } else if (!delimiter.isNil()) {
        return std::nullopt;
    }
    const ImapValue& name = data[3];
    if (name.isNil()) {
        entry.name = "NIL";  // an atom that happens to spell NIL is still a name here
    } else if (const auto text = name.asString()) {
        entry.name = std::string(*text);
    } else {
        return std::nullopt;
    }
    return entry;
}

bool ImapNamespaces::othersHold(std::string_view wireName) const {
    if (asciiUpperCopy(wireName) == "INBOX") return false;
    // "user/" is also the folder "user"; "#mhinbox" (a prefix without a delimiter) only itself.
    auto matches = [&](const std::string& prefix) {
        if (wireName.substr(0, prefix.size()) == prefix) return true;
        return !prefix.empty() && std::ispunct(static_cast<unsigned char>(prefix.back())) != 0 &&
               wireName == std::string_view(prefix).substr(0, prefix.size() - 1);
    };
    std::optional<std::size_t> longest;
    bool others = false;
    for (const auto* group : {&personal, &otherUsers, &shared})
        for (const auto& prefix : *group)
            if (matches(prefix) && (!longest || prefix.size() > *longest)) {
                longest = prefix.size();
                others = group != &personal;
            }
    return others;
}

std::optional<ImapNamespaces> ImapResponse::namespaces() const {
    if (!isData(*this, "NAMESPACE") || data.size() < 4) return std::nullopt;
    // NIL, or a list of (prefix delimiter extensions...) lists.
    auto prefixes = [](const ImapValue& value) -> std::optional<std::vector<std::string>> {
        std::vector<std::string> found;
        if (value.isNil()) return found;
        if (!value.isList()) return std::nullopt;
        for (const ImapValue& entry : value.children) {
            if (!entry.isList() || entry.children.empty()) return std::nullopt;
            const auto prefix = entry.children[0].asString();
            if (!prefix) return std::nullopt;
            found.emplace_back(*prefix);
        }
        return found;
    };
    auto personal = prefixes(data[1]), otherUsers = prefixes(data[2]), shared = prefixes(data[3]);
    if (!personal || !otherUsers || !shared) return std::nullopt;
    return ImapNamespaces{std::move(*personal), std::move(*otherUsers), std::move(*shared)};
}

std::optional<ImapMailboxStatus> ImapResponse::mailboxStatus() const {
    if (!isData(*this, "STATUS") || data.size() != 3 || !data[2].isList() || data[2].children.size() % 2 != 0) {
        return std::nullopt;
    }
    ImapMailboxStatus status;
    if (data[1].isNil()) {
        status.name = "NIL";
    } else if (const auto name = data[1].asString()) {
        status.name = std::string(*name);
    } else {
        return std::nullopt;
    }
    const auto& items = data[2].children;
    for (std::size_t i = 0; i < items.size(); i += 2) {
        const auto value = items[i + 1].asNumber();
        if (items[i].kind != ImapValueKind::Atom || items[i].hasSection || !value) {
            return std::nullopt;
        }
        status.items.emplace_back(asciiUpperCopy(items[i].text), *value);
    }
    return status;
}

std::optional<std::vector<std::uint32_t>> ImapResponse::search() const {
    if (!isData(*this, "SEARCH")) {
        return std::nullopt;
    }
    std::vector<std::uint32_t> numbers;
    numbers.reserve(data.size() - 1);
    for (std::size_t i = 1; i < data.size(); ++i) {
        if (i + 1 == data.size() && data[i].isList()) {
            const auto& modseq = data[i].children;  // CONDSTORE: "(MODSEQ n)"
            if (modseq.size() != 2 || !modseq[0].isAtom("MODSEQ") || !modseq[1].isNumber()) {
                return std::nullopt;
            }
            break;
        }
        const auto number = nzNumber32(data[i]);
        if (!number) {
            return std::nullopt;
        }
        numbers.push_back(*number);
    }
    return numbers;
}

std::optional<ImapVanished> ImapResponse::vanished() const {
    if (!isData(*this, "VANISHED")) {
        return std::nullopt;
    }
    ImapVanished result;
    std::size_t at = 1;
    if (at < data.size() && data[at].isList()) {
        if (data[at].children.size() != 1 || !data[at].children[0].isAtom("EARLIER")) {
            return std::nullopt;
        }
        result.earlier = true;
        ++at;
    }
    if (at + 1 != data.size()) {
        return std::nullopt;
    }
    auto uids = sequenceSetValue(data[at]);
    if (!uids) {
        return std::nullopt;
    }
    result.uids = std::move(*uids);
    return result;
}

std::optional<ImapEsearch> ImapResponse::esearch() const {
    if (!isData(*this, "ESEARCH")) {
        return std::nullopt;
    }
    ImapEsearch result;
    std::size_t i = 1;
    if (i < data.size() && data[i].isList()) {
        const auto& correlator = data[i].children;
        if (correlator.size() != 2 || !correlator[0].isAtom("TAG")) {
            return std::nullopt;
        }
        const auto tag = correlator[1].asString();
        if (!tag) {
            return std::nullopt;
        }
        result.tag = std::string(*tag);
        ++i;
    }
    if (i < data.size() && data[i].isAtom("UID")) {
        result.uid = true;
        ++i;
    }
    for (; i < data.size(); i += 2) {
        if (i + 1 >= data.size() || data[i].kind != ImapValueKind::Atom || data[i].hasSection) {
            return std::nullopt;
        }
        const ImapValue& name = data[i];
        const ImapValue& value = data[i + 1];
        if (name.isAtom("MIN") || name.isAtom("MAX")) {
            const auto number = nzNumber32(value);
            if (!number) {
                return std::nullopt;
            }
            (name.isAtom("MIN") ? result.min : result.max) = number;
        } else if (name.isAtom("COUNT")) {
            result.count = value.asNumber32();
            if (!result.count) {
                return std::nullopt;
            }
        } else if (name.isAtom("ALL")) {
            result.all = sequenceSetValue(value);
            if (!result.all) {
                return std::nullopt;
            }
        } else if (name.isAtom("MODSEQ")) {
            result.modseq = value.asNumber();
            if (!result.modseq) {
                return std::nullopt;
            }
        }
        // Other return data (PARTIAL, RELEVANCY, ...) is skipped: one value each.
    }
    return result;
}

std::optional<ImapFetch> ImapResponse::fetch() const& {
    if (kind != ImapResponseKind::Untagged || status != ImapStatus::None || data.size() != 3 ||
        !data[1].isAtom("FETCH") || !data[2].isList() || data[2].children.size() % 2 != 0) {
        return std::nullopt;
    }
    const auto sequence = nzNumber32(data[0]);
    if (!sequence) {
        return std::nullopt;
    }
    ImapFetch fetch;
    fetch.sequence = *sequence;
    const auto& items = data[2].children;
    fetch.items.reserve(items.size() / 2);
    for (std::size_t i = 0; i < items.size(); i += 2) {
        const ImapValue& name = items[i];
        const ImapValue& value = items[i + 1];
        if (name.kind != ImapValueKind::Atom) {
            return std::nullopt;
        }
        std::string key = name.key();
        if (key == "UID") {
            fetch.uid = nzNumber32(value);
            if (!fetch.uid) {
                return std::nullopt;
            }
        } else if (key == "RFC822.SIZE") {
            fetch.rfc822Size = value.asNumber();
            if (!fetch.rfc822Size) {
                return std::nullopt;
            }
        } else if (key == "FLAGS") {
            fetch.flags = atomList(value);
            if (!fetch.flags) {
                return std::nullopt;
            }
        } else if (key == "INTERNALDATE") {
            if (!value.isString() || value.streamed) {
                return std::nullopt;
            }
            fetch.internalDate = value.text;
        } else if (key == "MODSEQ") {
            if (!value.isList() || value.children.size() != 1 || !value.children[0].isNumber()) {
                return std::nullopt;
            }
            fetch.modseq = value.children[0].number;
        } else if ((name.hasSection && key.rfind("BINARY.SIZE[", 0) != 0) || key == "RFC822" ||
                   key == "RFC822.HEADER" || key == "RFC822.TEXT") {
            // Message data: a string (perhaps streamed) or NIL.
            if (!value.isString() && !value.isNil()) {
                return std::nullopt;
            }
        }
        fetch.items.emplace_back(std::move(key), &value);
    }
    return fetch;
}

bool hasImapCapability(const std::vector<std::string>& capabilities, std::string_view name) {
    for (const std::string& capability : capabilities) {
        if (equalsNoCase(capability, name)) {
            return true;
        }
    }
    return false;
}

}  // namespace mc::proto
