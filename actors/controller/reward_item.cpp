#include "actors/controller/reward_item.h"

#include "core/status.h"

namespace caravan::controller {

int64_t completion_token_count(std::span<const int32_t> tokens, bool stopped) {
  CARAVAN_CHECK(!stopped || !tokens.empty(), "a sample that stopped at EOS has no tokens");
  return static_cast<int64_t>(tokens.size()) - (stopped ? 1 : 0);
}

void fill_reward_item(const core::TaskPrompt& prompt, uint32_t sample_index, std::span<const int32_t> tokens,
                      proto::FinishReason finish_reason, const std::string& completion, proto::RewardItem::Builder item) {
  item.setPromptId(prompt.id);
  item.setSampleIndex(sample_index);
  item.setVerifier(prompt.verifier);
  item.setGroundTruth(prompt.ground_truth);
  item.setCompletion(completion);
  item.setSource(prompt.source);
  item.setCompletionTokens(
      static_cast<uint32_t>(completion_token_count(tokens, /*stopped=*/finish_reason == proto::FinishReason::STOP)));
  item.setTruncated(finish_reason == proto::FinishReason::LENGTH);
}

} // namespace caravan::controller
