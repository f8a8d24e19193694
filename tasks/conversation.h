// File: tasks/conversation.h
// One training example of the stages before RL (SFT, DPO), before tokenisation: either a chat
// (messages rendered with the model's chat template, some assistant turns trained) or raw text
// (a prompt and a completion, no template: the layout of base-model data and of the embedded
// arithmetic task). The learner turns it into token ids and an assistant-only loss mask
// (learner/stage_data.h).
//
//   tasks::Conversation chat{.messages = {{"user", "2+3?"}, {"assistant", "5"}}, .trained_from = 0};
//   tasks::Conversation text{.prompt = "2+3=", .completion = "5"};
//   uint64_t id = tasks::conversation_id(chat);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/chat_message.h"
#include "core/hash.h"

namespace caravan::tasks {

// A copyable value.
struct Conversation {
  // Chat layout when non-empty: every turn, in order.
  std::vector<core::ChatMessage> messages = {};
  // Chat layout: the assistant turns at index >= trained_from are trained (0 = every assistant
  // turn, as in SFT; the first response turn in a preference pair). At least one assistant turn
  // lies there (the readers check it).
  size_t trained_from = 0;
  // Text layout (messages empty): the context, encoded as the model encodes a raw prompt.
  std::string prompt = {};
  // Text layout: the trained text; the model's end of turn follows it.
  std::string completion = {};

  bool is_chat() const { return !messages.empty(); }
  bool operator==(const Conversation&) const = default;
};

// Feeds every field of `conversation` into `hasher` (for content ids of rows).
void hash_conversation(const Conversation& conversation, core::FieldHasher& hasher);

// A stable id of the content (the same in every run and wherever the row sits in its file).
uint64_t conversation_id(const Conversation& conversation);

} // namespace caravan::tasks
