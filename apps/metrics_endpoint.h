// File: apps/metrics_endpoint.h
// Where each process of a run serves /metrics, /healthz and /readyz (core/metrics/exposer.h):
//   - port: [metrics] port_base + the process's index (metrics_process_index): controller 0,
//     learner 1, rollout actors 2.., then the verifiers, then the `caravan run` launcher;
//     port_base = 0 turns every endpoint off.
//   - host: [metrics] host, else the address the process advertises to the run.
//   - A cluster launcher that starts one `caravan worker` per pod or task sets that process's
//     address with CARAVAN_METRICS_PORT (0 = off) and CARAVAN_METRICS_HOST, which override the
//     config (e.g. the same port 9400 in every pod). read_metrics_environment() is the one place
//     that reads them.
//
//   const MetricsEnvironment environment = read_metrics_environment();
//   CARAVAN_ASSIGN_OR_RETURN(auto options, metrics_endpoint(config, MetricsProcess::kRollout, rank, host, environment));
//   if (options) { options->live = ...; CARAVAN_ASSIGN_OR_RETURN(auto exposer, metrics::Exposer::start(*options, registry)); }
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "apps/run_config.h"
#include "core/metrics/exposer.h"
#include "core/status.h"

namespace caravan::apps {

enum class MetricsProcess { kController, kLearner, kRollout, kVerifier, kLauncher };

// "controller", "learner", "rollout", "verifier", "launcher".
const char* metrics_process_name(MetricsProcess process);

// The offset of process `process` (rank `rank` within its role) from [metrics] port_base.
int64_t metrics_process_index(const RunConfig& config, MetricsProcess process, uint32_t rank);

// The launcher's environment variables for this process's endpoint, as set (unset: empty).
struct MetricsEnvironment {
  std::optional<std::string> host = {};  // CARAVAN_METRICS_HOST
  std::optional<std::string> port = {};  // CARAVAN_METRICS_PORT
};
MetricsEnvironment read_metrics_environment();

// The exposer address of `process` (probes unset), or nullopt when its metrics are off.
// `advertised_host`: the host used when neither the environment nor [metrics] host names one.
// kInvalidArgument naming CARAVAN_METRICS_PORT when it is not an integer in 0..65535.
Result<std::optional<metrics::ExposerOptions>> metrics_endpoint(const RunConfig& config, MetricsProcess process,
                                                                uint32_t rank, const std::string& advertised_host,
                                                                const MetricsEnvironment& environment);

// Starts serving `registry` at `options` with the probes and logs the URL; nullptr when
// `options` is empty (metrics off). Errors of metrics::Exposer::start, naming the process.
Result<std::unique_ptr<metrics::Exposer>> start_metrics_endpoint(const std::optional<metrics::ExposerOptions>& options,
                                                                 MetricsProcess process,
                                                                 std::shared_ptr<const metrics::Registry> registry,
                                                                 metrics::Probe live, metrics::Probe ready);

} // namespace caravan::apps
