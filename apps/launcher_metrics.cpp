#include "apps/launcher_metrics.h"

#include <chrono>

namespace caravan::apps {

LauncherMetrics::LauncherMetrics(metrics::Registry& registry, const std::vector<std::string>& processes) {
  auto& up = registry.add_gauge("caravan_launcher_process_up", "1 while the supervised process runs, else 0");
  auto& restarts =
      registry.add_counter("caravan_launcher_process_restarts_total", "Times the launcher restarted the process");
  for (const std::string& process : processes) {
    processes_[process] = {&up.add({{"process", process}}), &restarts.add({{"process", process}})};
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  registry.add_gauge("caravan_launcher_start_time_seconds", "When the launcher started, Unix time")
      .add({})
      .set(std::chrono::duration<double>(now).count());
}

void LauncherMetrics::publish(const ProcessSupervisor& supervisor) {
  for (const auto& [process, series] : processes_) {
    series.up->set(supervisor.running(process) ? 1 : 0);
    const auto restarts = static_cast<double>(supervisor.restarts(process));
    if (restarts > series.restarts->value()) series.restarts->increment(restarts - series.restarts->value());
  }
}

} // namespace caravan::apps
