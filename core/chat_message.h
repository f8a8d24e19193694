// File: core/chat_message.h
// One turn of a conversation, as datasets store it ({"role": ..., "content": ...}) and chat
// templates render it (model/chat_template.h). A plain value shared by the dataset readers and
// the model's prompt encoder, so a row's messages reach the template unchanged.
//
//   std::vector<core::ChatMessage> messages = {{"system", "Be brief."}, {"user", "What is 2+3?"}};
#pragma once

#include <string>

namespace caravan::core {

struct ChatMessage {
  // "system", "user" or "assistant" (readers and renderers reject other roles).
  std::string role;
  // Any bytes.
  std::string content;

  bool operator==(const ChatMessage&) const = default;
};

} // namespace caravan::core
