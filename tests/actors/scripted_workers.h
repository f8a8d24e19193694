// File: tests/actors/scripted_workers.h
// In-process workers for the controller's unit tests: a WorkerLink on a manual clock whose
// workers are scripted fakes (learner, rollout actors, verifiers) that answer what the
// controller sends, with knobs for the failures the controller must survive: replies out of
// order, duplicated, late, or never (a worker that died). No sockets, no real time: the clock
// jumps to the next scripted event whenever the controller waits.
//
//   ScriptedLink link;
//   FakeLearner learner(link);
//   FakeActor actor(link, "rollout-0");
//   FakeVerifier verifier(link, "verifier-0");
//   Controller controller(config, link, run_dir, prompts, tokenizer);
//   ASSERT_TRUE(controller.run({}).ok());
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <capnp/serialize.h>

#include "actors/controller/worker_link.h"
#include "core/capnp_lists.h"
#include "core/worker_session.h"
#include "model/byte_tokenizer.h"

namespace caravan::testing {

using controller::Clock;
using std::chrono::milliseconds;

// A decoded copy of a message, as a fake worker receives it.
inline core::ReceivedMessage copy_message(const std::string& peer, capnp::MessageBuilder& message) {
  const kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  return core::ReceivedMessage::decode(peer, words.begin(), words.asBytes().size(), int64_t{1} << 40).value();
}

class ScriptedLink : public controller::WorkerLink {
 public:
  // Called with every message the controller sends to the worker.
  using Behaviour = std::function<void(const proto::Envelope::Reader& message)>;

  void add_worker(const std::string& name, Behaviour behaviour) { workers_[name].behaviour = std::move(behaviour); }

  // `name` says Hello (a new incarnation when it already had one) and heartbeats from now on.
  void hello(const std::string& name, uint32_t pid = 100, const std::string& host = "testhost",
             uint32_t service_port = 0) {
    Worker& worker = workers_.at(name);
    worker.connected = true;
    worker.heartbeating = true;
    worker.last_beat = now_;
    capnp::MallocMessageBuilder message;
    auto hello = message.initRoot<proto::Envelope>().initHello();
    hello.setPid(pid);
    hello.setHost(host);
    hello.setServicePort(service_port);
    reply(name, message);
  }
  // The process of `name` dies: sends to it fail, it heartbeats no more, its queued replies vanish.
  void kill(const std::string& name) {
    Worker& worker = workers_.at(name);
    worker.connected = false;
    worker.heartbeating = false;
    std::erase_if(inbox_, [&](const auto& event) { return event.second.peer() == name; });
  }
  // `name` stays connected but falls silent (hung): no heartbeats, no replies.
  void silence(const std::string& name) {
    workers_.at(name).heartbeating = false;
    workers_.at(name).muted = true;
  }

  // Queues a message from `from`, delivered `delay` after now.
  void reply(const std::string& from, capnp::MessageBuilder& message, milliseconds delay = milliseconds(0)) {
    if (workers_.at(from).muted) return;
    inbox_.emplace(std::make_pair(now_ + delay, next_sequence_++), copy_message(from, message));
  }

  Status send(const std::string& worker, capnp::MessageBuilder& message) override {
    auto it = workers_.find(worker);
    if (it == workers_.end() || !it->second.connected) return Status::unavailable(str_cat(worker, " is not connected"));
    core::ReceivedMessage copy = copy_message("controller", message);
    ++sent_[copy.envelope().which()];
    if (copy.envelope().isHeartbeat()) ++heartbeats_to_[worker];
    if (it->second.behaviour && !it->second.muted) it->second.behaviour(copy.envelope());
    return Status();
  }

  Result<std::optional<core::ReceivedMessage>> receive(milliseconds timeout, std::stop_token) override {
    const Clock::time_point until = now_ + timeout;
    while (true) {
      beat();
      if (!inbox_.empty() && inbox_.begin()->first.first <= now_) {
        auto event = inbox_.extract(inbox_.begin());
        return std::optional<core::ReceivedMessage>(std::move(event.mapped()));
      }
      if (now_ >= until) return std::optional<core::ReceivedMessage>();
      Clock::time_point next = until;
      if (!inbox_.empty()) next = std::min(next, inbox_.begin()->first.first);
      next = std::min(next, next_beat());
      now_ = std::max(now_ + milliseconds(1), next);
    }
  }

  Clock::time_point now() const override { return now_; }

  uint64_t sent(proto::Envelope::Which kind) const { return sent_.count(kind) ? sent_.at(kind) : 0; }
  uint64_t heartbeats_to(const std::string& worker) const {
    return heartbeats_to_.count(worker) ? heartbeats_to_.at(worker) : 0;
  }

 private:
  struct Worker {
    Behaviour behaviour;
    bool connected = false;
    bool heartbeating = false;
    bool muted = false;
    Clock::time_point last_beat{};
  };
  static constexpr milliseconds kBeat{1000};

  Clock::time_point next_beat() const {
    Clock::time_point next = Clock::time_point::max();
    for (const auto& [name, worker] : workers_) {
      if (worker.heartbeating) next = std::min(next, worker.last_beat + kBeat);
    }
    return next;
  }
  void beat() {
    for (auto& [name, worker] : workers_) {
      if (!worker.heartbeating || now_ < worker.last_beat + kBeat) continue;
      worker.last_beat = now_;
      capnp::MallocMessageBuilder message;
      message.initRoot<proto::Envelope>().initHeartbeat();
      inbox_.emplace(std::make_pair(now_, next_sequence_++), copy_message(name, message));
    }
  }

  Clock::time_point now_{std::chrono::hours(1)};
  uint64_t next_sequence_ = 0;
  std::map<std::string, Worker> workers_;
  // Messages from the workers by (delivery time, sequence).
  std::map<std::pair<Clock::time_point, uint64_t>, core::ReceivedMessage> inbox_;
  std::map<proto::Envelope::Which, uint64_t> sent_;
  std::map<std::string, uint64_t> heartbeats_to_;
};

// The learner: counts versions, records every batch, writes and reads a checkpoint part.
class FakeLearner {
 public:
  struct TrainedGroup {
    uint64_t key = 0;
    std::vector<uint64_t> sample_versions;
    std::vector<float> weights;
    std::vector<bool> no_reward;
  };

  explicit FakeLearner(ScriptedLink& link, std::string name = "learner-0") : link_(link), name_(std::move(name)) {
    link_.add_worker(name_, [this](const proto::Envelope::Reader& message) { on_message(message); });
  }

  uint64_t version = 0;
  std::vector<std::vector<TrainedGroup>> batches;
  // Called before each TrainResult is sent (e.g. to kill a worker mid-run).
  std::function<void(size_t batch_count)> on_train;
  milliseconds train_time{200};
  // Fail the n-th TrainBatch (1-based) with an ErrorReply; 0 = never.
  size_t fail_batch = 0;

 private:
  void on_message(const proto::Envelope::Reader& message) {
    capnp::MallocMessageBuilder reply;
    auto envelope = reply.initRoot<proto::Envelope>();
    milliseconds delay{1};
    switch (message.which()) {
      case proto::Envelope::SFT_REQUEST: {
        version = message.getSftRequest().getSteps() > 0 ? 1 : 0;
        auto result = envelope.initTrainResult();
        result.setRequestId(message.getSftRequest().getRequestId());
        result.setPolicyVersion(version);
        break;
      }
      case proto::Envelope::TRAIN_BATCH: {
        const auto batch = message.getTrainBatch();
        if (batches.size() + 1 == fail_batch) {
          auto error = envelope.initErrorReply();
          error.setRequestId(batch.getRequestId());
          error.setMessage("out of memory");
          link_.reply(name_, reply, delay);
          batches.emplace_back();
          return;
        }
        std::vector<TrainedGroup> groups;
        for (const auto group : batch.getGroups()) {
          TrainedGroup trained;
          trained.key = group.getPromptId();
          for (const auto sample : group.getSamples()) {
            trained.sample_versions.push_back(sample.getPolicyVersion());
            trained.weights.push_back(sample.getWeight());
            trained.no_reward.push_back(sample.getNoReward());
          }
          groups.push_back(std::move(trained));
        }
        batches.push_back(std::move(groups));
        ++version;
        auto result = envelope.initTrainResult();
        result.setRequestId(batch.getRequestId());
        result.setStep(batch.getStep());
        result.setPolicyVersion(version);
        delay = train_time;
        if (on_train) on_train(batches.size());
        break;
      }
      case proto::Envelope::SYNC_WEIGHTS: {
        auto synced = envelope.initWeightsSynced();
        synced.setRequestId(message.getSyncWeights().getRequestId());
        synced.setPolicyVersion(version);
        break;
      }
      case proto::Envelope::SAVE_CHECKPOINT: {
        const std::filesystem::path dir = message.getSaveCheckpoint().getDirectory().cStr();
        std::ofstream(dir / "learner_part.txt") << message.getSaveCheckpoint().getStep() << " " << version;
        auto saved = envelope.initCheckpointSaved();
        saved.setRequestId(message.getSaveCheckpoint().getRequestId());
        saved.setDirectory(dir.string());
        break;
      }
      case proto::Envelope::RESTORE_CHECKPOINT: {
        const std::filesystem::path dir = message.getRestoreCheckpoint().getDirectory().cStr();
        uint64_t step = 0;
        std::ifstream(dir / "learner_part.txt") >> step >> version;
        auto restored = envelope.initCheckpointRestored();
        restored.setRequestId(message.getRestoreCheckpoint().getRequestId());
        restored.setStep(step);
        restored.setPolicyVersion(version);
        break;
      }
      case proto::Envelope::EXPORT_MODEL: {
        auto saved = envelope.initCheckpointSaved();
        saved.setRequestId(message.getExportModel().getRequestId());
        saved.setDirectory("final_model");
        break;
      }
      default: return;
    }
    link_.reply(name_, reply, delay);
  }

  ScriptedLink& link_;
  std::string name_;
};

// A rollout actor: each prompt's group comes back as its own Completion, every token tagged
// with the version the actor holds.
class FakeActor {
 public:
  FakeActor(ScriptedLink& link, std::string name) : link_(link), name_(std::move(name)) {
    link_.add_worker(name_, [this](const proto::Envelope::Reader& message) { on_message(message); });
  }

  uint64_t version = 0;
  // The rendezvous of the last SyncWeights' group.
  std::string store_host;
  uint32_t store_port = 0;
  // Version the tokens are tagged with instead of `version` (an actor that never installs).
  std::optional<uint64_t> stuck_at_version;
  milliseconds generation_time{100};
  bool duplicate_replies = false;
  // Groups of one request come back last prompt first.
  bool reverse_groups = false;
  // Prompt keys this actor was asked to generate, in order.
  std::vector<uint64_t> requested;
  // Called with each RolloutRequest before it is answered (e.g. to kill the actor).
  std::function<void(size_t request_count)> on_request;
  uint64_t syncs = 0;

 private:
  void on_message(const proto::Envelope::Reader& message) {
    if (message.isSyncWeights()) {
      ++syncs;
      version = message.getSyncWeights().getPolicyVersion();
      store_host = message.getSyncWeights().getGroup().getStoreHost();
      store_port = message.getSyncWeights().getGroup().getStorePort();
      capnp::MallocMessageBuilder reply;
      auto synced = reply.initRoot<proto::Envelope>().initWeightsSynced();
      synced.setRequestId(message.getSyncWeights().getRequestId());
      synced.setPolicyVersion(version);
      link_.reply(name_, reply, milliseconds(5));
      return;
    }
    if (!message.isRolloutRequest()) return;
    const auto request = message.getRolloutRequest();
    std::vector<uint64_t> keys;
    for (const auto prompt : request.getPrompts()) keys.push_back(prompt.getPromptId());
    requested.insert(requested.end(), keys.begin(), keys.end());
    if (on_request) on_request(requested.size());
    if (reverse_groups) std::reverse(keys.begin(), keys.end());
    milliseconds delay = generation_time;
    for (uint64_t key : keys) {
      capnp::MallocMessageBuilder reply;
      auto completion = reply.initRoot<proto::Envelope>().initCompletion();
      completion.setRequestId(request.getRequestId());
      auto samples = completion.initSamples(request.getSamplesPerPrompt());
      const std::vector<int32_t> tokens{'4', '2', model::ByteTokenizer::kEosId};
      const uint64_t tag = stuck_at_version.value_or(version);
      for (uint32_t s = 0; s < request.getSamplesPerPrompt(); ++s) {
        auto sample = samples[s];
        sample.setPromptId(key);
        sample.setSampleIndex(s);
        sample.setPolicyVersion(tag);
        sample.setFinishReason(proto::FinishReason::STOP);
        core::copy_into(sample.initTokens(3), tokens);
        core::copy_into(sample.initLogprobs(3), std::vector<float>(3, -0.5f));
        core::copy_into(sample.initTokenPolicyVersions(3), std::vector<uint64_t>(3, tag));
      }
      link_.reply(name_, reply, delay);
      if (duplicate_replies) link_.reply(name_, reply, delay + milliseconds(1));
      delay += milliseconds(10);
    }
  }

  ScriptedLink& link_;
  std::string name_;
};

// A verifier: sample 0 of every group is right (unless all_wrong), the others wrong; rewards come back in reverse
// order of the request's items (the controller must key them, not count on positions).
class FakeVerifier {
 public:
  FakeVerifier(ScriptedLink& link, std::string name) : link_(link), name_(std::move(name)) {
    link_.add_worker(name_, [this](const proto::Envelope::Reader& message) { on_message(message); });
  }

  bool duplicate_replies = false;
  // Samples with this index are left unjudged (status timeout).
  std::optional<uint32_t> unjudged_index;
  // Groups (by prompt key) for which this returns true score 0 on every sample: no GRPO signal.
  std::function<bool(uint64_t prompt_key)> all_wrong;
  uint64_t requests = 0;

 private:
  void on_message(const proto::Envelope::Reader& message) {
    if (!message.isRewardRequest()) return;
    ++requests;
    const auto request = message.getRewardRequest();
    capnp::MallocMessageBuilder reply;
    auto result = reply.initRoot<proto::Envelope>().initRewardResult();
    result.setRequestId(request.getRequestId());
    const auto items = request.getItems();
    auto rewards = result.initRewards(items.size());
    for (unsigned i = 0; i < items.size(); ++i) {
      const auto item = items[items.size() - 1 - i];
      auto reward = rewards[i];
      reward.setPromptId(item.getPromptId());
      reward.setSampleIndex(item.getSampleIndex());
      const bool unjudged = unjudged_index && item.getSampleIndex() == *unjudged_index;
      const bool right = item.getSampleIndex() == 0 && !(all_wrong && all_wrong(item.getPromptId()));
      reward.setScore(right ? 1.0f : 0.0f);
      reward.setStatus(unjudged ? proto::RewardStatus::TIMEOUT
                                : right ? proto::RewardStatus::OK : proto::RewardStatus::WRONG);
      reward.setTrainable(!unjudged);
      reward.setVerifier("arithmetic");
    }
    link_.reply(name_, reply, milliseconds(20));
    if (duplicate_replies) link_.reply(name_, reply, milliseconds(21));
  }

  ScriptedLink& link_;
  std::string name_;
};

} // namespace caravan::testing
