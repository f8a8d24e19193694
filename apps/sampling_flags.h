// File: apps/sampling_flags.h
// The flags `caravan generate` and `caravan eval` share: which model directory and how to load
// it (--model, --dtype, --chat-template, --no-thinking, --threads) and how to sample (--n,
// --temperature, --top-p, --top-k, --min-p, --repetition-penalty, --presence-penalty,
// --frequency-penalty, --stop, --top-logprobs, --max-new-tokens, --seed, --batch-size,
// --kv-cache-mb).
//
//   core::CommandLine cli("caravan generate", "...");
//   declare_sampling_flags(cli, /*default_temperature=*/1.0);
//   if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, 2)) return *exit_code;
//   CARAVAN_ASSIGN_OR_RETURN(SamplingFlags flags, read_sampling_flags(cli, 1.0));
#pragma once

#include <cstdint>

#include "apps/offline_sampler.h"
#include "core/command_line.h"
#include "core/status.h"
#include "model/model_options.h"

namespace caravan::apps {

struct SamplingFlags {
  // --model, --dtype, --chat-template, --no-thinking.
  model::ModelOptions model;
  // --threads: LibTorch intra-op threads.
  int threads = 1;
  // --n, the sampling flags, --seed, --batch-size, --kv-cache-mb (sampling.stop_ids and
  // token_text come from the model).
  OfflineSamplingOptions sampling;
};

// Declares the shared flags; `default_temperature` is shown in --help.
void declare_sampling_flags(core::CommandLine& cli, double default_temperature);

// Reads them after parsing. kInvalidArgument naming the flag for a missing --model or a value
// out of range. --threads defaults to every core of the machine.
Result<SamplingFlags> read_sampling_flags(const core::CommandLine& cli, double default_temperature);

} // namespace caravan::apps
