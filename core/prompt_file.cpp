#include "core/prompt_file.h"

#include "core/jsonl.h"
#include "core/prompt_messages.h"

namespace caravan::core {
namespace {

Result<PromptRow> parse_row(const nlohmann::json& object) {
  PromptRow row;
  const auto messages = object.find("messages");
  const auto text = object.find("prompt");
  if ((messages == object.end()) == (text == object.end())) {
    return Status::invalid_argument("expected exactly one of \"messages\" (a chat) and \"prompt\" (raw text)");
  }
  if (messages != object.end()) {
    CARAVAN_ASSIGN_OR_RETURN(row.prompt.messages, parse_prompt_messages(*messages));
  } else if (text->is_string()) {
    row.prompt.text = text->get<std::string>();
  } else {
    return Status::invalid_argument(str_cat("field 'prompt': expected a string, got ", text->type_name()));
  }
  for (const auto& [key, value] : object.items()) {
    if (key != "messages" && key != "prompt") row.extra[key] = value;
  }
  return row;
}

}  // namespace

Result<std::vector<PromptRow>> read_prompt_file(const std::filesystem::path& jsonl) {
  std::vector<PromptRow> rows;
  CARAVAN_RETURN_IF_ERROR(for_each_jsonl_row(jsonl, "prompt file", [&](int64_t line, const Result<nlohmann::json>& object) {
    Result<PromptRow> row = object.ok() ? parse_row(*object) : Result<PromptRow>(object.status());
    if (!row.ok()) return row.status().with_context(str_cat(jsonl.string(), ":", line));
    row->line = line;
    rows.push_back(std::move(*row));
    return Status();
  }));
  if (rows.empty()) return Status::invalid_argument(str_cat(jsonl.string(), ": no rows (empty file)"));
  return rows;
}

} // namespace caravan::core
