#include "app/OAuth2Command.hpp"

#include <iostream>
#include <thread>

#include "collector/oauth2/DeviceAuthorization.hpp"

namespace mc::app {

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

}  // namespace mc::app
