// File: rewards/verdict.h
// The outcome of checking one completion: a score plus a status that says how the score was
// reached. A verifier that runs out of time reports kTimeout; it never hands back a silent 0.0
// that would be indistinguishable from a wrong answer.
//
//   Verdict verdict = verifier.verify(completion, ground_truth);
//   if (verdict.status == VerdictStatus::kTimeout) retry_or_drop(prompt_id);
//   else log_info("reward=", verdict.score, " status=", verdict_status_name(verdict.status));
#pragma once

#include <string>

namespace caravan::rewards {

enum class VerdictStatus {
  // The completion is correct.
  kOk,
  // The completion was checked and is incorrect (including "no answer found").
  kWrong,
  // The check did not finish within its deadline; the score carries no information.
  kTimeout,
  // The check itself failed (e.g. the ground truth is malformed); not the model's fault.
  kError,
  // The completion tried something a sandbox forbids (code verifiers).
  kSandboxViolation,
};

// Stable lowercase name used in logs and sample files: "ok", "wrong", "timeout", "error",
// "sandbox_violation".
const char* verdict_status_name(VerdictStatus status);

// A plain value; copyable.
struct Verdict {
  // Reward in [0, 1]; meaningful only when status is kOk or kWrong.
  double score = 0.0;
  VerdictStatus status = VerdictStatus::kError;
  // Human-readable reason, e.g. "expected 12, got 13"; empty when there is nothing to add.
  std::string detail;
};

} // namespace caravan::rewards
