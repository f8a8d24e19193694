// File: weights_sync/c10d_status.cpp
#include "weights_sync/c10d_status.h"

#include <algorithm>
#include <cctype>

#include "core/str_cat.h"

namespace caravan::wsync {

Status status_from_message(const std::string& context, const std::string& message) {
  std::string lower = message;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const bool timed_out = lower.find("timeout") != std::string::npos || lower.find("timed out") != std::string::npos ||
                         lower.find("deadline") != std::string::npos;
  std::string text = str_cat(context, ": ", message);
  return timed_out ? Status::timeout(std::move(text)) : Status::unavailable(std::move(text));
}

} // namespace caravan::wsync
