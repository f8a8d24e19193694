#include "rewards/verifier_metrics.h"

namespace caravan::rewards {
namespace {

// From 100 us (arithmetic) to the longest sandboxed program runs.
const std::vector<double> kLatencyBuckets = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30};

constexpr VerdictStatus kAllStatuses[] = {VerdictStatus::kOk, VerdictStatus::kWrong, VerdictStatus::kTimeout,
                                          VerdictStatus::kError, VerdictStatus::kSandboxViolation};

}  // namespace

VerifierMetrics::VerifierMetrics(metrics::Registry& registry)
    : requests_(registry.add_counter("caravan_verifier_requests_total", "Verifications finished, by verdict status")),
      latency_(registry.add_histogram("caravan_verifier_latency_seconds", "Time spent in one verify() call",
                                      kLatencyBuckets)),
      timeouts_(registry.add_counter("caravan_verifier_timeouts_total", "Verifications that ran past their deadline")),
      errors_(registry.add_counter("caravan_verifier_errors_total",
                                   "Verifications that could not judge (bad ground truth, unknown verifier, exception)")),
      sandbox_kills_(registry.add_counter("caravan_verifier_sandbox_kills_total",
                                          "Checked programs stopped for breaking the sandbox rules")),
      queue_depth_(registry.add_gauge("caravan_verifier_queue_depth", "Verification jobs waiting for a thread").add({})),
      rejected_(registry.add_counter("caravan_verifier_rejected_total",
                                     "Batches refused because the queue had no room (back-pressure)")
                    .add({})),
      reward_config_info_(registry.add_gauge("caravan_reward_config_info",
                                             "1 for the version of the reward config in force, 0 for replaced ones")),
      reward_config_loads_(
          registry.add_counter("caravan_reward_config_loads_total", "Reward configs loaded (first load and reloads)")
              .add({})) {
  reward_config_info_.add({{"version", reward_config_version_}}).set(1);
}

void VerifierMetrics::set_reward_config(const std::string& version) {
  std::lock_guard lock(mutex_);
  reward_config_info_.add({{"version", reward_config_version_}}).set(0);
  reward_config_version_ = version;
  reward_config_info_.add({{"version", version}}).set(1);
  reward_config_loads_.increment();
}

const VerifierMetrics::PerVerifier& VerifierMetrics::series(std::string_view verifier) {
  std::lock_guard lock(mutex_);
  auto found = series_.find(verifier);
  if (found != series_.end()) return found->second;
  const metrics::Labels labels{{"verifier", std::string(verifier)}};
  PerVerifier created{{}, &latency_.add(labels), &timeouts_.add(labels), &errors_.add(labels), &sandbox_kills_.add(labels)};
  for (VerdictStatus status : kAllStatuses) {
    created.requests[status] = &requests_.add({{"verifier", std::string(verifier)}, {"status", verdict_status_name(status)}});
  }
  return series_.emplace(std::string(verifier), std::move(created)).first->second;
}

void VerifierMetrics::record(std::string_view verifier, VerdictStatus status, double seconds) {
  const PerVerifier& s = series(verifier);
  s.requests.at(status)->increment();
  s.latency->observe(seconds);
  switch (status) {
    case VerdictStatus::kOk:
    case VerdictStatus::kWrong: break;
    case VerdictStatus::kTimeout: s.timeouts->increment(); break;
    case VerdictStatus::kError: s.errors->increment(); break;
    case VerdictStatus::kSandboxViolation: s.sandbox_kills->increment(); break;
  }
}

} // namespace caravan::rewards
