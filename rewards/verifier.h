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
};

} // namespace caravan::rewards
