#include "learner/learner_metrics.h"

namespace caravan::learner {

BatchTokenStats batch_token_stats(const std::vector<RolloutGroup>& groups) {
  double all_tokens = 0, masked_tokens = 0, negative_logprob_sum = 0;
  for (const RolloutGroup& group : groups) {
    for (const RolloutSample& sample : group.samples) {
      const auto tokens = static_cast<double>(sample.tokens.size());
      all_tokens += tokens;
      if (!sample.judged || sample.weight == 0.0f) {
        masked_tokens += tokens;
        continue;
      }
      for (const float logprob : sample.logprobs) negative_logprob_sum -= logprob;
    }
  }
  BatchTokenStats stats;
  if (all_tokens > 0) stats.masked_fraction = masked_tokens / all_tokens;
  if (all_tokens > masked_tokens) stats.entropy_estimate = negative_logprob_sum / (all_tokens - masked_tokens);
  return stats;
}

LearnerMetrics::LearnerMetrics(metrics::Registry& registry)
    : steps_(registry.add_counter("caravan_learner_steps_total", "RL steps trained by this learner").add({})),
      step_seconds_(registry.add_histogram("caravan_learner_step_seconds", "Wall time of one training step",
                                           {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600})
                        .add({})),
      tokens_(registry.add_counter("caravan_learner_tokens_total", "Completion tokens trained on").add({})),
      loss_(registry.add_gauge("caravan_learner_loss", "Loss of the last training step").add({})),
      kl_(registry.add_gauge("caravan_learner_kl", "Mean KL estimate against the reference model, last step").add({})),
      entropy_(registry.add_gauge("caravan_learner_entropy_nats", "Mean per-token policy entropy, last step").add({})),
      clip_fraction_(registry.add_gauge("caravan_learner_clip_fraction",
                                        "Fraction of completion tokens whose clipped branch was active, last step")
                         .add({})),
      masked_fraction_(registry.add_gauge("caravan_learner_masked_fraction",
                                          "Fraction of completion tokens left out of the loss, last step")
                           .add({})),
      grad_norm_(registry.add_gauge("caravan_learner_grad_norm", "Gradient L2 norm before clipping, last step").add({})),
      policy_version_(
          registry.add_gauge("caravan_learner_policy_version", "Policy version of the weights the learner holds").add({})),
      value_loss_(
          registry.add_gauge("caravan_learner_value_loss", "PPO value model's clipped loss, last step").add({})),
      explained_variance_(registry
                              .add_gauge("caravan_learner_explained_variance",
                                         "Fraction of the returns' variance the PPO value model explains, last step")
                              .add({})),
      weight_sync_(registry) {}

void LearnerMetrics::record_grpo_step(const GrpoStepStats& stats, const std::vector<RolloutGroup>& groups,
                                      uint64_t policy_version) {
  const BatchTokenStats batch = batch_token_stats(groups);
  steps_.increment();
  step_seconds_.observe(stats.seconds);
  tokens_.increment(static_cast<double>(stats.tokens));
  loss_.set(stats.loss);
  kl_.set(stats.kl_mean);
  entropy_.set(batch.entropy_estimate);
  clip_fraction_.set(stats.clip_fraction);
  masked_fraction_.set(batch.masked_fraction);
  grad_norm_.set(stats.grad_norm);
  for (const auto& [name, value] : stats.terms) {
    if (name == "value_loss") value_loss_.set(value);
    if (name == "explained_variance") explained_variance_.set(value);
  }
  set_policy_version(policy_version);
}

} // namespace caravan::learner
