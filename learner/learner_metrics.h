// File: learner/learner_metrics.h
// The Prometheus series of the learner process, updated once per training step and per weight
// sync on the learner's work thread:
//   caravan_learner_steps_total              RL steps trained by this process
//   caravan_learner_step_seconds             histogram, wall time of one step
//   caravan_learner_tokens_total             completion tokens trained on (tokens/s = rate())
//   caravan_learner_loss                     loss of the last step
//   caravan_learner_kl                       mean KL estimate against the reference, last step
//   caravan_learner_entropy_nats             mean per-token entropy of the policy, last step
//   caravan_learner_clip_fraction            fraction of tokens whose clipped branch was active
//   caravan_learner_masked_fraction          fraction of completion tokens left out of the loss
//   caravan_learner_grad_norm                gradient L2 norm before clipping, last step
//   caravan_learner_policy_version           version of the weights the learner holds
//   caravan_learner_value_loss               PPO only: the value model's clipped loss, last step
//   caravan_learner_explained_variance       PPO only: how much of the returns' variance the
//                                            value model explains, last step
// plus the weight-sync series of model/weight_sync_metrics.h (the learner is the source).
//
//   LearnerMetrics metrics(*registry);
//   metrics.record_grpo_step(stats, groups, policy_version);
#pragma once

#include <cstdint>
#include <vector>

#include "core/metrics/registry.h"
#include "learner/grpo_trainer.h"
#include "learner/rollout_batch.h"
#include "model/weight_sync_metrics.h"

namespace caravan::learner {

// What record_grpo_step derives from the batch itself.
struct BatchTokenStats {
  // Completion tokens of samples that get no gradient (unjudged, or weight 0) over all
  // completion tokens; 0 for a batch without tokens.
  double masked_fraction = 0;
  // Mean of -logprob over the trained tokens: a Monte-Carlo estimate of the rollout policy's
  // per-token entropy at its sampling temperature (E[-log p(x)] = H(p) for x drawn from p).
  double entropy_estimate = 0;
};
BatchTokenStats batch_token_stats(const std::vector<RolloutGroup>& groups);

// Owner thread only for the updates (scrapes read them from the exposer's thread). `registry`
// must outlive this object.
class LearnerMetrics {
 public:
  explicit LearnerMetrics(metrics::Registry& registry);

  // One GRPO step over `groups` that left the learner at `policy_version`. The one feeding point
  // of the step series: a trainer that computes the exact entropy or its own masked fraction
  // sets them here instead of batch_token_stats' estimates.
  void record_grpo_step(const GrpoStepStats& stats, const std::vector<RolloutGroup>& groups, uint64_t policy_version);
  // The weights the learner holds changed without a step (SFT, a restored checkpoint).
  void set_policy_version(uint64_t version) { policy_version_.set(static_cast<double>(version)); }
  model::WeightSyncMetrics& weight_sync() { return weight_sync_; }

 private:
  metrics::Counter& steps_;
  metrics::Histogram& step_seconds_;
  metrics::Counter& tokens_;
  metrics::Gauge& loss_;
  metrics::Gauge& kl_;
  metrics::Gauge& entropy_;
  metrics::Gauge& clip_fraction_;
  metrics::Gauge& masked_fraction_;
  metrics::Gauge& grad_norm_;
  metrics::Gauge& policy_version_;
  metrics::Gauge& value_loss_;
  metrics::Gauge& explained_variance_;
  model::WeightSyncMetrics weight_sync_;
};

} // namespace caravan::learner
