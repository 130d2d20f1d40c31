// `mailcollector poll -c FILE [NAME]...`: asks the running service, through its admin endpoint on
// the config's http_listen, to poll now, waits for those polls and prints their results.

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/StreamCopier.h>

#include <iostream>
#include <sstream>

#include "app/CommandTable.hpp"

namespace mc::app {
namespace {

// Where to reach a service that listens on `listen`: a wildcard address is reached on loopback.
Poco::Net::SocketAddress serviceAddress(const std::string& listen) {
    Poco::Net::SocketAddress address(listen);
    if (address.host().isWildcard()) {
        const bool v6 = address.family() == Poco::Net::SocketAddress::IPv6;
        return Poco::Net::SocketAddress(v6 ? "::1" : "127.0.0.1", address.port());
    }
    return address;
}

// Prints one line per account polled (as `run --once` words them) on stdout. Returns the exit
// code, as `run --once`: 0 all well, 1 a poll failed or no service is listening, 2 an unknown
// account or no http_listen, 3 the service's ledger failed.
int pollCommand(const config::Config& config, const std::vector<std::string>& accounts) {
    const std::string& listen = config.collector.httpListen;
    if (listen.empty()) {
        std::cerr << "mailcollector: poll talks to the service over its admin endpoint, and " << config.path
                  << " turns it off (http_listen = \"\")\n";
        return kExitUsage;
    }
    std::string target = "/poll?wait=1";
    for (const auto& name : accounts) {
        if (!config.findAccount(name)) {
            std::cerr << "mailcollector: no account named '" << name << "' in " << config.path << "\n";
            return kExitUsage;
        }
        target += "&account=" + name;  // account names are URL-safe: [A-Za-z0-9._-]
    }
    Poco::Net::SocketAddress address;
    try {
        address = serviceAddress(listen);
    } catch (const Poco::Exception& e) {
        std::cerr << "mailcollector: http_listen = \"" << listen << "\": " << e.displayText() << "\n";
        return kExitUsage;
    }
    std::string token;
    if (config.collector.httpToken.kind != mc::config::SecretSource::Kind::None) {
        try {
            token = mc::config::resolveSecret(config.collector.httpToken, "http_token_file");
        } catch (const mc::config::ConfigError& e) {
            std::cerr << "mailcollector: " << e.what() << "\n";
            return kExitUsage;
        }
    }
    int status = 0;
    std::string body;
    try {
        Poco::Net::HTTPClientSession session(address);
        // The polls may take as long as their poll_timeout; the service bounds them, not us.
        session.setTimeout(Poco::Timespan(5, 0), Poco::Timespan(30, 0), Poco::Timespan(7 * 24 * 3600, 0));
        try {
            Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, target, Poco::Net::HTTPMessage::HTTP_1_1);
            request.setContentLength(0);
            if (!token.empty()) request.set("Authorization", "Bearer " + token);
            session.sendRequest(request);
        } catch (const Poco::Net::NetException&) {
            std::cerr << "mailcollector: no mailcollector service is listening on " << address.toString()
                      << "; start it with `mailcollector run -c " << config.path << "` or use `run --once`\n";
            return kExitAccountFailed;
        } catch (const Poco::TimeoutException&) {
            std::cerr << "mailcollector: no mailcollector service is listening on " << address.toString()
                      << "; start it with `mailcollector run -c " << config.path << "` or use `run --once`\n";
            return kExitAccountFailed;
        }
        Poco::Net::HTTPResponse response;
        std::istream& in = session.receiveResponse(response);
        status = response.getStatus();
        Poco::StreamCopier::copyToString(in, body);
    } catch (const Poco::Exception& e) {
        std::cerr << "mailcollector: the service on " << address.toString()
                  << " did not answer the poll request (is it stopping?): " << e.displayText() << "\n";
        return kExitAccountFailed;
    }
    if (status == 404) {
        std::cerr << "mailcollector: " << body;
        return kExitUsage;
    }
    if (status != 200) {
        std::cerr << "mailcollector: the service on " << address.toString() << " answered " << status << ": " << body;
        return kExitAccountFailed;
    }
    // One line per account: "ok|failed|ledger-failed<TAB>what run --once says of it".
    int exitCode = kExitOk;
    std::istringstream lines(body);
    std::string line;
    while (std::getline(lines, line)) {
        const auto tab = line.find('\t');
        const std::string result = line.substr(0, tab);
        std::cout << (tab == std::string::npos ? line : line.substr(tab + 1)) << "\n";
        if (result == "ledger-failed")
            exitCode = kExitLedger;
        else if (result != "ok" && exitCode == kExitOk)
            exitCode = kExitAccountFailed;
    }
    return exitCode;
}

}  // namespace

CommandSpec pollCommandSpec() {
    CommandSpec spec;
    spec.name = "poll";
    spec.synopsis = "poll -c FILE [NAME]...";
    spec.summary =
        "asks the running service (on the config's http_listen) to poll every (or each named)\n"
        "account now, waits for those polls and prints their results as run --once does";
    spec.help =
        "Asks the running service (on the config's http_listen) to poll every account, or each one\n"
        "named, now; waits for those polls and prints their results as run --once does. Exit codes as\n"
        "run --once; 1 also when no service is listening.\n";
    spec.takesOperands = true;
    spec.needsConfig = true;
    spec.run = [](const Invocation& invocation, const config::Config* config) {
        return pollCommand(*config, invocation.operands);
    };
    return spec;
}

}  // namespace mc::app
