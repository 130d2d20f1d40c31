#pragma once
// From the configuration to what the scheduler needs: one AccountPlan per account to poll.

#include <string>
#include <vector>

#include "config/Config.hpp"
#include "schedules/Scheduler.hpp"

namespace mc::schedules {

// Every setting of the account except its name and interval, as one string: equal strings mean
// a reload left the account's connection and collection settings alone. (The scheduler only uses
// it to decide whether to poll at once; every poll uses the current config either way.)
std::string accountFingerprint(const config::AccountSettings& account);

// The plans for `config`'s accounts (or only those named in `only`, when not empty, in config
// order; names missing from the config are ignored here and reported by the caller).
std::vector<AccountPlan> accountPlans(const config::Config& config, const std::vector<std::string>& only);

}  // namespace mc::schedules
