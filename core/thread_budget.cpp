#include "core/thread_budget.h"

#include <sched.h>

#include <algorithm>

namespace caravan::core {

unsigned available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

int64_t intra_op_threads(const ComputeSharing& machine, proto::Role role, unsigned cores) {
  const int64_t actors = machine.rollout_actors;
  const bool overlapping = machine.overlapping;
  int64_t sharing = 1;  // processes computing at the same time as this one, itself included
  switch (role) {
    case proto::Role::LEARNER: sharing = overlapping ? actors + 1 : 1; break;
    case proto::Role::ROLLOUT: sharing = overlapping ? actors + 1 : actors; break;
    case proto::Role::CONTROLLER:
    case proto::Role::VERIFIER: return machine.threads_per_process;
  }
  const int64_t share = static_cast<int64_t>(cores) / sharing;
  return std::clamp<int64_t>(share, 1, machine.threads_per_process);
}

} // namespace caravan::core
