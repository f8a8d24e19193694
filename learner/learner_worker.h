// File: learner/learner_worker.h
// The learner process's message handling (rank 0, the weight source):
//   SftRequest     -> the supervised warm-up on generated problems -> TrainResult
//   TrainBatch     -> one GRPO update over the groups             -> TrainResult
//   SyncWeights    -> broadcast the current weights (WeightTransport) -> WeightsSynced
//   SaveCheckpoint -> the learner's part of checkpoint step-N       -> CheckpointSaved
//                     (learner/checkpoint.h) in its `directory`
//   RestoreCheckpoint -> that part loaded: weights, reference,     -> CheckpointRestored
//                     optimizer, RNG, counters; training continues exactly
//   ExportModel    -> a Hugging Face model directory (final_model) -> CheckpointSaved
// The reference model of the KL penalty is frozen from the weights at the first TrainBatch
// (i.e. the SFT result). Socket-free, so tests drive it message by message.
//
// SFT examples come from the arithmetic task, encoded by the model's prompt encoder; a run whose
// task has no reference completions (RLVR prompt sets) passes no task, and an SftRequest with
// steps > 0 is then refused. Checkpoints and exports are Hugging Face directories written as
// model::save_options(spec) says.
//
//   LearnerWorker worker(config, spec, policy, transport, &task, run_dir, stop);
//   CARAVAN_ASSIGN_OR_RETURN(auto reply, worker.handle(message));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>

#include <capnp/message.h>

#include "core/arithmetic_task.h"
#include "core/run_directory.h"
#include "learner/data_parallel.h"
#include "learner/grpo_trainer.h"
#include "learner/learner_options.h"
#include "learner/learner_metrics.h"
#include "learner/sft_trainer.h"
#include "model/llama.h"
#include "model/model_loader.h"
#include "model/weight_transport.h"
#include "proto/caravan.capnp.h"

namespace caravan::learner {

// The data-parallel ranks a learner is one of ([learner] ranks > 1): rank 0 forwards every
// TrainBatch to the others and each trains on its share
// (learner/data_parallel.h); only rank 0 talks to the controller, syncs weights and exports.
// Rank 0 also forwards SaveCheckpoint and RestoreCheckpoint: for a save every rank sends its
// state to rank 0, which writes the checkpoint alone; for a restore every rank reads it and keeps
// its own part, and the ranks agree on the outcome (learner/checkpoint.h).
struct LearnerRanks {
  DataParallel& data_parallel;
  // Rank 0: hands a TrainBatch, SaveCheckpoint or RestoreCheckpoint envelope to ranks 1..K-1
  // (apps/learner_rank_commands.h); empty on the other ranks.
  std::function<Status(capnp::MessageBuilder& envelope)> forward;
};

// Owner thread only. Every reference (and `sft_task`, when not null) must outlive the worker.
// `stop` interrupts long work
// (the SFT stage checks it every step and returns kCancelled). `metrics`: the process's learner
// series (learner_metrics.h), or null for none; must outlive the worker.
class LearnerWorker {
 public:
  LearnerWorker(LearnerOptions config, const model::ModelSpec& spec, model::Llama policy,
                model::WeightTransport& transport, const core::ArithmeticTask* sft_task,
                const core::RunDirectory& run_dir, std::stop_token stop, LearnerMetrics* metrics = nullptr,
                const LearnerRanks* ranks = nullptr);

  // kInvalidArgument for a message the learner does not serve or a malformed batch (naming
  // the group and sample); training and I/O errors are returned as they are.
  Result<std::unique_ptr<capnp::MallocMessageBuilder>> handle(const proto::Envelope::Reader& message);

  uint64_t policy_version() const { return policy_version_; }

 private:
  Result<std::unique_ptr<capnp::MallocMessageBuilder>> run_sft(const proto::SftRequest::Reader& request);
  Result<std::unique_ptr<capnp::MallocMessageBuilder>> train(const proto::TrainBatch::Reader& batch);
  Result<std::unique_ptr<capnp::MallocMessageBuilder>> sync(const proto::SyncWeights::Reader& request);
  Result<std::unique_ptr<capnp::MallocMessageBuilder>> save(const proto::SaveCheckpoint::Reader& request);
  Result<std::unique_ptr<capnp::MallocMessageBuilder>> restore(const proto::RestoreCheckpoint::Reader& request);
  Result<std::unique_ptr<capnp::MallocMessageBuilder>> export_model(const proto::ExportModel::Reader& request);
  std::vector<SftExample> sft_batch();
  // The GRPO trainer on the current policy (its reference, and a value model from the policy:
  // the policy as it is now). Errors: those of loading [value_model] path.
  Result<std::unique_ptr<GrpoTrainer>> make_trainer();
  // Rank 0 of data-parallel ranks: hands the envelope `fill` builds to the other ranks; nothing
  // for a single learner and on ranks 1..K-1.
  Status forward_to_ranks(const std::function<void(proto::Envelope::Builder)>& fill);
  // This learner's data-parallel rank (0 for a single learner).
  int rank() const;

  const LearnerOptions config_;
  const model::ModelSpec& spec_;
  model::Llama policy_;
  model::WeightTransport& transport_;
  // Null when the run's task has no reference completions.
  const core::ArithmeticTask* sft_task_;
  const core::RunDirectory& run_dir_;
  std::stop_token stop_;
  LearnerMetrics* metrics_;
  // Null for a single learner; else outlives the worker.
  const LearnerRanks* ranks_;
  std::unique_ptr<GrpoTrainer> grpo_;  // created at the first TrainBatch
  uint64_t sft_cursor_ = 0;
  uint64_t policy_version_ = 0;
};

} // namespace caravan::learner
