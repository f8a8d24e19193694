// File: actors/controller/ledger.h
// The controller's table of the run's training work: one row per sample, keyed by (prompt
// key, sample index), never by position in a message. A prompt key is the draw index of the
// prompt in the run's training stream (its dataset cursor position), so it is unique in the run
// even when a prompt set is drawn twice.
//
// A group (the samples of one prompt) moves through the states together until it is scored:
//   queued -> generating -> verifying -> buffered -> trained
// A sample can end dropped instead of trained, with a reason: unjudged (the verifier could not
// judge it), over_length (truncated, with [pipeline] drop_truncated), uninformative (its whole
// group scored alike and left the step, [grpo] dynamic_sampling). A group whose generation
// is lost (its worker died, its request ran past its deadline) or too stale to train goes back to
// queued and is generated again (stale regenerations are counted as drops with reason stale).
// Trained groups leave the table; their counts remain.
//
// The ledger is part of the controller's checkpoint: to_json() keeps buffered groups with their
// samples (their decoded text aside: the tokens are the record) and every other unfinished group
// as queued, so a resumed run loses nothing and trains nothing twice.
//
//   Ledger ledger(/*group_size=*/8);
//   ledger.add(17);
//   ledger.start_generation(17);
//   CARAVAN_RETURN_IF_ERROR(ledger.record_generation(17, std::move(samples)));  // -> verifying
//   ledger.record_reward(17, 3, reward);                                        // sample 3 -> buffered
//   if (ledger.ready(17)) batch.push_back(17);
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "proto/caravan.capnp.h"

namespace caravan::controller {

enum class SampleState { kQueued, kGenerating, kVerifying, kBuffered, kTrained, kDropped };
inline constexpr std::array kAllSampleStates = {SampleState::kQueued,   SampleState::kGenerating,
                                                SampleState::kVerifying, SampleState::kBuffered,
                                                SampleState::kTrained,  SampleState::kDropped};
// "queued", "generating", ...
const char* state_name(SampleState state);

enum class DropReason { kStale, kUnjudged, kOverLength, kUninformative };
inline constexpr std::array kAllDropReasons = {DropReason::kStale, DropReason::kUnjudged, DropReason::kOverLength,
                                               DropReason::kUninformative};
// "stale", "unjudged", "over_length", "uninformative".
const char* drop_reason_name(DropReason reason);

inline constexpr std::array kAllFinishReasons = {proto::FinishReason::STOP, proto::FinishReason::STOP_STRING,
                                                 proto::FinishReason::LENGTH};
// "stop", "stop_string", "length": a sample's finish reason in the sample files and the ledger.
const char* finish_reason_name(proto::FinishReason reason);

// What a rollout actor returned for one sample.
struct GeneratedSample {
  uint32_t index = 0;
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;
  // Policy version of each token; the first is the sample's version (the oldest).
  std::vector<uint64_t> token_versions;
  proto::FinishReason finish_reason = proto::FinishReason::LENGTH;
  // The completion decoded for the verifiers and the sample files; not part of the checkpoint.
  std::string text;

  uint64_t policy_version() const { return token_versions.empty() ? 0 : token_versions.front(); }
};

// What a verifier returned for one sample.
struct SampleReward {
  float score = 0;
  proto::RewardStatus status = proto::RewardStatus::ERROR;
  // The verifier's word on whether the learner may train on `score` (Reward.trainable).
  bool trainable = false;
  // The breakdown as the sample files record it (core/reward_record.h).
  nlohmann::json record;
};

struct LedgerSample {
  SampleState state = SampleState::kQueued;
  std::optional<DropReason> drop_reason;
  GeneratedSample generated;
  SampleReward reward;
};

struct LedgerGroup {
  uint64_t key = 0;
  // Generations of this group thrown away so far (worker lost, deadline, stale).
  uint32_t regenerations = 0;
  // samples[i] has sample index i.
  std::vector<LedgerSample> samples;

  SampleState state() const { return samples.front().state; }
};

// Samples per state: those in the table plus every sample trained or dropped so far.
using StateCounts = std::map<SampleState, uint64_t>;

// Owner thread only. Transitions out of order are bugs of the caller (CARAVAN_CHECK); what a
// worker sent is checked by the caller before it reaches the ledger (expects_*).
class Ledger {
 public:
  // `group_size` >= 1 samples per prompt.
  explicit Ledger(uint32_t group_size);

  uint32_t group_size() const { return group_size_; }

  // A new group, queued. The key must be new to the run.
  void add(uint64_t key);
  // Up to `max` queued groups, lowest key first.
  std::vector<uint64_t> queued(size_t max) const;
  // queued -> generating.
  void start_generation(uint64_t key);
  // True while `key` is generating (a Completion for it is expected).
  bool expects_generation(uint64_t key) const;
  // generating -> verifying. `samples` must hold every sample index of the group exactly once
  // (kInvalidArgument naming the index otherwise; the group is then unchanged).
  Status record_generation(uint64_t key, std::vector<GeneratedSample> samples);
  // True while sample `index` of `key` is verifying (a reward for it is expected).
  bool expects_reward(uint64_t key, uint32_t index) const;
  // verifying -> buffered, or dropped with `drop` (unjudged, over_length).
  void record_reward(uint64_t key, uint32_t index, SampleReward reward, std::optional<DropReason> drop);
  // Every sample of `key` is buffered or dropped.
  bool ready(uint64_t key) const;
  // Ready groups, lowest key first.
  std::vector<uint64_t> ready_groups() const;
  // Back to queued with its generation discarded (any state before trained). With a reason
  // (stale), the discarded samples are counted as drops.
  void requeue(uint64_t key, std::optional<DropReason> counted_as = std::nullopt);
  // A ready group the learner trained on: buffered samples become trained, and the group leaves
  // the table.
  void mark_trained(uint64_t key);
  // A ready group that will not be trained (dynamic sampling): its buffered samples are counted
  // as drops with `reason`, its dropped ones with their own reason, and the group leaves the table.
  void drop_group(uint64_t key, DropReason reason);

  const LedgerGroup& group(uint64_t key) const;
  LedgerGroup& mutable_group(uint64_t key);
  bool contains(uint64_t key) const { return groups_.count(key) > 0; }
  size_t size() const { return groups_.size(); }

  StateCounts counts() const;
  uint64_t drops(DropReason reason) const;

  // The checkpoint form (see the file comment).
  nlohmann::json to_json() const;
  // kInvalidArgument naming the field for a malformed checkpoint.
  static Result<Ledger> from_json(const nlohmann::json& json, uint32_t group_size);

 private:
  LedgerGroup& checked_group(uint64_t key);

  uint32_t group_size_;
  std::map<uint64_t, LedgerGroup> groups_;
  uint64_t trained_samples_ = 0;
  std::map<DropReason, uint64_t> drops_;
};

} // namespace caravan::controller
