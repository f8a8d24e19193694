#include "rewards/ifeval/ifeval_verifier.h"

#include <cstddef>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/str_cat.h"
#include "rewards/ifeval/instructions.h"

namespace caravan::rewards::ifeval {
namespace {

using nlohmann::json;

Verdict error(std::string detail) { return {0.0, VerdictStatus::kError, std::move(detail)}; }

} // namespace

Verdict IfevalVerifier::verify(std::string_view completion, std::string_view ground_truth) const {
  json truth = json::parse(ground_truth, nullptr, /*allow_exceptions=*/false);
  if (truth.is_string()) truth = json::parse(truth.get<std::string>(), nullptr, /*allow_exceptions=*/false);
  if (truth.is_discarded() || !truth.is_object()) return error("ifeval ground truth is not a JSON object");

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
    const Result<bool> result = check_instruction(name, kwargs ? (*kwargs)[i] : kNoKwargs, completion);
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
