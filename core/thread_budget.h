// File: core/thread_budget.h
// How many intra-op (LibTorch/OpenMP) threads each process of a run may use, so the processes
// of one machine that compute at the same time never ask for more threads than it has cores
// (spinning OpenMP threads collapse when oversubscribed: quickstart steps went from 0.3 s to
// 5-8 s). Who computes at once depends on the [pipeline] mode:
//   sync          the rollout actors generate together, then the learner trains alone;
//   one_step_off  the learner and every rollout actor compute at once;
//   async         likewise.
// Each process gets its share of the cores, at most [run] threads_per_process and at least 1.
//
//   at::set_num_threads(static_cast<int>(intra_op_threads(machine, proto::Role::LEARNER, cores)));
#pragma once

#include <cstdint>

#include "proto/caravan.capnp.h"

namespace caravan::core {

// Cores this process may run on (its CPU affinity), at least 1.
unsigned available_cores();

// Who shares a machine's cores with a process of the run; apps/ composes it from the run config.
struct ComputeSharing {
  // [run] threads_per_process: the most threads any process gets, >= 1.
  int64_t threads_per_process = 1;
  // [rollout] actors, >= 1.
  int64_t rollout_actors = 1;
  // [pipeline] mode is not "sync": the learner trains while the rollout actors generate.
  bool overlapping = false;
};

// The threads of a `role` process given `cores` on its machine (see the file comment). The
// controller and the verifiers (which verify on their own pools) get threads_per_process.
int64_t intra_op_threads(const ComputeSharing& machine, proto::Role role, unsigned cores);

} // namespace caravan::core
