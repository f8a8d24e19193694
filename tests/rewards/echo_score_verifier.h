// File: tests/rewards/echo_score_verifier.h
// A test verifier that returns the completion, read as a number ("0.5", "nan", "inf", "1e300"),
// as its score with status ok: how the tests plant a verifier that misbehaves with NaN or
// infinity.
#pragma once

#include <string>

#include "rewards/verifier.h"

namespace caravan::rewards {

// Thread-safe (stateless).
class EchoScoreVerifier : public Verifier {
 public:
  std::string_view name() const override { return "echo_score"; }
  Verdict verify(std::string_view completion, std::string_view) const override {
    return {std::stod(std::string(completion)), VerdictStatus::kOk, "echoed"};
  }
};

} // namespace caravan::rewards
