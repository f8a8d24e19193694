// File: tasks/sft_dataset.h
// Reads supervised fine-tuning data stored as JSONL in the common layouts, one object per line:
//
//   {"messages": [{"role": "user", "content": "2+3?"}, {"role": "assistant", "content": "5"}]}
//       Tülu 3 SFT mixture / TRL "conversational": every assistant turn is trained.
//   {"prompt": "2+3=", "completion": "5"}
//       TRL "prompt-completion", raw text: the completion (then the end of turn) is trained.
//   {"prompt": [{"role": "user", ...}], "completion": [{"role": "assistant", ...}]}
//       TRL conversational prompt-completion: the completion's assistant turns are trained.
//
// Other keys ("id", "source", ...) are ignored. A row with a missing or malformed field is
// reported as "FILE:LINE: field 'x': reason" and, per the BadRowPolicy, skipped (and recorded in
// the report) or fatal (core/dataset_rows.h).
//
//   CARAVAN_ASSIGN_OR_RETURN(tasks::SftDataset data, tasks::load_sft_dataset("sft.jsonl", core::BadRowPolicy::kSkip));
//   for (const tasks::SftRow& row : data.rows) train_on(row.conversation);
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "core/dataset_rows.h"
#include "core/status.h"
#include "tasks/conversation.h"

namespace caravan::tasks {

struct SftRow {
  // 1-based line number in the JSONL file.
  int64_t line = 0;
  Conversation conversation = {};
};

struct SftDataset {
  // In file order.
  std::vector<SftRow> rows;
  core::DatasetReport report;
};

// Reads and validates `jsonl`. Row checks: the line is a JSON object; it has "messages" (a
// non-empty message list with known roles, string contents and at least one assistant turn) or
// else "prompt" and "completion" (both strings, the completion non-empty, or both message
// lists, the completion holding an assistant turn), not both layouts. Errors: those of
// core::read_dataset_rows (kNotFound, kInvalidArgument "FILE:LINE: field 'x': reason" under
// kFail or when no row is valid, kDataLoss). Thread-safe; blocks on disk I/O.
Result<SftDataset> load_sft_dataset(const std::filesystem::path& jsonl, core::BadRowPolicy on_bad_row);

} // namespace caravan::tasks
