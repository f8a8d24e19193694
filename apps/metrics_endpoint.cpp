#include "apps/metrics_endpoint.h"

#include <cstdlib>

#include "core/log.h"

namespace caravan::apps {
namespace {

std::optional<std::string> environment_value(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::optional<std::string>(value) : std::nullopt;
}

Result<int> parse_port(const std::string& text, const char* variable) {
  size_t parsed = 0;
  int port = -1;
  try {
    port = std::stoi(text, &parsed);
  } catch (const std::exception&) {
    parsed = 0;
  }
  if (parsed != text.size() || port < 0 || port > 65535) {
    return Status::invalid_argument(str_cat(variable, "=", text, ": expected a port 0..65535 (0 = metrics off)"));
  }
  return port;
}

}  // namespace

const char* metrics_process_name(MetricsProcess process) {
  switch (process) {
    case MetricsProcess::kController: return "controller";
    case MetricsProcess::kLearner: return "learner";
    case MetricsProcess::kRollout: return "rollout";
    case MetricsProcess::kVerifier: return "verifier";
    case MetricsProcess::kLauncher: return "launcher";
  }
  return "unknown";
}

int64_t metrics_process_index(const RunConfig& config, MetricsProcess process, uint32_t rank) {
  switch (process) {
    case MetricsProcess::kController: return 0;
    case MetricsProcess::kLearner: return 1;
    case MetricsProcess::kRollout: return 2 + rank;
    case MetricsProcess::kVerifier: return 2 + config.rollout.actors + rank;
    case MetricsProcess::kLauncher: return 2 + config.rollout.actors + config.verifier.workers;
  }
  return 0;
}

MetricsEnvironment read_metrics_environment() {
  return {.host = environment_value("CARAVAN_METRICS_HOST"), .port = environment_value("CARAVAN_METRICS_PORT")};
}

Result<std::optional<metrics::ExposerOptions>> metrics_endpoint(const RunConfig& config, MetricsProcess process,
                                                                uint32_t rank, const std::string& advertised_host,
                                                                const MetricsEnvironment& environment) {
  metrics::ExposerOptions options;
  if (environment.port) {
    CARAVAN_ASSIGN_OR_RETURN(options.port, parse_port(*environment.port, "CARAVAN_METRICS_PORT"));
    if (options.port == 0) return std::optional<metrics::ExposerOptions>();
  } else {
    if (config.metrics.port_base == 0) return std::optional<metrics::ExposerOptions>();
    options.port = static_cast<int>(config.metrics.port_base + metrics_process_index(config, process, rank));
  }
  options.host = environment.host              ? *environment.host
                 : !config.metrics.host.empty() ? config.metrics.host
                                                : advertised_host;
  return std::optional<metrics::ExposerOptions>(std::move(options));
}

Result<std::unique_ptr<metrics::Exposer>> start_metrics_endpoint(const std::optional<metrics::ExposerOptions>& options,
                                                                 MetricsProcess process,
                                                                 std::shared_ptr<const metrics::Registry> registry,
                                                                 metrics::Probe live, metrics::Probe ready) {
  if (!options) return std::unique_ptr<metrics::Exposer>();
  metrics::ExposerOptions with_probes = *options;
  with_probes.live = std::move(live);
  with_probes.ready = std::move(ready);
  Result<std::unique_ptr<metrics::Exposer>> exposer = metrics::Exposer::start(with_probes, std::move(registry));
  if (!exposer.ok()) {
    return Status(exposer.status().code(),
                  str_cat(metrics_process_name(process), " metrics endpoint: ", exposer.status().message()));
  }
  log::info("event=metrics_listening url=", (*exposer)->url());
  return exposer;
}

} // namespace caravan::apps
