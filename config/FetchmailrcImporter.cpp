// fetchmailrc -> mailcollector settings. The lexer follows fetchmail's rcfile_l.l (keywords are
// case-sensitive; after user/is/to/=/password the next bare word is a name even if it looks like a
// keyword; a quoted string or a bare word may hold fetchmail's escapes), the parser its grammar
// (server options, then users, then user options; `defaults` applies to the entries after it).

#include "config/FetchmailrcImporter.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <string_view>

#include "config/Importers.hpp"

namespace mc::config::importer {

namespace {

// ---- lexer --------------------------------------------------------------------------------

struct Token {
    enum class Kind { Keyword, String, Number, Map, End };
    Kind kind = Kind::End;
    std::string text;  // keywords: canonical spelling
    int line = 0;
};

const std::map<std::string, std::string, std::less<>>& keywords() {
    static const std::map<std::string, std::string, std::less<>> table = [] {
        std::map<std::string, std::string, std::less<>> t;
        for (const char* word : {"set",
                                 "logfile",
                                 "idfile",
                                 "pidfile",
                                 "daemon",
                                 "syslog",
                                 "invisible",
                                 "showdots",
                                 "postmaster",
                                 "bouncemail",
                                 "spambounce",
                                 "softbounce",
                                 "warnings",
                                 "tracepolls",
                                 "defaults",
                                 "poll",
                                 "skip",
                                 "via",
                                 "aka",
                                 "localdomains",
                                 "protocol",
                                 "service",
                                 "port",
                                 "interval",
                                 "auth",
                                 "timeout",
                                 "idletimeout",
                                 "envelope",
                                 "qvirtual",
                                 "principal",
                                 "esmtpname",
                                 "esmtppassword",
                                 "bad-header",
                                 "accept",
                                 "reject",
                                 "user",
                                 "password",
                                 "folder",
                                 "smtphost",
                                 "fetchdomains",
                                 "smtpaddress",
                                 "smtpname",
                                 "antispam",
                                 "mda",
                                 "bsmtp",
                                 "lmtp",
                                 "preconnect",
                                 "postconnect",
                                 "interface",
                                 "monitor",
                                 "plugin",
                                 "plugout",
                                 "batchlimit",
                                 "fetchlimit",
                                 "fetchsizelimit",
                                 "fastuidl",
                                 "expunge",
                                 "properties",
                                 "is",
                                 "here",
                                 "there",
                                 "to",
                                 "no",
                                 "keep",
                                 "flush",
                                 "limitflush",
                                 "fetchall",
                                 "rewrite",
                                 "forcecr",
                                 "stripcr",
                                 "pass8bits",
                                 "dropstatus",
                                 "dropdelivered",
                                 "mimedecode",
                                 "idle",
                                 "forceidle",
                                 "dns",
                                 "uidl",
                                 "ssl",
                                 "sslkey",
                                 "sslcert",
                                 "sslproto",
                                 "sslcertck",
                                 "sslcertfile",
                                 "sslcertpath",
                                 "sslcommonname",
                                 "sslfingerprint",
                                 "checkalias",
                                 "limit"})
            t[word] = word;
        for (auto [alias, name] :
             std::initializer_list<std::pair<const char*, const char*>>{{"server", "poll"},
                                                                        {"local", "localdomains"},
                                                                        {"proto", "protocol"},
                                                                        {"preauth", "auth"},
                                                                        {"preauthenticate", "auth"},
                                                                        {"authenticate", "auth"},
                                                                        {"username", "user"},
                                                                        {"pass", "password"},
                                                                        {"folders", "folder"},
                                                                        {"smtp", "smtphost"},
                                                                        {"pre", "preconnect"},
                                                                        {"post", "postconnect"},
                                                                        {"pass8", "pass8bits"},
                                                                        {"mimedec", "mimedecode"}})
            t[alias] = name;
        // Authentication types and protocol names: kept as "auth:NAME" / "proto:NAME".
        for (const char* type : {"any", "gssapi", "kerberos", "kerberos_v4", "kerberos4", "kerberos_v5", "kerberos5",
                                 "ssh", "implicit", "external", "otp", "opie", "cram", "cram-md5", "msn", "ntlm"})
            t[type] = std::string("auth:") + type;
        for (const char* proto : {"auto", "pop2", "sdps", "pop3", "imap", "apop", "rpop", "etrn", "odmr", "kpop"}) {
            std::string upper(proto);
            std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
            t[proto] = t[upper] = std::string("proto:") + proto;
        }
        return t;
    }();
    return table;
}

bool isNoise(std::string_view word) {
    return word == "with" || word == "and" || word == "has" || word == "wants" || word == "options";
}

// `nokeep` is `no keep` (fetchmail's lexer splits these).
bool isJoinedNo(std::string_view word) {
    static const std::set<std::string, std::less<>> joined = {
        "nobouncemail", "nouidl",          "nocheckalias", "nodns",        "noenvelope",   "nokeep",  "noflush",
        "nolimitflush", "nofetchall",      "norewrite",    "noforcecr",    "nostripcr",    "nopass8", "nopass8bits",
        "nodropstatus", "nodropdelivered", "nomimedec",    "nomimedecode", "nospambounce", "noidle",  "noforceidle"};
    return joined.count(word) != 0;
}

bool isNumber(std::string_view word) {
    std::size_t start = !word.empty() && word[0] == '-' ? 1 : 0;
    return word.size() > start &&
           std::all_of(word.begin() + start, word.end(), [](unsigned char c) { return std::isdigit(c); });
}

// fetchmail's escapes(): \n \t \b \r \\, \xHH, \0ooo (octal, the 0 counted), \nnn (decimal),
// backslash-newline joins lines, any other \c is c. A NUL ends the string, as in C.
std::string unescape(std::string_view in) {
    std::string out;
    auto digitValue = [](char c, int base) {
        int v = std::isdigit(static_cast<unsigned char>(c))    ? c - '0'
                : std::isxdigit(static_cast<unsigned char>(c)) ? std::tolower(c) - 'a' + 10
                                                               : 99;
        return v < base ? v : -1;
    };
    for (std::size_t i = 0; i < in.size();) {
        int value = 0;
        if (in[i] == '\\' && i + 1 < in.size() &&
            std::string_view("0123456789xX").find(in[i + 1]) != std::string_view::npos) {
            ++i;
            int base = 10;
            if (in[i] == 'x' || in[i] == 'X')
                base = 16, ++i;
            else if (in[i] == '0')
                base = 8;
            for (int count = 0; i < in.size() && count < (base == 16 ? 2 : 3); ++count, ++i) {
                int digit = digitValue(in[i], base);
                if (digit < 0) break;
                value = value * base + digit;
            }
        } else if (in[i] == '\\') {
            if (i + 1 >= in.size()) break;
            const auto c = static_cast<unsigned char>(in[i + 1]);  // \<byte 0x80-0xFF> is that byte
            i += 2;
            if (c == '\n') continue;
            value = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'b' ? '\b' : c == 'r' ? '\r' : c;
        } else {
            value = static_cast<unsigned char>(in[i++]);
        }
        if ((value & 0xFF) == 0) break;
        out += static_cast<char>(value & 0xFF);
    }
    return out;
}

class Lexer {
public:
    explicit Lexer(const std::string& text) : text_(text) {}

    // All tokens, or false with error/errorLine set.
    bool run(std::vector<Token>& tokens) {
        while (pos_ < text_.size()) {
            char c = text_[pos_];
            if (c == '\n') {
                ++line_, ++pos_;
            } else if (c == ' ' || c == '\t' || c == '\r' || c == ';' || c == ':' || c == ',') {
                ++pos_;
            } else if (c == '\\' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') {
                ++line_, pos_ += 2;
            } else if (c == '#') {
                pos_ = std::min(text_.find('\n', pos_), text_.size());
            } else if (c == '=') {
                tokens.push_back({Token::Kind::Map, "=", line_});
                state_ = State::Name;
                ++pos_;
            } else if (!word(tokens)) {
                return false;
            }
        }
        tokens.push_back({Token::Kind::End, "", line_});
        return true;
    }

    int errorLine = 0;
    std::string error;

private:
    enum class State { Initial, Name, Auth };

    bool word(std::vector<Token>& tokens) {
        std::size_t end = text_.find_first_of("=;:, \t\r\n", pos_);
        if (end == std::string::npos) end = text_.size();
        char quote = text_[pos_];
        if (quote == '"' || quote == '\'') {
            std::size_t close = text_.find(quote, pos_ + 1);
            if (close == std::string::npos) {
                errorLine = line_;
                error = "unterminated quoted string";
                return false;
            }
            if (close + 1 >= end) {  // the longer match wins, as in flex
                std::string_view body(text_.data() + pos_ + 1, close - pos_ - 1);
                tokens.push_back({Token::Kind::String, unescape(body), line_});
                line_ += static_cast<int>(std::count(body.begin(), body.end(), '\n'));
                state_ = State::Initial;
                pos_ = close + 1;
                return true;
            }
        }
        std::string_view word(text_.data() + pos_, end - pos_);
        pos_ = end;
        classify(word, tokens);
        return true;
    }

    void classify(std::string_view word, std::vector<Token>& tokens) {
        if (state_ == State::Name) {
            tokens.push_back({Token::Kind::String, unescape(word), line_});
            state_ = State::Initial;
            return;
        }
        if (state_ == State::Auth && word == "password") {
            tokens.push_back({Token::Kind::Keyword, "auth:password", line_});
            state_ = State::Initial;
            return;
        }
        if (isNoise(word)) return;
        if (isJoinedNo(word)) {
            tokens.push_back({Token::Kind::Keyword, "no", line_});
            word.remove_prefix(2);
        }
        auto keyword = keywords().find(word);
        if (keyword != keywords().end()) {
            const std::string& name = keyword->second;
            tokens.push_back({Token::Kind::Keyword, name, line_});
            if (name == "user" || name == "is" || name == "to" || name == "password")
                state_ = State::Name;
            else if (name == "auth")
                state_ = State::Auth;
            else if (name.rfind("auth:", 0) == 0)
                state_ = State::Initial;
            return;
        }
        if (isNumber(word))
            tokens.push_back({Token::Kind::Number, std::string(word), line_});
        else
            tokens.push_back({Token::Kind::String, unescape(word), line_});
    }

    const std::string& text_;
    std::size_t pos_ = 0;
    int line_ = 1;
    State state_ = State::Initial;
};

// ---- parser -------------------------------------------------------------------------------

enum class Arg { None, String, Number, Strings, Numbers, Proto, AuthType, BadHeader, Envelope };

struct OptionSpec {
    Arg arg;
    bool negatable;
};

const std::map<std::string, OptionSpec, std::less<>> kServerOptions = {
    {"via", {Arg::String, false}},           {"aka", {Arg::Strings, false}},
    {"localdomains", {Arg::Strings, false}}, {"protocol", {Arg::Proto, false}},
    {"principal", {Arg::String, false}},     {"esmtpname", {Arg::String, false}},
    {"esmtppassword", {Arg::String, false}}, {"uidl", {Arg::None, true}},
    {"checkalias", {Arg::None, true}},       {"service", {Arg::String, false}},
    {"port", {Arg::Number, false}},          {"interval", {Arg::Number, false}},
    {"auth", {Arg::AuthType, false}},        {"timeout", {Arg::Number, false}},
    {"idletimeout", {Arg::Number, false}},   {"envelope", {Arg::Envelope, true}},
    {"qvirtual", {Arg::String, false}},      {"interface", {Arg::String, false}},
    {"monitor", {Arg::String, false}},       {"plugin", {Arg::String, false}},
    {"plugout", {Arg::String, false}},       {"dns", {Arg::None, true}},
    {"tracepolls", {Arg::None, true}},       {"bad-header", {Arg::BadHeader, false}},
};

const std::map<std::string, OptionSpec, std::less<>> kUserOptions = {
    {"password", {Arg::String, false}},
    {"folder", {Arg::Strings, false}},
    {"smtphost", {Arg::Strings, false}},
    {"fetchdomains", {Arg::Strings, false}},
    {"smtpaddress", {Arg::String, false}},
    {"smtpname", {Arg::String, false}},
    {"antispam", {Arg::Numbers, false}},
    {"mda", {Arg::String, false}},
    {"bsmtp", {Arg::String, false}},
    {"lmtp", {Arg::None, false}},
    {"preconnect", {Arg::String, false}},
    {"postconnect", {Arg::String, false}},
    {"keep", {Arg::None, true}},
    {"flush", {Arg::None, true}},
    {"limitflush", {Arg::None, true}},
    {"fetchall", {Arg::None, true}},
    {"rewrite", {Arg::None, true}},
    {"forcecr", {Arg::None, true}},
    {"stripcr", {Arg::None, true}},
    {"pass8bits", {Arg::None, true}},
    {"dropstatus", {Arg::None, true}},
    {"dropdelivered", {Arg::None, true}},
    {"mimedecode", {Arg::None, true}},
    {"idle", {Arg::None, true}},
    {"forceidle", {Arg::None, true}},
    {"ssl", {Arg::None, true}},
    {"sslcertck", {Arg::None, true}},
    {"sslkey", {Arg::String, false}},
    {"sslcert", {Arg::String, false}},
    {"sslproto", {Arg::String, false}},
    {"sslcertfile", {Arg::String, false}},
    {"sslcertpath", {Arg::String, false}},
    {"sslcommonname", {Arg::String, false}},
    {"sslfingerprint", {Arg::String, false}},
    {"limit", {Arg::Number, false}},
    {"warnings", {Arg::Number, false}},
    {"fetchlimit", {Arg::Number, false}},
    {"fetchsizelimit", {Arg::Number, false}},
    {"fastuidl", {Arg::Number, false}},
    {"batchlimit", {Arg::Number, false}},
    {"expunge", {Arg::Number, false}},
    {"properties", {Arg::String, false}},
};

const std::map<std::string, Arg, std::less<>> kGlobals = {
    {"logfile", Arg::String},    {"idfile", Arg::String}, {"pidfile", Arg::String},  {"postmaster", Arg::String},
    {"properties", Arg::String}, {"daemon", Arg::Number}, {"bouncemail", Arg::None}, {"spambounce", Arg::None},
    {"softbounce", Arg::None},   {"syslog", Arg::None},   {"invisible", Arg::None},  {"showdots", Arg::None},
};

class Parser {
public:
    explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

    // Fills rc; false on the first syntax error (rc.error, rc.errorLine).
    bool run(Fetchmailrc& rc) {
        rc_ = &rc;
        while (peek().kind != Token::Kind::End) {
            if (isKeyword("set")) {
                if (!parseSet()) return false;
            } else if (isKeyword("poll") || isKeyword("skip") || isKeyword("defaults")) {
                if (!parseEntry()) return false;
            } else {
                return fail("expected set, poll, skip or defaults, found " + describe(peek()));
            }
        }
        return true;
    }

private:
    const Token& peek(std::size_t ahead = 0) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
    const Token& next() {
        const Token& token = peek();
        if (pos_ < tokens_.size() - 1) ++pos_;
        return token;
    }
    bool isKeyword(std::string_view word, std::size_t ahead = 0) const {
        return peek(ahead).kind == Token::Kind::Keyword && peek(ahead).text == word;
    }

    // Never the text of a string: it may be a password.
    static std::string describe(const Token& token) {
        switch (token.kind) {
            case Token::Kind::Keyword: {
                std::string text = token.text.substr(token.text.find(':') + 1);
                return "keyword '" + text + "'";
            }
            case Token::Kind::String:
                return "a string";
            case Token::Kind::Number:
                return "a number";
            case Token::Kind::Map:
                return "'='";
            case Token::Kind::End:
                return "the end of the file";
        }
        return "?";
    }

    bool fail(const std::string& problem, int line = 0) {
        rc_->errorLine = line ? line : peek().line;
        rc_->error = problem;
        return false;
    }

    bool expectString(const std::string& after, std::string& out) {
        const Token& token = peek();
        if (token.kind != Token::Kind::String && token.kind != Token::Kind::Number)
            return fail("expected a name after '" + after + "', found " + describe(token));
        out = next().text;
        return true;
    }

    bool expectNumber(const std::string& after, std::string& out) {
        if (peek().kind != Token::Kind::Number)
            return fail("expected a number after '" + after + "', found " + describe(peek()));
        out = next().text;
        return true;
    }

    // The argument of an option, by its spec.
    bool parseArg(Arg arg, RcOption& option) {
        std::string value;
        switch (arg) {
            case Arg::None:
                return true;
            case Arg::String:
                if (!expectString(option.name, value)) return false;
                option.values.push_back(value);
                return true;
            case Arg::Number:
                if (!expectNumber(option.name, value)) return false;
                option.values.push_back(value);
                return true;
            case Arg::Strings:
                if (!expectString(option.name, value)) return false;
                option.values.push_back(value);
                while (peek().kind == Token::Kind::String) option.values.push_back(next().text);
                return true;
            case Arg::Numbers:
                if (!expectNumber(option.name, value)) return false;
                option.values.push_back(value);
                while (peek().kind == Token::Kind::Number) option.values.push_back(next().text);
                return true;
            case Arg::Proto:
            case Arg::AuthType: {
                std::string prefix = arg == Arg::Proto ? "proto:" : "auth:";
                if (peek().kind != Token::Kind::Keyword || peek().text.rfind(prefix, 0) != 0)
                    return fail("unknown " + std::string(arg == Arg::Proto ? "protocol" : "authentication type") +
                                " after '" + option.name + "'");
                option.values.push_back(next().text.substr(prefix.size()));
                return true;
            }
            case Arg::BadHeader:
                if (!isKeyword("accept") && !isKeyword("reject"))
                    return fail("expected accept or reject after 'bad-header'");
                option.values.push_back(next().text);
                return true;
            case Arg::Envelope:
                if (option.negated) return true;
                if (peek().kind == Token::Kind::Number) option.values.push_back(next().text);
                if (!expectString(option.name, value)) return false;
                option.values.push_back(value);
                return true;
        }
        return true;
    }

    // Whether the next tokens start an option of `specs` (with `no` in front if negatable).
    const OptionSpec* optionAhead(const std::map<std::string, OptionSpec, std::less<>>& specs) const {
        std::size_t ahead = isKeyword("no") ? 1 : 0;
        if (peek(ahead).kind != Token::Kind::Keyword) return nullptr;
        auto found = specs.find(peek(ahead).text);
        if (found == specs.end() || (ahead && !found->second.negatable)) return nullptr;
        return &found->second;
    }

    bool parseOption(const std::map<std::string, OptionSpec, std::less<>>& specs, std::vector<RcOption>& into) {
        const OptionSpec* spec = optionAhead(specs);
        RcOption option;
        option.line = peek().line;
        if (isKeyword("no")) next(), option.negated = true;
        option.name = next().text;
        if (!parseArg(spec->arg, option)) return false;
        into.push_back(std::move(option));
        return true;
    }

    bool parseSet() {
        int line = next().line;
        bool negated = isKeyword("no");
        if (negated) next();
        auto global = peek().kind == Token::Kind::Keyword ? kGlobals.find(peek().text) : kGlobals.end();
        if (global == kGlobals.end()) return fail("unknown global option after 'set': " + describe(peek()));
        if (negated && global->second != Arg::None)
            return fail("'set no' takes bouncemail, spambounce, softbounce, syslog, invisible or showdots");
        RcOption option{next().text, negated, {}, line};
        if (global->second != Arg::None && peek().kind == Token::Kind::Map) next();
        if (!parseArg(global->second, option)) return false;
        rc_->globals.push_back(std::move(option));
        return true;
    }

    // NAME [= NAME]; "*" stands for "pass every other name through".
    bool parseMapping(std::vector<std::string>& names) {
        std::string name;
        if (!expectString("is", name)) return false;
        if (peek().kind == Token::Kind::Map) {
            next();
            std::string local;
            if (!expectString("=", local)) return false;
            name += "=" + local;
        }
        names.push_back(name);
        return true;
    }

    bool parseUserDef(RcUser& user) {
        user.line = next().line;  // `user`
        std::vector<std::string> names;
        if (!parseMapping(names)) return false;
        if (peek().kind == Token::Kind::String || names[0].find('=') != std::string::npos) {
            while (peek().kind == Token::Kind::String)
                if (!parseMapping(names)) return false;
            if (!isKeyword("here")) return fail("expected 'here' after the local names of 'user'");
        }
        if (isKeyword("here")) {
            next();
            user.localNames = names;
        } else {
            if (isKeyword("there")) next();
            user.remote = names[0];
        }
        return true;
    }

    bool parseUserOptions(RcUser& user) {
        for (;;) {
            if (isKeyword("is") || isKeyword("to")) {
                next();
                std::vector<std::string> names;
                if (!parseMapping(names)) return false;
                while (peek().kind == Token::Kind::String)
                    if (!parseMapping(names)) return false;
                if (isKeyword("there") && names.size() == 1 && names[0].find('=') == std::string::npos) {
                    next();
                    user.remote = names[0];
                    continue;
                }
                if (isKeyword("here")) next();
                user.localNames.insert(user.localNames.end(), names.begin(), names.end());
            } else if (optionAhead(kUserOptions)) {
                if (!parseOption(kUserOptions, user.options)) return false;
            } else {
                return true;
            }
        }
    }

    bool parseEntry() {
        RcEntry entry;
        const Token& verb = next();
        entry.line = verb.line;
        entry.kind = verb.text == "poll"   ? RcEntry::Kind::Poll
                     : verb.text == "skip" ? RcEntry::Kind::Skip
                                           : RcEntry::Kind::Defaults;
        if (entry.kind == RcEntry::Kind::Defaults)
            entry.name = "defaults";
        else if (!expectString(verb.text, entry.name))
            return false;
        while (optionAhead(kServerOptions))
            if (!parseOption(kServerOptions, entry.serverOptions)) return false;
        if (isKeyword("user")) {
            while (isKeyword("user")) {
                RcUser user;
                if (!parseUserDef(user) || !parseUserOptions(user)) return false;
                entry.users.push_back(std::move(user));
            }
        } else if (isKeyword("is") || isKeyword("to") || optionAhead(kUserOptions)) {
            RcUser user;
            user.line = peek().line;
            if (!parseUserOptions(user)) return false;
            entry.users.push_back(std::move(user));
        }
        if (optionAhead(kServerOptions))
            return fail(describe(peek(isKeyword("no") ? 1 : 0)) +
                        " is a server option: it must come before the user options");
        const Token& after = peek();
        bool ends = after.kind == Token::Kind::End ||
                    (after.kind == Token::Kind::Keyword &&
                     (after.text == "poll" || after.text == "skip" || after.text == "defaults" || after.text == "set"));
        if (!ends) return fail("unexpected " + describe(after) + " in the entry for " + entry.name);
        rc_->entries.push_back(std::move(entry));
        return true;
    }

    std::vector<Token> tokens_;
    std::size_t pos_ = 0;
    Fetchmailrc* rc_ = nullptr;
};

// ---- mapping ------------------------------------------------------------------------------

// Options that change nothing that matters once mail is collected by mailcollector: a comment only.
const std::map<std::string, std::string, std::less<>> kHarmless = {
    {"uidl", "mailcollector always remembers what it collected (per UIDL) in its ledger"},
    {"rewrite", "mailcollector delivers messages unchanged"},
    {"stripcr", "mailcollector normalises line endings to CRLF on the wire"},
    {"forcecr", "mailcollector normalises line endings to CRLF on the wire"},
    {"pass8bits", "mailcollector passes 8-bit mail unchanged"},
    {"dns", "only for multidrop mailboxes"},
    {"checkalias", "only for multidrop mailboxes"},
    {"timeout", "mailcollector uses [collector] io_timeout"},
    {"idletimeout", "mailcollector re-issues IDLE every 25 minutes"},
    {"warnings", "oversized messages are reported at each poll"},
    {"batchlimit", "not needed"},
    {"fetchlimit", "mailcollector fetches everything in one poll"},
    {"fetchsizelimit", "not needed"},
    {"fastuidl", "not needed"},
    {"expunge", "mailcollector expunges as it deletes"},
    {"properties", "ignored by fetchmail itself"},
    {"tracepolls", "mailcollector adds its own Received: line"},
    {"bad-header", "mailcollector delivers messages unchanged"},
    {"sslproto", "mailcollector negotiates TLS 1.2 or newer"},
    {"sslcertck", "mailcollector always verifies certificates"},
    {"principal", "only for Kerberos"},
    {"forceidle", "see idle"},
};

// Options the mapper below reads; any other option in effect gets a "not translated" note.
const std::set<std::string, std::less<>> kMapped = {
    "via",      "protocol", "service",     "port",        "interval",      "auth",
    "password", "folder",   "smtphost",    "smtpaddress", "smtpname",      "mda",
    "bsmtp",    "lmtp",     "keep",        "flush",       "limitflush",    "fetchall",
    "idle",     "ssl",      "sslcertfile", "sslcertpath", "sslcommonname", "sslfingerprint",
    "sslkey",   "sslcert",  "limit",       "esmtpname",   "esmtppassword"};

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

// One account being built from one user clause, with the options in effect for it: the user's
// own, its entry's, then those of the `defaults` entry.
class UserMapping {
public:
    UserMapping(const RcEntry& entry, const RcUser& user, const RcEntry* defaults, const std::string& file,
                ImportedConfig& config)
        : entry_(entry), user_(user), file_(file), config_(config) {
        layers_ = {&user.options, &entry.serverOptions};
        if (defaults) {
            if (!defaults->users.empty()) layers_.push_back(&defaults->users.front().options);
            layers_.push_back(&defaults->serverOptions);
        }
    }

    const RcOption* find(std::string_view name) const {
        for (const auto* layer : layers_)
            for (auto it = layer->rbegin(); it != layer->rend(); ++it)
                if (it->name == name) return &*it;
        return nullptr;
    }
    std::string value(std::string_view name) const {
        const RcOption* option = find(name);
        return option && !option->values.empty() ? option->values.back() : "";
    }
    bool flag(std::string_view name) const {
        const RcOption* option = find(name);
        return option && !option->negated;
    }
    int line(std::string_view name) const {
        const RcOption* option = find(name);
        return option ? option->line : user_.line ? user_.line : entry_.line;
    }

    // A comment above the account; `warn` also reports it on stderr.
    void note(ImportedAccount& account, int line, const std::string& text, bool warn) {
        account.comments.push_back(text);
        if (warn) config_.warnings.push_back({file_, line, account.name + ": " + text});
    }

    // Every option in effect, once, for the "not translated" pass.
    std::vector<const RcOption*> optionsInEffect() const {
        std::vector<const RcOption*> all;
        std::set<std::string> seen;
        for (const auto* layer : layers_)
            for (const auto& option : *layer)
                if (seen.insert(option.name).second) all.push_back(find(option.name));
        return all;
    }

private:
    const RcEntry& entry_;
    const RcUser& user_;
    std::string file_;
    ImportedConfig& config_;
    std::vector<const std::vector<RcOption>*> layers_;
};

constexpr long long kMaxInt = std::numeric_limits<int>::max();

int portNumber(const std::string& service) {
    static const std::map<std::string, int> names = {{"pop3", 110}, {"pop-3", 110}, {"pop3s", 995},
                                                     {"imap", 143}, {"imap2", 143}, {"imaps", 993}};
    if (isNumber(service)) {
        long port = std::strtol(service.c_str(), nullptr, 10);
        return port >= 1 && port <= 65535 ? static_cast<int>(port) : 0;
    }
    auto found = names.find(lowercase(service));
    return found == names.end() ? 0 : found->second;
}

// Protocol, port and TLS. False: the entry is not a mailbox (etrn, odmr).
bool mapConnection(UserMapping& m, ImportedAccount& account) {
    std::string proto = m.value("protocol");
    if (proto.empty()) proto = "auto";
    int line = m.line("protocol");
    if (proto == "etrn" || proto == "odmr") return false;
    account.protocol = proto == "imap" || proto == "auto" ? "imap" : "pop3";
    if (proto == "auto")
        m.note(account, line, "fetchmail probed the protocol (IMAP first, then POP3): check protocol = \"imap\"", true);
    else if (proto != "imap" && proto != "pop3")
        m.note(account, line, "fetchmail protocol " + proto + " is not supported: using pop3 with a normal login",
               true);

    if (const RcOption* service = m.find("service") ? m.find("service") : m.find("port")) {
        account.port = portNumber(service->values.back());
        if (account.port == 0)
            m.note(account, service->line,
                   "service \"" + service->values.back() + "\" is not a known port: using the default", true);
    }

    bool ssl = m.flag("ssl");
    account.tls = ssl ? "implicit" : "starttls";
    if (!ssl) {
        const RcOption* sslproto = m.find("sslproto");
        bool plaintext = sslproto && !sslproto->values.empty() && sslproto->values.back().empty();
        m.note(account, sslproto ? sslproto->line : m.line("ssl"),
               plaintext ? "fetchmail logged in without TLS (sslproto \"\"); mailcollector requires STARTTLS and never "
                           "sends a password in the clear"
                         : "no `ssl`: fetchmail used STARTTLS when the server offered it; mailcollector requires it "
                           "(tls = \"starttls\") and never sends a password in the clear",
               true);
    }
    return true;
}

void mapTls(UserMapping& m, ImportedAccount& account) {
    account.caFile = m.value("sslcertfile");
    if (const RcOption* check = m.find("sslcertck"); check && check->negated)
        m.note(account, check->line, "no sslcertck: mailcollector always verifies the server certificate", true);
    if (m.find("sslcertpath"))
        m.note(account, m.line("sslcertpath"),
               "sslcertpath (a directory of CA certificates) is not supported: set ca_file to one PEM file, or rely on "
               "the system store",
               true);
    if (m.find("sslfingerprint"))
        m.note(account, m.line("sslfingerprint"),
               "sslfingerprint is an MD5 pin and cannot be carried over; to pin, set tls_fingerprint to the SHA-256 "
               "one (openssl x509 -noout -fingerprint -sha256)",
               true);
    std::string commonName = m.value("sslcommonname");
    if (!commonName.empty() && lowercase(commonName) != lowercase(account.host))
        m.note(account, m.line("sslcommonname"),
               "sslcommonname \"" + commonName +
                   "\": mailcollector checks the certificate against host; set host to a name the certificate carries",
               true);
    if (m.find("sslkey") || m.find("sslcert"))
        m.note(account, m.line(m.find("sslkey") ? "sslkey" : "sslcert"),
               "client certificates (sslkey, sslcert) are not supported", true);
}

void mapLogin(UserMapping& m, ImportedAccount& account, const std::string& remote, const ImportOptions& options) {
    account.username = remote.empty() ? options.localUser : remote;
    if (remote.empty())
        m.note(account, m.line("user"),
               "no user name: fetchmail's default, the local login \"" + account.username + "\"", true);
    std::string auth = m.value("auth");
    if (!auth.empty() && auth != "any" && auth != "password")
        m.note(account, m.line("auth"),
               "auth " + auth + " is not supported: mailcollector logs in with the password (auth = \"auto\")", true);
    const RcOption* password = m.find("password");
    if (password && !password->values.empty() && !password->values.back().empty()) {
        if (isValidUtf8(password->values.back())) {
            account.password = password->values.back();
        } else {
            m.note(account, password->line,
                   "the password is not valid UTF-8 and cannot be written to TOML: put it in a file and set "
                   "password_file instead of password_env",
                   true);
        }
    } else {
        m.note(account, m.line("user"),
               "the rc file holds no password (fetchmail asked for it or read ~/.netrc): set this variable, or use "
               "password_file or password_command",
               true);
    }
}

void mapPolicy(UserMapping& m, ImportedAccount& account, int daemon) {
    const RcOption* keep = m.find("keep");
    account.keep = keep && !keep->negated;
    bool fetchall = m.flag("fetchall");
    if (!account.keep)
        m.note(account, m.line("keep"),
               "keep = false: fetchmail deletes collected mail unless told to `keep`; mailcollector deletes only after "
               "the target accepted a message and the ledger recorded it",
               false);
    if (fetchall) {
        account.fetch = "all";
        m.note(account, m.line("fetchall"),
               "fetchall: everything on the server is collected once, including what fetchmail already delivered "
               "(mailcollector does not read fetchmail's idfile)",
               account.keep);
    } else if (account.keep) {
        account.fetch = "new";
        m.note(account, m.line("keep"),
               "fetch = \"new\": fetchmail already delivered what is on the server (`keep` without `fetchall`); mail "
               "present at the first poll is skipped, so run fetchmail one last time before switching",
               false);
    } else {
        account.fetch = "all";
        if (account.protocol == "imap")
            m.note(account, m.line("keep"),
                   "fetch = \"all\": fetchmail took only unseen messages; mailcollector also collects (and, keep = "
                   "false, deletes) messages already read",
                   true);
    }
    if (m.flag("flush") || m.flag("limitflush"))
        m.note(account, m.line(m.flag("flush") ? "flush" : "limitflush"),
               "flush/limitflush (delete old or oversized mail before fetching) is not supported: nothing is deleted "
               "that was not delivered",
               true);

    std::string limit = m.value("limit");
    // strtoll saturates at 2^63-1, the largest integer TOML holds (strtoull's 2^64-1 is not one).
    if (long long bytes = std::strtoll(limit.c_str(), nullptr, 10); isNumber(limit) && bytes > 0)
        account.maxMessageSize = static_cast<std::uint64_t>(bytes);

    if (account.protocol == "imap") {
        std::vector<std::string> folders = m.find("folder") ? m.find("folder")->values : std::vector<std::string>{};
        account.folders = folders;
        account.idle = m.flag("idle");
    } else if (m.find("folder")) {
        m.note(account, m.line("folder"), "folder is ignored: POP3 has only the INBOX", true);
    }

    if (daemon > 0) {
        std::string every = m.value("interval");
        long long cycles = isNumber(every) ? std::clamp(std::strtoll(every.c_str(), nullptr, 10), 1LL, kMaxInt) : 1;
        account.intervalSeconds = static_cast<int>(std::min(daemon * cycles, kMaxInt));  // no overflow
        if (account.intervalSeconds < 10) {
            m.note(account, m.line("interval"), "interval raised to mailcollector's minimum, 10s", true);
            account.intervalSeconds = 10;
        }
    } else if (m.find("interval")) {
        m.note(account, m.line("interval"),
               "interval counts poll cycles of `set daemon`, which is not set: using the default interval", true);
    }
}

// Where fetchmail delivered this user's mail: smtphost/lmtp/smtpname/is ... here.
TargetWish mapDelivery(UserMapping& m, ImportedAccount& account, const RcUser& user,
                       const std::vector<std::string>& localNames, const std::string& file,
                       const ImportOptions& options) {
    TargetWish wish;
    wish.file = file;
    wish.line = m.line("user");  // the user clause, or the entry when it has none
    wish.account = account.name;
    ImportedTarget& target = wish.target;
    target.protocol = m.flag("lmtp") ? "lmtp" : "smtp";
    std::string mda = m.find("mda") ? "mda" : m.find("bsmtp") ? "bsmtp" : "";
    if (!mda.empty()) {
        m.note(account, m.line(mda),
               "fetchmail handed this mail to " + mda + " \"" + m.value(mda) +
                   "\"; mailcollector delivers by SMTP or LMTP only: point [target] at the server that program "
                   "delivered to",
               true);
        target.comments.push_back(
            "PLACEHOLDER for the " + mda + " of " + account.name +
            ": fetchmail did not deliver by SMTP. Point this at your mail server's SMTP or LMTP service.");
    }
    if (const RcOption* hosts = m.find("smtphost"); hosts && mda.empty()) {
        std::string first = hosts->values.front();
        if (hosts->values.size() > 1)
            m.note(account, hosts->line, "smtphost lists fallbacks; mailcollector uses the first, " + first, true);
        if (!first.empty() && first[0] == '/') {
            m.note(account, hosts->line, "smtphost " + first + " is a socket; mailcollector needs a TCP host and port",
                   true);
            target.comments.push_back("PLACEHOLDER: fetchmail delivered to the socket " + first +
                                      "; use the TCP address of that service.");
        } else {
            std::size_t slash = first.rfind('/');
            target.host = first.substr(0, slash);
            if (slash != std::string::npos) target.port = portNumber(first.substr(slash + 1));
        }
    }
    if (target.protocol == "lmtp" && target.port == 0) target.port = 24;
    if (isLoopbackHost(target.host))
        target.tls = "none";
    else
        target.comments.push_back("fetchmail spoke plain SMTP/LMTP to " + target.host +
                                  "; mailcollector uses STARTTLS to any host but loopback.");
    target.username = m.value("esmtpname");
    target.password = m.value("esmtppassword");
    if (!target.username.empty() && !isValidUtf8(target.password)) target.password.clear();
    if (target.username.empty() && !target.password.empty()) target.password.clear();

    std::string recipient = m.value("smtpname");
    if (recipient.empty()) {
        // `is '' here` names nobody: the local user, as with no local name at all.
        std::vector<std::string> names;
        bool wildcard = false;
        for (const auto& name : localNames) {
            wildcard = wildcard || name == "*";
            const std::string local = name.substr(name.find('=') + 1);
            if (name != "*" && !local.empty()) names.push_back(local);
        }
        if (names.size() > 1 || wildcard)
            m.note(account, m.line("user"),
                   "multidrop (several local names or *) is not supported: everything goes to one recipient", true);
        recipient = names.empty() ? options.localUser : names.front();
        std::string domain = m.value("smtpaddress");
        if (!domain.empty() && recipient.find('@') == std::string::npos) recipient += "@" + domain;
    }
    target.recipient = recipient;
    return wish;
}

// Every option in effect that nothing above read.
void noteTheRest(UserMapping& m, ImportedAccount& account) {
    for (const RcOption* option : m.optionsInEffect()) {
        if (kMapped.count(option->name)) continue;
        auto harmless = kHarmless.find(option->name);
        if (harmless != kHarmless.end())
            m.note(account, option->line, option->name + ": " + harmless->second, false);
        else
            m.note(account, option->line,
                   (option->negated ? "no " : "") + option->name +
                       " has no mailcollector equivalent and was not carried over",
                   true);
    }
}

void mapGlobals(const Fetchmailrc& rc, const std::string& file, ImportedConfig& config, int& daemon) {
    for (const RcOption& option : rc.globals) {
        std::string where = file + ":" + std::to_string(option.line) + ": ";
        if (option.name == "daemon") {
            daemon =
                static_cast<int>(std::clamp(std::strtoll(option.values.back().c_str(), nullptr, 10), 0LL, kMaxInt));
            config.header.push_back(where + "set daemon " + option.values.back() + ": each account's interval");
        } else if (option.name == "logfile" || option.name == "syslog") {
            config.header.push_back(where + option.name + ": mailcollector logs to stderr (the journal under systemd)");
        } else if (option.name == "idfile") {
            config.header.push_back(where +
                                    "idfile: fetchmail's record of collected mail is not read (see fetch below)");
        } else if (option.name == "pidfile" || option.name == "invisible" || option.name == "showdots" ||
                   option.name == "properties") {
            config.header.push_back(where + option.name + ": not needed");
        } else {
            std::string text = std::string(option.negated ? "no " : "") + option.name +
                               ": mailcollector never bounces; a message the target refuses is quarantined";
            config.header.push_back(where + text);
            config.warnings.push_back({file, option.line, text});
        }
    }
    if (daemon <= 0)
        config.header.push_back(
            "No `set daemon`: fetchmail ran once per call (from cron?); accounts use mailcollector's default interval, "
            "5m.");
}

}  // namespace

ImportResult importFetchmailrc(const std::string& text, const std::string& file, const ImportOptions& options) {
    ImportResult result;
    ImportedConfig& config = result.config;
    config.tool = "fetchmailrc";
    config.sources = {file};
    Fetchmailrc rc = parseFetchmailrc(text);
    if (!rc.error.empty()) {
        result.errorFile = file;
        result.errorLine = rc.errorLine;
        result.error = rc.error;
        return result;
    }
    int daemon = 0;
    mapGlobals(rc, file, config, daemon);

    const RcEntry* defaults = nullptr;
    std::vector<std::string> names;
    std::vector<TargetWish> wishes;
    const RcUser implicitUser;
    for (const RcEntry& entry : rc.entries) {
        if (entry.kind == RcEntry::Kind::Defaults) {
            defaults = &entry;
            continue;
        }
        std::vector<const RcUser*> users;
        for (const auto& user : entry.users) users.push_back(&user);
        if (users.empty()) users.push_back(&implicitUser);
        for (const RcUser* user : users) {
            UserMapping m(entry, *user, defaults, file, config);
            const RcUser* fallback = defaults && !defaults->users.empty() ? &defaults->users.front() : nullptr;
            std::string remote = !user->remote.empty() ? user->remote : fallback ? fallback->remote : "";
            const auto& localNames = !user->localNames.empty() || !fallback ? user->localNames : fallback->localNames;
            std::string via = m.value("via");
            ImportedAccount account;
            account.host = via.empty() ? entry.name : via;
            account.name = accountName(remote.empty() ? options.localUser : remote, account.host, names);
            int line = user->line ? user->line : entry.line;
            account.comments.push_back("From " + file + ":" + std::to_string(line) + " (" +
                                       (entry.kind == RcEntry::Kind::Skip ? "skip " : "poll ") + entry.name + ")");
            if (!mapConnection(m, account)) {
                std::string text = "entry " + entry.name + " uses " + m.value("protocol") +
                                   ", which triggers delivery rather than collecting a mailbox: not imported";
                config.header.push_back(file + ":" + std::to_string(line) + ": " + text);
                config.warnings.push_back({file, line, text});
                continue;
            }
            mapTls(m, account);
            mapLogin(m, account, remote, options);
            mapPolicy(m, account, daemon);
            TargetWish wish = mapDelivery(m, account, *user, localNames, file, options);
            noteTheRest(m, account);
            if (entry.kind == RcEntry::Kind::Skip) {
                account.disabled = true;
                m.note(account, entry.line,
                       "a `skip` entry (fetchmail polls it only when named): imported commented out", true);
            } else {
                wishes.push_back(std::move(wish));
            }
            names.push_back(account.name);
            config.accounts.push_back(std::move(account));
        }
    }
    chooseTarget(config, wishes, options);
    return result;
}

Fetchmailrc parseFetchmailrc(const std::string& text) {
    Fetchmailrc rc;
    Lexer lexer(text);
    std::vector<Token> tokens;
    if (!lexer.run(tokens)) {
        rc.errorLine = lexer.errorLine;
        rc.error = lexer.error;
        return rc;
    }
    Parser parser(std::move(tokens));
    if (!parser.run(rc)) {
        rc.globals.clear();
        rc.entries.clear();
    }
    return rc;
}

}  // namespace mc::config::importer
