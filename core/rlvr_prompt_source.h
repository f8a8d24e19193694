// File: core/rlvr_prompt_source.h
// Trains on an RLVR prompt set (core/rlvr_dataset.h) as a core::PromptSource: each row becomes
// a TaskPrompt with the row's verifier, ground truth and dataset (as `source`), a held-out
// split is taken deterministically by a seeded hash of each row's content, and the training
// stream walks the remaining rows in a seeded shuffle, epoch after epoch.
//
// Each row's messages are encoded once, at creation, by the `encode` function the source is
// given (in a run: the model's chat template through model::PromptEncoder).
//
// Prompts too long for the model: a row whose prompt has more than `max_prompt_tokens` tokens
// (typically context - max_new_tokens) is skipped, never truncated, because cutting a prompt can
// remove the question or the constraints it is judged by. The skipped rows are counted and
// their first line numbers kept in RlvrPromptReport.
//
//   CARAVAN_ASSIGN_OR_RETURN(RlvrDataset data, load_rlvr_dataset(path, {}));
//   RlvrPromptSourceOptions options{.held_out_size = 8, .held_out_seed = 1, .seed = 7,
//                                   .encode = encoder_fn, .max_prompt_tokens = 4000};
//   CARAVAN_ASSIGN_OR_RETURN(auto prompts, RlvrPromptSource::create(std::move(data), path, options));
//   TaskPrompt p = prompts->training_prompt(0);   // p.verifier == "math", p.source == "gsm8k"
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/rlvr_dataset.h"
#include "core/status.h"
#include "core/task_prompt.h"

namespace caravan::core {

struct RlvrPromptSourceOptions {
  // Rows split off for evaluation, >= 1 and fewer than the usable rows.
  int64_t held_out_size = 1;
  // Seed of the held-out split (independent of `seed`, so runs with other seeds are comparable).
  uint64_t held_out_seed = 0;
  // Seed of the training shuffle.
  uint64_t seed = 0;
  // Turns a row's messages into token ids. Required.
  PromptEncodeFn encode;
  // Rows whose prompt has more tokens are skipped; 0 = no limit.
  int64_t max_prompt_tokens = 0;
};

struct RlvrPromptReport {
  // Rows skipped because their rendered prompt does not fit the model.
  int64_t rows_too_long = 0;
  // Line numbers of the first kMaxLines rows skipped as too long.
  std::vector<int64_t> too_long_lines;
  static constexpr size_t kMaxLines = 20;
  int64_t training_rows = 0;
  int64_t held_out_rows = 0;
};

// The prompt id of a row: a hash of its messages, ground truth and dataset, so it is the same
// in every run and wherever the row sits in the file. Identical rows share an id.
uint64_t rlvr_prompt_id(const RlvrRow& row);

// Owner thread only (training_prompt caches the current epoch's order).
class RlvrPromptSource : public PromptSource {
 public:
  // Errors (kInvalidArgument, naming `file` and [task] held_out_size): no row fits the model;
  // held_out_size leaves no training rows; a row that cannot be encoded (naming FILE:LINE).
  static Result<std::unique_ptr<RlvrPromptSource>> create(RlvrDataset dataset, const std::filesystem::path& file,
                                                          const RlvrPromptSourceOptions& options);

  // Epoch e = index / training rows visits every training row once, in a shuffle seeded by
  // (seed, e).
  TaskPrompt training_prompt(uint64_t index) override;
  const std::vector<TaskPrompt>& held_out() const override { return held_out_; }
  const RlvrPromptReport& report() const { return report_; }

 private:
  RlvrPromptSource(uint64_t seed, std::vector<TaskPrompt> training, std::vector<TaskPrompt> held_out,
                   RlvrPromptReport report);

  uint64_t seed_;
  // In file order.
  std::vector<TaskPrompt> training_;
  std::vector<TaskPrompt> held_out_;
  RlvrPromptReport report_;
  // The order of training_ in epoch cached_epoch_.
  uint64_t cached_epoch_ = 0;
  std::vector<size_t> epoch_order_;
};

} // namespace caravan::core
