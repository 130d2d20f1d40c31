#pragma once
// Provider presets: the servers, sign-in rules and download limits of the mail providers people
// move away from, compiled in (sources named in Providers.cpp), and the texts those providers
// answer a refused login or a throttled account with, each with what to do about it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/Config.hpp"

namespace mc::config {

struct PresetServer {
    std::string_view host;  // empty: the provider offers no such access
    std::uint16_t port = 0;
    TlsMode tls = TlsMode::Implicit;
};

struct ProviderPreset {
    std::string_view id;                    // what `provider = "..."` names: gmail, outlook, ...
    std::string_view name;                  // for people: "Gmail", "Outlook.com"
    std::vector<std::string_view> domains;  // address domains it serves (lower case)
    PresetServer imap;
    PresetServer pop3;
    std::string_view oauth2Provider;  // google | microsoft | "" (none offered to us)
    bool oauth2Only = false;          // password logins are switched off by the provider
    // What to switch on or create before the first login ("POP is off until ...", app passwords).
    std::string_view setup;
    std::uint64_t imapBytesPerDay = 0;  // documented download limit; 0: none documented
    std::uint64_t pop3BytesPerDay = 0;
    std::string_view source;  // where the settings are documented
};

const std::vector<ProviderPreset>& providerPresets();
// By id (case-insensitive); "microsoft365"/"office365" and other aliases included.
const ProviderPreset* findProvider(std::string_view id);
// By the domain of an address ("me@gmail.com"); nullptr when unknown or not an address.
const ProviderPreset* providerForAddress(std::string_view address);
// By a preset's server host name ("imap.gmail.com"), so hand-typed hosts get hints and limits.
const ProviderPreset* providerForHost(std::string_view host);
// "gmail, outlook, ..." for error messages.
std::string providerIds();
const PresetServer& presetServer(const ProviderPreset& preset, SourceProtocol protocol);
std::uint64_t presetBytesPerDay(const ProviderPreset& preset, SourceProtocol protocol);

// What to do about a refused login, from the server's reply (matched against the known texts of
// the account's provider), else the provider's setup notes when `authentication` (the reply
// refused credentials). nullopt: no provider, or nothing to add.
std::optional<std::string> loginRefusalHint(const ProviderPreset* provider, std::string_view reply,
                                            bool authentication);

// A reply meaning "slow down" (IMAP [THROTTLED]/[UNAVAILABLE], Gmail's bandwidth-limit alert,
// Microsoft's "Request is throttled"): the account backs off instead of failing.
bool isThrottledReply(std::string_view reply);

// "imap.gmail.com:993, implicit TLS (Gmail preset, from the address)" for `check`.
std::string describeServer(const AccountSettings& account);

}  // namespace mc::config
