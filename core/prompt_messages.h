// File: core/prompt_messages.h
// Reads the "messages" of a prompt row, as RLVR datasets and `caravan generate` prompt files
// store them: [{"role": "system" | "user" | "assistant", "content": "..."}, ...], non-empty and
// not ending with an assistant turn (a prompt awaits the assistant's answer).
//
//   CARAVAN_ASSIGN_OR_RETURN(std::vector<ChatMessage> messages, core::parse_prompt_messages(row["messages"]));
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "core/chat_message.h"
#include "core/status.h"

namespace caravan::core {

// kInvalidArgument "field 'messages[1].role': expected system, user or assistant, got \"tool\""
// (callers prefix FILE:LINE) for anything but the layout above. Thread-safe.
Result<std::vector<ChatMessage>> parse_prompt_messages(const nlohmann::json& messages);

} // namespace caravan::core
