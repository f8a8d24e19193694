// File: rewards/verifier_role.h
// Serves a VerifierWorker as the verifier process's WorkerRole: accept() queues a
// RewardRequest's items on the pool (or posts the immediate reply: busy, too large, nothing to
// judge) and returns at once; a collector thread posts each RewardResult as soon as all items
// of its request are judged, in finishing order across requests.
//
//   VerifierRole role(worker, session->outbox(), [&] { refresh_reward_config(); });
//   Status served = session->serve(role);
#pragma once

#include <functional>

#include "core/outbox.h"
#include "core/work_thread.h"
#include "core/worker_role.h"
#include "rewards/verifier_worker.h"

namespace caravan::rewards {

class VerifierRole : public core::WorkerRole {
 public:
  // Socket thread, before each request is accepted (e.g. pick up an edited reward config, so a
  // request is scored under the config in force when it arrives). May be empty.
  using BeforeRequest = std::function<void()>;

  // `worker` and `outbox` must outlive the role. The collector thread starts at once.
  VerifierRole(VerifierWorker& worker, core::Outbox& outbox, BeforeRequest before_request = {});

  // kInvalidArgument for a message other than RewardRequest.
  Status accept(const proto::Envelope::Reader& message) override;
  // Verifiers hold no weights: always 0.
  uint64_t policy_version() const override { return 0; }
  std::vector<uint64_t> active_requests() const override { return worker_.pending_request_ids(); }
  bool stop_within(std::chrono::milliseconds grace) override { return collector_.stop_within(grace); }

 private:
  void collect(std::stop_token stop);

  VerifierWorker& worker_;
  core::Outbox& outbox_;
  const BeforeRequest before_request_;
  core::WorkThread collector_;  // Last: it uses every member above.
};

} // namespace caravan::rewards
