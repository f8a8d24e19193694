// File: core/prompt_file.h
// Reads the prompt files of `caravan generate`: JSONL rows that hold either a chat
// {"messages": [{"role", "content"}, ...]} (rendered with the model's chat template) or a raw
// {"prompt": "..."} (encoded as is). Other keys are kept, so outputs can carry a row's id.
//
//   CARAVAN_ASSIGN_OR_RETURN(std::vector<core::PromptRow> rows, core::read_prompt_file("prompts.jsonl"));
//   for (const core::PromptRow& row : rows) encode(row.prompt);
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/task_prompt.h"

namespace caravan::core {

struct PromptRow {
  // 1-based line in the file.
  int64_t line = 0;
  // The row's messages or text (tokens, ground truth and verifier are not filled).
  TaskPrompt prompt;
  // The row's other keys (an empty object when there are none).
  nlohmann::json extra = nlohmann::json::object();
};

// Every row of `jsonl`, in file order. Errors: kNotFound when it cannot be opened;
// kInvalidArgument "FILE:LINE: reason" at the first malformed row (not a JSON object, neither or
// both of "messages" and "prompt", a malformed message, a non-string prompt) or when the file
// has no rows; kDataLoss on a read error.
Result<std::vector<PromptRow>> read_prompt_file(const std::filesystem::path& jsonl);

} // namespace caravan::core
