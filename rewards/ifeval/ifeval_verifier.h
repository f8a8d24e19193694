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
// The completion is first reduced to its final answer as open-instruct does (the text after the
// last "</think>" / "</evaluation>", without "<answer>" tags, stripped); an empty answer is wrong.
//
// Accepted ground-truth layouts (the whole string is JSON):
//  - {"instruction_id_list": [...], "kwargs": [{...}, ...]} (IFEval input_data.jsonl; extra
//    keys such as "key" and "prompt" are ignored; "kwargs" may be absent = all empty);
//  - the same with "instruction_id" instead of "instruction_id_list" (open-instruct IFEvalG);
//  - {"func_name": "validate_...", ...arguments} (open-instruct's functions, the Tülu 3 RLVR
//    "ifeval" rows; see if_functions.h): score 1 or 0;
//  - any of the above encoded once more as a JSON string.
// Not supported: IFEval's "loose" mode.
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
  // JSON, has no instruction list or func_name, has an empty list, lists and kwargs differ in
  // length, an id or function is unknown or its arguments are malformed (detail names the id or
  // function and the parameter).
  Verdict verify(std::string_view completion, std::string_view ground_truth) const override;
};

} // namespace caravan::rewards::ifeval
