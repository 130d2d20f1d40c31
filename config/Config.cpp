#include "config/Config.hpp"

namespace mc::config {

const AccountSettings* Config::findAccount(const std::string& name) const {
    for (const auto& account : accounts)
        if (account.name == name) return &account;
    return nullptr;
}

}  // namespace mc::config
