// File: actors/controller/controller_metrics.h
// The controller's Prometheus metrics: the ledger's samples per state, drops per reason, the
// staleness of trained samples, the policy version and step (and the steps planned, for an
// ETA), what the runtime survived (ignored replies, lost workers, missed deadlines, failed
// syncs, restarts), the groups dynamic sampling dropped, each worker's heartbeat age and
// liveness, and what the trained samples
// scored: per verifier and dataset source, the reward distribution and the verdicts by status
// (accuracy = ok / all), the unjudged ones by status, and the last step's reward mean,
// accuracy and wall time. The controller publishes into them; the /metrics endpoint reads the
// registry.
//
//   auto registry = std::make_shared<metrics::Registry>();
//   ControllerMetrics metrics(*registry, /*steps_planned=*/100);
//   metrics.observe_staleness(2);
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "actors/controller/ledger.h"
#include "core/metrics/registry.h"
#include "core/task_prompt.h"

namespace caravan::controller {

// Counters of what the controller refused or survived, reported in metrics.jsonl.
struct ControllerCounters {
  // Replies ignored: for a request or group no longer expected (duplicate, late, from a lost
  // incarnation) or from a process that is not a worker of the run.
  uint64_t ignored_replies = 0;
  // Workers declared lost (silent, disconnected, restarted).
  uint64_t workers_lost = 0;
  // Requests past their deadline.
  uint64_t deadlines_missed = 0;
  // Weight syncs that failed and were retried with a re-formed group.
  uint64_t sync_failures = 0;
  // Trained samples older than the staleness bound whose loss was scaled down.
  uint64_t downweighted_samples = 0;
  // Completions refused because a sample was tagged with a policy version never announced in a
  // SyncWeights (nor the initial version 0).
  uint64_t unannounced_versions = 0;
};

// Owner thread only for the setters (the metrics themselves are thread-safe to scrape).
class ControllerMetrics {
 public:
  // `steps_planned`: the run's [grpo] steps.
  ControllerMetrics(metrics::Registry& registry, int64_t steps_planned);

  void set_ledger(const Ledger& ledger);
  void set_progress(uint64_t policy_version, int64_t trained_steps, uint64_t dataset_cursor);
  void observe_staleness(uint64_t versions);
  // Raises the runtime counters to these totals.
  void set_runtime_totals(const ControllerCounters& counters, uint64_t restarts, double learner_wait_seconds);
  // Raises the count of groups dynamic sampling dropped (uninformative) to this run total.
  void set_dynamic_sampling_dropped_groups(uint64_t total);
  void set_heartbeat_age(const std::string& worker, double seconds);
  void set_worker_up(const std::string& worker, bool alive);
  // One sample of a trained group, of `prompt`, with its verdict (its reward counts when the
  // verifier judged it).
  void observe_trained_sample(const core::TaskPrompt& prompt, const LedgerSample& sample);
  // The step just trained: mean reward of its judged samples, accuracy over all its samples,
  // wall time from its start to the learner's answer.
  void record_step(double reward_mean, double accuracy, double seconds);

 private:
  // Increments `counter` up to `total` (counters only go up; totals are what the controller keeps).
  static void raise_to(metrics::Counter& counter, double total);

  std::map<SampleState, metrics::Gauge*> samples_;
  std::map<DropReason, metrics::Counter*> drops_;
  metrics::Histogram& staleness_;
  metrics::Gauge& policy_version_;
  metrics::Gauge& trained_steps_;
  metrics::Gauge& dataset_cursor_;
  metrics::Counter& ignored_replies_;
  metrics::Counter& workers_lost_;
  metrics::Counter& deadlines_missed_;
  metrics::Counter& sync_failures_;
  metrics::Counter& downweighted_;
  metrics::Counter& restarts_;
  metrics::Counter& learner_wait_;
  metrics::Counter& dynamic_sampling_dropped_;
  metrics::Family<metrics::Gauge>& heartbeat_age_;
  metrics::Family<metrics::Gauge>& worker_up_;
  metrics::Family<metrics::Histogram>& reward_;
  metrics::Family<metrics::Counter>& verdicts_;
  metrics::Family<metrics::Counter>& unjudged_;
  metrics::Gauge& step_reward_mean_;
  metrics::Gauge& step_accuracy_;
  metrics::Histogram& step_seconds_;
  // (verifier, source) pairs whose series exist.
  std::set<std::pair<std::string, std::string>> sources_seen_;
};

} // namespace caravan::controller
