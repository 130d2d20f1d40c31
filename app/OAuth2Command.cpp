// `mailcollector oauth2 authorize -c FILE --account NAME`.

#include <iostream>
#include <thread>

#include "app/CommandTable.hpp"

#include "collector/oauth2/DeviceAuthorization.hpp"

namespace mc::app {
namespace {

// Runs the device authorization grant for the account and stores its refresh token. Returns the
// exit code: 0 stored, 1 the provider refused or the flow failed, 2 no such account.
int oauth2AuthorizeCommand(const config::Config& config, const std::string& name) {
    const config::AccountSettings* account = config.findAccount(name);
    if (!account) {
        std::cerr << "mailcollector: no account named '" << name << "' in " << config.path << "\n";
        return 2;
    }
    collector::oauth2::DeviceFlowHooks hooks;
    hooks.sleep = [](std::chrono::seconds interval) { std::this_thread::sleep_for(interval); };
    hooks.timeout = config.collector.ioTimeout;
    try {
        collector::oauth2::authorizeDevice(*account, std::cout, hooks);
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "mailcollector: account " << name << ": OAuth2 authorization failed: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace

CommandSpec oauth2CommandSpec() {
    CommandSpec spec;
    spec.name = "oauth2";
    spec.synopsis = "oauth2 authorize -c FILE --account NAME";
    spec.summary =
        "authorize: the one-time OAuth2 consent (device flow) that stores the account's\n"
        "refresh token in its oauth2_refresh_token_file";
    spec.help =
        "authorize: the one-time OAuth2 consent for an account with auth = \"oauth2\" (the device\n"
        "flow): prints a URL and a code to enter there, waits for the consent, and stores the\n"
        "refresh token in the account's oauth2_refresh_token_file (mode 0600).\n";
    spec.options = {{"--account", true}};
    spec.takesOperands = true;
    spec.needsConfig = true;
    spec.checkUsage = [](const Invocation& invocation) {
        if (invocation.operands != std::vector<std::string>{"authorize"}) throw UsageError("oauth2 needs authorize");
        if (invocation.accounts().size() != 1) throw UsageError("oauth2 authorize needs one --account NAME");
    };
    spec.run = [](const Invocation& invocation, const config::Config* config) {
        return oauth2AuthorizeCommand(*config, invocation.accounts().front());
    };
    return spec;
}

}  // namespace mc::app
