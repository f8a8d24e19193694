// File: actors/rollout/rollout_batch.h
// The RolloutRequests a rollout actor's engine is serving, and how their answers are assembled:
// every prompt of a request becomes one EngineRequest of samplesPerPrompt samples, each sample
// seeded with sampling_seed(request seed, prompt index, sample index); as the engine's samples
// end, each group (one prompt's samples) whose samples have all ended becomes a Completion at
// once, with its request's id and every token's policy version.
//
//   RolloutBatch batch;
//   for (EngineRequest& prompt : batch.add(std::move(accepted), stop_ids).prompts) engine.add(std::move(prompt));
//   for (SequenceOutput& done : engine.step()) {
//     RolloutBatch::Ended ended = batch.record(std::move(done));
//     for (auto& completion : ended.completions) outbox.post(std::move(completion));
//   }
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include <capnp/message.h>

#include "actors/rollout/engine.h"
#include "core/transformer_config.h"
#include "proto/caravan.capnp.h"

namespace caravan::rollout {

// An accepted RolloutRequest: a copy of its envelope and when it arrived.
struct AcceptedRequest {
  std::unique_ptr<capnp::MallocMessageBuilder> envelope;
  std::chrono::steady_clock::time_point arrived;
  proto::RolloutRequest::Reader request() const {
    return envelope->getRoot<proto::Envelope>().asReader().getRolloutRequest();
  }
};

// kInvalidArgument naming the field (RolloutRequest.prompts[p].tokens[i], RolloutRequest.minP,
// ...) for a request this model cannot serve: no samples, no new tokens, a sampling control
// outside its range (SamplingParams), an empty stop string, an empty prompt, a token outside the
// vocabulary, prompt + maxNewTokens beyond the context.
Status validate_rollout_request(const proto::RolloutRequest::Reader& request, const core::TransformerConfig& config);

// The sampling settings of a (validated) request, with the actor's `stop_ids`; seed = the
// request's seed.
SamplingParams request_sampling(const proto::RolloutRequest::Reader& request, std::vector<int32_t> stop_ids);

// How sample `sample` of prompt `prompt` of `request` samples: request_sampling() with the seed
// sampling_seed(request seed, prompt, sample).
SamplingParams sampling_params(const proto::RolloutRequest::Reader& request, uint32_t prompt, uint32_t sample,
                               const std::vector<int32_t>& stop_ids);

// Owner thread only (the engine's).
class RolloutBatch {
 public:
  struct Added {
    // This request's key for remove().
    uint64_t key = 0;
    // One per prompt; each id is its group's key for record().
    std::vector<EngineRequest> prompts;
  };
  // Takes a validated request (the same request id may be in flight twice).
  Added add(AcceptedRequest request, const std::vector<int32_t>& stop_ids);

  struct Ended {
    // Completion envelopes of the groups that finished now.
    std::vector<std::unique_ptr<capnp::MallocMessageBuilder>> completions;
    // Requests whose every group is now answered (they leave the batch).
    std::vector<uint64_t> finished_requests;
  };
  // Records one ended sample of an EngineRequest that add() returned.
  Ended record(SequenceOutput output);

  // Drops the request add() gave `key` (the engine refused it).
  void remove(uint64_t key);
  // Drops every request (the engine lost them).
  void clear();
  // Ids of the requests with groups not answered yet.
  std::vector<uint64_t> unfinished_requests() const;

 private:
  struct Request {
    AcceptedRequest accepted;
    size_t groups_left = 0;
  };
  struct Group {
    uint64_t request_key = 0;
    uint32_t prompt = 0;
    std::vector<std::optional<SequenceOutput>> samples;
    size_t samples_left = 0;
  };
  std::unique_ptr<capnp::MallocMessageBuilder> completion(const Request& request, const Group& group) const;

  uint64_t next_key_ = 0;
  std::map<uint64_t, Request> requests_;  // by request key
  std::map<uint64_t, Group> groups_;      // by group key
};

} // namespace caravan::rollout
