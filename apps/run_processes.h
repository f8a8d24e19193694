// File: apps/run_processes.h
// Which processes `caravan run` itself starts and supervises: the controller always; the
// learner, rollout actors and verifiers only when the workers are local. With
// --external-workers a cluster launcher starts the workers (RUN_DIR/workers.txt), so the
// launcher's per-process metrics must not list them as its own children.
//
//   LauncherMetrics metrics(*registry, supervised_process_names(config, request.external_workers));
#pragma once

#include <string>
#include <vector>

#include "apps/run_config.h"

namespace caravan::apps {

// The processes this launcher spawns, by the names it spawns them under: "controller-0", then
// unless `external_workers` learner-0, rollout-0.., verifier-0..
std::vector<std::string> supervised_process_names(const RunConfig& config, bool external_workers);

// RUN_DIR/workers.txt for a cluster launcher: one `ROLE RANK` line per worker.
std::string external_workers_listing(const RunConfig& config);

} // namespace caravan::apps
