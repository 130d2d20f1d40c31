#pragma once
// The fetchmailrc grammar (fetchmail(1), "THE RUN CONTROL FILE"; the lexer mirrors fetchmail's
// rcfile_l.l): keywords, numbers, bare and quoted strings with fetchmail's escapes, comments,
// noise words and punctuation. Parsing is pure and never throws: a syntax error is returned with
// its line. The mapping to mailcollector settings is importFetchmailrc (Importers.hpp).

#include <string>
#include <vector>

namespace mc::config::importer {

// One option as written: `keep`, `no keep` (negated), `limit 1000`, `folder a b c`.
struct RcOption {
    std::string name;  // canonical keyword: "password" for pass/password, "smtphost" for smtp...
    bool negated = false;
    std::vector<std::string> values;
    int line = 0;
};

struct RcUser {
    int line = 0;
    std::string remote;                   // empty: not given
    std::vector<std::string> localNames;  // `is NAME here`; "a=b" for mappings
    std::vector<RcOption> options;        // user options (password, keep, ssl, smtphost...)
};

struct RcEntry {
    enum class Kind { Poll, Skip, Defaults };
    Kind kind = Kind::Poll;
    std::string name;  // the poll name ("defaults" for defaults)
    int line = 0;
    std::vector<RcOption> serverOptions;
    std::vector<RcUser> users;  // an entry with only user options has one user with no names
};

struct Fetchmailrc {
    std::vector<RcOption> globals;  // `set daemon 300` -> {"daemon", {"300"}}
    std::vector<RcEntry> entries;
    int errorLine = 0;
    std::string error;  // empty: parsed
};

Fetchmailrc parseFetchmailrc(const std::string& text);

}  // namespace mc::config::importer
