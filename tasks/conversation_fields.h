// File: tasks/conversation_fields.h
// Reads the fields of a dataset row that hold a Conversation (tasks/conversation.h), shared by
// the SFT and preference readers. Each function returns nullopt on success, else the row's
// problem as "field 'x': reason" (the readers prefix FILE:LINE).
//
//   Conversation chosen;
//   if (RowProblem problem = parse_prompt_completion(row, "prompt", "chosen", chosen)) return problem;
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tasks/conversation.h"

namespace caravan::tasks {

// nullopt = the row is fine; otherwise "field 'x': reason".
using RowProblem = std::optional<std::string>;

// `value` (the row's field `field`) as a chat whose assistant turns from `trained_from` on are
// trained: a message list (core/prompt_messages.h) with at least one assistant turn at index
// >= trained_from.
RowProblem parse_chat_field(const nlohmann::json& value, std::string_view field, size_t trained_from,
                            Conversation& out);

// The row's `prompt_key` and `completion_key` fields as one Conversation: two strings (text
// layout; the completion non-empty), or two message lists (chat layout: the prompt's turns then
// the completion's, which must hold an assistant turn; only the completion's turns are trained).
RowProblem parse_prompt_completion(const nlohmann::json& row, std::string_view prompt_key,
                                   std::string_view completion_key, Conversation& out);

} // namespace caravan::tasks
