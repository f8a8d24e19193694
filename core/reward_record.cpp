#include "core/reward_record.h"

#include <charconv>
#include <string>

namespace caravan::core {
namespace {

std::string text(capnp::Text::Reader value) { return {value.cStr(), value.size()}; }

// The double whose shortest decimal form is the shortest one of `value`, so the JSON shows the
// float32 the message holds without the binary noise of widening it (0.1f -> 0.1).
double shortest(float value) {
  char digits[64];
  const auto written = std::to_chars(digits, digits + sizeof(digits), value);
  double widened = value;
  if (written.ec == std::errc()) std::from_chars(digits, written.ptr, widened);
  return widened;
}

}  // namespace

const char* reward_status_name(proto::RewardStatus status) {
  switch (status) {
    case proto::RewardStatus::OK: return "ok";
    case proto::RewardStatus::WRONG: return "wrong";
    case proto::RewardStatus::TIMEOUT: return "timeout";
    case proto::RewardStatus::ERROR: return "error";
    case proto::RewardStatus::SANDBOX_VIOLATION: return "sandbox_violation";
  }
  return "unknown";
}

nlohmann::json reward_record(const proto::Reward::Reader& reward) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto step : reward.getAdjustments()) {
    steps.push_back({{"name", text(step.getName())}, {"value", shortest(step.getValue())}});
  }
  return {{"verifier", text(reward.getVerifier())},
          {"status", reward_status_name(reward.getStatus())},
          {"detail", text(reward.getDetail())},
          {"raw_score", shortest(reward.getRawScore())},
          {"steps", std::move(steps)},
          {"final_reward", shortest(reward.getScore())},
          {"trainable", reward.getTrainable()},
          {"config_version", text(reward.getConfigVersion())}};
}

} // namespace caravan::core
