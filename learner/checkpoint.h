// File: learner/checkpoint.h
// The learner's part of a two-phase checkpoint (core/checkpoints.h): the controller creates
// checkpoints/step-N/, the learner writes these files into it, and the controller commits it.
// Everything a learner needs to continue exactly where it stopped:
//   config.json, model.safetensors    the policy as a complete Hugging Face model directory
//   (or shards), tokenizer files      (model/checkpoint_io.h), as model::save_options(spec) says
//   policy.safetensors                the policy's parameters in their own dtype; only when the
//                                     model directory's dtype (checkpoint_dtype) would round them
//   reference.safetensors             the frozen reference model of the KL penalty   (once RL started)
//   optimizer.pt                      AdamW state: moments and step count per parameter (once RL started);
//                                     with data-parallel ranks every rank's ZeRO-1 shard, gathered,
//                                     so the file is the one a single learner writes
//   value_model.safetensors           PPO's value model, parameters in their own dtype  (with a value model)
//   value_optimizer.pt                its AdamW state, gathered from the ranks' ZeRO-1 shards as
//                                     optimizer.pt                                     (with a value model)
//   rng_state.safetensors             the LibTorch default CPU generator's state; with data-parallel
//                                     ranks rank r >= 1's as cpu_default_generator_rank<r>
//   learner_state.json                step, policy version, SFT cursor, whether RL started, and
//                                     once RL started the trainer's state: "trainer":
//                                     {"steps_done" (the learning-rate schedule's position),
//                                     "kl_coef" (the adaptive KL coefficient)}, and with a
//                                     value model "value_model": {"steps_done" (its warm-up's
//                                     position)}
// Each file is written atomically. Data-parallel ranks gather their state to rank 0
// (gather_ranks_state), which alone writes; every rank reads the files and keeps its part, so a
// checkpoint of K ranks restores into any number of ranks (a single learner included).
//
//   CARAVAN_RETURN_IF_ERROR(write_checkpoint(dir, contents, policy, spec.config,
//                                            model::save_options(spec), trainer.get()));
//   // data-parallel ranks, each:
//   CARAVAN_ASSIGN_OR_RETURN(std::optional<GatheredRanks> ranks, gather_ranks_state(dp, policy, trainer.get()));
//   if (ranks) CARAVAN_RETURN_IF_ERROR(write_checkpoint(dir, ..., trainer.get(), &*ranks));  // rank 0
//   CARAVAN_ASSIGN_OR_RETURN(CheckpointContents restored,
//                            read_checkpoint(dir, policy, trainer, [&] { return make_trainer(); }));
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/optim/optimizer.h>

#include "core/transformer_config.h"
#include "learner/data_parallel.h"
#include "learner/grpo_trainer.h"
#include "model/checkpoint_io.h"
#include "model/llama.h"

namespace caravan::learner {

// The learner's counters, stored in learner_state.json.
struct CheckpointContents {
  // The run step the checkpoint was taken at (SaveCheckpoint.step).
  int64_t step = 0;
  uint64_t policy_version = 0;
  // SFT problems drawn so far (the SFT stream's next index).
  uint64_t sft_cursor = 0;
  // Whether the first TrainBatch has arrived: the reference model and the optimizer exist.
  bool rl_started = false;
};

// The state of data-parallel ranks that rank 0 writes for them all.
struct GatheredRanks {
  // Every parameter's AdamW state (learner/sharded_adamw_state.h); null before RL started.
  std::unique_ptr<torch::optim::AdamW> optimizer;
  // The value model's, likewise; null without one.
  std::unique_ptr<torch::optim::AdamW> value_optimizer;
  // Each rank's default CPU generator state, by rank.
  std::vector<at::Tensor> rng_states;
};

// Collective: every rank of `data_parallel` calls it, with its trainer (null on every rank before
// RL started), before rank 0 writes the checkpoint. Rank 0 gets the ranks' state, which costs it
// the other ranks' AdamW moments in memory until it is released (gather_adamw_state); the other
// ranks get nullopt. Errors: the collectives' (kTimeout, kUnavailable).
Result<std::optional<GatheredRanks>> gather_ranks_state(DataParallel& data_parallel, model::Llama& policy,
                                                        GrpoTrainer* trainer);

// Writes the learner's files into the existing directory `dir`. `trainer` is non-null exactly
// when contents.rl_started (CARAVAN_CHECK). With data-parallel ranks, rank 0 passes `ranks`
// (gather_ranks_state): the optimizer state and the RNG states come from it. kNotFound if `dir`
// is not a directory; kUnavailable on I/O errors, naming the file.
Status write_checkpoint(const std::filesystem::path& dir, const CheckpointContents& contents, model::Llama& policy,
                        const core::TransformerConfig& config, const model::SaveModelOptions& model_options,
                        GrpoTrainer* trainer, const GatheredRanks* ranks = nullptr);

// Restores what write_checkpoint wrote: the policy's weights in place; when RL had started,
// `trainer` = make_trainer() (built on the restored policy; its error is returned) with the
// reference model and optimizer state loaded into it, and the value model's weights, optimizer
// and counter when the trainer has one; else `trainer` is reset; the RNG state last (building a
// trainer draws random numbers). The optimizer file holds every parameter's state; the trainer's
// optimizer keeps the part of its parameters (a data-parallel rank's ZeRO-1 shard). `rank`: this
// learner's data-parallel rank (0 for a single learner): it restores that rank's RNG state, or
// rank 0's where the checkpoint was taken with fewer ranks. Needs no collective: each rank reads
// alone. Returns the counters. Errors name the file: kNotFound for a missing file,
// kInvalidArgument for content that does not fit (a key of learner_state.json, a tensor of
// another shape, an optimizer of other parameters or with a parameter's state missing). On error
// the learner is partially restored and must not train on.
Result<CheckpointContents> read_checkpoint(const std::filesystem::path& dir, model::Llama& policy,
                                           std::unique_ptr<GrpoTrainer>& trainer,
                                           const std::function<Result<std::unique_ptr<GrpoTrainer>>()>& make_trainer,
                                           int rank = 0);

// The value of `key` in `object` (a JSON object read from `file`) as a non-negative integer;
// kInvalidArgument naming `file` and `path` (the key's dotted name from the file's root; `key`
// when empty) otherwise. For the counters of learner_state.json and stage_state.json.
Result<uint64_t> json_counter(const nlohmann::json& object, const char* key, const std::filesystem::path& file,
                              std::string_view path = {});

// An SFT or DPO stage's training state (learner/stage_loop.h), written beside the model
// directory the stage writes into its checkpoints/step-N/:
//   policy.safetensors     as above: only when the model directory's dtype would round the policy
//   optimizer.pt           AdamW state: moments and step count per parameter
//   rng_state.safetensors  as above
//   stage_state.json       the stage loop's own object (step, data position, settings), verbatim
// Each file is written atomically. kNotFound if `dir` is not a directory; kUnavailable on I/O
// errors, naming the file.
Status write_stage_state(const std::filesystem::path& dir, model::Llama& policy,
                         const model::SaveModelOptions& model_options, torch::optim::Optimizer& optimizer,
                         const nlohmann::json& state);

// Restores what write_stage_state wrote. First reads stage_state.json and passes its object and
// path to `check`, whose error is returned before anything is restored; then the policy's weights in
// place (policy.safetensors, else the model directory), the optimizer's state and the RNG state.
// Returns the object. Errors name the file: kNotFound for a missing file, kInvalidArgument for
// content that does not fit (not a JSON object, a tensor of another shape, an optimizer of
// other parameters). After an error past `check` the stage is partially restored and must not
// train on.
using StageStateCheck = std::function<Status(const nlohmann::json& state, const std::filesystem::path& file)>;
Result<nlohmann::json> read_stage_state(const std::filesystem::path& dir, model::Llama& policy,
                                        torch::optim::Optimizer& optimizer, const StageStateCheck& check);

} // namespace caravan::learner
