#include "rewards/verifier_worker.h"

namespace caravan::rewards {

proto::RewardStatus to_reward_status(VerdictStatus status) {
  switch (status) {
    case VerdictStatus::kOk: return proto::RewardStatus::OK;
    case VerdictStatus::kWrong: return proto::RewardStatus::WRONG;
    case VerdictStatus::kTimeout: return proto::RewardStatus::TIMEOUT;
    case VerdictStatus::kError: return proto::RewardStatus::ERROR;
    case VerdictStatus::kSandboxViolation: return proto::RewardStatus::SANDBOX_VIOLATION;
  }
  return proto::RewardStatus::ERROR;
}

Result<std::unique_ptr<capnp::MallocMessageBuilder>> VerifierWorker::handle(
    const proto::Envelope::Reader& message) const {
  if (!message.isRewardRequest()) {
    return Status::invalid_argument(str_cat("verifier: unexpected message kind ", static_cast<int>(message.which())));
  }
  const auto request = message.getRewardRequest();
  auto reply = std::make_unique<capnp::MallocMessageBuilder>();
  auto result = reply->initRoot<proto::Envelope>().initRewardResult();
  result.setRequestId(request.getRequestId());
  const auto items = request.getItems();
  auto rewards = result.initRewards(items.size());
  for (unsigned i = 0; i < items.size(); ++i) {
    const auto item = items[i];
    auto reward = rewards[i];
    reward.setPromptId(item.getPromptId());
    reward.setSampleIndex(item.getSampleIndex());
    const std::string_view name(item.getVerifier().cStr(), item.getVerifier().size());
    Result<const Verifier*> verifier = registry_.find(name);
    if (!verifier.ok()) {
      reward.setScore(0);
      reward.setStatus(proto::RewardStatus::ERROR);
      reward.setDetail(verifier.status().message());
      continue;
    }
    const Verdict verdict = (*verifier)->verify(std::string_view(item.getCompletion().cStr(), item.getCompletion().size()),
                                                std::string_view(item.getGroundTruth().cStr(), item.getGroundTruth().size()));
    reward.setScore(static_cast<float>(verdict.score));
    reward.setStatus(to_reward_status(verdict.status));
    reward.setDetail(verdict.detail);
  }
  return reply;
}

} // namespace caravan::rewards
