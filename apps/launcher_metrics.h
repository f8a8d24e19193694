// File: apps/launcher_metrics.h
// The Prometheus series of the `caravan run` launcher, which supervises every process of a run
// on one machine (apps/process_supervisor.h):
//   caravan_launcher_process_up{process}               1 while the child runs, else 0
//   caravan_launcher_process_restarts_total{process}   times the launcher restarted the child
//   caravan_launcher_start_time_seconds                when the launcher started (Unix time)
// publish() copies the supervisor's view into them; the supervisor calls it on every tick.
//
//   LauncherMetrics metrics(*registry, {"controller-0", "learner-0", "rollout-0"});
//   SupervisorOptions options{.on_tick = [&](const ProcessSupervisor& s) { metrics.publish(s); }};
#pragma once

#include <map>
#include <string>
#include <vector>

#include "apps/process_supervisor.h"
#include "core/metrics/registry.h"

namespace caravan::apps {

// Owner thread only for publish(). `registry` must outlive this object.
class LauncherMetrics {
 public:
  // `processes`: the supervised children's names.
  LauncherMetrics(metrics::Registry& registry, const std::vector<std::string>& processes);

  void publish(const ProcessSupervisor& supervisor);

 private:
  struct PerProcess {
    metrics::Gauge* up;
    metrics::Counter* restarts;
  };
  std::map<std::string, PerProcess> processes_;
};

} // namespace caravan::apps
