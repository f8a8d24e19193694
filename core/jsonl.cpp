#include "core/jsonl.h"

#include <fstream>

namespace caravan::core {
namespace {

bool is_blank(const std::string& line) { return line.find_first_not_of(" \t\r\n") == std::string::npos; }

Result<nlohmann::json> parse_object(const std::string& text) {
  nlohmann::json object;
  try {
    object = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // adapter boundary: nlohmann describes errors by exception
    return Status::invalid_argument(str_cat("invalid JSON: ", e.what()));
  }
  if (!object.is_object()) return Status::invalid_argument(str_cat("expected a JSON object, got ", object.type_name()));
  return object;
}

}  // namespace

std::string jsonl_line(const nlohmann::json& record) {
  return record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Status for_each_jsonl_row(const std::filesystem::path& file, std::string_view what, const JsonlVisitor& visit) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::not_found(str_cat(file.string(), ": cannot open ", what));
  std::string line;
  int64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (is_blank(line)) continue;
    CARAVAN_RETURN_IF_ERROR(visit(line_number, parse_object(line)));
  }
  if (in.bad()) return Status::data_loss(str_cat(file.string(), ":", line_number + 1, ": read error"));
  return Status();
}

} // namespace caravan::core
