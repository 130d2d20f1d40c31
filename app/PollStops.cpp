#include "app/PollStops.hpp"

namespace mc::app {

std::shared_ptr<PollStops::Handle> PollStops::begin(const std::string& account) {
    auto handle = std::make_shared<Handle>();
    handle->cutoff = std::make_shared<net::IoCutoff>(all_);
    std::lock_guard lock(mutex_);
    handle->stop = allStopped_;
    running_.emplace(account, handle);
    return handle;
}

void PollStops::end(const std::string& account, const std::shared_ptr<Handle>& handle) {
    std::lock_guard lock(mutex_);
    auto [first, last] = running_.equal_range(account);
    for (auto it = first; it != last; ++it)
        if (it->second == handle) {
            running_.erase(it);
            return;
        }
}

void PollStops::stopAll(std::chrono::seconds grace) {
    std::lock_guard lock(mutex_);
    allStopped_ = true;
    all_->cutAt(std::chrono::steady_clock::now() + grace);
    for (auto& [account, handle] : running_) handle->stop = true;
}

bool PollStops::stop(const std::string& account, std::chrono::seconds grace) {
    std::lock_guard lock(mutex_);
    auto [first, last] = running_.equal_range(account);
    for (auto it = first; it != last; ++it) {
        it->second->stop = true;
        it->second->cutoff->cutAt(std::chrono::steady_clock::now() + grace);
    }
    return first != last;
}

}  // namespace mc::app
