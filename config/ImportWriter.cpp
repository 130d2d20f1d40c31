// The shared half of `import`: TOML quoting, account names, the one target, and printing an
// ImportedConfig as a mailcollector configuration.

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <sstream>

#include "config/Importers.hpp"
#include "proto/SafeText.hpp"

namespace mc::config::importer {

namespace {

std::string unicodeEscape(unsigned value) {
    char escaped[8];
    std::snprintf(escaped, sizeof escaped, "\\u%04X", value);
    return escaped;
}

// The inside of a basic string (or a comment): everything TOML cannot hold literally escaped.
std::string escaped(std::string_view text, bool inString) {
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        std::size_t length = proto::utf8SequenceLength(text, i);
        if (length == 0) {
            out += unicodeEscape(c);
            ++i;
            continue;
        }
        if (length > 1) {
            out.append(text.substr(i, length));
            i += length;
            continue;
        }
        ++i;
        switch (c) {
            case '"':
                out += inString ? "\\\"" : "\"";
                break;
            case '\\':
                out += inString ? "\\\\" : "\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\t':
                out += inString ? "\\t" : "\t";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (c < 0x20 || c == 0x7F)
                    out += unicodeEscape(c);
                else
                    out += static_cast<char>(c);
        }
    }
    return out;
}

void comment(std::ostream& out, const std::string& text, const std::string& prefix = "") {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) out << prefix << "# " << escaped(line, false) << "\n";
}

// key = value lines; `prefix` comments them out (disabled accounts).
class TableWriter {
public:
    TableWriter(std::ostream& out, std::string prefix) : out_(out), prefix_(std::move(prefix)) {}
    void header(const std::string& name) { out_ << prefix_ << name << "\n"; }
    void string(const char* key, const std::string& value) {
        out_ << prefix_ << key << " = " << tomlString(value) << "\n";
    }
    void optionalString(const char* key, const std::string& value) {
        if (!value.empty()) string(key, value);
    }
    void integer(const char* key, std::uint64_t value) { out_ << prefix_ << key << " = " << value << "\n"; }
    void boolean(const char* key, bool value) { out_ << prefix_ << key << " = " << (value ? "true" : "false") << "\n"; }
    void strings(const char* key, const std::vector<std::string>& values) {
        out_ << prefix_ << key << " = [";
        for (std::size_t i = 0; i < values.size(); ++i) out_ << (i ? ", " : "") << tomlString(values[i]);
        out_ << "]\n";
    }

private:
    std::ostream& out_;
    std::string prefix_;
};

std::string envName(const std::string& account) {
    std::string name = "MC_PASSWORD_";
    for (unsigned char c : account) name += std::isalnum(c) ? static_cast<char>(std::toupper(c)) : '_';
    return name;
}

void writeAccount(std::ostream& out, const ImportedAccount& account) {
    std::string prefix = account.disabled ? "# " : "";
    for (const auto& text : account.comments) comment(out, text);
    TableWriter table(out, prefix);
    table.header("[[account]]");
    table.string("name", account.name);
    table.string("protocol", account.protocol);
    table.string("host", account.host);
    if (account.port != 0) table.integer("port", static_cast<std::uint64_t>(account.port));
    table.string("tls", account.tls);
    table.optionalString("ca_file", account.caFile);
    table.optionalString("tls_fingerprint", account.tlsFingerprint);
    table.string("username", account.username);
    if (!account.password.empty())
        table.string("password", account.password);
    else if (!account.passwordCommand.empty())
        table.string("password_command", account.passwordCommand);
    else
        table.string("password_env", account.passwordEnv.empty() ? envName(account.name) : account.passwordEnv);
    table.optionalString("auth", account.auth);
    if (!account.folders.empty()) table.strings("folders", account.folders);
    table.boolean("keep", account.keep);
    if (account.deleteAfterDays > 0)
        table.integer("delete_after_days", static_cast<std::uint64_t>(account.deleteAfterDays));
    table.string("fetch", account.fetch);
    if (account.maxMessageSize > 0) table.integer("max_message_size", account.maxMessageSize);
    if (account.intervalSeconds > 0) table.string("interval", std::to_string(account.intervalSeconds) + "s");
    if (account.idle) table.boolean("idle", *account.idle);
    out << "\n";
}

}  // namespace

std::string ImportResult::errorText() const {
    return errorFile + (errorLine > 0 ? ":" + std::to_string(errorLine) : "") + ": " + error;
}

std::string tomlString(std::string_view text) { return "\"" + escaped(text, true) + "\""; }

std::string accountName(const std::string& user, const std::string& host, const std::vector<std::string>& taken) {
    std::string base;
    for (unsigned char c : user + "-" + host) {
        bool allowed = std::isalnum(c) || c == '.' || c == '_' || c == '-';
        char next = allowed ? static_cast<char>(std::tolower(c)) : '-';
        if (next == '-' && !base.empty() && base.back() == '-') continue;
        base += next;
    }
    while (!base.empty() && (base.front() == '-' || base.front() == '.')) base.erase(0, 1);
    while (!base.empty() && (base.back() == '-' || base.back() == '.')) base.pop_back();
    if (base.empty()) base = "account";
    std::string name = base;
    for (int n = 2; std::find(taken.begin(), taken.end(), name) != taken.end(); ++n)
        name = base + "-" + std::to_string(n);
    return name;
}

bool isLoopbackHost(const std::string& host) {
    std::string name = host;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (name == "localhost" || name == "localhost.") return true;
    in_addr v4{};
    if (inet_pton(AF_INET, name.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6{};
    return inet_pton(AF_INET6, name.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

void chooseTarget(ImportedConfig& config, const std::vector<TargetWish>& wishes, const ImportOptions& options) {
    if (wishes.empty()) {
        config.target.recipient = options.localUser;
        config.target.comments.push_back("No account to deliver for: the local SMTP server, as fetchmail would.");
        return;
    }
    const TargetWish& first = wishes.front();
    config.target = first.target;
    auto describe = [](const ImportedTarget& t) {
        return t.protocol + " " + t.host + (t.port ? ":" + std::to_string(t.port) : "") + " for " + t.recipient;
    };
    for (const TargetWish& wish : wishes) {
        const ImportedTarget& t = wish.target;
        if (t.protocol == first.target.protocol && t.host == first.target.host && t.port == first.target.port &&
            t.recipient == first.target.recipient)
            continue;
        std::string text = "account " + wish.account + " delivered to " + describe(t) +
                           "; mailcollector has one target, so it goes to " + describe(first.target) +
                           " (from account " + first.account + ")";
        config.target.comments.push_back(wish.file + ":" + std::to_string(wish.line) + ": " + text);
        config.warnings.push_back({wish.file, wish.line, text});
    }
}

std::string renderToml(const ImportedConfig& config) {
    std::ostringstream out;
    comment(out, "mailcollector configuration imported by `mailcollector import " + config.tool + "` from:");
    for (const auto& source : config.sources) comment(out, "  " + source);
    comment(out,
            "Passwords the source files held are copied inline: keep this file mode 0600 (mailcollector\n"
            "refuses inline passwords in a file others can read), or move them to password_file.\n"
            "Review every comment below: each marks a setting that was changed or not carried over.");
    for (const auto& text : config.header) comment(out, text);
    out << "\n[collector]\n"
        << "ledger = \"/var/lib/mailcollector/ledger.db\"\n"
        << "quarantine_dir = \"/var/lib/mailcollector/quarantine\"\n\n";

    const ImportedTarget& target = config.target;
    for (const auto& text : target.comments) comment(out, text);
    TableWriter table(out, "");
    table.header("[target]");
    table.string("protocol", target.protocol);
    table.string("host", target.host);
    if (target.port != 0) table.integer("port", static_cast<std::uint64_t>(target.port));
    table.optionalString("tls", target.tls);
    table.optionalString("username", target.username);
    if (!target.username.empty()) {
        if (target.password.empty())
            table.string("password_env", "MC_PASSWORD_TARGET");
        else
            table.string("password", target.password);
    }
    table.string("recipient", target.recipient);
    out << "\n";
    for (const auto& account : config.accounts) writeAccount(out, account);
    return out.str();
}

}  // namespace mc::config::importer
