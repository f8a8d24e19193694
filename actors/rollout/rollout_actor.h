// File: actors/rollout/rollout_actor.h
// The rollout actor: a WorkerRole whose engine thread generates while the session's socket
// thread keeps accepting requests.
//   - RolloutRequest: validated on arrival (an error names the field), queued. The engine
//     generates the queued requests that sample alike as one batch (rollout::generate) and
//     posts each prompt's Completion (its whole group, the request's id) as soon as every
//     sample of that group has stopped, before the rest of the batch ends.
//   - SyncWeights: queued; the engine installs the weights at the next decode-step boundary of
//     the running batch, or at once when idle, posts WeightsSynced, and tags every later token
//     with the new version (Sample.tokenPolicyVersions; Sample.policyVersion is the first
//     token's).
// Work is taken in arrival order: requests queued behind a SyncWeights are generated after it.
// Each row samples from its own generator seeded by (request seed, prompt index, sample index),
// so a request gives the same tokens for the same weights alone or batched with others.
// The model and the WeightTransport are touched by the engine thread only.
//
//   RolloutActor actor(std::move(model), transport, session->outbox(),
//                      {.stop_ids = encoder.stop_ids(), .pad_id = tokenizer.pad_id()});
//   Status served = session->serve(actor);
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "actors/rollout/rollout_batch.h"
#include "actors/rollout/rollout_metrics.h"
#include "core/outbox.h"
#include "core/work_thread.h"
#include "core/worker_role.h"
#include "model/llama.h"
#include "model/weight_transport.h"

namespace caravan::rollout {

struct RolloutActorOptions {
  // Ids that end a completion (model::PromptEncoder::stop_ids()); non-empty.
  std::vector<int32_t> stop_ids;
  int32_t pad_id = 0;
  // The process's rollout series (rollout_metrics.h); null = none. Must outlive the actor.
  RolloutMetrics* metrics = nullptr;
};

class RolloutActor : public core::WorkerRole {
 public:
  // `transport` and `outbox` must outlive the actor. The engine thread starts at once.
  RolloutActor(model::Llama model, model::WeightTransport& transport, core::Outbox& outbox,
               const RolloutActorOptions& options);

  // Socket thread. kInvalidArgument for an invalid RolloutRequest (see
  // validate_rollout_request) or a message this actor does not serve.
  Status accept(const proto::Envelope::Reader& message) override;
  uint64_t policy_version() const override { return policy_version_.load(); }
  std::vector<uint64_t> active_requests() const override;
  bool stop_within(std::chrono::milliseconds grace) override { return engine_.stop_within(grace); }

 private:
  // A queued RolloutRequest or SyncWeights: a copy of its envelope and its arrival time
  // (request() only for a RolloutRequest).
  using Work = AcceptedRequest;

  void run(std::stop_token stop);
  // Takes the front request and the queued requests after it that sample alike, up to the
  // first SyncWeights. Requires the lock and a RolloutRequest at the front.
  std::vector<AcceptedRequest> take_batch();
  void generate(RolloutBatch& batch, std::stop_token stop);
  // Installs every queued SyncWeights, in order (between decode steps or when idle).
  void install_queued_weights();
  void install(const proto::SyncWeights::Reader& sync);
  void finish_request(uint64_t request_id);
  // Publishes the queue depth. Requires the lock.
  void publish_queue_depth_locked();

  model::Llama model_;  // Engine thread only.
  model::WeightTransport& transport_;
  core::Outbox& outbox_;
  const RolloutActorOptions options_;
  const core::TransformerConfig config_;
  std::atomic<uint64_t> policy_version_{0};
  mutable std::mutex mutex_;
  std::condition_variable_any queue_changed_;
  std::deque<Work> queue_;         // Guarded by mutex_: arrival order.
  std::vector<uint64_t> active_;   // Guarded by mutex_: accepted, not answered.
  core::WorkThread engine_;        // Last: it uses every member above.
};

} // namespace caravan::rollout
