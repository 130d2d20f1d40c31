#include "delivery/TargetConnectionBudget.hpp"

#include <chrono>

#include "proto/AsciiText.hpp"

namespace mc::delivery {

TargetConnectionBudget& TargetConnectionBudget::processWide() {
    static TargetConnectionBudget budget;
    return budget;
}

void TargetConnectionBudget::setCapacity(int capacity) {
    {
        std::lock_guard lock(mutex_);
        capacity_ = capacity < 1 ? 1 : capacity;
    }
    released_.notify_all();
}

bool TargetConnectionBudget::acquire(const std::function<bool()>& cancelled) {
    std::unique_lock lock(mutex_);
    ++waiting_;
    while (inUse_ >= capacity_) {
        if (cancelled && cancelled()) {
            --waiting_;
            return false;
        }
        released_.wait_for(lock, std::chrono::milliseconds(100));
    }
    --waiting_;
    ++inUse_;
    return true;
}

void TargetConnectionBudget::release() {
    {
        std::lock_guard lock(mutex_);
        if (inUse_ > 0) --inUse_;
    }
    released_.notify_all();
}

bool TargetConnectionBudget::contended() const {
    std::lock_guard lock(mutex_);
    return waiting_ > 0;
}

int TargetConnectionBudget::inUse() const {
    std::lock_guard lock(mutex_);
    return inUse_;
}

bool soundsLikeTooManyConnections(std::string_view replyText) {
    std::string upper = proto::asciiUpperCopy(replyText);
    for (const char* phrase :
         {"TOO MANY CONNECTIONS", "TOO MANY CONCURRENT", "TOO MANY SESSIONS", "TOO MANY SIMULTANEOUS",
          "MAXIMUM NUMBER OF CONNECTIONS", "CONNECTION LIMIT", "TOO MANY LOGINS", "MAXIMUM NUMBER OF SESSIONS"})
        if (upper.find(phrase) != std::string::npos) return true;
    return false;
}

}  // namespace mc::delivery
