// File: rewards/verifier.h
// The interface every reward function implements: given a decoded completion and the
// dataset's ground truth, return a Verdict. Verifiers are looked up by name in a
// VerifierRegistry (rewards/verifier_registry.h).
//
//   class ExactMatchVerifier : public Verifier {
//    public:
//     std::string_view name() const override { return "exact_match"; }
//     Verdict verify(std::string_view completion, std::string_view ground_truth) const override {
//       if (completion == ground_truth) return {1.0, VerdictStatus::kOk, ""};
//       return {0.0, VerdictStatus::kWrong, "mismatch"};
//     }
//   };
#pragma once

#include <string_view>

#include "rewards/verdict.h"

namespace caravan::rewards {

// The per-source settings of one verify() call, from the reward config
// ([source.NAME] in core/reward_config.h). A plain value.
struct VerifySettings {
  // Relative tolerance for numeric answers: |answer - reference| <= numeric_tolerance *
  // |reference| is accepted. 0 (the default) = exact. Verifiers without numeric answers ignore it.
  double numeric_tolerance = 0.0;
};

// Thread-safe contract: implementations are stateless (or immutable after construction), so
// one instance may serve verify() calls from many threads at once. Non-copyable: verifiers are
// owned by a VerifierRegistry through std::unique_ptr.
class Verifier {
 public:
  Verifier() = default;
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;
  virtual ~Verifier() = default;

  // The registry key, e.g. "arithmetic". Must be constant for the object's lifetime.
  virtual std::string_view name() const = 0;

  // Judges `completion` (plain decoded text, any bytes, not necessarily valid UTF-8) against
  // `ground_truth`. Never throws for bad input: a malformed completion is kWrong, a malformed
  // ground truth is kError, an exceeded deadline is kTimeout.
  virtual Verdict verify(std::string_view completion, std::string_view ground_truth) const = 0;

  // The same with the sample's source settings. The default ignores them; verifiers that use
  // them (the math verifier's numeric_tolerance) override it, and their two-argument verify()
  // uses the default settings.
  virtual Verdict verify(std::string_view completion, std::string_view ground_truth,
                         const VerifySettings& settings) const {
    return verify(completion, ground_truth);
  }
};

} // namespace caravan::rewards
