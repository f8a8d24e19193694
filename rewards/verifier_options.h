// File: rewards/verifier_options.h
// The options of the verifier processes ([verifier]).
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

#include <cstdint>
#include <string>

namespace caravan::rewards {

// [verifier]
struct VerifierOptions {
  // Number of verifier processes, >= 1.
  int64_t workers = 1;
  // Verifier used for the task's samples.
  std::string name = "arithmetic";
  // Verification threads per verifier process, 0..1024; 0 = run.threads_per_process.
  int64_t threads = 0;
  // Reward items a verifier process queues beyond those running, >= 1. A request that does not
  // fit now is refused as busy and resent by the controller (back-pressure); one larger than
  // this can never fit and fails the run.
  int64_t queue_capacity = 65536;
  // Reward config (core/reward_config.h): weights, format and length rules per dataset source.
  // Empty = the verifier's score is the reward. Re-read by running verifiers when the file
  // changes or on SIGHUP; `caravan run` records it as an absolute path.
  std::string reward_config;
  // Wall-clock budget of one code verification (all of a sample's tests), seconds, > 0.
  double code_deadline_s = 10.0;
  // Code sandboxes kept started per verifier process, 0..256 (0 = start one per check).
  int64_t code_warm_sandboxes = 4;
};

} // namespace caravan::rewards
