// File: core/prompt_messages.h
// Reads a list of chat messages as datasets store them:
// [{"role": "system" | "user" | "assistant", "content": "..."}, ...]. A prompt (RLVR datasets,
// `caravan generate` prompt files) is such a list, non-empty and not ending with an assistant
// turn (it awaits the assistant's answer); a conversation (SFT and preference datasets) may end
// with one.
//
//   CARAVAN_ASSIGN_OR_RETURN(std::vector<ChatMessage> messages, core::parse_prompt_messages(row["messages"]));
//   CARAVAN_ASSIGN_OR_RETURN(std::vector<ChatMessage> chosen, core::parse_chat_messages(row["chosen"], "chosen"));
#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/chat_message.h"
#include "core/status.h"

namespace caravan::core {

// A non-empty array of {"role", "content"} objects with a known role and string content; any
// role order. `field` names the list in errors: kInvalidArgument "field 'chosen[1].role':
// expected system, user or assistant, got \"tool\"" (callers prefix FILE:LINE). Thread-safe.
Result<std::vector<ChatMessage>> parse_chat_messages(const nlohmann::json& messages, std::string_view field);

// parse_chat_messages(messages, "messages"), and the last message is not from the assistant.
// Thread-safe.
Result<std::vector<ChatMessage>> parse_prompt_messages(const nlohmann::json& messages);

} // namespace caravan::core
