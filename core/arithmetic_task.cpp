#include "core/arithmetic_task.h"

#include <unordered_set>
#include <utility>

#include "core/hash.h"

namespace caravan::core {
namespace {

// One in kHeldOutShare problems of the space belongs to the held-out partition.
constexpr uint64_t kHeldOutShare = 10;

char op_symbol(ArithmeticOp op) {
  switch (op) {
    case ArithmeticOp::kAdd: return '+';
    case ArithmeticOp::kSubtract: return '-';
    case ArithmeticOp::kMultiply: return '*';
  }
  return '?';
}

}  // namespace

uint64_t ArithmeticProblem::id() const {
  // Operands are at most 10^6 < 2^20 (config range), so the fields never overlap.
  return (static_cast<uint64_t>(op) << 42) | (static_cast<uint64_t>(a) << 21) | static_cast<uint64_t>(b);
}

std::string ArithmeticProblem::prompt() const { return str_cat(a, op_symbol(op), b, "="); }

std::string ArithmeticProblem::answer() const {
  switch (op) {
    case ArithmeticOp::kAdd: return std::to_string(a + b);
    case ArithmeticOp::kSubtract: return std::to_string(a - b);
    case ArithmeticOp::kMultiply: return std::to_string(a * b);
  }
  return {};
}

Result<ArithmeticTask> ArithmeticTask::create(const TaskOptions& options) {
  ArithmeticTask task(options);
  const uint64_t add_space = static_cast<uint64_t>(options.max_operand_add + 1) * (options.max_operand_add + 1);
  const uint64_t mul_space = static_cast<uint64_t>(options.max_operand_mul + 1) * (options.max_operand_mul + 1);
  const uint64_t expected_held_out = (2 * add_space + mul_space) / kHeldOutShare;
  if (static_cast<uint64_t>(options.held_out_size) * 2 > expected_held_out) {
    return Status::invalid_argument(str_cat("[task] held_out_size = ", options.held_out_size,
                                            " is too large for operand ranges that hold about ", expected_held_out,
                                            " held-out problems; raise max_operand_add or lower held_out_size"));
  }
  std::unordered_set<uint64_t> chosen;
  for (uint64_t i = 0; task.held_out_.size() < static_cast<size_t>(options.held_out_size); ++i) {
    const ArithmeticProblem candidate = task.problem_from_hash(splitmix64(options.held_out_seed ^ splitmix64(i)));
    if (task.is_held_out(candidate) && chosen.insert(candidate.id()).second) task.held_out_.push_back(candidate);
  }
  return task;
}

ArithmeticProblem ArithmeticTask::training_problem(uint64_t seed, uint64_t index) const {
  for (uint64_t attempt = 0;; ++attempt) {
    const ArithmeticProblem candidate =
        problem_from_hash(splitmix64(splitmix64(seed) ^ splitmix64(index * 0x100000001b3ULL + attempt)));
    if (!is_held_out(candidate)) return candidate;
  }
}

bool ArithmeticTask::is_held_out(const ArithmeticProblem& problem) const {
  return splitmix64(problem.id() ^ splitmix64(options_.held_out_seed)) % kHeldOutShare == 0;
}

ArithmeticProblem ArithmeticTask::problem_from_hash(uint64_t hash) const {
  ArithmeticProblem problem;
  problem.op = static_cast<ArithmeticOp>(hash % 3);
  const uint64_t operand_range =
      static_cast<uint64_t>(problem.op == ArithmeticOp::kMultiply ? options_.max_operand_mul : options_.max_operand_add) + 1;
  const uint64_t h = splitmix64(hash);
  problem.a = static_cast<int64_t>(h % operand_range);
  problem.b = static_cast<int64_t>((h / operand_range) % operand_range);
  return problem;
}

ArithmeticPromptSource::ArithmeticPromptSource(ArithmeticTask task, uint64_t seed, std::string verifier,
                                               std::string source, PromptEncodeFn encode)
    : task_(std::move(task)), seed_(seed), verifier_(std::move(verifier)), source_(std::move(source)),
      encode_(std::move(encode)) {
  held_out_.reserve(task_.held_out().size());
  for (const ArithmeticProblem& problem : task_.held_out()) held_out_.push_back(to_prompt(problem));
}

TaskPrompt ArithmeticPromptSource::training_prompt(uint64_t index) {
  return to_prompt(task_.training_problem(seed_, index));
}

TaskPrompt ArithmeticPromptSource::to_prompt(const ArithmeticProblem& problem) const {
  TaskPrompt prompt;
  prompt.id = problem.id();
  prompt.text = problem.prompt();
  prompt.ground_truth = problem.answer();
  prompt.verifier = verifier_;
  prompt.source = source_;
  Result<std::vector<int32_t>> tokens = encode_(prompt);
  CARAVAN_CHECK(tokens.ok(), "encoding the raw prompt \"", prompt.text, "\" failed: ", tokens.status().to_string());
  prompt.tokens = std::move(*tokens);
  return prompt;
}

} // namespace caravan::core
