#include "core/rlvr_dataset.h"

#include <fstream>
#include <optional>
#include <utility>

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
  if (!messages->is_array()) return str_cat("field 'messages': expected an array, got ", type_name(*messages));
  if (messages->empty()) return std::string("field 'messages': empty (a prompt needs at least one message)");
  for (size_t i = 0; i < messages->size(); ++i) {
    const json& message = (*messages)[i];
    const std::string field = str_cat("messages[", i, "]");
    if (!message.is_object()) return str_cat("field '", field, "': expected an object, got ", type_name(message));
    auto role = message.find("role");
    if (role == message.end()) return str_cat("field '", field, ".role': missing");
    if (!role->is_string()) return str_cat("field '", field, ".role': expected a string, got ", type_name(*role));
    const std::string& role_name = role->get_ref<const std::string&>();
    if (role_name != "system" && role_name != "user" && role_name != "assistant") {
      return str_cat("field '", field, ".role': expected system, user or assistant, got \"", role_name, "\"");
    }
    auto content = message.find("content");
    if (content == message.end()) return str_cat("field '", field, ".content': missing");
    if (!content->is_string()) {
      return str_cat("field '", field, ".content': expected a string, got ", type_name(*content));
    }
    row.messages.push_back({role_name, content->get<std::string>()});
  }
  if (row.messages.back().role == "assistant") {
    return str_cat("field 'messages[", row.messages.size() - 1,
                   "].role': the last message is from the assistant; a prompt must await an answer");
  }

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

// Parses and validates one non-empty line; on failure returns "reason" (without FILE:LINE).
std::optional<std::string> parse_row(const std::string& text, const RlvrDatasetOptions& options, RlvrRow& row) {
  json object;
  try {
    object = json::parse(text);
  } catch (const json::exception& e) {  // Adapter boundary: nlohmann reports by exception.
    return str_cat("invalid JSON: ", e.what());
  }
  if (!object.is_object()) return str_cat("expected a JSON object, got ", type_name(object));
  return validate_row(object, options, row);
}

bool is_blank(const std::string& line) {
  return line.find_first_not_of(" \t\r\n") == std::string::npos;
}

} // namespace

Result<RlvrDataset> load_rlvr_dataset(const std::filesystem::path& jsonl, const RlvrDatasetOptions& options) {
  const std::string file = jsonl.string();
  std::ifstream in(jsonl, std::ios::binary);
  if (!in) return Status::not_found(str_cat(file, ": cannot open RLVR dataset"));

  RlvrDataset dataset;
  std::string line;
  int64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (is_blank(line)) continue;
    ++dataset.report.rows_read;
    RlvrRow row;
    row.line = line_number;
    std::optional<std::string> problem = parse_row(line, options, row);
    if (!problem) {
      dataset.rows.push_back(std::move(row));
      continue;
    }
    std::string message = str_cat(file, ":", line_number, ": ", *problem);
    switch (options.on_bad_row) {
      case BadRowPolicy::kFail:
        return Status::invalid_argument(std::move(message));
      case BadRowPolicy::kSkip:
        ++dataset.report.rows_skipped;
        if (dataset.report.problems.size() < RlvrDatasetReport::kMaxProblems) {
          dataset.report.problems.push_back(std::move(message));
        }
        break;
    }
  }
  if (in.bad()) return Status::data_loss(str_cat(file, ":", line_number + 1, ": read error"));
  if (dataset.rows.empty()) {
    if (dataset.report.rows_read == 0) return Status::invalid_argument(str_cat(file, ": no rows (empty file)"));
    return Status::invalid_argument(str_cat(file, ": no valid rows (", dataset.report.rows_skipped,
                                            " skipped); first problem: ", dataset.report.problems.front()));
  }
  return dataset;
}

} // namespace caravan::core
