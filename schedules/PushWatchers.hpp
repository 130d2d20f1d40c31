#pragma once
// The service's push notification sources: IMAP IDLE for IMAP accounts with idle = true.

#include "schedules/Service.hpp"

namespace mc::schedules {

// A WatcherFactory making a collector::ImapIdleWatcher for every IMAP account with idle = true
// (nullptr for the others, which are polled only). CLOCK times their backoff waits.
WatcherFactory imapIdleWatchers(Clock& clock = systemClock());

}  // namespace mc::schedules
