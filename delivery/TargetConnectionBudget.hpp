#pragma once
// How many connections to the target the whole process may hold at once ([target]
// max_connections): every account's delivery workers take a slot before they connect and give it
// back when they disconnect, so that six accounts x four connections never log in 24 times to a
// server that allows 10 logins per user.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string_view>

namespace mc::delivery {

class TargetConnectionBudget {
public:
    explicit TargetConnectionBudget(int capacity = 8) : capacity_(capacity < 1 ? 1 : capacity) {}

    // The one budget every delivery pipeline of this process shares.
    static TargetConnectionBudget& processWide();

    // A new capacity (config reload); slots held beyond it are given back as they are released.
    void setCapacity(int capacity);
    // Blocks until a slot is free; false (no slot taken) once `cancelled` returns true. `cancelled`
    // is asked whenever a slot is released and at least every 100 ms.
    bool acquire(const std::function<bool()>& cancelled);
    void release();
    // True while someone waits for a slot: an idle connection should then be given up.
    bool contended() const;
    int inUse() const;

private:
    mutable std::mutex mutex_;
    std::condition_variable released_;
    int capacity_;
    int inUse_ = 0;
    int waiting_ = 0;
};

// The target's reply reads like "too many connections" (Dovecot's "Maximum number of connections
// from user+IP exceeded", Postfix's "Too many concurrent SMTP connections", "too many sessions").
bool soundsLikeTooManyConnections(std::string_view replyText);

}  // namespace mc::delivery
