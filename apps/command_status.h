// File: apps/command_status.h
// How a one-shot command (generate, eval) ends: its Status becomes one error line in the log and
// the process exit code.
//
//   return exit_code(generate(cli), "generate");
#pragma once

#include <string_view>

#include "core/log.h"
#include "core/status.h"

namespace caravan::apps {

// 0 for ok; otherwise logs `event=<command>_failed reason="..."` and returns 2 for bad input
// (kInvalidArgument, kNotFound: a usage error the user can fix), 130 when cancelled, 1 otherwise.
inline int exit_code(const Status& status, std::string_view command) {
  if (status.ok()) return 0;
  log::error("event=", command, "_failed reason=\"", status.to_string(), "\"");
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound: return 2;
    case StatusCode::kCancelled: return 130;
    case StatusCode::kOk:
    case StatusCode::kTimeout:
    case StatusCode::kUnavailable:
    case StatusCode::kDataLoss:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kResourceExhausted:
    case StatusCode::kInternal: return 1;
  }
  return 1;
}

} // namespace caravan::apps
