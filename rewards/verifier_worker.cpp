#include "rewards/verifier_worker.h"

namespace caravan::rewards {
namespace {

constexpr int kItemBits = 32;

std::string_view text(capnp::Text::Reader value) { return {value.cStr(), value.size()}; }

// retry_after > 0 marks the refusal as back-pressure: the controller resends after it.
VerifierWorker::Reply error_reply(uint64_t request_id, const Status& status,
                                  std::chrono::milliseconds retry_after = std::chrono::milliseconds(0)) {
  auto reply = std::make_unique<capnp::MallocMessageBuilder>();
  auto body = reply->initRoot<proto::Envelope>().initErrorReply();
  body.setRequestId(request_id);
  body.setMessage(status.to_string());
  body.setRetryAfterMs(static_cast<uint32_t>(retry_after.count()));
  return reply;
}

// The rules without a reward config: the verifier's score is the reward.
const core::SourceRewardOptions kRawScoreRules{};

}  // namespace

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

void write_reward(const proto::RewardItem::Reader& item, const RewardBreakdown& breakdown,
                  proto::Reward::Builder reward) {
  reward.setPromptId(item.getPromptId());
  reward.setSampleIndex(item.getSampleIndex());
  reward.setScore(static_cast<float>(breakdown.final_reward));
  reward.setStatus(to_reward_status(breakdown.status));
  reward.setDetail(breakdown.detail);
  reward.setVerifier(breakdown.verifier);
  reward.setRawScore(static_cast<float>(breakdown.raw_score));
  auto adjustments = reward.initAdjustments(static_cast<unsigned>(breakdown.steps.size()));
  for (unsigned i = 0; i < breakdown.steps.size(); ++i) {
    adjustments[i].setName(breakdown.steps[i].name);
    adjustments[i].setValue(static_cast<float>(breakdown.steps[i].value));
  }
  reward.setConfigVersion(breakdown.config_version);
}

Result<std::optional<VerifierWorker::Reply>> VerifierWorker::handle(const proto::Envelope::Reader& message) {
  if (!message.isRewardRequest()) {
    return Status::invalid_argument(str_cat("verifier: unexpected message kind ", static_cast<int>(message.which())));
  }
  const auto request = message.getRewardRequest();
  const auto items = request.getItems();
  if (items.size() > pool_.queue_capacity()) {
    return std::optional<Reply>(error_reply(
        request.getRequestId(),
        Status::invalid_argument(str_cat("verifier: request ", request.getRequestId(), " has ", items.size(),
                                         " items, more than the queue capacity ", pool_.queue_capacity(),
                                         "; send smaller requests"))));
  }
  PendingRequest pending;
  pending.request = std::make_unique<capnp::MallocMessageBuilder>();
  pending.request->setRoot(request);
  pending.reward_options = rewards_ != nullptr ? rewards_->current() : nullptr;
  pending.rules.resize(items.size());
  pending.verifiers.resize(items.size());
  pending.verdicts.resize(items.size());

  const uint64_t serial = next_serial_;
  std::vector<VerifyJob> jobs;
  jobs.reserve(items.size());
  for (unsigned i = 0; i < items.size(); ++i) {
    const auto item = items[i];
    const core::SourceRewardOptions* rules =
        pending.reward_options != nullptr ? pending.reward_options->find(text(item.getSource())) : &kRawScoreRules;
    pending.rules[i] = rules;
    pending.verifiers[i] = rules != nullptr && !rules->verifier.empty() ? rules->verifier
                                                                         : std::string(text(item.getVerifier()));
    if (rules == nullptr) {
      pending.verdicts[i] = {0.0, VerdictStatus::kError,
                             str_cat("reward config ", pending.reward_options->version, " has no [source.",
                                     text(item.getSource()), "] and no [source.default]")};
      continue;
    }
    jobs.push_back({pending.verifiers[i], std::string(text(item.getGroundTruth())),
                    std::string(text(item.getCompletion())), (serial << kItemBits) | i,
                    {.numeric_tolerance = rules->numeric_tolerance}});
  }
  pending.remaining = jobs.size();
  if (jobs.empty()) return std::optional<Reply>(build_result(pending));
  if (!pool_.try_submit(std::move(jobs))) {
    return std::optional<Reply>(error_reply(
        request.getRequestId(),
        Status::resource_exhausted(str_cat("verifier busy: ", pool_.queue_depth(), " of ", pool_.queue_capacity(),
                                           " queue slots taken; request ", request.getRequestId(), " with ",
                                           items.size(), " items refused, retry later")),
        kBusyRetryAfter));
  }
  ++next_serial_;
  pending_.emplace(serial, std::move(pending));
  return std::optional<Reply>();
}

std::vector<VerifierWorker::Reply> VerifierWorker::poll_finished(std::stop_token stop,
                                                                 std::chrono::milliseconds timeout) {
  std::vector<Reply> replies;
  std::optional<VerifyOutcome> outcome = pool_.pop(stop, timeout);
  while (outcome) {
    auto found = pending_.find(outcome->tag >> kItemBits);
    CARAVAN_CHECK(found != pending_.end(), "verifier: finished job with unknown tag ", outcome->tag);
    PendingRequest& pending = found->second;
    const size_t index = outcome->tag & ((uint64_t{1} << kItemBits) - 1);
    CARAVAN_CHECK(index < pending.verdicts.size() && pending.remaining > 0, "verifier: bad item index ", index);
    pending.verdicts[index] = std::move(outcome->verdict);
    if (--pending.remaining == 0) {
      replies.push_back(build_result(pending));
      pending_.erase(found);
    }
    outcome = pool_.pop(stop, std::chrono::milliseconds(0));
  }
  return replies;
}

VerifierWorker::Reply VerifierWorker::build_result(const PendingRequest& pending) {
  const auto request = pending.request->getRoot<proto::RewardRequest>().asReader();
  const auto items = request.getItems();
  auto reply = std::make_unique<capnp::MallocMessageBuilder>();
  auto result = reply->initRoot<proto::Envelope>().initRewardResult();
  result.setRequestId(request.getRequestId());
  auto rewards = result.initRewards(items.size());
  const std::string version = pending.reward_options != nullptr ? pending.reward_options->version : "";
  for (unsigned i = 0; i < items.size(); ++i) {
    const auto item = items[i];
    const Verdict& verdict = pending.verdicts[i];
    RewardBreakdown breakdown;
    if (pending.rules[i] == nullptr) {
      breakdown = {.verifier = pending.verifiers[i], .status = verdict.status, .detail = verdict.detail,
                   .config_version = version};
    } else {
      breakdown = compose_reward(*pending.rules[i], version, pending.verifiers[i], verdict,
                                 {.completion = text(item.getCompletion()),
                                  .completion_tokens = item.getCompletionTokens(),
                                  .truncated = item.getTruncated()});
    }
    write_reward(item, breakdown, rewards[i]);
  }
  return reply;
}

} // namespace caravan::rewards
