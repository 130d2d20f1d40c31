// The preset table and the refusal texts. Settings come from each provider's own help pages (the
// `source` of each row, checked December 2026); refusal texts are the ones those servers send, as
// quoted in the help pages and in client bug reports.

#include "config/Providers.hpp"

#include <algorithm>
#include <cctype>

namespace mc::config {
namespace {

constexpr std::uint64_t kMB = 1000ull * 1000;

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string upper(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

constexpr std::string_view kGmailAppPassword =
    "with 2-Step Verification Google takes only an app password (create one at "
    "https://myaccount.google.com/apppasswords and put it in password_file) or OAuth2 (auth = \"xoauth2\", "
    "see \"OAuth2\" in the README)";
constexpr std::string_view kMicrosoftOAuth2 =
    "Microsoft turned password logins off for Outlook.com and Microsoft 365: use OAuth2 (auth = \"xoauth2\", "
    "oauth2_provider = \"microsoft\", then 'mailcollector oauth2 authorize'; see \"OAuth2\" in the README)";

std::vector<ProviderPreset> makePresets() {
    using T = TlsMode;
    return {
        {"gmail",
         "Gmail",
         {"gmail.com", "googlemail.com"},
         {"imap.gmail.com", 993, T::Implicit},
         {"pop.gmail.com", 995, T::Implicit},
         "google",
         false,
         "turn on POP in Gmail (Settings > See all settings > Forwarding and POP/IMAP; IMAP is always on); "
         "with 2-Step Verification use an app password (https://myaccount.google.com/apppasswords) or OAuth2",
         2500 * kMB,  // "Download via IMAP: 2500 MB per day", "Download via POP: 1250 MB per day"
         1250 * kMB,
         "https://support.google.com/mail/answer/7126229, https://support.google.com/a/answer/1071518"},
        {"outlook",
         "Outlook.com",
         {"outlook.com", "hotmail.com", "live.com", "msn.com", "passport.com", "hotmail.co.uk", "hotmail.fr",
          "hotmail.de", "hotmail.it", "hotmail.es", "live.co.uk", "live.fr", "live.de", "live.nl", "outlook.de",
          "outlook.fr", "outlook.es", "outlook.it"},
         {"outlook.office365.com", 993, T::Implicit},
         {"outlook.office365.com", 995, T::Implicit},
         "microsoft",
         true,
         "only OAuth2 logins are accepted; POP is off until you turn it on (Outlook.com: Settings > Mail > "
         "Forwarding and IMAP > Let devices and apps use POP)",
         0,
         0,
         "https://support.microsoft.com/office/pop-imap-and-smtp-settings-for-outlook-com-"
         "d088b986-291d-42b8-9564-9c414e2aa040"},
        {"office365",
         "Microsoft 365",
         {},
         {"outlook.office365.com", 993, T::Implicit},
         {"outlook.office365.com", 995, T::Implicit},
         "microsoft",
         true,
         "only OAuth2 logins are accepted; the tenant's admin must allow IMAP or POP for the mailbox",
         0,
         0,
         "https://learn.microsoft.com/exchange/clients-and-mobile-in-exchange-online/"
         "deprecation-of-basic-authentication-exchange-online"},
        {"yahoo",
         "Yahoo Mail",
         {"yahoo.com", "ymail.com", "rocketmail.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.es", "yahoo.it",
          "yahoo.ca", "yahoo.com.au", "yahoo.com.br"},  // not yahoo.co.jp: Yahoo! JAPAN is another service
         {"imap.mail.yahoo.com", 993, T::Implicit},
         {"pop.mail.yahoo.com", 995, T::Implicit},
         "",
         false,
         "Yahoo takes only an app password here: Account Info > Account security > Generate app password",
         0,
         0,
         "https://help.yahoo.com/kb/SLN4075.html"},
        {"icloud",
         "iCloud Mail",
         {"icloud.com", "me.com", "mac.com"},
         {"imap.mail.me.com", 993, T::Implicit},
         {},
         "",
         false,
         "iCloud takes only an app-specific password (https://account.apple.com > Sign-In and Security > "
         "App-Specific Passwords); it has no POP",
         0,
         0,
         "https://support.apple.com/en-us/102525"},
        {"aol",
         "AOL Mail",
         {"aol.com", "aim.com", "aol.co.uk", "aol.de", "aol.fr"},
         {"imap.aol.com", 993, T::Implicit},
         {"pop.aol.com", 995, T::Implicit},
         "",
         false,
         "AOL takes only an app password here: Account Security > Generate app password",
         0,
         0,
         "https://help.aol.com/articles/how-do-i-use-other-email-applications-to-send-and-receive-my-aol-mail"},
        {"gmx",
         "GMX",
         {"gmx.de", "gmx.net", "gmx.at", "gmx.ch"},
         {"imap.gmx.net", 993, T::Implicit},
         {"pop.gmx.net", 995, T::Implicit},
         "",
         false,
         "POP3 and IMAP are off until you turn them on: E-Mail > Settings > POP3 & IMAP > Allow access",
         0,
         0,
         "https://hilfe.gmx.net/pop-imap/einschalten.html"},
        {"gmx-com",
         "GMX (international)",
         {"gmx.com", "gmx.us", "gmx.co.uk", "gmx.fr", "gmx.es"},
         {"imap.gmx.com", 993, T::Implicit},
         {"pop.gmx.com", 995, T::Implicit},
         "",
         false,
         "POP3 and IMAP are off until you turn them on: Settings > POP3 & IMAP > Allow access",
         0,
         0,
         "https://support.gmx.com/pop-imap/toggle.html"},
        {"webde",
         "WEB.DE",
         {"web.de"},
         {"imap.web.de", 993, T::Implicit},
         {"pop3.web.de", 995, T::Implicit},
         "",
         false,
         "POP3 and IMAP are off until you turn them on: E-Mail > Einstellungen > POP3/IMAP Abruf",
         0,
         0,
         "https://hilfe.web.de/pop-imap/einschalten.html"},
        {"mailcom",
         "mail.com",
         {"mail.com", "email.com", "usa.com", "post.com"},
         {"imap.mail.com", 993, T::Implicit},
         {"pop.mail.com", 995, T::Implicit},
         "",
         false,
         "POP3 and IMAP are off until you turn them on: Settings > POP3 & IMAP > Allow access",
         0,
         0,
         "https://support.mail.com/pop-imap/imap/server.html"},
        {"yandex",
         "Yandex Mail",
         {"yandex.ru", "yandex.com", "ya.ru", "yandex.by", "yandex.kz", "yandex.ua", "narod.ru"},
         {"imap.yandex.com", 993, T::Implicit},
         {"pop.yandex.com", 995, T::Implicit},
         "",
         false,
         "turn on access for mail clients (Settings > Email clients: IMAP, or POP3) and use an app password "
         "(Yandex ID > Security > App passwords)",
         0,
         0,
         "https://yandex.com/support/yandex-360/customers/mail/en/mail-clients/others"},
        {"mailru",
         "Mail.ru",
         {"mail.ru", "inbox.ru", "list.ru", "bk.ru", "internet.ru"},
         {"imap.mail.ru", 993, T::Implicit},
         {"pop.mail.ru", 995, T::Implicit},
         "",
         false,
         "Mail.ru takes only a password for external applications (Settings > All settings > Security > Passwords "
         "for external applications)",
         0,
         0,
         "https://help.mail.ru/mail/mailer/popsmtp"},
        {"rambler",
         "Rambler",
         {"rambler.ru", "lenta.ru", "autorambler.ru", "myrambler.ru", "ro.ru"},
         {"imap.rambler.ru", 993, T::Implicit},
         {"pop.rambler.ru", 995, T::Implicit},
         "",
         false,
         "turn on access for mail clients: Settings > Mail programs > On",
         0,
         0,
         "https://help.rambler.ru/mail/mail-pochtovye-klienty/1275/"},
        {"zoho",
         "Zoho Mail",
         {"zoho.com", "zohomail.com"},
         {"imap.zoho.com", 993, T::Implicit},
         {"pop.zoho.com", 995, T::Implicit},
         "",
         false,
         "turn on IMAP or POP access (Settings > Mail Accounts > IMAP/POP Access); with two-factor "
         "authentication use an application-specific password",
         0,
         0,
         "https://www.zoho.com/mail/help/imap-access.html"},
        {"zoho-eu",
         "Zoho Mail (EU)",
         {"zoho.eu", "zohomail.eu"},
         {"imap.zoho.eu", 993, T::Implicit},
         {"pop.zoho.eu", 995, T::Implicit},
         "",
         false,
         "turn on IMAP or POP access (Settings > Mail Accounts > IMAP/POP Access); with two-factor "
         "authentication use an application-specific password",
         0,
         0,
         "https://www.zoho.com/mail/help/imap-access.html"},
        {"fastmail",
         "Fastmail",
         {"fastmail.com", "fastmail.fm", "fastmail.net", "fastmail.org", "messagingengine.com"},
         {"imap.fastmail.com", 993, T::Implicit},
         {"pop.fastmail.com", 995, T::Implicit},
         "",
         false,
         "Fastmail takes only an app password here: Settings > Privacy & Security > Manage app passwords",
         0,
         0,
         "https://www.fastmail.help/hc/en-us/articles/1500000278342"},
        {"mailbox-org",
         "mailbox.org",
         {"mailbox.org"},
         {"imap.mailbox.org", 993, T::Implicit},
         {"pop3.mailbox.org", 995, T::Implicit},
         "",
         false,
         "",
         0,
         0,
         "https://kb.mailbox.org/en/private/e-mail-article/e-mail-clients-settings"},
        {"posteo",
         "Posteo",
         {"posteo.de", "posteo.net", "posteo.org", "posteo.eu", "posteo.at", "posteo.ch"},
         {"posteo.de", 993, T::Implicit},
         {"posteo.de", 995, T::Implicit},
         "",
         false,
         "",
         0,
         0,
         "https://posteo.de/en/help/which-settings-do-i-need-for-my-email-program"},
        {"t-online",
         "Telekom Mail (t-online.de)",
         {"t-online.de", "magenta.de"},
         {"secureimap.t-online.de", 993, T::Implicit},
         {"securepop.t-online.de", 995, T::Implicit},
         "",
         false,
         "mail programs need the separate e-mail password (Telekom E-Mail Center > Settings > Password for mail "
         "programs), not the login password",
         0,
         0,
         "https://www.telekom.de/hilfe/festnetz-internet-tv/e-mail/e-mail-server-e-mail-protokolle-und-e-mail-"
         "einrichtung/posteingangsserver-und-postausgangsserver"},
        {"comcast",
         "Xfinity (Comcast)",
         {"comcast.net"},
         {"imap.comcast.net", 993, T::Implicit},
         {"mail.comcast.net", 995, T::Implicit},
         "",
         false,
         "turn on third-party access: Xfinity Connect > Settings > Security > Third Party Access Security",
         0,
         0,
         "https://www.xfinity.com/support/articles/email-client-programs-with-xfinity-email"},
        {"orange",
         "Orange",
         {"orange.fr", "wanadoo.fr"},
         {"imap.orange.fr", 993, T::Implicit},
         {"pop.orange.fr", 995, T::Implicit},
         "",
         false,
         "",
         0,
         0,
         "https://assistance.orange.fr/ordinateurs-peripheriques/installer-et-utiliser/"
         "l-utilisation-du-mail-et-du-cloud/mail-orange/parametrer-la-boite-mail"},
    };
}

// Known refusal texts (upper-cased substrings) per provider. Only the account's provider's are
// matched: "LOGIN failed" means OAuth2-only at Microsoft but a wrong password elsewhere.
struct KnownReply {
    std::string_view provider;
    std::string_view text;
    std::string_view hint;
};

constexpr std::string_view kYandexHint =
    "Yandex refuses clients until you turn them on (Settings > Email clients: IMAP, or POP3) and takes an app "
    "password (Yandex ID > Security > App passwords)";

const KnownReply kKnownReplies[] = {
    {"gmail", "APPLICATION-SPECIFIC PASSWORD REQUIRED", kGmailAppPassword},
    {"gmail", "NOT ENABLED FOR POP",
     "turn on POP in Gmail: Settings > See all settings > Forwarding and POP/IMAP > "
     "Enable POP for all mail (or for mail that arrives from now on)"},
    {"gmail", "NOT ENABLED FOR IMAP",
     "turn on IMAP in Gmail: Settings > See all settings > Forwarding and POP/IMAP > Enable IMAP"},
    {"gmail", "WEB LOGIN REQUIRED",
     "Google blocked the sign-in: sign in to https://mail.google.com once from a browser on this network and confirm "
     "it was you; then use an app password or OAuth2"},
    {"gmail", "LOG IN VIA YOUR WEB BROWSER",
     "Google blocked the sign-in: sign in to https://mail.google.com once from a browser on this network and confirm "
     "it was you; then use an app password or OAuth2"},
    {"gmail", "USERNAME AND PASSWORD NOT ACCEPTED", kGmailAppPassword},
    {"gmail", "INVALID CREDENTIALS", kGmailAppPassword},
    {"outlook", "BASICAUTHBLOCKED", kMicrosoftOAuth2},
    {"outlook", "BASIC AUTHENTICATION IS DISABLED", kMicrosoftOAuth2},
    {"outlook", "LOGIN FAILED", kMicrosoftOAuth2},
    {"outlook", "AUTHENTICATE FAILED", kMicrosoftOAuth2},
    {"outlook", "LOGON FAILURE", kMicrosoftOAuth2},
    {"office365", "BASICAUTHBLOCKED", kMicrosoftOAuth2},
    {"office365", "BASIC AUTHENTICATION IS DISABLED", kMicrosoftOAuth2},
    {"office365", "LOGIN FAILED", kMicrosoftOAuth2},
    {"office365", "AUTHENTICATE FAILED", kMicrosoftOAuth2},
    {"office365", "LOGON FAILURE", kMicrosoftOAuth2},
    {"yandex", "IMAP IS DISABLED", kYandexHint},
    {"yandex", "POP3 DISABLED", kYandexHint},
    {"yandex", "DOES NOT HAVE ACCESS RIGHTS TO THIS SERVICE", kYandexHint},
    {"mailru", "APPLICATION PASSWORD IS REQUIRED",
     "Mail.ru takes only a password for external applications: Settings > All settings > Security > Passwords for "
     "external applications; put it in password_file"},
    {"mailru", "APLICATION PASSWORD IS REQUIRED",  // sic: Mail.ru's own spelling
     "Mail.ru takes only a password for external applications: Settings > All settings > Security > Passwords for "
     "external applications; put it in password_file"},
};

bool contains(const std::string& haystack, std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace

const std::vector<ProviderPreset>& providerPresets() {
    static const std::vector<ProviderPreset> presets = makePresets();
    return presets;
}

const ProviderPreset* findProvider(std::string_view id) {
    std::string wanted = lower(id);
    if (wanted == "microsoft365" || wanted == "microsoft" || wanted == "exchange-online") wanted = "office365";
    if (wanted == "hotmail" || wanted == "live") wanted = "outlook";
    if (wanted == "googlemail" || wanted == "google") wanted = "gmail";
    if (wanted == "web.de") wanted = "webde";
    for (const auto& preset : providerPresets())
        if (preset.id == wanted) return &preset;
    return nullptr;
}

const ProviderPreset* providerForAddress(std::string_view address) {
    const std::size_t at = address.rfind('@');
    if (at == std::string_view::npos || at + 1 >= address.size()) return nullptr;
    const std::string domain = lower(address.substr(at + 1));
    for (const auto& preset : providerPresets())
        if (std::find(preset.domains.begin(), preset.domains.end(), domain) != preset.domains.end()) return &preset;
    return nullptr;
}

const ProviderPreset* providerForHost(std::string_view host) {
    std::string wanted = lower(host);
    if (!wanted.empty() && wanted.back() == '.') wanted.pop_back();
    for (const auto& preset : providerPresets())
        if (preset.imap.host == wanted || preset.pop3.host == wanted) return &preset;
    return nullptr;
}

std::string providerIds() {
    std::string ids;
    for (const auto& preset : providerPresets()) ids += (ids.empty() ? "" : ", ") + std::string(preset.id);
    return ids;
}

const PresetServer& presetServer(const ProviderPreset& preset, SourceProtocol protocol) {
    return protocol == SourceProtocol::Imap ? preset.imap : preset.pop3;
}

std::uint64_t presetBytesPerDay(const ProviderPreset& preset, SourceProtocol protocol) {
    return protocol == SourceProtocol::Imap ? preset.imapBytesPerDay : preset.pop3BytesPerDay;
}

std::optional<std::string> loginRefusalHint(const ProviderPreset* provider, std::string_view reply,
                                            bool authentication) {
    const std::string text = upper(reply);
    for (const auto& known : kKnownReplies) {
        if (!provider || known.provider != provider->id) continue;
        if (contains(text, known.text)) return std::string(known.hint);
    }
    if (authentication && provider && !provider->setup.empty())
        return std::string(provider->name) + ": " + std::string(provider->setup);
    return std::nullopt;
}

bool isThrottledReply(std::string_view reply) {
    const std::string text = upper(reply);
    for (std::string_view marker : {"[THROTTLED]", "[UNAVAILABLE]", "EXCEEDED COMMAND OR BANDWIDTH LIMITS",
                                    "BANDWIDTH LIMIT EXCEEDED", "REQUEST IS THROTTLED"})
        if (contains(text, marker)) return true;
    return false;
}

std::string describeServer(const AccountSettings& account) {
    const Endpoint& endpoint = account.endpoint;
    std::string text = endpoint.host + ":" + std::to_string(endpoint.port) + " " +
                       (account.protocol == SourceProtocol::Pop3 ? "POP3" : "IMAP") + ", " +
                       (endpoint.tls == TlsMode::Implicit   ? "implicit TLS"
                        : endpoint.tls == TlsMode::StartTls ? "STARTTLS"
                                                            : "no TLS");
    if (const ProviderPreset* preset = findProvider(account.provider))
        text += std::string(" (") + std::string(preset->name) + " preset" +
                (account.serverFromPreset ? ", server from the preset" : "") + ")";
    return text;
}

}  // namespace mc::config
