#include "core/dataset_rows.h"

#include "core/jsonl.h"

namespace caravan::core {

Result<BadRowPolicy> bad_row_policy_from_name(std::string_view name) {
  if (name == "skip") return BadRowPolicy::kSkip;
  if (name == "fail") return BadRowPolicy::kFail;
  return Status::invalid_argument(str_cat("on_bad_row: expected \"skip\" or \"fail\", got \"", name, "\""));
}

Status read_dataset_rows(const std::filesystem::path& jsonl, std::string_view what, BadRowPolicy on_bad_row,
                         DatasetReport& report, const DatasetRowVisitor& visit) {
  const std::string file = jsonl.string();
  report = DatasetReport{};
  CARAVAN_RETURN_IF_ERROR(for_each_jsonl_row(jsonl, what, [&](int64_t line, const Result<nlohmann::json>& object) {
    ++report.rows_read;
    const std::optional<std::string> problem =
        object.ok() ? visit(line, *object) : std::optional<std::string>(object.status().message());
    if (!problem) return Status();
    std::string message = str_cat(file, ":", line, ": ", *problem);
    switch (on_bad_row) {
      case BadRowPolicy::kFail:
        return Status::invalid_argument(std::move(message));
      case BadRowPolicy::kSkip:
        ++report.rows_skipped;
        if (report.problems.size() < DatasetReport::kMaxProblems) report.problems.push_back(std::move(message));
        break;
    }
    return Status();
  }));
  if (report.rows_read == 0) return Status::invalid_argument(str_cat(file, ": no rows (empty file)"));
  if (report.rows_read == report.rows_skipped) {
    return Status::invalid_argument(str_cat(file, ": no valid rows (", report.rows_skipped,
                                            " skipped); first problem: ", report.problems.front()));
  }
  return Status();
}

} // namespace caravan::core
