// File: rewards/verifier_worker.h
// The verifier process's message handling: RewardRequest -> RewardResult, one Reward per item
// in request order. The items are judged on a VerifierPool; handle() only queues them, and
// poll_finished() hands back the RewardResult of every request whose items are all judged.
// When the pool has no room, handle() answers at once with an ErrorReply saying the verifier
// is busy, so the controller can back off and retry. A verifier name the registry does not
// know, or a failing check, becomes a Reward with status "error" and a detail naming it; it
// never becomes a silent zero. Socket-free, so tests drive it message by message; a worker
// process serves it through VerifierRole (rewards/verifier_role.h).
//
// Scoring follows rewards/reward_scoring.h, the path `caravan reward-test` takes too: with a
// RewardConfigWatcher, each request is scored under the reward config in force when it arrived
// (one snapshot per request); the item's source selects the rules and the verifier; the pool
// judges; the verdict is composed into the final reward. Without a watcher the verifier's score
// is the reward (weight 1, no other rule) and the config version is empty. Every Reward carries
// the breakdown: verifier, raw score, the rules applied, the config version and whether the
// learner trains on it.
//
//   VerifierPool pool(registry, metrics, {.threads = 4});
//   VerifierWorker worker(pool, watcher.get());   // watcher may be null
//   CARAVAN_ASSIGN_OR_RETURN(auto immediate, worker.handle(message));  // busy reply, or nothing
//   if (immediate) send(**immediate);
//   for (auto& reply : worker.poll_finished(stop, 10ms)) send(*reply);   // RewardResult envelopes
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <vector>

#include <capnp/message.h>

#include "core/status.h"
#include "proto/caravan.capnp.h"
#include "rewards/reward_config_watcher.h"
#include "rewards/reward_scoring.h"
#include "rewards/verifier_pool.h"

namespace caravan::rewards {

// How long a busy verifier asks the controller to wait before resending a refused request.
inline constexpr std::chrono::milliseconds kBusyRetryAfter{50};

// Thread-safe: handle() on the socket thread and poll_finished() on a collector thread may run
// at once. `pool` must outlive the worker; the worker must be its only user.
class VerifierWorker {
 public:
  using Reply = std::unique_ptr<capnp::MallocMessageBuilder>;

  // `rewards` (nullable) must outlive the worker; see the file comment.
  explicit VerifierWorker(VerifierPool& pool, const RewardConfigWatcher* rewards = nullptr)
      : pool_(pool), rewards_(rewards) {}

  // Accepts a RewardRequest. Returns no reply when its items were queued (the RewardResult
  // comes from poll_finished()), or an immediate reply: the RewardResult of a request with
  // nothing to judge; an ErrorReply "RESOURCE_EXHAUSTED: verifier busy: ..." with
  // retryAfterMs = kBusyRetryAfter when the pool has no room now (back-pressure); an ErrorReply
  // "INVALID_ARGUMENT: ..." (retryAfterMs 0) when the request has more items than the queue can
  // ever hold. kInvalidArgument for a message other than RewardRequest.
  Result<std::optional<Reply>> handle(const proto::Envelope::Reader& message);

  // Waits up to `timeout` (or until `stop`) for a finished item, then takes every other
  // finished item without waiting. Returns the RewardResult envelopes of the requests that are
  // now complete, in completion order; empty when none completed.
  std::vector<Reply> poll_finished(std::stop_token stop, std::chrono::milliseconds timeout);

  // Requests accepted whose RewardResult has not been returned yet.
  size_t pending_requests() const;
  // Their ids.
  std::vector<uint64_t> pending_request_ids() const;

 private:
  // An accepted request: a copy of it (items are read again when the result is built), the
  // reward config snapshot it is scored under (null: none configured; the plans point into it),
  // each item's scoring plan, and the verdicts received so far.
  struct PendingRequest {
    std::unique_ptr<capnp::MallocMessageBuilder> request;
    std::shared_ptr<const core::RewardOptions> reward_options;
    std::vector<ScoringPlan> plans;
    std::vector<Verdict> verdicts;
    size_t remaining = 0;
  };
  static Reply build_result(const PendingRequest& pending);

  VerifierPool& pool_;
  const RewardConfigWatcher* rewards_;
  mutable std::mutex mutex_;
  // Pending requests by a worker-local serial; a job's tag is (serial << 32) | item index.
  uint64_t next_serial_ = 0;                    // Guarded by mutex_.
  std::map<uint64_t, PendingRequest> pending_;  // Guarded by mutex_.
};

} // namespace caravan::rewards
