// File: core/dataset_rows.h
// Walks the rows of a JSONL dataset (RLVR prompts, SFT conversations, preference pairs) under one
// bad-row policy, so every reader reports a malformed row the same way: "FILE:LINE: field 'x':
// reason", then skips it (counted, the first problems kept) or fails the load.
//
//   DatasetReport report;
//   CARAVAN_RETURN_IF_ERROR(core::read_dataset_rows(path, "SFT dataset", BadRowPolicy::kSkip, report,
//       [&](int64_t line, const nlohmann::json& object) -> std::optional<std::string> {
//         if (!object.contains("messages")) return "field 'messages': missing";
//         rows.push_back(...);
//         return std::nullopt;   // accepted
//       }));
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace caravan::core {

// What to do with a row that has a missing or malformed field.
enum class BadRowPolicy {
  // Skip it and record the problem in the DatasetReport.
  kSkip,
  // Fail the whole load with kInvalidArgument at the first bad row.
  kFail,
};

// "skip" -> kSkip, "fail" -> kFail (the config spelling of [task] on_bad_row); kInvalidArgument
// naming the value otherwise.
Result<BadRowPolicy> bad_row_policy_from_name(std::string_view name);

struct DatasetReport {
  // Non-empty lines examined; accepted rows = rows_read - rows_skipped.
  int64_t rows_read = 0;
  // Bad rows skipped under BadRowPolicy::kSkip.
  int64_t rows_skipped = 0;
  // "FILE:LINE: field 'x': reason" for the first kMaxProblems bad rows.
  std::vector<std::string> problems;
  static constexpr size_t kMaxProblems = 100;
};

// Validates and keeps one parsed row (a JSON object); returns nullopt when the row is accepted,
// else why not ("field 'x': reason", without FILE:LINE). A rejected row must leave the caller's
// data unchanged.
using DatasetRowVisitor = std::function<std::optional<std::string>(int64_t line, const nlohmann::json& object)>;

// Visits every non-blank line of `jsonl` (core/jsonl.h); a line that is not a JSON object is a
// bad row like any other. `report` is reset first. Errors:
//   kNotFound         the file cannot be opened ("FILE: cannot open WHAT");
//   kInvalidArgument  a bad row under kFail ("FILE:LINE: field 'x': reason"), or no accepted row
//                     at all (an empty file, or every row skipped: the message quotes the first);
//   kDataLoss         a read error other than end of file.
// Blocks on disk I/O.
Status read_dataset_rows(const std::filesystem::path& jsonl, std::string_view what, BadRowPolicy on_bad_row,
                         DatasetReport& report, const DatasetRowVisitor& visit);

} // namespace caravan::core
