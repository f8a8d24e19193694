// File: core/task_prompt.h
// The task-agnostic prompt the controller trains and evaluates on, and the interface of the
// sources that produce it: the embedded arithmetic task (core/arithmetic_task.h) and RLVR
// prompt sets read from JSONL (core/rlvr_prompt_source.h). The controller never needs to know
// which one it drives: it renders `text`, sends `verifier`, `ground_truth` and `source` with
// each RewardItem and records them in the sample files.
//
//   std::unique_ptr<PromptSource> prompts = ...;       // arithmetic or RLVR
//   TaskPrompt p = prompts->training_prompt(cursor++);  // the training stream, seeded at creation
//   for (const TaskPrompt& q : prompts->held_out()) evaluate(q);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace caravan::core {

struct TaskPrompt {
  // Stable across runs and unique per distinct prompt; the GRPO group key.
  uint64_t id = 0;
  // What the policy is given, before tokenization ("37+45=", "user: ...\nassistant:").
  std::string text;
  // What the verifier compares the completion with.
  std::string ground_truth;
  // Name of the verifier that scores completions ("arithmetic", "math", "ifeval").
  std::string verifier;
  // Dataset the prompt comes from ("arithmetic", "gsm8k", ...); reward configs key on it.
  std::string source;
};

// A deterministic stream of training prompts plus a fixed held-out set disjoint from it.
// Owner thread only (implementations may cache per-epoch state).
class PromptSource {
 public:
  virtual ~PromptSource() = default;

  // The index-th training prompt. A pure function of index and the seed given at creation,
  // so a checkpointed cursor resumes the same stream; never a held-out prompt.
  virtual TaskPrompt training_prompt(uint64_t index) = 0;
  // The fixed held-out set, never trained on. Non-empty.
  virtual const std::vector<TaskPrompt>& held_out() const = 0;
};

} // namespace caravan::core
