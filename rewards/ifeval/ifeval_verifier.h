// File: rewards/ifeval/ifeval_verifier.h
// Reward for instruction-following prompts (IFEval and Tülu 3 / open-instruct RLVR "ifeval"
// data). The ground truth is the prompt's constraints as JSON; each constraint is checked by
// rewards/ifeval/instructions.h (strict mode) and the score is the fraction followed.
//
//   IfevalVerifier verifier;  // registered as "ifeval" in make_default_registry()
//   verifier.verify("hello there, friend",
//                   R"({"instruction_id_list": ["punctuation:no_comma",
//                                               "change_case:english_lowercase"],
//                       "kwargs": [{}, {}]})");
//   // -> {0.5, kWrong, "not followed: punctuation:no_comma"}
//
// Accepted ground-truth layouts (the whole string is JSON):
//  - {"instruction_id_list": [...], "kwargs": [{...}, ...]} (IFEval input_data.jsonl; extra
//    keys such as "key" and "prompt" are ignored; "kwargs" may be absent = all empty);
//  - the same with "instruction_id" instead of "instruction_id_list" (open-instruct IFEvalG);
//  - either of the above encoded once more as a JSON string.
// Not supported: open-instruct's older {"func_name": "verify_...", ...} layout (its functions
// take different parameters); IFEval's "loose" mode.
#pragma once

#include <string_view>

#include "rewards/verifier.h"

namespace caravan::rewards::ifeval {

// Stateless; thread-safe.
class IfevalVerifier : public Verifier {
 public:
  static constexpr std::string_view kName = "ifeval";

  std::string_view name() const override { return kName; }

  // {followed / total, kOk, ""} when every instruction is followed; {followed / total, kWrong,
  // "not followed: id1, id2"} otherwise. {0.0, kError, detail} when the ground truth is not
  // JSON, has no instruction list, has an empty list, lists and kwargs differ in length, an id
  // is unknown or an instruction's kwargs are malformed (detail names the id and parameter).
  Verdict verify(std::string_view completion, std::string_view ground_truth) const override;
};

} // namespace caravan::rewards::ifeval
