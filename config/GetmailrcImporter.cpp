// getmailrc -> mailcollector settings: one file is one account ([retriever]), delivered to its
// [destination] (only MDA_lmtp maps to a target), with the [options] that decide keep and fetch.

#include "config/GetmailrcImporter.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "config/Importers.hpp"
#include "proto/AsciiText.hpp"
#include "proto/Utf8.hpp"

namespace mc::config::importer {

const IniValue* IniSection::find(std::string_view key) const {
    for (const auto& value : values)
        if (value.key == key) return &value;
    return nullptr;
}

const IniSection* IniFile::find(std::string_view name) const {
    for (const auto& section : sections)
        if (section.name == name) return &section;
    return nullptr;
}

namespace {

std::string trim(std::string_view text) {
    std::size_t begin = text.find_first_not_of(" \t\r\f\v");
    if (begin == std::string_view::npos) return "";
    std::size_t end = text.find_last_not_of(" \t\r\f\v");
    return std::string(text.substr(begin, end - begin + 1));
}

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

// One Python string literal at text[pos] (optional u/r prefix); advances pos.
std::optional<std::string> pythonString(std::string_view text, std::size_t& pos) {
    bool raw = false;
    while (pos < text.size() && std::string_view("uUrR").find(text[pos]) != std::string_view::npos)
        raw = raw || text[pos] == 'r' || text[pos] == 'R', ++pos;
    if (pos >= text.size() || (text[pos] != '"' && text[pos] != '\'')) return std::nullopt;
    char quote = text[pos++];
    std::string out;
    while (pos < text.size() && text[pos] != quote) {
        char c = text[pos++];
        if (c == '\n') return std::nullopt;
        if (c != '\\' || raw || pos >= text.size()) {
            out += c;
            if (c == '\\' && raw && pos < text.size()) out += text[pos++];
            continue;
        }
        char e = text[pos++];
        auto hex = [&](std::size_t digits) -> std::optional<unsigned long> {
            if (pos + digits > text.size()) return std::nullopt;
            std::string part(text.substr(pos, digits));
            if (!std::all_of(part.begin(), part.end(), [](unsigned char d) { return std::isxdigit(d); }))
                return std::nullopt;
            pos += digits;
            return std::stoul(part, nullptr, 16);
        };
        switch (e) {
            case 'n':
                out += '\n';
                break;
            case 't':
                out += '\t';
                break;
            case 'r':
                out += '\r';
                break;
            case 'a':
                out += '\a';
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'v':
                out += '\v';
                break;
            case '\\':
            case '\'':
            case '"':
                out += e;
                break;
            case '\n':
                break;
            case 'x':
            case 'u':
            case 'U': {
                auto code = hex(e == 'x' ? 2 : e == 'u' ? 4 : 8);
                if (!code) return std::nullopt;
                proto::appendUtf8(out, static_cast<char32_t>(*code));
                break;
            }
            default:
                if (e >= '0' && e <= '7') {
                    unsigned long code = static_cast<unsigned long>(e - '0');
                    for (int i = 0; i < 2 && pos < text.size() && text[pos] >= '0' && text[pos] <= '7'; ++i)
                        code = code * 8 + static_cast<unsigned long>(text[pos++] - '0');
                    proto::appendUtf8(out, static_cast<char32_t>(code));
                } else {
                    out += '\\';
                    out += e;
                }
        }
    }
    if (pos >= text.size()) return std::nullopt;
    ++pos;
    return out;
}

}  // namespace

std::optional<std::vector<std::string>> parsePythonStrings(std::string_view text) {
    std::size_t pos = 0;
    auto skipSpace = [&] {
        while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    };
    skipSpace();
    if (pos >= text.size() || text[pos] != '(') return std::nullopt;
    ++pos;
    std::vector<std::string> items;
    bool comma = true;  // a comma or the opening parenthesis came last
    for (;;) {
        skipSpace();
        if (pos >= text.size()) return std::nullopt;
        if (text[pos] == ')') {
            ++pos;
            break;
        }
        if (!comma) return std::nullopt;
        auto item = pythonString(text, pos);
        if (!item) return std::nullopt;
        items.push_back(*item);
        skipSpace();
        comma = pos < text.size() && text[pos] == ',';
        if (comma) ++pos;
    }
    skipSpace();
    // ("x") is a string, not a tuple.
    if (pos != text.size() || (items.size() == 1 && !comma)) return std::nullopt;
    return items;
}

IniFile parseIni(const std::string& text) {
    IniFile ini;
    IniValue* current = nullptr;  // the value continuation lines extend
    int number = 0;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        start = end + 1;
        ++number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::string stripped = trim(line);
        if (stripped.empty()) {
            current = nullptr;
            if (end == text.size()) break;
            continue;
        }
        if (stripped[0] == '#' || stripped[0] == ';') continue;
        bool indented = std::isspace(static_cast<unsigned char>(line[0])) != 0;
        if (indented && current) {
            current->value += "\n" + stripped;
            continue;
        }
        auto fail = [&](const std::string& problem) {
            ini.errorLine = number;
            ini.error = problem;
            ini.sections.clear();
            return ini;
        };
        if (stripped.front() == '[') {
            if (stripped.back() != ']') return fail("expected [SECTION]");
            std::string name = stripped.substr(1, stripped.size() - 2);
            if (const IniSection* twice = ini.find(name))
                return fail("section [" + name + "] already started on line " + std::to_string(twice->line));
            ini.sections.push_back({name, number, {}});
            current = nullptr;
            continue;
        }
        if (ini.sections.empty()) return fail("expected a [section] header before any setting");
        std::size_t delimiter = stripped.find_first_of("=:");
        if (delimiter == std::string::npos || delimiter == 0) return fail("expected KEY = VALUE");
        std::string key = lowercase(trim(stripped.substr(0, delimiter)));
        IniSection& section = ini.sections.back();
        if (const IniValue* twice = section.find(key))
            return fail("\"" + key + "\" is set twice in [" + section.name + "] (first on line " +
                        std::to_string(twice->line) + ")");
        section.values.push_back({key, trim(stripped.substr(delimiter + 1)), number});
        current = &section.values.back();
        if (end == text.size()) break;
    }
    return ini;
}

namespace {

// ---- mapping ------------------------------------------------------------------------------

struct RetrieverType {
    const char* protocol;
    bool ssl;
    const char* note;  // nullptr: maps cleanly
};

const std::map<std::string, RetrieverType, std::less<>> kRetrievers = {
    {"SimplePOP3Retriever", {"pop3", false, nullptr}},
    {"SimplePOP3SSLRetriever", {"pop3", true, nullptr}},
    {"BrokenUIDLPOP3Retriever",
     {"pop3", false, "a BrokenUIDL retriever: mailcollector relies on the server's UIDLs (plus sizes)"}},
    {"BrokenUIDLPOP3SSLRetriever",
     {"pop3", true, "a BrokenUIDL retriever: mailcollector relies on the server's UIDLs (plus sizes)"}},
    {"MultidropPOP3Retriever", {"pop3", false, "multidrop: mailcollector delivers everything to one recipient"}},
    {"MultidropPOP3SSLRetriever", {"pop3", true, "multidrop: mailcollector delivers everything to one recipient"}},
    {"MultidropSDPSRetriever", {"pop3", false, "SDPS multidrop: collected as plain POP3, everything to one recipient"}},
    {"SimpleIMAPRetriever", {"imap", false, nullptr}},
    {"SimpleIMAPSSLRetriever", {"imap", true, nullptr}},
    {"MultidropIMAPRetriever", {"imap", false, "multidrop: mailcollector delivers everything to one recipient"}},
    {"MultidropIMAPSSLRetriever", {"imap", true, "multidrop: mailcollector delivers everything to one recipient"}},
};

// Keys whose loss changes nothing that matters: a comment only.
const std::map<std::string, std::string, std::less<>> kHarmless = {
    {"timeout", "mailcollector uses [collector] io_timeout"},
    {"ssl_version", "mailcollector negotiates TLS 1.2 or newer"},
    {"ssl_ciphers", "mailcollector uses the system's TLS defaults"},
    {"use_peek", "mailcollector never changes \\Seen flags"},
    {"record_mailbox", "mailcollector adds X-Mailcollector-Account instead"},
    {"verbose", "mailcollector logs every poll"},
    {"message_log", "mailcollector logs to stderr (the journal under systemd)"},
    {"message_log_syslog", "mailcollector logs to stderr (the journal under systemd)"},
    {"message_log_verbose", "mailcollector logs to stderr (the journal under systemd)"},
    {"logfile", "mailcollector logs to stderr (the journal under systemd)"},
    {"delivered_to", "mailcollector adds its own trace headers"},
    {"received", "mailcollector adds its own Received: line"},
    {"max_messages_per_session", "mailcollector collects everything in one poll"},
    {"max_bytes_per_session", "mailcollector collects everything in one poll"},
    {"fingerprint", "only logs the server's certificate"},
    {"skip_imap_fetch_size", "not needed"},
    {"to_oldmail_on_each_mail", "the ledger records every message as it is delivered"},
    {"delete_dup_msgids", "not needed"},
};

bool pythonBool(const std::string& text, bool& out) {
    std::string value = lowercase(text);
    if (value == "1" || value == "yes" || value == "true" || value == "on") return out = true, true;
    if (value == "0" || value == "no" || value == "false" || value == "off") return out = false, true;
    return false;
}

bool pythonInt(const std::string& text, long long& out) {
    if (text.empty() || text.size() > 18 ||
        !std::all_of(text.begin() + (text[0] == '-' ? 1 : 0), text.end(),
                     [](unsigned char c) { return std::isdigit(c); }) ||
        text == "-")
        return false;
    out = std::stoll(text);
    return true;
}

std::string shellQuote(const std::string& word) {
    bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](unsigned char c) {
        return std::isalnum(c) || std::string_view("@%+=:,./_-").find(static_cast<char>(c)) != std::string_view::npos;
    });
    if (plain) return word;
    std::string out = "'";
    for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// Maps one getmailrc; false with result's error set when the file is not a usable getmailrc.
class FileMapping {
public:
    FileMapping(const std::string& file, const IniFile& ini, ImportResult& result, const ImportOptions& options)
        : file_(file), ini_(ini), result_(result), config_(result.config), options_(options) {}

    bool run(std::vector<std::string>& names, std::vector<TargetWish>& wishes) {
        const IniSection* retriever = ini_.find("retriever");
        const IniSection* destination = ini_.find("destination");
        if (!retriever) return fail(0, "no [retriever] section");
        if (!mapRetriever(*retriever, names)) return false;
        if (!destination) return fail(0, "no [destination] section");
        if (const IniSection* options = ini_.find("options")) {
            if (!mapOptions(*options)) return false;
        } else {
            decideFetch(true, retriever->line);
        }
        TargetWish wish;
        if (!mapDestination(*destination, wish)) return false;
        for (const auto& section : ini_.sections)
            if (section.name != "retriever" && section.name != "destination" && section.name != "options")
                note(section.line,
                     "[" + section.name + "]" +
                         (section.name.rfind("filter", 0) == 0
                              ? ": filters are not supported; mail is delivered unfiltered"
                              : " is not carried over"),
                     true);
        wishes.push_back(std::move(wish));
        config_.accounts.push_back(std::move(account_));
        return true;
    }

private:
    bool fail(int line, const std::string& problem) {
        result_.errorFile = file_;
        result_.errorLine = line;
        result_.error = problem;
        return false;
    }

    void note(int line, const std::string& text, bool warn) {
        account_.comments.push_back(text);
        if (warn) config_.warnings.push_back({file_, line, account_.name + ": " + text});
    }

    void unmapped(const IniValue& value, const std::string& section) {
        auto harmless = kHarmless.find(value.key);
        if (harmless != kHarmless.end())
            note(value.line, value.key + ": " + harmless->second, false);
        else
            note(value.line,
                 "[" + section + "] " + value.key + " has no mailcollector equivalent and was not carried over", true);
    }

    bool boolean(const IniValue& value, bool& out) {
        if (pythonBool(value.value, out)) return true;
        return fail(value.line, value.key + ": expected a boolean (true/false, yes/no, 1/0, on/off)");
    }

    bool integer(const IniValue& value, long long& out) {
        if (pythonInt(value.value, out)) return true;
        return fail(value.line, value.key + ": expected an integer");
    }

    bool mapRetriever(const IniSection& section, std::vector<std::string>& names) {
        const IniValue* type = section.find("type");
        const IniValue* server = section.find("server");
        const IniValue* username = section.find("username");
        if (!type) return fail(section.line, "[retriever] has no type");
        auto kind = kRetrievers.find(type->value);
        if (kind == kRetrievers.end()) return fail(type->line, "unknown retriever type \"" + type->value + "\"");
        if (!server || server->value.empty()) return fail(section.line, "[retriever] has no server");
        if (!username || username->value.empty()) return fail(section.line, "[retriever] has no username");
        account_.host = server->value;
        account_.username = username->value;
        account_.name = accountName(account_.username, account_.host, names);
        names.push_back(account_.name);
        account_.comments.push_back("From " + file_ + " (" + type->value + ")");
        account_.protocol = kind->second.protocol;
        account_.tls = kind->second.ssl ? "implicit" : "starttls";
        if (kind->second.note) note(type->line, kind->second.note, true);
        if (!kind->second.ssl)
            note(type->line,
                 "getmail connected without TLS; mailcollector requires STARTTLS (tls = \"starttls\") and never sends "
                 "a password in the clear",
                 true);
        for (const IniValue& value : section.values)
            if (!mapRetrieverKey(value)) return false;
        if (account_.password.empty() && account_.passwordCommand.empty())
            note(section.line,
                 "no password or password_command (getmail asked for it or read ~/.netrc): set this variable, or use "
                 "password_file or password_command",
                 true);
        return true;
    }

    bool mapRetrieverKey(const IniValue& value) {
        const std::string& key = value.key;
        if (key == "type" || key == "server" || key == "username") return true;
        if (key == "port") {
            long long port = 0;
            if (!integer(value, port)) return false;
            if (port < 1 || port > 65535) return fail(value.line, "port: expected 1 to 65535");
            account_.port = static_cast<int>(port);
        } else if (key == "password") {
            if (isValidUtf8(value.value))
                account_.password = value.value;
            else
                note(value.line,
                     "the password is not valid UTF-8 and cannot be written to TOML: put it in a file and set "
                     "password_file instead of password_env",
                     true);
        } else if (key == "password_command") {
            auto words = parsePythonStrings(value.value);
            if (!words)
                return fail(value.line, "password_command: expected a tuple like (\"/path/to/command\", \"argument\")");
            std::string command;
            for (const auto& word : *words) command += (command.empty() ? "" : " ") + shellQuote(word);
            if (!command.empty()) account_.passwordCommand = command;
        } else if (key == "mailboxes") {
            if (account_.protocol != "imap") {
                note(value.line, "mailboxes is ignored: POP3 has only the INBOX", true);
            } else if (value.value == "ALL") {
                account_.folders = {"*"};
                note(value.line,
                     "mailboxes = ALL: folders = [\"*\"] skips Trash, Junk and Drafts, which getmail collected", true);
            } else {
                auto folders = parsePythonStrings(value.value);
                if (!folders) return fail(value.line, "mailboxes: expected a tuple like (\"INBOX\", \"Sent\") or ALL");
                account_.folders = *folders;
            }
        } else if (key == "ca_certs") {
            account_.caFile = value.value;
        } else if (key == "ssl_fingerprints") {
            auto pins = parsePythonStrings(value.value);
            if (!pins) return fail(value.line, "ssl_fingerprints: expected a tuple of strings");
            if (!pins->empty() && proto::isSha256Fingerprint(pins->front()))
                account_.tlsFingerprint = pins->front();
            else if (!pins->empty())
                note(value.line, "ssl_fingerprints: not a SHA-256 fingerprint; not carried over", true);
            if (pins->size() > 1)
                note(value.line, "ssl_fingerprints lists several; mailcollector pins only the first", true);
        } else if (key == "ssl_cert_hostname") {
            if (lowercase(value.value) != lowercase(account_.host))
                note(value.line,
                     "ssl_cert_hostname \"" + value.value +
                         "\": mailcollector checks the certificate against host; set host to a name the certificate "
                         "carries",
                     true);
        } else if (key == "keyfile" || key == "certfile") {
            note(value.line, "client certificates (keyfile, certfile) are not supported", true);
        } else if (key == "use_xoauth2" || key == "use_apop" || key == "use_cram_md5" || key == "use_kerberos") {
            bool on = false;
            if (!boolean(value, on)) return false;
            if (on && key == "use_xoauth2")
                account_.auth = "xoauth2";
            else if (on)
                note(value.line, key + ": not supported; mailcollector logs in with the password (auth = \"auto\")",
                     true);
        } else {
            unmapped(value, "retriever");
        }
        return true;
    }

    void decideFetch(bool readAll, int line) {
        if (readAll) {
            account_.fetch = "all";
            if (account_.keep)
                note(line,
                     "read_all: everything on the server is collected once, including what getmail already delivered",
                     true);
        } else if (account_.keep) {
            account_.fetch = "new";
            note(line,
                 "fetch = \"new\": getmail already delivered what is on the server (read_all = false); mail present at "
                 "the first poll is skipped, so run getmail one last time before switching",
                 false);
        } else {
            account_.fetch = "all";
        }
    }

    bool mapOptions(const IniSection& section) {
        bool remove = false, readAll = true;
        for (const IniValue& value : section.values) {
            long long number = 0;
            if (value.key == "delete") {
                if (!boolean(value, remove)) return false;
            } else if (value.key == "read_all") {
                if (!boolean(value, readAll)) return false;
            } else if (value.key == "delete_after") {
                if (!integer(value, number)) return false;
                account_.deleteAfterDays = static_cast<int>(std::clamp<long long>(number, 0, 1000000));
            } else if (value.key == "max_message_size") {
                if (!integer(value, number)) return false;
                if (number > 0) account_.maxMessageSize = static_cast<std::uint64_t>(number);
            } else if (value.key == "delete_bigger_than") {
                note(value.line,
                     "delete_bigger_than is not supported: mailcollector never deletes mail it did not deliver", true);
            } else {
                unmapped(value, "options");
            }
        }
        account_.keep = !remove;
        if (remove) account_.deleteAfterDays = 0;
        note(section.line,
             account_.keep ? "keep = true: getmail's default (delete = false)"
                           : "keep = false: delete = true; mailcollector deletes only after the target accepted a "
                             "message and the ledger recorded it",
             false);
        decideFetch(readAll, section.find("read_all") ? section.find("read_all")->line : section.line);
        return true;
    }

    bool mapDestination(const IniSection& section, TargetWish& wish) {
        wish.file = file_;
        wish.line = section.line;
        wish.account = account_.name;
        ImportedTarget& target = wish.target;
        const IniValue* type = section.find("type");
        if (!type) return fail(section.line, "[destination] has no type");
        target.recipient = options_.localUser;
        if (type->value != "MDA_lmtp") {
            std::string where = section.find("path") ? " " + section.find("path")->value : "";
            note(type->line,
                 "getmail delivered to " + type->value + where +
                     "; mailcollector delivers by SMTP or LMTP only: point [target] at the server that stores this "
                     "mailbox",
                 true);
            target.protocol = "lmtp";
            target.port = 24;
            target.tls = "none";
            target.comments.push_back("PLACEHOLDER: getmail delivered to " + type->value + where +
                                      ". Point this at your mail server's LMTP or SMTP service (e.g. Dovecot LMTP).");
            return true;
        }
        target.protocol = "lmtp";
        for (const IniValue& value : section.values) {
            if (value.key == "type") continue;
            if (value.key == "host") {
                target.host = value.value;
            } else if (value.key == "port") {
                long long port = 0;
                if (!integer(value, port)) return false;
                if (port < 1 || port > 65535) return fail(value.line, "port: expected 1 to 65535");
                target.port = static_cast<int>(port);
            } else if (value.key == "override") {
                target.recipient = value.value;
            } else if (value.key == "fallback") {
                note(value.line, "fallback: mailcollector has one recipient (override)", true);
            } else {
                unmapped(value, "destination");
            }
        }
        if (!section.find("override"))
            note(section.line,
                 "no override: getmail used each message's own recipient; mailcollector delivers to recipient = \"" +
                     target.recipient + "\"",
                 true);
        if (!target.host.empty() && target.host[0] == '/') {
            note(section.line, "the LMTP destination is a socket; mailcollector needs a TCP host and port", true);
            target.comments.push_back("PLACEHOLDER: getmail delivered to the socket " + target.host +
                                      "; use the TCP address of that LMTP service.");
            target.host = "localhost";
        }
        if (target.host.empty()) return fail(section.line, "[destination] MDA_lmtp has no host");
        if (target.port == 0) target.port = 24;
        if (isLoopbackHost(target.host))
            target.tls = "none";
        else
            target.comments.push_back("getmail spoke plain LMTP to " + target.host +
                                      "; mailcollector uses STARTTLS to any host but loopback.");
        return true;
    }

    std::string file_;
    const IniFile& ini_;
    ImportResult& result_;
    ImportedConfig& config_;
    const ImportOptions& options_;
    ImportedAccount account_;
};

}  // namespace

ImportResult importGetmailrc(const std::vector<std::pair<std::string, std::string>>& files,
                             const ImportOptions& options) {
    ImportResult result;
    result.config.tool = "getmailrc";
    result.config.header.push_back(
        "getmail ran once per call (from cron?); accounts use mailcollector's default interval, 5m.");
    std::vector<std::string> names;
    std::vector<TargetWish> wishes;
    for (const auto& [file, text] : files) {
        result.config.sources.push_back(file);
        IniFile ini = parseIni(text);
        if (!ini.error.empty()) {
            result.errorFile = file;
            result.errorLine = ini.errorLine;
            result.error = ini.error;
            return result;
        }
        FileMapping mapping(file, ini, result, options);
        if (!mapping.run(names, wishes)) return result;
    }
    chooseTarget(result.config, wishes, options);
    return result;
}

}  // namespace mc::config::importer
