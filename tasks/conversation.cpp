#include "tasks/conversation.h"

namespace caravan::tasks {

void hash_conversation(const Conversation& conversation, core::FieldHasher& hasher) {
  hasher.add(conversation.is_chat() ? "chat" : "text");
  for (const core::ChatMessage& message : conversation.messages) {
    hasher.add(message.role);
    hasher.add(message.content);
  }
  hasher.add(std::to_string(conversation.trained_from));
  hasher.add(conversation.prompt);
  hasher.add(conversation.completion);
}

uint64_t conversation_id(const Conversation& conversation) {
  core::FieldHasher hasher;
  hash_conversation(conversation, hasher);
  return hasher.value();
}

} // namespace caravan::tasks
