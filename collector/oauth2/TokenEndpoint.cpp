#include "collector/oauth2/TokenEndpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "proto/Json.hpp"

namespace mc::collector::oauth2 {
namespace {

constexpr std::size_t kMaxReplyBytes = 1 << 20;
constexpr std::size_t kMaxSecretBytes = 64 * 1024;

std::string printableBounded(const std::string& text, std::size_t limit = 200) {
    std::string out;
    for (char c : text.substr(0, limit)) out.push_back(c >= 0x20 && c < 0x7F ? c : '?');
    if (text.size() > limit) out += "...";
    return out;
}

}  // namespace

ProviderEndpoints providerEndpoints(const config::AccountSettings& account) {
    ProviderEndpoints endpoints;
    const std::string& provider = account.oauth2Provider;
    if (provider == "google") {
        endpoints = {"https://oauth2.googleapis.com/token", "https://oauth2.googleapis.com/device/code",
                     "https://mail.google.com/"};
    } else if (provider == "microsoft") {
        endpoints = {"https://login.microsoftonline.com/common/oauth2/v2.0/token",
                     "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
                     "offline_access https://outlook.office.com/IMAP.AccessAsUser.All "
                     "https://outlook.office.com/POP.AccessAsUser.All"};
    } else if (provider != "custom" && !provider.empty()) {
        throw OAuth2Error("unknown oauth2_provider '" + printableBounded(provider, 40) +
                          "' (google, microsoft or custom)");
    }
    if (!account.oauth2TokenUrl.empty()) endpoints.tokenUrl = account.oauth2TokenUrl;
    if (!account.oauth2DeviceUrl.empty()) endpoints.deviceUrl = account.oauth2DeviceUrl;
    if (endpoints.tokenUrl.empty())
        throw OAuth2Error("oauth2_provider " + (provider.empty() ? std::string("is not set and") : "custom") +
                          " needs oauth2_token_url");
    return endpoints;
}

JsonReply postForm(const std::string& url, const proto::FormFields& fields, const net::TlsPolicy& tls,
                   std::chrono::milliseconds timeout) {
    auto parsed = proto::parseHttpsUrl(url);
    if (!parsed) throw OAuth2Error("'" + printableBounded(url, 200) + "' is not an https:// URL");
    const std::string where = parsed->host + ":" + std::to_string(parsed->port);
    net::ConnectOptions options;
    options.host = parsed->host;
    options.port = parsed->port;
    options.implicitTls = true;
    options.tls.caFile = tls.caFile;
    options.tls.systemStore = true;  // a pin belongs to the mail server, not to the provider
    options.timeout = timeout;
    std::string raw;
    proto::HttpResponse response;
    try {
        auto transport = net::connect(options);
        transport->send(proto::httpFormPost(*parsed, fields));
        char buffer[16 * 1024];
        for (;;) {
            bool closed = false;
            try {
                raw.append(buffer, transport->receive(buffer, sizeof buffer));
            } catch (const net::TransportError& e) {
                if (e.kind() != net::TransportErrorKind::Closed) throw;
                closed = true;
            }
            if (raw.size() > kMaxReplyBytes) throw OAuth2Error(where + " sent a reply of more than 1 MiB");
            auto state = proto::parseHttpResponse(raw, closed, response);
            if (state == proto::HttpParse::Complete) break;
            if (state == proto::HttpParse::Malformed || closed)
                throw OAuth2Error(where + " sent a malformed HTTP reply");
        }
    } catch (const net::TransportError& e) {
        throw OAuth2Error(std::string("token endpoint: ") + e.what());
    }
    auto members = proto::parseJsonObjectScalars(response.body);
    if (!members)
        throw OAuth2Error(where + " answered HTTP " + std::to_string(response.status) + " without a JSON object");
    return JsonReply{response.status, std::move(*members)};
}

std::optional<TokenGrant> parseTokenGrant(const JsonReply& reply) {
    const auto& m = reply.members;
    if (m.count("error") || reply.status < 200 || reply.status > 299) return std::nullopt;
    auto token = m.find("access_token");
    if (token == m.end() || token->second.empty()) return std::nullopt;
    TokenGrant grant;
    grant.accessToken = token->second;
    if (auto expires = m.find("expires_in"); expires != m.end()) {
        // A number (or a numeric string, as some providers send); anything else: the default.
        try {
            std::size_t used = 0;
            long long seconds = std::stoll(expires->second, &used);
            if (used == expires->second.size() && seconds > 0) grant.expiresIn = std::chrono::seconds(seconds);
        } catch (const std::exception&) {
        }
    }
    if (auto refresh = m.find("refresh_token"); refresh != m.end()) grant.refreshToken = refresh->second;
    return grant;
}

std::string describeError(const JsonReply& reply) {
    auto error = reply.members.find("error");
    auto description = reply.members.find("error_description");
    std::string text =
        error != reply.members.end() ? printableBounded(error->second, 60) : "HTTP " + std::to_string(reply.status);
    if (error == reply.members.end() && reply.status >= 200 && reply.status <= 299)
        text = "no access_token in the reply";
    if (description != reply.members.end() && !description->second.empty())
        text += " (" + printableBounded(description->second) + ")";
    return text;
}

std::string readSecretFile(const std::string& path, const std::string& what) {
    if (path.empty()) throw OAuth2Error(what + " is not set");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw OAuth2Error("cannot read " + what + " " + path + ": " + std::strerror(errno));
    std::string content;
    char buffer[4096];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        content.append(buffer, static_cast<std::size_t>(in.gcount()));
        if (content.size() > kMaxSecretBytes) throw OAuth2Error(what + " " + path + " is larger than 64 KiB");
    }
    content = content.substr(0, content.find('\n'));
    if (!content.empty() && content.back() == '\r') content.pop_back();
    if (content.empty()) throw OAuth2Error(what + " " + path + " is empty");
    return content;
}

void writeSecretFile(const std::string& path, const std::string& content, const std::string& what) {
    if (path.empty()) throw OAuth2Error(what + " is not set");
    struct stat info {};
    if (::lstat(path.c_str(), &info) == 0 && S_ISLNK(info.st_mode))
        throw OAuth2Error(what + " " + path + " is a symbolic link; refusing to write through it");
    std::string temporary = path + ".tmp-" + std::to_string(::getpid());
    auto fail = [&](const std::string& step) {
        int error = errno;
        ::unlink(temporary.c_str());
        throw OAuth2Error("cannot " + step + " " + what + " " + path + ": " + std::strerror(error));
    };
    ::unlink(temporary.c_str());
    int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) fail("create a temporary file for");
    std::string data = content + "\n";
    const char* next = data.data();
    std::size_t left = data.size();
    while (left > 0) {
        ssize_t written = ::write(fd, next, left);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) {
            ::close(fd);
            fail("write");
        }
        next += written;
        left -= static_cast<std::size_t>(written);
    }
    if (::fchmod(fd, 0600) != 0 || ::fsync(fd) != 0) {
        ::close(fd);
        fail("write");
    }
    ::close(fd);
    if (::rename(temporary.c_str(), path.c_str()) != 0) fail("replace");
    // The rename is durable once the directory is synced.
    std::string directory = std::filesystem::path(path).parent_path().string();
    int dirFd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirFd >= 0) {
        ::fsync(dirFd);
        ::close(dirFd);
    }
}

}  // namespace mc::collector::oauth2
