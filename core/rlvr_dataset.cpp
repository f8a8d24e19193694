#include "core/rlvr_dataset.h"

#include <optional>
#include <utility>

#include "core/prompt_messages.h"

namespace caravan::core {
namespace {

using nlohmann::json;

// Name of a JSON value's type for messages ("number", "array", ...).
std::string type_name(const json& value) { return value.type_name(); }

// Validates one parsed row; on failure returns "field 'x': reason" (without FILE:LINE).
std::optional<std::string> validate_row(const json& object, const RlvrDatasetOptions& options, RlvrRow& row) {
  // messages
  auto messages = object.find("messages");
  if (messages == object.end()) return "field 'messages': missing";
  Result<std::vector<ChatMessage>> parsed = parse_prompt_messages(*messages);
  if (!parsed.ok()) return parsed.status().message();
  row.messages = std::move(*parsed);

  // ground_truth
  auto truth = object.find("ground_truth");
  if (truth == object.end()) return "field 'ground_truth': missing";
  if (truth->is_string()) {
    row.ground_truth = truth->get<std::string>();
  } else if (truth->is_array()) {
    for (size_t i = 0; i < truth->size(); ++i) {
      if (!(*truth)[i].is_string()) {
        return str_cat("field 'ground_truth[", i, "]': expected a string, got ", type_name((*truth)[i]));
      }
    }
    row.ground_truth = truth->dump();
  } else {
    return str_cat("field 'ground_truth': expected a string or an array of strings, got ", type_name(*truth));
  }

  // dataset
  auto dataset = object.find("dataset");
  if (dataset == object.end()) return "field 'dataset': missing";
  if (!dataset->is_string()) return str_cat("field 'dataset': expected a string, got ", type_name(*dataset));
  row.dataset = dataset->get<std::string>();
  auto verifier = options.verifier_for_dataset.find(row.dataset);
  if (verifier == options.verifier_for_dataset.end()) {
    std::string known;
    for (const auto& [name, unused] : options.verifier_for_dataset) {
      known += known.empty() ? "" : ", ";
      known += name;
    }
    return str_cat("field 'dataset': \"", row.dataset, "\" maps to no verifier (known: ",
                   known.empty() ? "none" : known, ")");
  }
  row.verifier = verifier->second;

  for (const auto& [key, value] : object.items()) {
    if (key != "messages" && key != "ground_truth" && key != "dataset") row.extra[key] = value;
  }
  return std::nullopt;
}

} // namespace

Result<RlvrDataset> load_rlvr_dataset(const std::filesystem::path& jsonl, const RlvrDatasetOptions& options) {
  RlvrDataset dataset;
  CARAVAN_RETURN_IF_ERROR(read_dataset_rows(jsonl, "RLVR dataset", options.on_bad_row, dataset.report,
                                            [&](int64_t line, const json& object) -> std::optional<std::string> {
                                              RlvrRow row;
                                              row.line = line;
                                              std::optional<std::string> problem = validate_row(object, options, row);
                                              if (!problem) dataset.rows.push_back(std::move(row));
                                              return problem;
                                            }));
  return dataset;
}

} // namespace caravan::core
