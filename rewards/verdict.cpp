#include "rewards/verdict.h"

namespace caravan::rewards {

const char* verdict_status_name(VerdictStatus status) {
  switch (status) {
    case VerdictStatus::kOk: return "ok";
    case VerdictStatus::kWrong: return "wrong";
    case VerdictStatus::kTimeout: return "timeout";
    case VerdictStatus::kError: return "error";
    case VerdictStatus::kSandboxViolation: return "sandbox_violation";
  }
  return "unknown";
}

} // namespace caravan::rewards
