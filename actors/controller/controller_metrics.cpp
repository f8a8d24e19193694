#include "actors/controller/controller_metrics.h"

namespace caravan::controller {

ControllerMetrics::ControllerMetrics(metrics::Registry& registry)
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
      heartbeat_age_(registry.add_gauge("caravan_worker_heartbeat_age_seconds", "Seconds since a worker was last heard")) {
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

void ControllerMetrics::set_heartbeat_age(const std::string& worker, double seconds) {
  heartbeat_age_.add({{"worker", worker}}).set(seconds);
}

} // namespace caravan::controller
