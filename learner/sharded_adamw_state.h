// File: learner/sharded_adamw_state.h
// AdamW state between its ZeRO-1 shards and one whole-model optimizer. A data-parallel rank's
// optimizer holds the state of the parameters that rank owns (learner/data_parallel.h); a
// checkpoint (learner/checkpoint.h) stores the state of every parameter, exactly as a single
// learner's optimizer would, so that a checkpoint of K ranks restores into any number of ranks
// (each keeps the state of the parameters it owns under its own partition).
//
//   // Checkpoint, every rank (a collective); rank 0 gets the whole state and writes it:
//   CARAVAN_ASSIGN_OR_RETURN(std::unique_ptr<torch::optim::AdamW> whole,
//                            gather_adamw_state(data_parallel, policy->parameters(), trainer.optimizer()));
//   if (whole != nullptr) torch::save(*whole, out);
//   // Restore, every rank: read the whole state, keep this rank's part:
//   std::unique_ptr<torch::optim::AdamW> read = whole_model_adamw(policy->parameters(), trainer.optimizer());
//   torch::load(*read, in);
//   CARAVAN_RETURN_IF_ERROR(keep_shard_state(*read, named_parameters, trainer.optimizer(), "optimizer.pt"));
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/optim/adamw.h>

#include "core/status.h"
#include "learner/data_parallel.h"

namespace caravan::learner {

// An optimizer over every tensor of `parameters` (in that order, one parameter group) with the
// options of `like`'s first parameter group, and no state.
std::unique_ptr<torch::optim::AdamW> whole_model_adamw(const std::vector<at::Tensor>& parameters,
                                                       const torch::optim::AdamW& like);

// Collective: every rank of `data_parallel` calls it with the same `parameters` (float32, the
// model's, in order) and its ZeRO-1 `shard` (the optimizer over the parameters it owns). Rank 0
// returns whole_model_adamw() holding every rank's state (its own shared, not copied); the other
// ranks return null. Each owner sends the moments of its parameters one parameter at a time.
// Memory, only while a checkpoint is taken: rank 0 holds the other ranks' moments in addition to
// its own, 2 x (K-1)/K of the parameters' size (e.g. 2.6 GiB for a 0.5B float32 model over 2
// ranks) until the result is released; every other rank holds one parameter's moments (2 x its
// size) at a time. Errors: the collectives' (kTimeout, kUnavailable).
Result<std::unique_ptr<torch::optim::AdamW>> gather_adamw_state(DataParallel& data_parallel,
                                                                const std::vector<at::Tensor>& parameters,
                                                                torch::optim::AdamW& shard);

// Moves into `shard` (an optimizer over some of `whole`'s parameters, the same tensors) the state
// `whole` holds of them; `whole` was just read from `file`. Checks `whole` first against
// `parameters` (name and tensor of each of its parameters, in order): kInvalidArgument naming
// `file` and the parameter for moments of another shape or dtype, or for a parameter without
// state while others have some (a missing shard).
Status keep_shard_state(torch::optim::AdamW& whole, const std::vector<std::pair<std::string, at::Tensor>>& parameters,
                        torch::optim::AdamW& shard, const std::string& file);

} // namespace caravan::learner
