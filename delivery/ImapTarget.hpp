#pragma once
// The IMAP APPEND target ([target] protocol = "imap"); makeTarget() picks it.

#include <memory>
#include <string>

#include "delivery/MessageTarget.hpp"

namespace mc::delivery {

std::unique_ptr<MessageTarget> makeImapTarget(TargetOptions options);

}  // namespace mc::delivery
