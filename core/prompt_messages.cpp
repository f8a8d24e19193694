#include "core/prompt_messages.h"

#include <string>

namespace caravan::core {
namespace {

Status invalid(std::string_view field, std::string_view reason) {
  return Status::invalid_argument(str_cat("field '", field, "': ", reason));
}

} // namespace

Result<std::vector<ChatMessage>> parse_chat_messages(const nlohmann::json& messages, std::string_view field) {
  if (!messages.is_array()) return invalid(field, str_cat("expected an array, got ", messages.type_name()));
  if (messages.empty()) return invalid(field, "empty (needs at least one message)");
  std::vector<ChatMessage> result;
  for (size_t i = 0; i < messages.size(); ++i) {
    const nlohmann::json& message = messages[i];
    const std::string item = str_cat(field, "[", i, "]");
    if (!message.is_object()) return invalid(item, str_cat("expected an object, got ", message.type_name()));
    const auto role = message.find("role");
    if (role == message.end()) return invalid(item + ".role", "missing");
    if (!role->is_string()) return invalid(item + ".role", str_cat("expected a string, got ", role->type_name()));
    const std::string& role_name = role->get_ref<const std::string&>();
    if (role_name != "system" && role_name != "user" && role_name != "assistant") {
      return invalid(item + ".role", str_cat("expected system, user or assistant, got \"", role_name, "\""));
    }
    const auto content = message.find("content");
    if (content == message.end()) return invalid(item + ".content", "missing");
    if (!content->is_string()) return invalid(item + ".content", str_cat("expected a string, got ", content->type_name()));
    result.push_back({role_name, content->get<std::string>()});
  }
  return result;
}

Result<std::vector<ChatMessage>> parse_prompt_messages(const nlohmann::json& messages) {
  CARAVAN_ASSIGN_OR_RETURN(std::vector<ChatMessage> result, parse_chat_messages(messages, "messages"));
  if (result.back().role == "assistant") {
    return invalid(str_cat("messages[", result.size() - 1, "].role"),
                   "the last message is from the assistant; a prompt must await an answer");
  }
  return result;
}

} // namespace caravan::core
