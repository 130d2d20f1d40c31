#pragma once
// `mailcollector poll -c FILE [NAME]...`: asks the running service, through its admin endpoint on
// the config's http_listen, to poll now, waits for those polls and prints their results.

#include <string>
#include <vector>

#include "config/Config.hpp"

namespace mc::app {

// Prints one line per account polled (as `run --once` words them) on stdout. Returns the exit
// code, as `run --once`: 0 all well, 1 a poll failed or no service is listening, 2 an unknown
// account or no http_listen, 3 the service's ledger failed.
int pollCommand(const config::Config& config, const std::vector<std::string>& accounts);

}  // namespace mc::app
