#include "collector/DownloadBudget.hpp"

#include <algorithm>

namespace mc::collector {

DownloadBudget::DownloadBudget(const config::AccountSettings& account,
                               std::function<std::uint64_t()> downloadedInLastDay)
    : maxMessages_(account.maxMessagesPerPoll),
      maxBytesPerDay_(account.maxBytesPerDay),
      downloadedInLastDay_(std::move(downloadedInLastDay)) {}

std::size_t DownloadBudget::take(const std::vector<std::uint64_t>& sizes) {
    if (sizes.empty() || (maxMessages_ == 0 && maxBytesPerDay_ == 0)) return sizes.size();
    if (maxBytesPerDay_ != 0 && !dayKnown_) {
        bytesToday_ = downloadedInLastDay_();
        dayKnown_ = true;
    }
    std::size_t taken = 0;
    for (; taken < sizes.size(); ++taken) {
        if (maxMessages_ != 0 && takenMessages_ >= maxMessages_) break;
        // A message bigger than a whole day's budget still goes, alone, on a fresh day.
        const bool freshDay = bytesToday_ == 0;
        if (maxBytesPerDay_ != 0 && bytesToday_ + sizes[taken] > maxBytesPerDay_ && !freshDay) {
            stoppedByBytes_ = true;
            break;
        }
        ++takenMessages_;
        takenBytes_ += sizes[taken];
        bytesToday_ += sizes[taken];
    }
    for (std::size_t i = taken; i < sizes.size(); ++i) {
        ++leftMessages_;
        leftBytes_ += sizes[i];
    }
    return taken;
}

std::string DownloadBudget::describe() const {
    if (leftMessages_ == 0) return "";
    std::string text =
        std::to_string(leftMessages_) + " messages (" + std::to_string(leftBytes_) + " bytes) left for later polls (";
    if (stoppedByBytes_) {
        const std::uint64_t days = (leftBytes_ + maxBytesPerDay_ - 1) / maxBytesPerDay_;
        text += "max_bytes_per_day = " + std::to_string(maxBytesPerDay_) + " reached); done in about " +
                std::to_string(days) + (days == 1 ? " more day" : " more days");
    } else {
        const std::uint64_t polls = (leftMessages_ + maxMessages_ - 1) / maxMessages_;
        text += "max_messages_per_poll = " + std::to_string(maxMessages_) + "); done in about " +
                std::to_string(polls) + (polls == 1 ? " more poll" : " more polls");
    }
    return text;
}

}  // namespace mc::collector
