#include "tasks/sft_dataset.h"

#include "tasks/conversation_fields.h"

namespace caravan::tasks {
namespace {

RowProblem parse_sft_row(const nlohmann::json& object, Conversation& out) {
  const auto messages = object.find("messages");
  if (messages == object.end()) {
    if (!object.contains("prompt") && !object.contains("completion")) {
      return "field 'messages': missing (expected \"messages\", or \"prompt\" and \"completion\")";
    }
    return parse_prompt_completion(object, "prompt", "completion", out);
  }
  if (object.contains("prompt") || object.contains("completion")) {
    return str_cat("field '", object.contains("prompt") ? "prompt" : "completion",
                   "': not allowed beside 'messages' (one layout per row)");
  }
  return parse_chat_field(*messages, "messages", /*trained_from=*/0, out);
}

} // namespace

Result<SftDataset> load_sft_dataset(const std::filesystem::path& jsonl, core::BadRowPolicy on_bad_row) {
  SftDataset dataset;
  CARAVAN_RETURN_IF_ERROR(core::read_dataset_rows(jsonl, "SFT dataset", on_bad_row, dataset.report,
                                                  [&](int64_t line, const nlohmann::json& object) -> RowProblem {
                                                    SftRow row{.line = line};
                                                    RowProblem problem = parse_sft_row(object, row.conversation);
                                                    if (!problem) dataset.rows.push_back(std::move(row));
                                                    return problem;
                                                  }));
  return dataset;
}

} // namespace caravan::tasks
