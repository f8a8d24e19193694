// File: apps/metrics_options.h
// The Prometheus endpoints of a run's processes ([metrics]), placed by apps/metrics_endpoint.h.
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

#include <cstdint>
#include <string>

namespace caravan::apps {

// [metrics]: Prometheus /metrics endpoints (core/metrics/exposer.h), one per process.
struct MetricsOptions {
  // IPv4 address the endpoints bind to; empty = cluster.host. "0.0.0.0" for every interface.
  std::string host;
  // 0 = metrics off. Otherwise process i of a run listens on port_base + i, with i = 0 for the
  // controller, 1 for the learner, 2.. for the rollout actors, then the verifiers, then the
  // `caravan run` launcher; the last port must be <= 65535. 0..65535. A cluster launcher can
  // set one process's address instead with CARAVAN_METRICS_HOST / CARAVAN_METRICS_PORT
  // (apps/metrics_endpoint.h).
  int64_t port_base = 0;
};

} // namespace caravan::apps
