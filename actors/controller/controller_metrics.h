// File: actors/controller/controller_metrics.h
// The controller's Prometheus metrics: the ledger's samples per state, drops per reason, the
// staleness of trained samples, the policy version and step, and what the runtime survived
// (ignored replies, lost workers, missed deadlines, failed syncs, restarts) plus each worker's
// heartbeat age. The controller publishes into them; the /metrics endpoint reads the registry.
//
//   auto registry = std::make_shared<metrics::Registry>();
//   ControllerMetrics metrics(*registry);
//   metrics.observe_staleness(2);
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "actors/controller/ledger.h"
#include "core/metrics/registry.h"

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
  explicit ControllerMetrics(metrics::Registry& registry);

  void set_ledger(const Ledger& ledger);
  void set_progress(uint64_t policy_version, int64_t trained_steps, uint64_t dataset_cursor);
  void observe_staleness(uint64_t versions);
  // Raises the runtime counters to these totals.
  void set_runtime_totals(const ControllerCounters& counters, uint64_t restarts, double learner_wait_seconds);
  void set_heartbeat_age(const std::string& worker, double seconds);

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
  metrics::Family<metrics::Gauge>& heartbeat_age_;
};

} // namespace caravan::controller
