// File: core/thread_wait.h
// How the OpenMP threads of a process wait between parallel regions. LibTorch 1.13 (Debian
// libtorch-dev: ATen's parallel backend, oneDNN) and OpenBLAS (libopenblas0-openmp) all run on
// GCC's libgomp. libgomp reads its wait policy once, from the environment, while the dynamic
// loader starts the process (before main), so it is chosen by re-executing the process with
// the environment set:
//   passive  OMP_WAIT_POLICY=PASSIVE: an idle thread sleeps at once (futex). Costs a wake-up per
//            parallel region on an idle machine; on a shared, oversubscribed machine no thread
//            burns the CPU time the one still working needs.
//   active   OMP_WAIT_POLICY=ACTIVE: an idle thread spins (libgomp: up to minutes) before it
//            sleeps. Lowest latency when the process has its cores to itself; collapses when
//            other processes compete for them.
// Without either, libgomp spins about 3 ms (GOMP_SPINCOUNT 300000) before it sleeps, which also
// collapses under contention (bench/bench_rollout_cpu.cpp measures all three). A GOMP_SPINCOUNT
// the user sets overrides the spin count of either policy (libgomp's rule) and is left alone.
//
//   // At the top of main(), once the config is read ([run] thread_wait):
//   if (Status s = ensure_thread_wait(config.run.thread_wait, argv); !s.ok()) ...;  // may re-execute
#pragma once

#include <array>
#include <string_view>

#include "core/status.h"

namespace caravan::core {

enum class ThreadWait { kPassive, kActive };

inline constexpr std::array kAllThreadWaits = {ThreadWait::kPassive, ThreadWait::kActive};

// "passive" or "active", as config.toml spells them ([run] thread_wait).
constexpr std::string_view enum_name(ThreadWait wait) {
  switch (wait) {
    case ThreadWait::kPassive: return "passive";
    case ThreadWait::kActive: return "active";
  }
  return "unknown";
}

// The value of OMP_WAIT_POLICY that selects `wait` ("PASSIVE" or "ACTIVE").
std::string_view omp_wait_policy(ThreadWait wait);

// Whether this process's OpenMP runtime was started with `wait`: OMP_WAIT_POLICY in the
// environment equals omp_wait_policy(wait), case aside.
bool thread_wait_in_effect(ThreadWait wait);

// Sets OMP_WAIT_POLICY for `wait` in this process's environment, for the processes it starts
// afterwards; this process's own runtime keeps the policy it started with. Not thread-safe
// (setenv): call it before starting threads.
void set_thread_wait_for_children(ThreadWait wait);

// Makes this process run with `wait`: returns at once when thread_wait_in_effect(wait);
// otherwise sets the environment and re-executes /proc/self/exe with `argv` (same pid, open
// files and signal mask kept; buffered stdout/stderr are flushed first), so it never returns.
// Call it at the top of main(), before any thread is started and before anything a re-run
// would repeat (files written, ports bound). Errors: kUnavailable when the exec fails (naming
// the errno reason); the process then runs with the policy it started with.
Status ensure_thread_wait(ThreadWait wait, char** argv);

} // namespace caravan::core
