#include "schedules/AccountPlans.hpp"

#include <algorithm>

namespace mc::schedules {
namespace {

// Appends a length-prefixed field so that no two different settings produce one string.
void field(std::string& out, const std::string& value) {
    out += std::to_string(value.size());
    out += ':';
    out += value;
    out += ';';
}

void field(std::string& out, std::uint64_t value) { field(out, std::to_string(value)); }

}  // namespace

std::string accountFingerprint(const config::AccountSettings& account) {
    std::string out;
    field(out, static_cast<std::uint64_t>(account.protocol));
    field(out, account.endpoint.host);
    field(out, account.endpoint.port);
    field(out, static_cast<std::uint64_t>(account.endpoint.tls));
    field(out, account.endpoint.caFile);
    field(out, account.endpoint.tlsFingerprint);
    field(out, account.endpoint.allowPlaintext);
    field(out, account.username);
    field(out, static_cast<std::uint64_t>(account.password.kind));
    field(out, account.password.reference);  // a reference (or inline value): never logged
    field(out, static_cast<std::uint64_t>(account.auth));
    field(out, account.oauth2Provider);
    field(out, account.oauth2ClientId);
    field(out, account.oauth2ClientSecretFile);
    field(out, account.oauth2RefreshTokenFile);
    field(out, account.oauth2TokenUrl);
    field(out, account.oauth2TokenCommand);
    field(out, account.folders.size());
    for (const auto& folder : account.folders) field(out, folder);
    field(out, account.keep);
    field(out, static_cast<std::uint64_t>(account.deleteAfterDays));
    field(out, static_cast<std::uint64_t>(account.fetch));
    field(out, account.labels.size());
    for (const auto& label : account.labels) field(out, label);
    field(out, account.archive);
    field(out, account.maxMessageSize);
    field(out, account.idle);
    return out;
}

std::vector<AccountPlan> accountPlans(const config::Config& config, const std::vector<std::string>& only) {
    std::vector<AccountPlan> plans;
    for (const auto& account : config.accounts) {
        if (!only.empty() && std::find(only.begin(), only.end(), account.name) == only.end()) continue;
        AccountPlan plan;
        plan.name = account.name;
        plan.interval = std::chrono::duration_cast<Duration>(account.interval);
        plan.fingerprint = accountFingerprint(account);
        plans.push_back(std::move(plan));
    }
    return plans;
}

}  // namespace mc::schedules
