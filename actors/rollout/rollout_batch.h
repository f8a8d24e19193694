// File: actors/rollout/rollout_batch.h
// RolloutRequests generated together as one batch: every prompt repeated samplesPerPrompt
// times (a group's rows adjacent), each row with its own seed
// sampling_seed(request seed, prompt index, sample index), and the policy version of every
// decode step. As rows end, each group whose samples have all ended becomes a Completion at
// once, with its request's id and per-token policy versions.
//
//   RolloutBatch batch(std::move(requests));
//   batch.begin_step(version);                       // before decode step 0
//   options.on_step = [&](int64_t, const auto& seqs, const auto& ended) {
//     for (auto& done : batch.end_rows(seqs, ended).completions) outbox.post(std::move(done));
//     batch.begin_step(version_now);                 // after installing new weights, if any
//   };
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <capnp/message.h>

#include "actors/rollout/generator.h"
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
// request's seed (each row then gets sampling_seed(seed, prompt, sample)).
SamplingParams request_sampling(const proto::RolloutRequest::Reader& request, std::vector<int32_t> stop_ids);

// True when two requests sample alike (every sampling control but the seed) and can share a batch.
bool same_sampling(const proto::RolloutRequest::Reader& a, const proto::RolloutRequest::Reader& b);

// Owner thread only (the engine's).
class RolloutBatch {
 public:
  // `requests`: validated, non-empty, all same_sampling() with the first.
  explicit RolloutBatch(std::vector<AcceptedRequest> requests);

  const std::vector<std::vector<int32_t>>& rows() const { return rows_; }
  // The batch's sampling settings and row seeds, with the actor's stop and pad ids and token
  // text (required when the requests have stop strings; must outlive the generation).
  GenerationOptions generation_options(const std::vector<int32_t>& stop_ids, int32_t pad_id,
                                       const TokenText* token_text) const;

  // The policy version that generates the next decode step's tokens (call before each step).
  void begin_step(uint64_t policy_version) { step_versions_.push_back(policy_version); }

  struct Ended {
    // Completion envelopes of the groups that finished now.
    std::vector<std::unique_ptr<capnp::MallocMessageBuilder>> completions;
    // Requests whose every group is now answered.
    std::vector<uint64_t> finished_requests;
  };
  // Records that `ended` rows of `sequences` (generate's output so far) have ended.
  Ended end_rows(const std::vector<GeneratedSequence>& sequences, const std::vector<size_t>& ended);

  // Requests with groups not answered yet.
  std::vector<uint64_t> unfinished_requests() const;

 private:
  struct Row {
    size_t group = 0;     // index into groups_
    uint32_t sample = 0;  // sample index within the group
  };
  struct Group {
    size_t request = 0;  // index into requests_
    uint32_t prompt = 0;
    size_t first_row = 0;
    uint32_t rows_left = 0;
  };
  std::unique_ptr<capnp::MallocMessageBuilder> completion(const Group& group,
                                                          const std::vector<GeneratedSequence>& sequences) const;

  std::vector<AcceptedRequest> requests_;
  std::vector<size_t> groups_left_;  // per request
  std::vector<Group> groups_;
  std::vector<Row> row_info_;
  std::vector<std::vector<int32_t>> rows_;
  std::vector<uint64_t> row_seeds_;
  std::vector<uint64_t> step_versions_;
};

} // namespace caravan::rollout
