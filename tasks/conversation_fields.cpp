#include "tasks/conversation_fields.h"

#include <vector>

#include "core/prompt_messages.h"
#include "core/status.h"

namespace caravan::tasks {
namespace {

using nlohmann::json;

bool has_assistant_turn(const std::vector<core::ChatMessage>& messages, size_t from) {
  for (size_t i = from; i < messages.size(); ++i) {
    if (messages[i].role == "assistant") return true;
  }
  return false;
}

} // namespace

RowProblem parse_chat_field(const json& value, std::string_view field, size_t trained_from, Conversation& out) {
  Result<std::vector<core::ChatMessage>> messages = core::parse_chat_messages(value, field);
  if (!messages.ok()) return messages.status().message();
  if (!has_assistant_turn(*messages, trained_from)) {
    return str_cat("field '", field, "': no assistant turn", trained_from > 0 ? " after the prompt" : "",
                   " (nothing to train on)");
  }
  out = Conversation{.messages = std::move(*messages), .trained_from = trained_from};
  return std::nullopt;
}

RowProblem parse_prompt_completion(const json& row, std::string_view prompt_key, std::string_view completion_key,
                                   Conversation& out) {
  const auto prompt = row.find(prompt_key);
  if (prompt == row.end()) return str_cat("field '", prompt_key, "': missing");
  const auto completion = row.find(completion_key);
  if (completion == row.end()) return str_cat("field '", completion_key, "': missing");
  if (!prompt->is_string() && !prompt->is_array()) {
    return str_cat("field '", prompt_key, "': expected a string or a message list, got ", prompt->type_name());
  }
  if (prompt->is_string() && completion->is_string()) {
    if (completion->get_ref<const std::string&>().empty()) {
      return str_cat("field '", completion_key, "': empty (nothing to train on)");
    }
    out = Conversation{.prompt = prompt->get<std::string>(), .completion = completion->get<std::string>()};
    return std::nullopt;
  }
  if (prompt->is_array() && completion->is_array()) {
    Result<std::vector<core::ChatMessage>> turns = core::parse_chat_messages(*prompt, prompt_key);
    if (!turns.ok()) return turns.status().message();
    Conversation answer;
    if (RowProblem problem = parse_chat_field(*completion, completion_key, 0, answer)) return problem;
    const size_t trained_from = turns->size();
    turns->insert(turns->end(), answer.messages.begin(), answer.messages.end());
    out = Conversation{.messages = std::move(*turns), .trained_from = trained_from};
    return std::nullopt;
  }
  return str_cat("field '", completion_key, "': expected ", prompt->is_string() ? "a string" : "a message list",
                 " like '", prompt_key, "' (both strings, or both message lists), got ", completion->type_name());
}

} // namespace caravan::tasks
