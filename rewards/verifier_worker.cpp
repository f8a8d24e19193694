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

// The scoring view of a reward item.
ScoringItem scoring_item(const proto::RewardItem::Reader& item) {
  return {.verifier = text(item.getVerifier()),
          .source = text(item.getSource()),
          .ground_truth = text(item.getGroundTruth()),
          .completion = text(item.getCompletion()),
          .completion_tokens = item.getCompletionTokens(),
          .truncated = item.getTruncated()};
}

}  // namespace

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
  pending.plans.reserve(items.size());
  pending.verdicts.resize(items.size());

  std::vector<VerifyJob> jobs;
  jobs.reserve(items.size());
  for (unsigned i = 0; i < items.size(); ++i) {
    const auto item = items[i];
    const ScoringPlan& plan = pending.plans.emplace_back(plan_scoring(pending.reward_options.get(), scoring_item(item)));
    if (plan.unjudged) {
      pending.verdicts[i] = *plan.unjudged;
      continue;
    }
    jobs.push_back({plan.verifier, std::string(text(item.getGroundTruth())), std::string(text(item.getCompletion())),
                    /*tag=*/i, plan.settings});
  }
  pending.remaining = jobs.size();
  if (jobs.empty()) return std::optional<Reply>(build_result(pending));
  // Registered before the jobs are submitted: the collector may see them finish at once.
  std::lock_guard lock(mutex_);
  const uint64_t serial = next_serial_;
  for (VerifyJob& job : jobs) job.tag |= serial << kItemBits;
  pending_.emplace(serial, std::move(pending));
  if (!pool_.try_submit(std::move(jobs))) {
    pending_.erase(serial);
    return std::optional<Reply>(error_reply(
        request.getRequestId(),
        Status::resource_exhausted(str_cat("verifier busy: ", pool_.queue_depth(), " of ", pool_.queue_capacity(),
                                           " queue slots taken; request ", request.getRequestId(), " with ",
                                           items.size(), " items refused, retry later")),
        kBusyRetryAfter));
  }
  ++next_serial_;
  return std::optional<Reply>();
}

std::vector<VerifierWorker::Reply> VerifierWorker::poll_finished(std::stop_token stop,
                                                                 std::chrono::milliseconds timeout) {
  std::vector<Reply> replies;
  std::optional<VerifyOutcome> outcome = pool_.pop(stop, timeout);
  while (outcome) {
    std::unique_lock lock(mutex_);
    auto found = pending_.find(outcome->tag >> kItemBits);
    CARAVAN_CHECK(found != pending_.end(), "verifier: finished job with unknown tag ", outcome->tag);
    PendingRequest& pending = found->second;
    const size_t index = outcome->tag & ((uint64_t{1} << kItemBits) - 1);
    CARAVAN_CHECK(index < pending.verdicts.size() && pending.remaining > 0, "verifier: bad item index ", index);
    pending.verdicts[index] = std::move(outcome->verdict);
    if (--pending.remaining == 0) {
      PendingRequest done = std::move(pending);
      pending_.erase(found);
      lock.unlock();
      replies.push_back(build_result(done));
    }
    outcome = pool_.pop(stop, std::chrono::milliseconds(0));
  }
  return replies;
}

size_t VerifierWorker::pending_requests() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

std::vector<uint64_t> VerifierWorker::pending_request_ids() const {
  std::lock_guard lock(mutex_);
  std::vector<uint64_t> ids;
  ids.reserve(pending_.size());
  for (const auto& [serial, pending] : pending_) {
    ids.push_back(pending.request->getRoot<proto::RewardRequest>().asReader().getRequestId());
  }
  return ids;
}

VerifierWorker::Reply VerifierWorker::build_result(const PendingRequest& pending) {
  const auto request = pending.request->getRoot<proto::RewardRequest>().asReader();
  const auto items = request.getItems();
  auto reply = std::make_unique<capnp::MallocMessageBuilder>();
  auto result = reply->initRoot<proto::Envelope>().initRewardResult();
  result.setRequestId(request.getRequestId());
  auto rewards = result.initRewards(items.size());
  for (unsigned i = 0; i < items.size(); ++i) {
    const auto item = items[i];
    rewards[i].setPromptId(item.getPromptId());
    rewards[i].setSampleIndex(item.getSampleIndex());
    write_reward(finish_scoring(pending.plans[i], pending.verdicts[i], scoring_item(item)), rewards[i]);
  }
  return reply;
}

} // namespace caravan::rewards
