#include "actors/controller/ledger.h"

#include <set>

namespace caravan::controller {
namespace {

bool is_settled(SampleState state) { return state == SampleState::kBuffered || state == SampleState::kDropped; }

nlohmann::json sample_json(const LedgerSample& sample) {
  const GeneratedSample& g = sample.generated;
  nlohmann::json json = {{"state", state_name(sample.state)},
                         {"tokens", g.tokens},
                         {"logprobs", g.logprobs},
                         {"token_versions", g.token_versions},
                         {"finish_reason", finish_reason_name(g.finish_reason)},
                         {"score", sample.reward.score},
                         {"status", static_cast<int>(sample.reward.status)},
                         {"trainable", sample.reward.trainable},
                         {"record", sample.reward.record}};
  if (sample.drop_reason) json["drop_reason"] = drop_reason_name(*sample.drop_reason);
  return json;
}

template <class Enum, size_t N>
std::optional<Enum> parse_name(const std::array<Enum, N>& all, const char* (*name_of)(Enum), const std::string& name) {
  for (Enum value : all) {
    if (name == name_of(value)) return value;
  }
  return std::nullopt;
}

Result<LedgerSample> parse_sample(const nlohmann::json& json, const std::string& where) {
  try {
    LedgerSample sample;
    const auto state = parse_name(kAllSampleStates, state_name, json.at("state").get<std::string>());
    if (!state || !is_settled(*state)) {
      return Status::invalid_argument(str_cat(where, ".state: expected buffered or dropped, got ", json.at("state").dump()));
    }
    sample.state = *state;
    if (json.contains("drop_reason")) {
      sample.drop_reason = parse_name(kAllDropReasons, drop_reason_name, json.at("drop_reason").get<std::string>());
      if (!sample.drop_reason) return Status::invalid_argument(str_cat(where, ".drop_reason: unknown reason"));
    }
    GeneratedSample& g = sample.generated;
    g.tokens = json.at("tokens").get<std::vector<int32_t>>();
    g.logprobs = json.at("logprobs").get<std::vector<float>>();
    g.token_versions = json.at("token_versions").get<std::vector<uint64_t>>();
    if (json.contains("finish_reason")) {
      const auto reason = parse_name(kAllFinishReasons, finish_reason_name, json.at("finish_reason").get<std::string>());
      if (!reason) return Status::invalid_argument(str_cat(where, ".finish_reason: unknown reason"));
      g.finish_reason = *reason;
    } else {  // written before stop strings: "stopped" = ended at a stop id
      g.finish_reason = json.at("stopped").get<bool>() ? proto::FinishReason::STOP : proto::FinishReason::LENGTH;
    }
    if (g.logprobs.size() != g.tokens.size() || g.token_versions.size() != g.tokens.size()) {
      return Status::invalid_argument(str_cat(where, ": tokens, logprobs and token_versions differ in length"));
    }
    sample.reward.score = json.at("score").get<float>();
    const int status = json.at("status").get<int>();
    if (status < 0 || status > static_cast<int>(proto::RewardStatus::SANDBOX_VIOLATION)) {
      return Status::invalid_argument(str_cat(where, ".status: ", status, " is not a RewardStatus"));
    }
    sample.reward.status = static_cast<proto::RewardStatus>(status);
    sample.reward.trainable = json.at("trainable").get<bool>();
    sample.reward.record = json.at("record");
    return sample;
  } catch (const nlohmann::json::exception& e) {
    return Status::invalid_argument(str_cat(where, ": ", e.what()));
  }
}

}  // namespace

const char* state_name(SampleState state) {
  switch (state) {
    case SampleState::kQueued: return "queued";
    case SampleState::kGenerating: return "generating";
    case SampleState::kVerifying: return "verifying";
    case SampleState::kBuffered: return "buffered";
    case SampleState::kTrained: return "trained";
    case SampleState::kDropped: return "dropped";
  }
  return "unknown";
}

const char* drop_reason_name(DropReason reason) {
  switch (reason) {
    case DropReason::kStale: return "stale";
    case DropReason::kUnjudged: return "unjudged";
    case DropReason::kOverLength: return "over_length";
    case DropReason::kUninformative: return "uninformative";
  }
  return "unknown";
}

const char* finish_reason_name(proto::FinishReason reason) {
  switch (reason) {
    case proto::FinishReason::STOP: return "stop";
    case proto::FinishReason::STOP_STRING: return "stop_string";
    case proto::FinishReason::LENGTH: return "length";
  }
  return "unknown";
}

Ledger::Ledger(uint32_t group_size) : group_size_(group_size) { CARAVAN_CHECK(group_size >= 1, "group size 0"); }

void Ledger::add(uint64_t key) {
  LedgerGroup group;
  group.key = key;
  group.samples.resize(group_size_);
  const bool inserted = groups_.emplace(key, std::move(group)).second;
  CARAVAN_CHECK(inserted, "prompt key ", key, " added twice to the ledger");
}

std::vector<uint64_t> Ledger::queued(size_t max) const {
  std::vector<uint64_t> keys;
  for (const auto& [key, group] : groups_) {
    if (keys.size() >= max) break;
    if (group.state() == SampleState::kQueued) keys.push_back(key);
  }
  return keys;
}

LedgerGroup& Ledger::checked_group(uint64_t key) {
  auto it = groups_.find(key);
  CARAVAN_CHECK(it != groups_.end(), "prompt key ", key, " is not in the ledger");
  return it->second;
}

const LedgerGroup& Ledger::group(uint64_t key) const {
  auto it = groups_.find(key);
  CARAVAN_CHECK(it != groups_.end(), "prompt key ", key, " is not in the ledger");
  return it->second;
}

LedgerGroup& Ledger::mutable_group(uint64_t key) { return checked_group(key); }

void Ledger::start_generation(uint64_t key) {
  LedgerGroup& group = checked_group(key);
  CARAVAN_CHECK(group.state() == SampleState::kQueued, "prompt key ", key, " is ", state_name(group.state()));
  for (LedgerSample& sample : group.samples) sample.state = SampleState::kGenerating;
}

bool Ledger::expects_generation(uint64_t key) const {
  auto it = groups_.find(key);
  return it != groups_.end() && it->second.state() == SampleState::kGenerating;
}

Status Ledger::record_generation(uint64_t key, std::vector<GeneratedSample> samples) {
  LedgerGroup& group = checked_group(key);
  CARAVAN_CHECK(group.state() == SampleState::kGenerating, "prompt key ", key, " is ", state_name(group.state()));
  if (samples.size() != group_size_) {
    return Status::invalid_argument(str_cat("prompt ", key, ": ", samples.size(), " samples, expected ", group_size_));
  }
  std::set<uint32_t> seen;
  for (const GeneratedSample& sample : samples) {
    if (sample.index >= group_size_ || !seen.insert(sample.index).second) {
      return Status::invalid_argument(str_cat("prompt ", key, ": sample index ", sample.index,
                                              sample.index >= group_size_ ? " is out of range" : " appears twice"));
    }
  }
  for (GeneratedSample& sample : samples) {
    LedgerSample& row = group.samples[sample.index];
    row.generated = std::move(sample);
    row.state = SampleState::kVerifying;
  }
  return Status();
}

bool Ledger::expects_reward(uint64_t key, uint32_t index) const {
  auto it = groups_.find(key);
  return it != groups_.end() && index < group_size_ && it->second.samples[index].state == SampleState::kVerifying;
}

void Ledger::record_reward(uint64_t key, uint32_t index, SampleReward reward, std::optional<DropReason> drop) {
  CARAVAN_CHECK(expects_reward(key, index), "no reward expected for prompt ", key, " sample ", index);
  LedgerSample& sample = checked_group(key).samples[index];
  sample.reward = std::move(reward);
  sample.drop_reason = drop;
  sample.state = drop ? SampleState::kDropped : SampleState::kBuffered;
}

bool Ledger::ready(uint64_t key) const {
  auto it = groups_.find(key);
  if (it == groups_.end()) return false;
  for (const LedgerSample& sample : it->second.samples) {
    if (!is_settled(sample.state)) return false;
  }
  return true;
}

std::vector<uint64_t> Ledger::ready_groups() const {
  std::vector<uint64_t> keys;
  for (const auto& [key, group] : groups_) {
    if (ready(key)) keys.push_back(key);
  }
  return keys;
}

void Ledger::requeue(uint64_t key, std::optional<DropReason> counted_as) {
  LedgerGroup& group = checked_group(key);
  if (counted_as) drops_[*counted_as] += group_size_;
  ++group.regenerations;
  for (LedgerSample& sample : group.samples) sample = LedgerSample{};
}

void Ledger::mark_trained(uint64_t key) {
  CARAVAN_CHECK(ready(key), "prompt key ", key, " trained before it was ready");
  for (const LedgerSample& sample : group(key).samples) {
    if (sample.state == SampleState::kDropped) {
      ++drops_[*sample.drop_reason];
    } else {
      ++trained_samples_;
    }
  }
  groups_.erase(key);
}

void Ledger::drop_group(uint64_t key, DropReason reason) {
  CARAVAN_CHECK(ready(key), "prompt key ", key, " dropped before it was ready");
  for (const LedgerSample& sample : group(key).samples) ++drops_[sample.drop_reason.value_or(reason)];
  groups_.erase(key);
}

StateCounts Ledger::counts() const {
  StateCounts counts;
  for (SampleState state : kAllSampleStates) counts[state] = 0;
  for (const auto& [key, group] : groups_) {
    for (const LedgerSample& sample : group.samples) ++counts[sample.state];
  }
  counts[SampleState::kTrained] += trained_samples_;
  for (const auto& [reason, count] : drops_) counts[SampleState::kDropped] += count;
  return counts;
}

uint64_t Ledger::drops(DropReason reason) const {
  auto it = drops_.find(reason);
  return it == drops_.end() ? 0 : it->second;
}

nlohmann::json Ledger::to_json() const {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& [key, group] : groups_) {
    nlohmann::json entry = {{"key", key}, {"regenerations", group.regenerations}};
    if (ready(key)) {
      nlohmann::json samples = nlohmann::json::array();
      for (const LedgerSample& sample : group.samples) samples.push_back(sample_json(sample));
      entry["samples"] = std::move(samples);
    }
    groups.push_back(std::move(entry));
  }
  nlohmann::json drops = nlohmann::json::object();
  for (DropReason reason : kAllDropReasons) drops[drop_reason_name(reason)] = this->drops(reason);
  return {{"group_size", group_size_}, {"trained_samples", trained_samples_}, {"drops", drops}, {"groups", groups}};
}

Result<Ledger> Ledger::from_json(const nlohmann::json& json, uint32_t group_size) {
  try {
    if (json.at("group_size").get<uint32_t>() != group_size) {
      return Status::invalid_argument(str_cat("ledger.group_size: ", json.at("group_size").dump(),
                                              " but the run's [grpo] group_size is ", group_size));
    }
    Ledger ledger(group_size);
    ledger.trained_samples_ = json.at("trained_samples").get<uint64_t>();
    for (DropReason reason : kAllDropReasons) {
      // Checkpoints written before a reason existed do not name it.
      ledger.drops_[reason] = json.at("drops").value(drop_reason_name(reason), uint64_t{0});
    }
    for (size_t g = 0; g < json.at("groups").size(); ++g) {
      const nlohmann::json& entry = json.at("groups")[g];
      const uint64_t key = entry.at("key").get<uint64_t>();
      if (ledger.contains(key)) return Status::invalid_argument(str_cat("ledger.groups[", g, "]: key ", key, " repeated"));
      ledger.add(key);
      LedgerGroup& group = ledger.checked_group(key);
      group.regenerations = entry.at("regenerations").get<uint32_t>();
      if (!entry.contains("samples")) continue;
      const nlohmann::json& samples = entry.at("samples");
      if (samples.size() != group_size) {
        return Status::invalid_argument(str_cat("ledger.groups[", g, "].samples: ", samples.size(), " samples, expected ",
                                                group_size));
      }
      for (uint32_t s = 0; s < group_size; ++s) {
        CARAVAN_ASSIGN_OR_RETURN(group.samples[s],
                                 parse_sample(samples[s], str_cat("ledger.groups[", g, "].samples[", s, "]")));
      }
    }
    return ledger;
  } catch (const nlohmann::json::exception& e) {
    return Status::invalid_argument(str_cat("ledger: ", e.what()));
  }
}

} // namespace caravan::controller
