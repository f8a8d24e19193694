// File: learner/stage_data.h
// The data of an SFT or DPO stage: the [task] dataset read (tasks/sft_dataset.h,
// tasks/preference_dataset.h), a held-out set taken from [task] held_out_dataset, or else split
// off by a seeded content hash (held_out_fraction, or held_out_size rows; core/held_out_split.h),
// and every row tokenised with the model's prompt encoder (chat template and assistant-only
// masks for chat rows, the raw text path for prompt/completion strings). Rows that do not fit
// the model (longer than its context, or no trained token) are skipped and counted, never
// truncated.
//
//   CARAVAN_ASSIGN_OR_RETURN(StageData<TrainingSequence> data, load_sft_data(config.task, *spec.prompts, spec.config));
//   trainer.step(data.training[...]);  evaluate(data.held_out);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset_rows.h"
#include "core/status.h"
#include "core/task_options.h"
#include "core/transformer_config.h"
#include "learner/dpo_trainer.h"
#include "learner/training_sequence.h"
#include "model/prompt_encoder.h"
#include "tasks/conversation.h"

namespace caravan::learner {

struct StageDataReport {
  // The reader's report of [task] dataset and, when given, of [task] held_out_dataset.
  core::DatasetReport dataset;
  core::DatasetReport held_out_dataset;
  // Valid rows that do not fit the model, and "FILE:LINE: reason" for the first kMaxProblems.
  int64_t rows_unfit = 0;
  std::vector<std::string> unfit;
  static constexpr size_t kMaxProblems = 20;
  int64_t training_rows = 0;
  int64_t held_out_rows = 0;

  // The counts as one metrics.jsonl record ({"phase": "data", ...}).
  nlohmann::json to_json() const;
  // Logs every kept problem (warn) and the counts (info) of `stage` ("sft", "dpo").
  void log_summary(std::string_view stage) const;
};

template <class Example>
struct StageData {
  // In file order.
  std::vector<Example> training;
  std::vector<Example> held_out;
  StageDataReport report;
};

// A conversation's token ids and loss mask: chat rows through encoder.encode_conversation (only
// the assistant turns from trained_from on are trained), text rows as encode_text(prompt) then
// encode_answer(completion) (the completion and the end of turn trained). Errors: those of
// encode_conversation (kFailedPrecondition when the model has no chat template).
Result<TrainingSequence> encode_conversation(const model::PromptEncoder& encoder, const tasks::Conversation& conversation);

// SFT data. Errors: the readers' (naming FILE:LINE and field); kFailedPrecondition from
// encoding; kInvalidArgument naming the [task] key when no training or no held-out row is left.
Result<StageData<TrainingSequence>> load_sft_data(const core::TaskOptions& task, const model::PromptEncoder& encoder,
                                                  const core::TransformerConfig& model);

// DPO data: each pair's chosen and rejected responses must both fit. Errors as load_sft_data's.
Result<StageData<PreferencePair>> load_preference_data(const core::TaskOptions& task,
                                                       const model::PromptEncoder& encoder,
                                                       const core::TransformerConfig& model);

// The `index`-th batch of `batch_size` of a stream that walks `count` examples epoch after epoch,
// each epoch in a shuffle seeded by (seed, epoch): indices into the examples. count >= 1.
std::vector<size_t> stream_batch(size_t count, int64_t batch_size, int64_t index, uint64_t seed);

} // namespace caravan::learner
