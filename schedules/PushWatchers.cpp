#include "schedules/PushWatchers.hpp"

#include "collector/imap/ImapIdleWatcher.hpp"

namespace mc::schedules {
namespace {

class ImapIdleAccountWatcher final : public AccountWatcher {
public:
    ImapIdleAccountWatcher(const config::Config& config, const config::AccountSettings& account,
                           std::function<void()> onNewMail, Clock& clock)
        : watcher_(
              config, account,
              [onNewMail = std::move(onNewMail)](const std::string&, const std::string&) { onNewMail(); }, {}, clock) {}
    void start() override { watcher_.start(); }
    void requestStop() override { watcher_.requestStop(); }
    void stop() override { watcher_.stop(); }

private:
    collector::ImapIdleWatcher watcher_;
};

}  // namespace

WatcherFactory imapIdleWatchers(Clock& clock) {
    return [&clock](const config::Config& config, const config::AccountSettings& account,
                    std::function<void()> onNewMail) -> std::unique_ptr<AccountWatcher> {
        if (account.protocol != config::SourceProtocol::Imap || !account.idle) return nullptr;
        return std::make_unique<ImapIdleAccountWatcher>(config, account, std::move(onNewMail), clock);
    };
}

}  // namespace mc::schedules
