#include "core/rlvr_prompt_source.h"

#include <algorithm>
#include <utility>

#include "core/hash.h"
#include "core/held_out_split.h"

namespace caravan::core {
uint64_t rlvr_prompt_id(const RlvrRow& row) {
  FieldHasher hasher;
  for (const ChatMessage& message : row.messages) {
    hasher.add(message.role);
    hasher.add(message.content);
  }
  hasher.add(row.ground_truth);
  hasher.add(row.dataset);
  return hasher.value();
}

Result<std::unique_ptr<RlvrPromptSource>> RlvrPromptSource::create(RlvrDataset dataset,
                                                                   const std::filesystem::path& file,
                                                                   const RlvrPromptSourceOptions& options) {
  RlvrPromptReport report;
  std::vector<TaskPrompt> usable;
  CARAVAN_CHECK(options.encode != nullptr, "RlvrPromptSource needs an encode function");
  for (RlvrRow& row : dataset.rows) {
    TaskPrompt prompt;
    prompt.id = rlvr_prompt_id(row);
    prompt.messages = std::move(row.messages);
    prompt.ground_truth = std::move(row.ground_truth);
    prompt.verifier = std::move(row.verifier);
    prompt.source = std::move(row.dataset);
    Result<std::vector<int32_t>> tokens = options.encode(prompt);
    if (!tokens.ok()) return tokens.status().with_context(str_cat(file.string(), ":", row.line));
    prompt.tokens = std::move(*tokens);
    if (options.max_prompt_tokens > 0 && static_cast<int64_t>(prompt.tokens.size()) > options.max_prompt_tokens) {
      ++report.rows_too_long;
      if (report.too_long_lines.size() < RlvrPromptReport::kMaxLines) report.too_long_lines.push_back(row.line);
      continue;
    }
    usable.push_back(std::move(prompt));
  }
  if (usable.empty()) {
    return Status::invalid_argument(str_cat(file.string(), ": none of the ", report.rows_too_long,
                                            " valid rows fits the model's context ([model] max_position_embeddings "
                                            "minus [rollout] max_new_tokens)"));
  }
  if (options.held_out_size >= static_cast<int64_t>(usable.size())) {
    return Status::invalid_argument(str_cat("[task] held_out_size = ", options.held_out_size,
                                            " leaves no training rows: ", file.string(), " has ", usable.size(),
                                            " usable rows (", report.rows_too_long,
                                            " more too long for the model); lower held_out_size"));
  }

  std::vector<uint64_t> ids;
  ids.reserve(usable.size());
  for (const TaskPrompt& prompt : usable) ids.push_back(prompt.id);
  const std::vector<bool> is_held_out = select_held_out(ids, options.held_out_size, options.held_out_seed);
  std::vector<TaskPrompt> training;
  std::vector<TaskPrompt> held_out;
  for (size_t i = 0; i < usable.size(); ++i) (is_held_out[i] ? held_out : training).push_back(std::move(usable[i]));
  if (training.empty()) {
    return Status::invalid_argument(str_cat("[task] held_out_size = ", options.held_out_size, " leaves no training rows: ",
                                            file.string(), " holds only duplicates of held-out rows"));
  }
  report.training_rows = static_cast<int64_t>(training.size());
  report.held_out_rows = static_cast<int64_t>(held_out.size());
  return std::unique_ptr<RlvrPromptSource>(
      new RlvrPromptSource(options.seed, std::move(training), std::move(held_out), std::move(report)));
}

RlvrPromptSource::RlvrPromptSource(uint64_t seed, std::vector<TaskPrompt> training, std::vector<TaskPrompt> held_out,
                                   RlvrPromptReport report)
    : seed_(seed), training_(std::move(training)), held_out_(std::move(held_out)), report_(std::move(report)) {}

TaskPrompt RlvrPromptSource::training_prompt(uint64_t index) {
  const uint64_t epoch = index / training_.size();
  if (epoch_order_.empty() || epoch != cached_epoch_) {
    // Fisher-Yates with a SplitMix64 stream seeded by (seed, epoch).
    epoch_order_.resize(training_.size());
    std::iota(epoch_order_.begin(), epoch_order_.end(), size_t{0});
    uint64_t state = splitmix64(splitmix64(seed_) ^ splitmix64(epoch + 1));
    for (size_t i = epoch_order_.size(); i > 1; --i) {
      state = splitmix64(state);
      std::swap(epoch_order_[i - 1], epoch_order_[state % i]);
    }
    cached_epoch_ = epoch;
  }
  return training_[epoch_order_[index % training_.size()]];
}

} // namespace caravan::core
