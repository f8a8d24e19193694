// File: actors/rollout/rollout_actor.h
// The rollout actor: a WorkerRole whose engine thread generates while the session's socket
// thread keeps accepting requests.
//   - RolloutRequest: validated on arrival (an error names the field), queued. Between two
//     engine steps the engine thread moves queued requests into the continuous-batching engine
//     (actors/rollout/engine.h), where they join the sequences already running, and posts each
//     prompt's Completion (its whole group, the request's id) as soon as every sample of that
//     group has ended.
//   - SyncWeights: queued; the engine thread installs the weights after the next engine step
//     (at once when idle), posts WeightsSynced, and tags every later token with the new version
//     (Sample.tokenPolicyVersions; Sample.policyVersion is the first token's). Running sequences
//     go on with the new weights; none is dropped.
// Work is taken in arrival order: requests queued behind a SyncWeights join the engine after it
// is installed. Each sample draws from its own random stream seeded by (request seed, prompt
// index, sample index), so a request gives the same tokens for the same weights alone or among
// others. The model and the WeightTransport are touched by the engine thread only.
//
//   RolloutActor actor(std::move(model), transport, session->outbox(),
//                      {.stop_ids = encoder.stop_ids(), .engine = engine_options});
//   Status served = session->serve(actor);
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "actors/rollout/engine.h"
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
  // The bytes of each token id, for requests with stop strings; without it such requests are
  // refused (kInvalidArgument naming RolloutRequest.stopStrings).
  std::shared_ptr<const TokenText> token_text = nullptr;
  // KV cache size, step budget, ...; an invalid value fails the actor (outbox fail) at start.
  EngineOptions engine;
  // Seconds between two progress lines (queue, batch, KV blocks, throughput) while busy, > 0.
  double progress_every_s = 30.0;
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
  // Moves the queued requests at the front of the queue into the engine, and installs the
  // SyncWeights there too when the engine is idle; stops at a SyncWeights while it is busy.
  void admit_queued(Engine& engine, RolloutBatch& batch);
  // Installs the SyncWeights at the front of the queue, in order (after an engine step).
  void install_front_syncs(Engine& engine);
  void install(const proto::SyncWeights::Reader& sync);
  // One engine step; posts the completions it finished.
  void step(Engine& engine, RolloutBatch& batch);
  void finish_request(uint64_t request_id);
  void log_progress(const Engine& engine);
  // Publishes the queue depth. Requires the lock.
  void publish_queue_depth_locked();

  model::Llama model_;  // Engine thread only.
  model::WeightTransport& transport_;
  core::Outbox& outbox_;
  const RolloutActorOptions options_;
  const core::TransformerConfig config_;
  int64_t kv_block_bytes_ = 0;  // engine thread only
  std::atomic<uint64_t> policy_version_{0};
  std::chrono::steady_clock::time_point last_progress_;  // Engine thread only.
  mutable std::mutex mutex_;
  std::condition_variable_any queue_changed_;
  std::deque<Work> queue_;         // Guarded by mutex_: arrival order.
  std::vector<uint64_t> active_;   // Guarded by mutex_: accepted, not answered.
  core::WorkThread engine_;        // Last: it uses every member above.
};

} // namespace caravan::rollout
