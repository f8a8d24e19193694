#include "actors/controller/controller_metrics.h"

#include "core/reward_record.h"

namespace caravan::controller {
namespace {

constexpr proto::RewardStatus kAllRewardStatuses[] = {proto::RewardStatus::OK, proto::RewardStatus::WRONG,
                                                      proto::RewardStatus::TIMEOUT, proto::RewardStatus::ERROR,
                                                      proto::RewardStatus::SANDBOX_VIOLATION};

}  // namespace

ControllerMetrics::ControllerMetrics(metrics::Registry& registry, int64_t steps_planned)
    : staleness_(registry.add_histogram("caravan_trained_sample_staleness_versions",
                                        "Policy versions between a trained sample's first token and the policy it trained",
                                        {0, 1, 2, 3, 4, 8, 16})
                     .add({})),
      policy_version_(registry.add_gauge("caravan_policy_version", "Policy version the learner holds").add({})),
      trained_steps_(registry.add_gauge("caravan_trained_steps", "RL steps trained").add({})),
      dataset_cursor_(registry.add_gauge("caravan_dataset_cursor", "Training prompts drawn so far").add({})),
      ignored_replies_(registry.add_counter("caravan_controller_ignored_replies_total",
                                            "Replies ignored: duplicate, late, unknown or from a lost worker")
                           .add({})),
      workers_lost_(registry.add_counter("caravan_workers_lost_total", "Workers declared lost (silent, gone, restarted)")
                        .add({})),
      deadlines_missed_(registry.add_counter("caravan_request_deadlines_missed_total",
                                             "Requests past their [deadlines] budget")
                            .add({})),
      sync_failures_(registry.add_counter("caravan_weight_sync_failures_total", "Weight syncs retried with a re-formed group")
                         .add({})),
      downweighted_(registry.add_counter("caravan_stale_samples_downweighted_total",
                                         "Trained samples beyond max_staleness whose loss was scaled down")
                        .add({})),
      restarts_(registry.add_counter("caravan_worker_restarts_total", "Workers that said Hello again").add({})),
      learner_wait_(registry.add_counter("caravan_learner_wait_seconds_total", "Time the learner waited for a batch")
                        .add({})),
      dynamic_sampling_dropped_(registry.add_counter("caravan_dynamic_sampling_dropped_groups_total",
                                                     "Groups whose trained samples all scored alike, left out of "
                                                     "their step by [grpo] dynamic_sampling")
                                    .add({})),
      heartbeat_age_(registry.add_gauge("caravan_worker_heartbeat_age_seconds", "Seconds since a worker was last heard")),
      worker_up_(registry.add_gauge("caravan_worker_up", "1 while the controller counts a worker alive, else 0")),
      reward_(registry.add_histogram("caravan_sample_reward", "Reward of trained samples the verifiers judged",
                                     {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1})),
      verdicts_(registry.add_counter("caravan_trained_samples_total", "Trained samples by verdict status")),
      unjudged_(registry.add_counter("caravan_unjudged_samples_total",
                                     "Trained samples the verifiers could not judge, by status")),
      step_reward_mean_(registry.add_gauge("caravan_step_reward_mean", "Mean reward of the last step's judged samples")
                            .add({})),
      step_accuracy_(registry.add_gauge("caravan_step_accuracy", "Fraction of the last step's samples judged correct")
                         .add({})),
      step_seconds_(registry.add_histogram("caravan_step_seconds", "Wall time of one RL step, batch sent to update done",
                                           {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600})
                        .add({})) {
  registry.add_gauge("caravan_steps_planned", "RL steps the run is configured for").add({}).set(
      static_cast<double>(steps_planned));
  auto& samples = registry.add_gauge("caravan_ledger_samples", "Samples of the run per ledger state (trained and dropped: so far)");
  for (SampleState state : kAllSampleStates) samples_[state] = &samples.add({{"state", state_name(state)}});
  auto& drops = registry.add_counter("caravan_ledger_dropped_samples_total", "Samples dropped, by reason");
  for (DropReason reason : kAllDropReasons) drops_[reason] = &drops.add({{"reason", drop_reason_name(reason)}});
}

void ControllerMetrics::raise_to(metrics::Counter& counter, double total) {
  const double now = counter.value();
  if (total > now) counter.increment(total - now);
}

void ControllerMetrics::set_ledger(const Ledger& ledger) {
  for (const auto& [state, count] : ledger.counts()) samples_.at(state)->set(static_cast<double>(count));
  for (DropReason reason : kAllDropReasons) raise_to(*drops_.at(reason), static_cast<double>(ledger.drops(reason)));
}

void ControllerMetrics::set_progress(uint64_t policy_version, int64_t trained_steps, uint64_t dataset_cursor) {
  policy_version_.set(static_cast<double>(policy_version));
  trained_steps_.set(static_cast<double>(trained_steps));
  dataset_cursor_.set(static_cast<double>(dataset_cursor));
}

void ControllerMetrics::observe_staleness(uint64_t versions) { staleness_.observe(static_cast<double>(versions)); }

void ControllerMetrics::set_runtime_totals(const ControllerCounters& counters, uint64_t restarts,
                                           double learner_wait_seconds) {
  raise_to(ignored_replies_, static_cast<double>(counters.ignored_replies));
  raise_to(workers_lost_, static_cast<double>(counters.workers_lost));
  raise_to(deadlines_missed_, static_cast<double>(counters.deadlines_missed));
  raise_to(sync_failures_, static_cast<double>(counters.sync_failures));
  raise_to(downweighted_, static_cast<double>(counters.downweighted_samples));
  raise_to(restarts_, static_cast<double>(restarts));
  raise_to(learner_wait_, learner_wait_seconds);
}

void ControllerMetrics::set_dynamic_sampling_dropped_groups(uint64_t total) {
  raise_to(dynamic_sampling_dropped_, static_cast<double>(total));
}

void ControllerMetrics::set_heartbeat_age(const std::string& worker, double seconds) {
  heartbeat_age_.add({{"worker", worker}}).set(seconds);
}

void ControllerMetrics::set_worker_up(const std::string& worker, bool alive) {
  worker_up_.add({{"worker", worker}}).set(alive ? 1 : 0);
}

void ControllerMetrics::observe_trained_sample(const core::TaskPrompt& prompt, const LedgerSample& sample) {
  const metrics::Labels labels{{"verifier", prompt.verifier}, {"source", prompt.source}};
  if (sources_seen_.insert({prompt.verifier, prompt.source}).second) {
    // Every status of a new (verifier, source) starts at 0, so rates and alerts see the series
    // before the first sample of that status.
    for (const proto::RewardStatus status : kAllRewardStatuses) {
      metrics::Labels zero = labels;
      zero["status"] = core::reward_status_name(status);
      verdicts_.add(zero);
      unjudged_.add(zero);
    }
  }
  metrics::Labels with_status = labels;
  with_status["status"] = core::reward_status_name(sample.reward.status);
  verdicts_.add(with_status).increment();
  if (sample.reward.trainable) {
    reward_.add(labels).observe(sample.reward.score);
  } else {
    unjudged_.add(with_status).increment();
  }
}

void ControllerMetrics::record_step(double reward_mean, double accuracy, double seconds) {
  step_reward_mean_.set(reward_mean);
  step_accuracy_.set(accuracy);
  step_seconds_.observe(seconds);
}

} // namespace caravan::controller
