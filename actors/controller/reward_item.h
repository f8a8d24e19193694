// File: actors/controller/reward_item.h
// The RewardItem the controller sends a verifier for one generated sample: the ids, the
// prompt's verifier, ground truth and source, the decoded completion, and the length facts the
// reward rules read (rewards/reward_composer.h).
//
//   fill_reward_item(prompt, sample.sample_index, sample.tokens, sample.finish_reason, sample.text, item);
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/task_prompt.h"
#include "proto/caravan.capnp.h"

namespace caravan::controller {

// Generated tokens of a sample as the reward rules count them. `tokens` are the ids the rollout
// actor returned: a sample that `stopped` at a stop id ends with that end-of-sequence token,
// which is not counted (DAPO's overlong penalty measures the answer; counting the EOS would
// penalise a completion one token early). CARAVAN_CHECKs that a stopped sample has that token.
int64_t completion_token_count(std::span<const int32_t> tokens, bool stopped);

// Fills every field of `item` for sample `sample_index` of `prompt`; `completion` is the decoded
// text of `tokens`; truncated = (finish_reason is length).
void fill_reward_item(const core::TaskPrompt& prompt, uint32_t sample_index, std::span<const int32_t> tokens,
                      proto::FinishReason finish_reason, const std::string& completion, proto::RewardItem::Builder item);

} // namespace caravan::controller
