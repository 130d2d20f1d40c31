#pragma once
// The IMAP APPEND target ([target] protocol = "imap"); makeTarget() picks it.

#include <chrono>
#include <memory>
#include <string>

#include "delivery/MessageTarget.hpp"

namespace mc::delivery {

std::unique_ptr<MessageTarget> makeImapTarget(const config::TargetSettings& settings, std::string password,
                                              std::chrono::milliseconds timeout,
                                              std::shared_ptr<const net::IoCutoff> cutoff = nullptr);

}  // namespace mc::delivery
