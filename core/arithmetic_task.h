// File: core/arithmetic_task.h
// The embedded task: problems "a+b=", "a-b=", "a*b=" with exact integer answers. Every
// problem has a stable id; a seeded hash splits the problem space so the held-out set is
// disjoint from everything training can ever draw. Training problems are a pure function of
// (seed, index), so the controller's dataset cursor is just an index.
//
//   CARAVAN_ASSIGN_OR_RETURN(ArithmeticTask task, ArithmeticTask::create(config.task));
//   ArithmeticProblem p = task.training_problem(/*seed=*/7, /*index=*/cursor++);
//   std::string prompt = p.prompt();   // "37+45="
//   std::string answer = p.answer();   // "82"
//
// ArithmeticPromptSource presents the task to the controller as a core::PromptSource.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/task_options.h"
#include "core/task_prompt.h"

namespace caravan::core {

enum class ArithmeticOp { kAdd, kSubtract, kMultiply };

struct ArithmeticProblem {
  ArithmeticOp op = ArithmeticOp::kAdd;
  int64_t a = 0;
  int64_t b = 0;

  // Unique per (op, a, b); used as the prompt id.
  uint64_t id() const;
  std::string prompt() const;
  std::string answer() const;
};

// Immutable after create(); thread-safe.
class ArithmeticTask {
 public:
  // kInvalidArgument if held_out_size exceeds the held-out share of the problem space.
  static Result<ArithmeticTask> create(const TaskOptions& options);

  // The index-th training problem of the stream `seed`; never a held-out problem.
  ArithmeticProblem training_problem(uint64_t seed, uint64_t index) const;
  // The fixed held-out set (options.held_out_size problems, seeded by held_out_seed).
  const std::vector<ArithmeticProblem>& held_out() const { return held_out_; }
  bool is_held_out(const ArithmeticProblem& problem) const;

 private:
  explicit ArithmeticTask(const TaskOptions& options) : options_(options) {}
  ArithmeticProblem problem_from_hash(uint64_t hash) const;

  TaskOptions options_;
  std::vector<ArithmeticProblem> held_out_;
};

// The task as a PromptSource: prompt text, answer and id come from ArithmeticProblem, so a run
// sees exactly the problems ArithmeticTask draws.
class ArithmeticPromptSource : public PromptSource {
 public:
  // `seed` selects the training stream; `verifier` scores every prompt; `source` is the
  // dataset name sent with each reward item (config.task.kind). Prompts are raw text
  // ("37+45="); `encode` turns them into tokens and must not fail on raw text (a failure is a
  // bug: CARAVAN_CHECK).
  ArithmeticPromptSource(ArithmeticTask task, uint64_t seed, std::string verifier, std::string source,
                         PromptEncodeFn encode);

  TaskPrompt training_prompt(uint64_t index) override;
  const std::vector<TaskPrompt>& held_out() const override { return held_out_; }

 private:
  TaskPrompt to_prompt(const ArithmeticProblem& problem) const;

  ArithmeticTask task_;
  uint64_t seed_;
  std::string verifier_;
  std::string source_;
  PromptEncodeFn encode_;
  std::vector<TaskPrompt> held_out_;
};

} // namespace caravan::core
