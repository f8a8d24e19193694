#include "actors/rollout/stop_strings.h"

#include <algorithm>
#include <array>

#include "core/status.h"

namespace caravan::rollout {

TokenText TokenText::from_tokenizer(const model::Tokenizer& tokenizer) {
  std::vector<std::string> bytes(static_cast<size_t>(tokenizer.vocab_size()));
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    const std::array<int32_t, 1> one{id};
    Result<std::string> text = tokenizer.decode(one);
    CARAVAN_CHECK(text.ok(), "TokenText: id ", id, " below vocab_size() does not decode: ", text.status().message());
    bytes[static_cast<size_t>(id)] = std::move(*text);
  }
  return TokenText(std::move(bytes));
}

StopStringMatcher::StopStringMatcher(std::vector<std::string> stop_strings) : stop_strings_(std::move(stop_strings)) {
  for (const std::string& stop : stop_strings_) {
    CARAVAN_CHECK(!stop.empty(), "StopStringMatcher: empty stop string");
    keep_ = std::max(keep_, stop.size() - 1);
  }
}

bool StopStringMatcher::append(std::string_view bytes) {
  CARAVAN_CHECK(!matched_, "StopStringMatcher: append after a match");
  if (stop_strings_.empty() || bytes.empty()) return false;
  // No stop string occurred in the text before, so a match in tail + bytes ends inside `bytes`;
  // the tail holds enough bytes for the longest stop string to start before `bytes`.
  tail_.append(bytes);
  for (const std::string& stop : stop_strings_) {
    if (tail_.find(stop) != std::string::npos) {
      matched_ = true;
      return true;
    }
  }
  if (tail_.size() > keep_) tail_.erase(0, tail_.size() - keep_);
  return false;
}

} // namespace caravan::rollout
