#include "tasks/preference_dataset.h"

#include "core/prompt_messages.h"
#include "tasks/conversation_fields.h"

namespace caravan::tasks {
namespace {

using nlohmann::json;

// Tülu 3's layout: two full conversations that differ only in the last (assistant) turn.
RowProblem parse_shared_prompt_pair(const json& chosen_value, const json& rejected_value, PreferenceRow& row) {
  Result<std::vector<core::ChatMessage>> chosen = core::parse_chat_messages(chosen_value, "chosen");
  if (!chosen.ok()) return chosen.status().message();
  Result<std::vector<core::ChatMessage>> rejected = core::parse_chat_messages(rejected_value, "rejected");
  if (!rejected.ok()) return rejected.status().message();
  for (const auto* side : {&*chosen, &*rejected}) {
    const char* field = side == &*chosen ? "chosen" : "rejected";
    if (side->back().role != "assistant") {
      return str_cat("field '", field, "[", side->size() - 1, "].role': the last turn must be the assistant's "
                     "response, got \"", side->back().role, "\"");
    }
    if (side->size() < 2) return str_cat("field '", field, "': no prompt turns before the response");
  }
  if (chosen->size() != rejected->size()) {
    return str_cat("field 'rejected': ", rejected->size(), " turns but 'chosen' has ", chosen->size(),
                   "; both must share every turn before the response");
  }
  for (size_t i = 0; i + 1 < chosen->size(); ++i) {
    if ((*chosen)[i] != (*rejected)[i]) {
      return str_cat("field 'rejected[", i, "]': differs from 'chosen[", i,
                     "]'; both must share every turn before the response");
    }
  }
  const size_t trained_from = chosen->size() - 1;
  row.chosen = Conversation{.messages = std::move(*chosen), .trained_from = trained_from};
  row.rejected = Conversation{.messages = std::move(*rejected), .trained_from = trained_from};
  return std::nullopt;
}

RowProblem parse_preference_row(const json& object, PreferenceRow& row) {
  const auto chosen = object.find("chosen");
  if (chosen == object.end()) return "field 'chosen': missing";
  const auto rejected = object.find("rejected");
  if (rejected == object.end()) return "field 'rejected': missing";
  const auto prompt = object.find("prompt");
  const bool prompt_is_messages = prompt != object.end() && prompt->is_array();
  if (chosen->is_array() && !prompt_is_messages) return parse_shared_prompt_pair(*chosen, *rejected, row);
  if (RowProblem problem = parse_prompt_completion(object, "prompt", "chosen", row.chosen)) return problem;
  return parse_prompt_completion(object, "prompt", "rejected", row.rejected);
}

} // namespace

uint64_t preference_row_id(const PreferenceRow& row) {
  core::FieldHasher hasher;
  hash_conversation(row.chosen, hasher);
  hash_conversation(row.rejected, hasher);
  return hasher.value();
}

Result<PreferenceDataset> load_preference_dataset(const std::filesystem::path& jsonl, core::BadRowPolicy on_bad_row) {
  PreferenceDataset dataset;
  CARAVAN_RETURN_IF_ERROR(core::read_dataset_rows(jsonl, "preference dataset", on_bad_row, dataset.report,
                                                  [&](int64_t line, const json& object) -> RowProblem {
                                                    PreferenceRow row{.line = line};
                                                    RowProblem problem = parse_preference_row(object, row);
                                                    if (!problem) dataset.rows.push_back(std::move(row));
                                                    return problem;
                                                  }));
  return dataset;
}

} // namespace caravan::tasks
