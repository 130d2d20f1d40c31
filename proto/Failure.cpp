#include "proto/Failure.hpp"

#include <array>
#include <utility>

namespace mc::proto {
namespace {

constexpr std::array<std::pair<FailureKind, std::string_view>, 13> kNames{{
    {FailureKind::Network, "network"},
    {FailureKind::Tls, "tls"},
    {FailureKind::Authentication, "authentication"},
    {FailureKind::Protocol, "protocol"},
    {FailureKind::Limit, "limit"},
    {FailureKind::Timeout, "timeout"},
    {FailureKind::TargetTransient, "target-transient"},
    {FailureKind::TargetPermanent, "target-permanent"},
    {FailureKind::Ledger, "ledger"},
    {FailureKind::Interrupted, "interrupted"},
    {FailureKind::Config, "config"},
    {FailureKind::Unsupported, "unsupported"},
    {FailureKind::Throttled, "throttled"},
}};

}  // namespace

std::string_view failureKindName(FailureKind kind) {
    for (const auto& [k, name] : kNames)
        if (k == kind) return name;
    return "protocol";
}

std::optional<FailureKind> parseFailureKind(std::string_view name) {
    for (const auto& [kind, n] : kNames)
        if (n == name) return kind;
    return std::nullopt;
}

RetryClass retryClassOf(FailureKind kind) {
    switch (kind) {
        case FailureKind::Interrupted:
            return RetryClass::Now;
        case FailureKind::Authentication:
        case FailureKind::TargetPermanent:
        case FailureKind::Config:
        case FailureKind::Unsupported:
            return RetryClass::Never;
        default:
            return RetryClass::Later;
    }
}

std::string_view retryClassName(RetryClass retry) {
    switch (retry) {
        case RetryClass::Now:
            return "now";
        case RetryClass::Never:
            return "never";
        default:
            return "later";
    }
}

}  // namespace mc::proto
