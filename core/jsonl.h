// File: core/jsonl.h
// Walks a JSONL file (one JSON object per line), the layout of every dataset, prompt and sample
// file Caravan reads. Blank lines are skipped and a trailing '\r' is ignored, so files written on
// any platform read the same.
//
//   CARAVAN_RETURN_IF_ERROR(core::for_each_jsonl_row(path, "prompt file",
//       [&](int64_t line, const Result<nlohmann::json>& row) -> Status {
//         if (!row.ok()) return Status::invalid_argument(str_cat(path.string(), ":", line, ": ", row.status().message()));
//         rows.push_back(*row);
//         return Status();
//       }));
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace caravan::core {

// Called once per non-blank line with its 1-based number and either the parsed object or why the
// line is not one ("invalid JSON: ...", "expected a JSON object, got array"). A non-ok return
// stops the walk.
using JsonlVisitor = std::function<Status(int64_t line, const Result<nlohmann::json>& row)>;

// `record` as one JSONL line: compact JSON ending in '\n'. Text that is not valid UTF-8 (a
// completion cut inside a multi-byte character) is written with U+FFFD in place of the bad bytes
// rather than failing the write.
std::string jsonl_line(const nlohmann::json& record);

// Visits every row of `file`. Errors: kNotFound "FILE: cannot open WHAT"; kDataLoss
// "FILE:LINE: read error"; whatever `visit` returns. Blocks on disk I/O.
Status for_each_jsonl_row(const std::filesystem::path& file, std::string_view what, const JsonlVisitor& visit);

} // namespace caravan::core
