// File: core/run_options.h
// The run's identity and process-wide settings ([run]): name, directory, seed, threads.
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

#include <cstdint>
#include <string>

#include "core/thread_wait.h"

namespace caravan::core {

// [run]
struct RunOptions {
  // Name of the run; the run directory defaults to runs/<name>. Required.
  std::string name;
  // Where the run directory is created; empty = "runs/<name>".
  std::string directory;
  // Seed for model init, data order and sampling. Any value.
  uint64_t seed = 1234;
  // LibTorch intra-op threads per process at most, >= 1. Processes that compute at the same time
  // share the machine's cores (core/thread_budget.h), so each may get fewer.
  int64_t threads_per_process = 1;
  // How idle LibTorch/OpenBLAS (OpenMP) threads wait between parallel regions, set in every
  // process before its threads start (core/thread_wait.h): "passive" (sleep at once) or "active"
  // (spin). Passive costs little on an idle machine and keeps a run usable on a shared one;
  // active collapses when other processes compete for the cores (bench/RESULTS.md,
  // bench_rollout_cpu).
  ThreadWait thread_wait = ThreadWait::kPassive;
};

} // namespace caravan::core
