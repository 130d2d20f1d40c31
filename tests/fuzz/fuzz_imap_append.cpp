// Fuzzes the pure helpers of the IMAP APPEND target (delivery/ImapAppend). The payload is the
// config side -- folder, Gmail's All Mail name and labels, separated by 0x1E -- then 0x1D, then
// server replies. Names from the config must reach the wire as one valid quoted string (7-bit,
// no CR, LF or NUL, quotes and backslashes escaped) that parses back and decodes to the name;
// the plan must keep its promises; every reply a server may send must classify consistently.

#include <algorithm>
#include <string>
#include <vector>

#include "delivery/ImapAppend.hpp"
#include "proto/ImapCommand.hpp"
#include "proto/ImapParser.hpp"
#include "proto/ModifiedUtf7.hpp"
#include "tests/fuzz/FuzzSupport.hpp"

namespace {

using mc::proto::ImapResponse;
using mc::proto::ImapResponseParser;
using mc::proto::ImapStatus;
namespace delivery = mc::delivery;

std::vector<std::string> split(std::string_view text, char separator) {
    std::vector<std::string> parts;
    for (std::size_t start = 0;;) {
        const std::size_t end = text.find(separator, start);
        parts.emplace_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) return parts;
        start = end + 1;
    }
}

// The IMAP values `wire` (one line, no CRLF) parses to as the data of an untagged response.
std::vector<mc::proto::ImapValue> parseWire(const std::string& wire) {
    ImapResponseParser parser;
    const std::string line = "* X " + wire + "\r\n";
    const auto progress = parser.feed(line);
    MC_FUZZ_CHECK(progress.status == ImapResponseParser::Status::Complete);
    MC_FUZZ_CHECK(progress.consumed == line.size());
    ImapResponse response = parser.take();
    MC_FUZZ_CHECK(!response.data.empty());
    response.data.erase(response.data.begin());  // the atom X
    return response.data;
}

// A valid quoted string: 7-bit printable, quoted, only \" and \\ escaped, nothing else special.
void checkQuotedString(const std::string& token) {
    MC_FUZZ_CHECK(token.size() >= 2 && token.front() == '"' && token.back() == '"');
    for (std::size_t i = 1; i + 1 < token.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(token[i]);
        MC_FUZZ_CHECK(c >= 0x20 && c < 0x7f);  // so no CR, LF or NUL either
        if (c == '\\') {
            ++i;
            MC_FUZZ_CHECK(i + 1 < token.size() && (token[i] == '"' || token[i] == '\\'));
        } else {
            MC_FUZZ_CHECK(c != '"');
        }
    }
}

void checkName(const std::string& name) {
    const auto argument = delivery::imapMailboxArgument(name);
    if (!mc::proto::isValidUtf8(name)) {
        MC_FUZZ_CHECK(!argument);
        return;
    }
    const auto encoded = mc::proto::modifiedUtf7Encode(name);
    MC_FUZZ_CHECK(encoded.has_value());
    if (!argument) {
        MC_FUZZ_CHECK(encoded->size() > mc::proto::kImapMaxQuotedLength);
        return;
    }
    checkQuotedString(*argument);
    const auto values = parseWire(*argument);
    MC_FUZZ_CHECK(values.size() == 1 && values[0].isString() && !values[0].literal);
    MC_FUZZ_CHECK(values[0].text == *encoded);
    MC_FUZZ_CHECK(mc::proto::modifiedUtf7Decode(values[0].text) == name);
}

void checkLabelList(const std::vector<std::string>& labels) {
    const auto list = delivery::gmailLabelList(labels);
    const bool allSendable = std::all_of(labels.begin(), labels.end(), [](const std::string& label) {
        return delivery::imapMailboxArgument(label).has_value();
    });
    MC_FUZZ_CHECK(list.has_value() == allSendable);
    if (!list) return;
    MC_FUZZ_CHECK(list->find_first_of(std::string("\r\n\0", 3)) == std::string::npos);
    const auto values = parseWire(*list);
    MC_FUZZ_CHECK(values.size() == 1 && values[0].isList());
    MC_FUZZ_CHECK(values[0].children.size() == labels.size());
    for (std::size_t i = 0; i < labels.size(); ++i)
        MC_FUZZ_CHECK(mc::proto::modifiedUtf7Decode(values[0].children[i].text) == labels[i]);
}

bool sameFolder(const std::string& a, const std::string& b) {
    auto inbox = [](const std::string& name) {
        return name.size() == 5 && std::equal(name.begin(), name.end(), "INBOX",
                                              [](char x, char y) { return (x >= 'a' && x <= 'z' ? x - 32 : x) == y; });
    };
    return a == b || (inbox(a) && inbox(b));
}

void checkPlan(const std::string& folder, const std::vector<std::string>& labels, bool archive, bool gmail,
               const std::string& allMail) {
    const auto plan = delivery::planAppends(folder, labels, archive, gmail, allMail);
    const bool intoFolder = !archive || labels.empty();
    auto noneTwice = [](const std::vector<std::string>& names) {
        for (std::size_t i = 0; i < names.size(); ++i)
            for (std::size_t j = 0; j < i; ++j) MC_FUZZ_CHECK(!sameFolder(names[i], names[j]));
    };
    if (gmail) {
        MC_FUZZ_CHECK(plan.folders == std::vector<std::string>{intoFolder ? folder : allMail});
        noneTwice(plan.gmailLabels);
        for (const auto& label : labels)
            MC_FUZZ_CHECK(std::any_of(plan.gmailLabels.begin(), plan.gmailLabels.end(),
                                      [&](const std::string& l) { return sameFolder(l, label); }));
        MC_FUZZ_CHECK(plan.gmailLabels.size() <= labels.size());
        return;
    }
    MC_FUZZ_CHECK(plan.gmailLabels.empty());
    MC_FUZZ_CHECK(!plan.folders.empty());
    noneTwice(plan.folders);
    for (const auto& name : plan.folders)
        MC_FUZZ_CHECK(name == folder || std::find(labels.begin(), labels.end(), name) != labels.end());
    for (const auto& label : labels)  // every label folder gets the message (`folder`: see below)
        if (!sameFolder(label, folder))
            MC_FUZZ_CHECK(std::any_of(plan.folders.begin(), plan.folders.end(),
                                      [&](const std::string& f) { return sameFolder(f, label); }));
    const bool folderPlanned = std::find(plan.folders.begin(), plan.folders.end(), folder) != plan.folders.end();
    if (intoFolder)
        MC_FUZZ_CHECK(plan.folders.back() == folder);  // `folder` always comes last
    else
        MC_FUZZ_CHECK(!folderPlanned || plan.folders.size() == 1);
}

void checkLiteral(std::uint64_t size, mc::proto::ImapLiteralMode mode) {
    const std::string literal = delivery::appendLiteral(size, mode);
    const bool plus = mode == mc::proto::ImapLiteralMode::LiteralPlus ||
                      (mode == mc::proto::ImapLiteralMode::LiteralMinus && size <= mc::proto::kImapLiteralMinusMax);
    MC_FUZZ_CHECK(literal == "{" + std::to_string(size) + (plus ? "+}" : "}"));
}

void checkReplies(std::string_view stream) {
    ImapResponseParser parser;
    while (!stream.empty()) {
        const auto progress = parser.feed(stream);
        stream.remove_prefix(progress.consumed);
        if (progress.status != ImapResponseParser::Status::Complete) return;
        const ImapResponse reply = parser.take();
        const auto kind = delivery::classifyImapReply(reply);
        using Kind = delivery::ImapReplyKind;
        MC_FUZZ_CHECK((kind == Kind::Ok) == (reply.status == ImapStatus::Ok));
        if (kind == Kind::TryCreate || kind == Kind::Transient)
            MC_FUZZ_CHECK(reply.status == ImapStatus::No && reply.code.has_value());
        if (kind == Kind::TryCreate) MC_FUZZ_CHECK(reply.code->name == "TRYCREATE");
        if (reply.status == ImapStatus::Bad || reply.status == ImapStatus::Bye || reply.status == ImapStatus::None)
            MC_FUZZ_CHECK(kind == Kind::Permanent);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = mc::fuzz::splitInput(data, size);
    const std::size_t boundary = input.payload.find('\x1d');
    const std::string_view config = input.payload.substr(0, boundary);
    const std::string_view replies =
        boundary == std::string_view::npos ? std::string_view() : input.payload.substr(boundary + 1);

    std::vector<std::string> names = split(config, '\x1e');
    const std::string folder = names[0];
    const std::string allMail = names.size() > 1 ? names[1] : "[Gmail]/All Mail";
    const std::vector<std::string> labels(names.begin() + std::min<std::size_t>(names.size(), 2), names.end());

    for (const auto& name : names) checkName(name);
    checkLabelList(labels);
    checkPlan(folder, labels, (input.seed & 1) != 0, (input.seed & 2) != 0, allMail);
    checkLiteral(input.seed * static_cast<std::uint64_t>(input.payload.size() + 1) >> (input.seed % 32),
                 static_cast<mc::proto::ImapLiteralMode>((input.seed >> 2) % 3));
    checkReplies(replies);
    return 0;
}
