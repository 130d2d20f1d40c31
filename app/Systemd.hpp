#pragma once
// What mailcollector tells systemd, without linking libsystemd.

namespace mc::app {

// systemd's readiness protocol (Type=notify): one datagram to $NOTIFY_SOCKET. A no-op outside
// systemd.
void notifySystemd(const char* state);

}  // namespace mc::app
