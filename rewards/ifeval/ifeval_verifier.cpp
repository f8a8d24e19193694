#include "rewards/ifeval/ifeval_verifier.h"

#include <cstddef>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/str_cat.h"
#include "rewards/ifeval/if_functions.h"
#include "rewards/ifeval/instructions.h"
#include "rewards/ifeval/text_scan.h"

namespace caravan::rewards::ifeval {
namespace {

using nlohmann::json;

Verdict error(std::string detail) { return {0.0, VerdictStatus::kError, std::move(detail)}; }

void erase_all(std::string& text, std::string_view what) {
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at)) text.erase(at, what.size());
}

// open-instruct's remove_thinking_section(): the text after the last "</think>" and the last
// "</evaluation>", without "<|assistant|>", "<answer>" and "</answer>", stripped.
std::string final_answer(std::string_view completion) {
  std::string text(completion);
  erase_all(text, "<|assistant|>");
  for (std::string_view closing : {"</think>", "</evaluation>"}) {
    if (const std::size_t at = text.rfind(closing); at != std::string::npos) text.erase(0, at + closing.size());
  }
  erase_all(text, "<answer>");
  erase_all(text, "</answer>");
  return std::string(python_strip(text));
}

Verdict verify_if_function(std::string_view answer, const json& constraint) {
  const Result<bool> followed = check_if_function(constraint, answer);
  if (!followed.ok()) return error(str_cat("ifeval ground truth: ", followed.status().message()));
  if (*followed) return {1.0, VerdictStatus::kOk, ""};
  return {0.0, VerdictStatus::kWrong, str_cat("not followed: ", constraint[kFuncNameKey].get<std::string>())};
}

} // namespace

Verdict IfevalVerifier::verify(std::string_view completion, std::string_view ground_truth) const {
  json truth = json::parse(ground_truth, nullptr, /*allow_exceptions=*/false);
  if (truth.is_string()) truth = json::parse(truth.get<std::string>(), nullptr, /*allow_exceptions=*/false);
  if (truth.is_discarded() || !truth.is_object()) return error("ifeval ground truth is not a JSON object");
  const std::string answer = final_answer(completion);
  if (answer.empty()) return {0.0, VerdictStatus::kWrong, "empty answer"};
  if (truth.contains(kFuncNameKey)) return verify_if_function(answer, truth);

  const json* ids = nullptr;
  for (const char* key : {"instruction_id_list", "instruction_id"}) {
    if (const auto it = truth.find(key); it != truth.end()) {
      ids = &*it;
      break;
    }
  }
  if (ids == nullptr || !ids->is_array()) {
    return error("ifeval ground truth: 'instruction_id_list' is missing or not a list");
  }
  if (ids->empty()) return error("ifeval ground truth: 'instruction_id_list' is empty");

  static const json kNoKwargs = nullptr;
  const json* kwargs = nullptr;
  if (const auto it = truth.find("kwargs"); it != truth.end() && !it->is_null()) {
    if (!it->is_array() || it->size() != ids->size()) {
      return error(str_cat("ifeval ground truth: 'kwargs' must be a list of ", ids->size(), " objects"));
    }
    kwargs = &*it;
  }

  std::size_t followed = 0;
  std::string failed;
  for (std::size_t i = 0; i < ids->size(); ++i) {
    const json& id = (*ids)[i];
    if (!id.is_string()) return error(str_cat("ifeval ground truth: instruction ", i, " is not a string"));
    const std::string name = id.get<std::string>();
    const Result<bool> result = check_instruction(name, kwargs ? (*kwargs)[i] : kNoKwargs, answer);
    if (!result.ok()) return error(str_cat("ifeval ground truth: ", result.status().message()));
    if (*result) {
      ++followed;
    } else {
      failed += failed.empty() ? name : ", " + name;
    }
  }
  const double score = static_cast<double>(followed) / static_cast<double>(ids->size());
  if (failed.empty()) return {score, VerdictStatus::kOk, ""};
  return {score, VerdictStatus::kWrong, "not followed: " + failed};
}

} // namespace caravan::rewards::ifeval
