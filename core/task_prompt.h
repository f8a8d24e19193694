// File: core/task_prompt.h
// The task-agnostic prompt the controller trains and evaluates on, and the interface of the
// sources that produce it: the embedded arithmetic task (core/arithmetic_task.h) and RLVR
// prompt sets read from JSONL (core/rlvr_prompt_source.h). The controller never needs to know
// which one it drives: it sends `tokens` to the rollout actors and the learner, `verifier`,
// `ground_truth` and `source` with each RewardItem, and records them in the sample files.
//
// A source turns each prompt into token ids exactly once, with the PromptEncodeFn it was
// created with (in a run: the model's one prompt encoder, model/prompt_encoder.h), so every role
// sees the same ids and nothing re-tokenizes text.
//
//   std::unique_ptr<PromptSource> prompts = ...;       // arithmetic or RLVR
//   TaskPrompt p = prompts->training_prompt(cursor++);  // the training stream, seeded at creation
//   send(p.id, p.tokens);
//   for (const TaskPrompt& q : prompts->held_out()) evaluate(q);
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/chat_message.h"
#include "core/status.h"

namespace caravan::core {

struct TaskPrompt {
  // Stable across runs and unique per distinct prompt; the GRPO group key.
  uint64_t id = 0;
  // A chat prompt: the turns the model's chat template renders, with the generation prompt
  // appended (RLVR rows). Empty for a raw prompt.
  std::vector<ChatMessage> messages = {};
  // A raw prompt, used as is ("37+45="); empty for a chat prompt.
  std::string text = {};
  // The prompt's token ids as the model sees them (special tokens included).
  std::vector<int32_t> tokens = {};
  // What the verifier compares the completion with.
  std::string ground_truth = {};
  // Name of the verifier that scores completions ("arithmetic", "math", "ifeval").
  std::string verifier = {};
  // Dataset the prompt comes from ("arithmetic", "gsm8k", ...); reward configs key on it.
  std::string source = {};
};

// Turns a prompt (its messages or its text) into token ids. Errors name what could not be
// encoded. Must be callable from the source's owner thread.
using PromptEncodeFn = std::function<Result<std::vector<int32_t>>(const TaskPrompt& prompt)>;

// A deterministic stream of training prompts plus a fixed held-out set disjoint from it.
// Owner thread only (implementations may cache per-epoch state).
class PromptSource {
 public:
  virtual ~PromptSource() = default;

  // The index-th training prompt, tokens filled. A pure function of index and the seed given
  // at creation, so a checkpointed cursor resumes the same stream; never a held-out prompt.
  virtual TaskPrompt training_prompt(uint64_t index) = 0;
  // The fixed held-out set, never trained on, tokens filled. Non-empty.
  virtual const std::vector<TaskPrompt>& held_out() const = 0;
};

} // namespace caravan::core
