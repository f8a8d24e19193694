#include "learner/stage_data.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <random>

#include "core/hash.h"
#include "core/log.h"
#include "core/held_out_split.h"
#include "tasks/preference_dataset.h"
#include "tasks/sft_dataset.h"

namespace caravan::learner {
namespace {

// A row of either file, tokenised, or why it does not fit the model.
template <class Example>
struct Encoded {
  uint64_t id = 0;
  std::optional<Example> example;
  std::string unfit;
};

// Tokenises every row. `encode` returns the example or kInvalidArgument when it does not fit
// (counted), any other error fails the load.
template <class Row, class Example, class EncodeFn>
Result<std::vector<Encoded<Example>>> encode_rows(const std::vector<Row>& rows, const std::string& file,
                                                  const EncodeFn& encode) {
  std::vector<Encoded<Example>> encoded;
  encoded.reserve(rows.size());
  for (const Row& row : rows) {
    Result<Example> example = encode(row);
    Encoded<Example> item;
    if (example.ok()) {
      item.example = std::move(*example);
    } else if (example.status().code() == StatusCode::kInvalidArgument) {
      item.unfit = str_cat(file, ":", row.line, ": ", example.status().message());
    } else {
      return Status(example.status().code(), str_cat(file, ":", row.line, ": ", example.status().message()));
    }
    encoded.push_back(std::move(item));
  }
  return encoded;
}

// Keeps the examples that fit, counting the others in `report`.
template <class Example>
std::vector<Example> keep_fitting(std::vector<Encoded<Example>>& encoded, StageDataReport& report) {
  std::vector<Example> kept;
  for (Encoded<Example>& item : encoded) {
    if (item.example) {
      kept.push_back(std::move(*item.example));
      continue;
    }
    ++report.rows_unfit;
    if (report.unfit.size() < StageDataReport::kMaxProblems) report.unfit.push_back(item.unfit);
  }
  return kept;
}

// Reads the dataset (and the held-out file, if any) with `load`, tokenises with `encode` and
// splits. `id` gives a row's content id.
template <class Example, class LoadFn, class IdFn, class EncodeFn>
Result<StageData<Example>> load_stage_data(const core::TaskOptions& task, const LoadFn& load, const IdFn& id,
                                           const EncodeFn& encode) {
  CARAVAN_ASSIGN_OR_RETURN(const core::BadRowPolicy policy, core::bad_row_policy_from_name(task.on_bad_row));
  StageData<Example> data;
  CARAVAN_ASSIGN_OR_RETURN(auto dataset, load(task.dataset, policy));
  data.report.dataset = dataset.report;
  CARAVAN_ASSIGN_OR_RETURN(auto encoded, (encode_rows<typename decltype(dataset.rows)::value_type, Example>(
                                             dataset.rows, task.dataset, encode)));
  if (!task.held_out_dataset.empty()) {
    CARAVAN_ASSIGN_OR_RETURN(auto held, load(task.held_out_dataset, policy));
    data.report.held_out_dataset = held.report;
    CARAVAN_ASSIGN_OR_RETURN(auto held_encoded, (encode_rows<typename decltype(held.rows)::value_type, Example>(
                                                    held.rows, task.held_out_dataset, encode)));
    data.training = keep_fitting(encoded, data.report);
    data.held_out = keep_fitting(held_encoded, data.report);
  } else {
    std::vector<uint64_t> ids;
    for (size_t i = 0; i < dataset.rows.size(); ++i) ids.push_back(id(dataset.rows[i]));
    const std::vector<bool> held_out = task.held_out_fraction > 0
                                           ? core::select_held_out_fraction(ids, task.held_out_fraction, task.held_out_seed)
                                           : core::select_held_out(ids, task.held_out_size, task.held_out_seed);
    std::vector<Encoded<Example>> training_rows;
    std::vector<Encoded<Example>> held_rows;
    for (size_t i = 0; i < encoded.size(); ++i) (held_out[i] ? held_rows : training_rows).push_back(std::move(encoded[i]));
    data.training = keep_fitting(training_rows, data.report);
    data.held_out = keep_fitting(held_rows, data.report);
  }
  data.report.training_rows = static_cast<int64_t>(data.training.size());
  data.report.held_out_rows = static_cast<int64_t>(data.held_out.size());
  const std::string split = !task.held_out_dataset.empty() ? "held_out_dataset"
                            : task.held_out_fraction > 0   ? str_cat("held_out_fraction = ", task.held_out_fraction)
                                                           : str_cat("held_out_size = ", task.held_out_size);
  const std::string first_unfit = data.report.unfit.empty() ? "" : str_cat("; first: ", data.report.unfit.front());
  if (data.training.empty()) {
    return Status::invalid_argument(str_cat("[task] dataset ", task.dataset, ": no training row left (", split, ", ",
                                            data.report.rows_unfit, " rows do not fit the model", first_unfit, ")"));
  }
  if (data.held_out.empty()) {
    return Status::invalid_argument(str_cat("[task] ", split, ": no held-out row (", data.report.rows_unfit,
                                            " rows do not fit the model", first_unfit, ")"));
  }
  return data;
}

// `sequence` if it fits `model`, else kInvalidArgument saying why.
Result<TrainingSequence> fitting(Result<TrainingSequence> sequence, const core::TransformerConfig& model,
                                 const char* which) {
  if (!sequence.ok()) return sequence;
  if (Status fits = validate_training_sequence(*sequence, model); !fits.ok()) {
    return Status::invalid_argument(str_cat(which, fits.message()));
  }
  return sequence;
}

} // namespace

nlohmann::json StageDataReport::to_json() const {
  nlohmann::json record = {{"phase", "data"},
                           {"rows_read", dataset.rows_read},
                           {"rows_skipped", dataset.rows_skipped},
                           {"rows_unfit", rows_unfit},
                           {"training_rows", training_rows},
                           {"held_out_rows", held_out_rows}};
  if (held_out_dataset.rows_read > 0) {
    record["held_out_rows_read"] = held_out_dataset.rows_read;
    record["held_out_rows_skipped"] = held_out_dataset.rows_skipped;
  }
  return record;
}

void StageDataReport::log_summary(std::string_view stage) const {
  for (const std::string& problem : dataset.problems) log::warn("event=bad_row ", problem);
  for (const std::string& problem : held_out_dataset.problems) log::warn("event=bad_row ", problem);
  for (const std::string& problem : unfit) log::warn("event=row_unfit ", problem);
  log::info("event=", stage, "_data training=", training_rows, " held_out=", held_out_rows,
            " skipped=", dataset.rows_skipped + held_out_dataset.rows_skipped, " unfit=", rows_unfit);
}

Result<TrainingSequence> encode_conversation(const model::PromptEncoder& encoder, const tasks::Conversation& conversation) {
  if (conversation.is_chat()) {
    CARAVAN_ASSIGN_OR_RETURN(model::TokenizedChat chat,
                             encoder.encode_conversation(conversation.messages, conversation.trained_from));
    return TrainingSequence{.ids = std::move(chat.ids), .loss_mask = std::move(chat.loss_mask)};
  }
  TrainingSequence sequence{.ids = encoder.encode_text(conversation.prompt), .loss_mask = {}};
  sequence.loss_mask.assign(sequence.ids.size(), 0);
  const std::vector<int32_t> answer = encoder.encode_answer(conversation.completion);
  sequence.ids.insert(sequence.ids.end(), answer.begin(), answer.end());
  sequence.loss_mask.resize(sequence.ids.size(), 1);
  return sequence;
}

Result<StageData<TrainingSequence>> load_sft_data(const core::TaskOptions& task, const model::PromptEncoder& encoder,
                                                  const core::TransformerConfig& model) {
  return load_stage_data<TrainingSequence>(
      task, tasks::load_sft_dataset, [](const tasks::SftRow& row) { return tasks::conversation_id(row.conversation); },
      [&](const tasks::SftRow& row) { return fitting(encode_conversation(encoder, row.conversation), model, ""); });
}

Result<StageData<PreferencePair>> load_preference_data(const core::TaskOptions& task,
                                                       const model::PromptEncoder& encoder,
                                                       const core::TransformerConfig& model) {
  return load_stage_data<PreferencePair>(
      task, tasks::load_preference_dataset, tasks::preference_row_id,
      [&](const tasks::PreferenceRow& row) -> Result<PreferencePair> {
        CARAVAN_ASSIGN_OR_RETURN(TrainingSequence chosen,
                                 fitting(encode_conversation(encoder, row.chosen), model, "chosen: "));
        CARAVAN_ASSIGN_OR_RETURN(TrainingSequence rejected,
                                 fitting(encode_conversation(encoder, row.rejected), model, "rejected: "));
        return PreferencePair{.chosen = std::move(chosen), .rejected = std::move(rejected)};
      });
}

std::vector<size_t> stream_batch(size_t count, int64_t batch_size, int64_t index, uint64_t seed) {
  CARAVAN_CHECK(count >= 1 && batch_size >= 1 && index >= 0, "stream_batch(", count, ", ", batch_size, ", ", index, ")");
  std::vector<size_t> batch;
  int64_t cached_epoch = -1;
  std::vector<size_t> order(count);
  for (int64_t k = 0; k < batch_size; ++k) {
    const auto position = static_cast<uint64_t>(index * batch_size + k);
    const auto epoch = static_cast<int64_t>(position / count);
    if (epoch != cached_epoch) {
      std::iota(order.begin(), order.end(), size_t{0});
      std::mt19937_64 generator(core::splitmix64(seed ^ core::splitmix64(static_cast<uint64_t>(epoch))));
      std::shuffle(order.begin(), order.end(), generator);
      cached_epoch = epoch;
    }
    batch.push_back(order[position % count]);
  }
  return batch;
}

} // namespace caravan::learner
