// The controller's logic against scripted workers (tests/actors/scripted_workers.h): keying by
// (prompt, sample) whatever the order of replies, duplicates and late replies ignored, work of
// a lost worker re-queued, pipeline modes and their staleness bound, two-phase checkpoints and
// resume, stop requests.
#include "actors/controller/controller.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "core/arithmetic_task.h"
#include "core/checkpoints.h"
#include "core/read_file.h"
#include "tests/actors/scripted_workers.h"
#include "tests/common/temp_dir.h"

namespace caravan::controller {
namespace {

using testing::FakeActor;
using testing::FakeLearner;
using testing::FakeVerifier;
using testing::ScriptedLink;
using std::chrono::milliseconds;

std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& file) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

class ControllerTest : public ::testing::Test {
 protected:
  ControllerTest() {
    config_.run.name = "controller-test";
    task_.kind = "arithmetic";
    task_.held_out_size = 6;
    config_.sft_steps = 1;
    config_.grpo.steps = 3;
    config_.grpo.prompts_per_step = 4;
    config_.grpo.group_size = 2;
    config_.rollout.actors = 2;
    config_.verifier_workers = 2;
    config_.cluster.heartbeat_interval_s = 1;
    config_.cluster.heartbeat_timeout_s = 5;
    config_.deadlines.rollout_s = 30;
  }

  // Builds the workers and runs a controller to its end.
  Status run(std::stop_token stop = {}) {
    auto run_dir = core::RunDirectory::open(dir_.path());
    if (!run_dir.ok()) run_dir = core::RunDirectory::create(dir_.path(), "[run]\nname = \"controller-test\"\n");
    run_dir_.emplace(std::move(*run_dir));
    auto task = core::ArithmeticTask::create(task_);
    prompts_ = std::make_unique<core::ArithmeticPromptSource>(
        std::move(*task), config_.run.seed, "arithmetic", "arithmetic",
        [this](const core::TaskPrompt& prompt) -> Result<std::vector<int32_t>> { return tokenizer_.encode(prompt.text); });
    controller_ = std::make_unique<Controller>(config_, link_, *run_dir_, *prompts_, tokenizer_, registry_);
    controller_->set_silent_worker_handler(silent_worker_handler_);
    for (const std::string& worker : workers()) {
      if (worker == "learner-0") {
        link_.hello(worker, 100, "10.0.0.7", 29555);  // the learner serves the weight-sync store
      } else {
        link_.hello(worker);
      }
    }
    return controller_->run(stop);
  }

  std::vector<std::string> workers() const {
    std::vector<std::string> names{"learner-0"};
    for (int64_t r = 0; r < config_.rollout.actors; ++r) names.push_back(str_cat("rollout-", r));
    for (int64_t r = 0; r < config_.verifier_workers; ++r) names.push_back(str_cat("verifier-", r));
    return names;
  }

  // Every training prompt key the learner trained, with how often.
  std::map<uint64_t, int> trained_keys() const {
    std::map<uint64_t, int> keys;
    for (const auto& batch : learner_.batches) {
      for (const auto& group : batch) ++keys[group.key];
    }
    return keys;
  }

  void expect_every_prompt_trained_once(uint64_t prompts) {
    const std::map<uint64_t, int> keys = trained_keys();
    ASSERT_EQ(keys.size(), prompts);
    for (const auto& [key, count] : keys) {
      EXPECT_LT(key, prompts);
      EXPECT_EQ(count, 1) << "prompt key " << key;
    }
    // The sample files agree with the learner.
    std::map<std::pair<uint64_t, uint32_t>, int> samples;
    for (const nlohmann::json& row : read_jsonl(run_dir_->samples_path("train"))) {
      ++samples[{row.at("prompt_key").get<uint64_t>(), row.at("sample_index").get<uint32_t>()}];
    }
    EXPECT_EQ(samples.size(), prompts * static_cast<uint64_t>(config_.grpo.group_size));
    for (const auto& [key, count] : samples) EXPECT_EQ(count, 1) << "prompt " << key.first << " sample " << key.second;
  }

  // Dynamic sampling: groups whose prompt key `uniform` picks score 0 on every sample.
  void score_all_wrong(const std::function<bool(uint64_t)>& uniform) {
    verifier0_.all_wrong = uniform;
    verifier1_.all_wrong = uniform;
  }

  // The learner trained no prompt twice.
  void expect_every_trained_prompt_once() {
    for (const auto& [key, count] : trained_keys()) EXPECT_EQ(count, 1) << "prompt key " << key;
  }

  ControllerOptions config_;
  core::TaskOptions task_;
  testing::TempDir dir_;
  ScriptedLink link_;
  FakeLearner learner_{link_};
  FakeActor actor0_{link_, "rollout-0"};
  FakeActor actor1_{link_, "rollout-1"};
  FakeVerifier verifier0_{link_, "verifier-0"};
  FakeVerifier verifier1_{link_, "verifier-1"};
  model::ByteTokenizer tokenizer_;
  metrics::Registry registry_;
  Controller::SilentWorkerHandler silent_worker_handler_;
  std::optional<core::RunDirectory> run_dir_;
  std::unique_ptr<core::PromptSource> prompts_;
  std::unique_ptr<Controller> controller_;
};

TEST_F(ControllerTest, SyncRunTrainsEveryPromptOnceWithRewardsKeyedNotPositioned) {
  actor0_.reverse_groups = true;
  ASSERT_TRUE(run().ok());
  ASSERT_EQ(learner_.batches.size(), 3u);
  expect_every_prompt_trained_once(12);
  // Sample 0 of every group is the right one whatever order the verifier answered in.
  for (const nlohmann::json& row : read_jsonl(run_dir_->samples_path("train"))) {
    EXPECT_EQ(row.at("reward").at("final_reward").get<double>(), row.at("sample_index").get<uint32_t>() == 0 ? 1.0 : 0.0);
    EXPECT_EQ(row.at("staleness").get<uint64_t>(), 0u);
  }
  EXPECT_EQ(read_jsonl(run_dir_->samples_path("eval-sft")).size(), 6u);
  EXPECT_EQ(read_jsonl(run_dir_->samples_path("eval-rl")).size(), 6u);
  EXPECT_TRUE(std::filesystem::exists(run_dir_->checkpoint_dir(int64_t{3}) / core::kCheckpointCommitMarker));
  EXPECT_GT(link_.heartbeats_to("rollout-1"), 0u);
  // The weight-sync rendezvous is where the learner's Hello said, not a launcher's guess.
  EXPECT_EQ(actor1_.store_host, "10.0.0.7");
  EXPECT_EQ(actor1_.store_port, 29555u);
  const std::string exposition = registry_.serialize();
  EXPECT_NE(exposition.find("caravan_ledger_samples{state=\"trained\"} 24"), std::string::npos) << exposition;
  EXPECT_NE(exposition.find("caravan_policy_version 4"), std::string::npos);
}

TEST_F(ControllerTest, StalenessIsZeroInSyncMode) {
  ASSERT_TRUE(run().ok());
  uint64_t trained_from = 1;  // after SFT
  for (const auto& batch : learner_.batches) {
    for (const auto& group : batch) {
      for (uint64_t version : group.sample_versions) EXPECT_EQ(version, trained_from);
    }
    ++trained_from;
  }
}

TEST_F(ControllerTest, DuplicateRepliesAreCountedAndIgnored) {
  actor0_.duplicate_replies = true;
  actor1_.duplicate_replies = true;
  verifier0_.duplicate_replies = true;
  ASSERT_TRUE(run().ok());
  expect_every_prompt_trained_once(12);
  EXPECT_GT(controller_->counters().ignored_replies, 12u);
}

TEST_F(ControllerTest, WorkOfAKilledActorIsRequeuedAndTheRestartedActorRejoinsTheWeightGroup) {
  actor1_.on_request = [&](size_t count) {
    if (count == 2) link_.kill("rollout-1");
  };
  learner_.on_train = [&](size_t batches) {
    if (batches == 1) link_.hello("rollout-1", /*pid=*/200);  // the launcher restarted it
  };
  ASSERT_TRUE(run().ok());
  expect_every_prompt_trained_once(12);
  EXPECT_GE(controller_->counters().workers_lost, 1u);
  // The restarted actor received weights again (a re-formed group) and did work after it.
  EXPECT_GE(actor1_.syncs, 2u);
}

TEST_F(ControllerTest, SilentVerifierIsDeclaredLostAndItsWorkGoesToTheOther) {
  uint64_t seen = 0;
  link_.add_worker("verifier-1", [&](const proto::Envelope::Reader& message) {
    if (message.isRewardRequest() && ++seen == 1) link_.silence("verifier-1");
  });
  std::vector<std::string> silenced;
  silent_worker_handler_ = [&](const std::string& worker, const WorkerState& state) {
    silenced.push_back(worker);
    EXPECT_EQ(state.pid, 100u);
  };
  ASSERT_TRUE(run().ok());
  expect_every_prompt_trained_once(12);
  EXPECT_GE(controller_->counters().workers_lost, 1u);
  EXPECT_EQ(silenced, std::vector<std::string>{"verifier-1"});
}

TEST_F(ControllerTest, LateCompletionAfterItsDeadlineIsIgnoredAndTheGroupGeneratedAgain) {
  config_.deadlines.rollout_s = 2;
  learner_.train_time = milliseconds(3000);
  actor1_.on_request = [&](size_t count) { actor1_.generation_time = count == 1 ? milliseconds(4000) : milliseconds(100); };
  ASSERT_TRUE(run().ok());
  expect_every_prompt_trained_once(12);
  EXPECT_GE(controller_->counters().deadlines_missed, 1u);
  EXPECT_GE(controller_->counters().ignored_replies, 1u);
}

TEST_F(ControllerTest, CompletionsTaggedWithAnUnannouncedVersionAreRefusedAndGeneratedAgain) {
  config_.deadlines.rollout_s = 2;
  // rollout-1 answers its first request with tokens of version 77, which no SyncWeights named.
  actor1_.stuck_at_version = 77;
  actor1_.on_request = [&](size_t count) {
    if (count > 1) actor1_.stuck_at_version.reset();
  };
  ASSERT_TRUE(run().ok());
  expect_every_prompt_trained_once(12);
  EXPECT_GE(controller_->counters().unannounced_versions, 1u);
  for (const auto& batch : learner_.batches) {
    for (const auto& group : batch) {
      for (uint64_t version : group.sample_versions) EXPECT_NE(version, 77u);
    }
  }
  bool logged = false;
  for (const nlohmann::json& row : read_jsonl(dir_.path() / "metrics.jsonl")) {
    if (row.value("phase", "") != "rl") continue;
    logged = logged || row.at("unannounced_versions").get<uint64_t>() >= 1;
    EXPECT_TRUE(row.at("weight_sync").contains("delta_ratio")) << row.dump();
    // The controller's round trip and the learner's transfer, each under its own name.
    EXPECT_TRUE(row.contains("sync_round_trip_seconds")) << row.dump();
    EXPECT_TRUE(row.at("weight_sync").contains("transfer_seconds")) << row.dump();
    EXPECT_FALSE(row.contains("sync_seconds") || row.at("weight_sync").contains("seconds")) << row.dump();
  }
  EXPECT_TRUE(logged);
}

TEST_F(ControllerTest, AsyncModeOverlapsGenerationWithTrainingWithinTheStalenessBound) {
  config_.pipeline.mode = "async";
  config_.pipeline.max_staleness = 2;
  config_.grpo.steps = 6;
  learner_.train_time = milliseconds(2000);
  size_t requests_while_training = 0;
  bool training = false;
  learner_.on_train = [&](size_t) { training = true; };
  actor0_.on_request = [&](size_t) { requests_while_training += training ? 1 : 0; };
  ASSERT_TRUE(run().ok());
  expect_every_prompt_trained_once(24);
  EXPECT_GT(requests_while_training, 0u);
  uint64_t trained_from = 1;
  for (const auto& batch : learner_.batches) {
    for (const auto& group : batch) {
      for (uint64_t version : group.sample_versions) EXPECT_LE(trained_from - version, 2u);
    }
    ++trained_from;
  }
}

TEST_F(ControllerTest, StaleGroupsAreDownweightedWhenConfigured) {
  config_.pipeline.mode = "one_step_off";
  config_.pipeline.stale_samples = "downweight";
  config_.pipeline.stale_weight = 0.5;
  actor1_.stuck_at_version = 0;  // never installs new weights
  ASSERT_TRUE(run().ok());
  bool saw_downweighted = false;
  uint64_t trained_from = 1;
  for (const auto& batch : learner_.batches) {
    for (const auto& group : batch) {
      const uint64_t staleness = trained_from - group.sample_versions.front();
      const float expected = staleness <= 1 ? 1.0f : static_cast<float>(std::pow(0.5, staleness - 1));
      for (float weight : group.weights) EXPECT_FLOAT_EQ(weight, expected);
      saw_downweighted = saw_downweighted || expected < 1.0f;
    }
    ++trained_from;
  }
  EXPECT_TRUE(saw_downweighted);
  EXPECT_GT(controller_->counters().downweighted_samples, 0u);
}

TEST_F(ControllerTest, StaleGroupsAreRegeneratedWhenDropped) {
  config_.pipeline.mode = "sync";
  config_.rollout.actors = 2;
  // rollout-1 answers its first request with version 0 tokens, i.e. stale after SFT (version 1).
  actor1_.stuck_at_version = 0;
  actor1_.on_request = [&](size_t count) {
    if (count > 1) actor1_.stuck_at_version.reset();
  };
  ASSERT_TRUE(run().ok());
  expect_every_prompt_trained_once(12);
  for (const nlohmann::json& row : read_jsonl(dir_.path() / "metrics.jsonl")) {
    if (row.value("phase", "") == "rl" && row.at("step") == 3) {
      EXPECT_GT(row.at("drops").at("stale").get<int>(), 0);
    }
  }
}

TEST_F(ControllerTest, UnjudgedSamplesAreDroppedFromTrainingAndCounted) {
  verifier0_.unjudged_index = 1;
  verifier1_.unjudged_index = 1;
  ASSERT_TRUE(run().ok());
  for (const auto& batch : learner_.batches) {
    for (const auto& group : batch) EXPECT_EQ(group.no_reward, (std::vector<bool>{false, true}));
  }
  const auto metrics = read_jsonl(dir_.path() / "metrics.jsonl");
  const auto last = std::find_if(metrics.rbegin(), metrics.rend(), [](const auto& r) { return r.value("phase", "") == "rl"; });
  EXPECT_EQ(last->at("drops").at("unjudged").get<int>(), 12);
  EXPECT_EQ(last->at("ledger").at("trained").get<int>(), 12);
}

TEST_F(ControllerTest, ResumeContinuesFromTheLastCommittedCheckpointWithNothingLostOrTrainedTwice) {
  config_.pipeline.mode = "one_step_off";
  config_.grpo.steps = 4;
  config_.grpo.checkpoint_every = 2;
  // The controller "crashes" while step 3 trains: the learner fails the batch.
  learner_.fail_batch = 3;
  EXPECT_FALSE(run().ok());
  ASSERT_TRUE(std::filesystem::exists(run_dir_->checkpoint_dir(int64_t{2}) / core::kCheckpointCommitMarker));
  // A checkpoint interrupted while being written does not count.
  std::filesystem::create_directories(run_dir_->checkpoint_dir(int64_t{3}));
  // Lines appended after the checkpoint belong to work the resumed run does again.
  std::ofstream(dir_.path() / "metrics.jsonl", std::ios::app) << "{\"phase\": \"after-checkpoint\"}\n";
  std::ofstream(dir_.path() / "samples" / "train.jsonl", std::ios::app)
      << "{\"prompt_key\": 999, \"sample_index\": 0}\n";

  // The resumed run: new processes, same run directory.
  ScriptedLink link;
  FakeLearner learner(link);
  FakeActor actor0(link, "rollout-0");
  FakeActor actor1(link, "rollout-1");
  FakeVerifier verifier0(link, "verifier-0");
  FakeVerifier verifier1(link, "verifier-1");
  auto run_dir = core::RunDirectory::open(dir_.path()).value();
  metrics::Registry registry;
  Controller resumed(config_, link, run_dir, *prompts_, tokenizer_, registry);
  for (const std::string& worker : workers()) link.hello(worker);
  ASSERT_TRUE(resumed.run({}).ok());

  // Steps 1-2 from the first run, 3-4 from the resumed one: every prompt exactly once.
  std::map<uint64_t, int> keys;
  for (size_t b = 0; b < 2; ++b) {
    for (const auto& group : learner_.batches[b]) ++keys[group.key];
  }
  for (const auto& batch : learner.batches) {
    for (const auto& group : batch) ++keys[group.key];
  }
  ASSERT_EQ(keys.size(), 16u);
  for (const auto& [key, count] : keys) EXPECT_EQ(count, 1) << "prompt key " << key;
  // Groups buffered in the checkpoint (one_step_off generated ahead) were trained without
  // being generated again.
  std::set<uint64_t> regenerated(actor0.requested.begin(), actor0.requested.end());
  regenerated.insert(actor1.requested.begin(), actor1.requested.end());
  size_t reused = 0;
  for (const auto& batch : learner.batches) {
    for (const auto& group : batch) reused += regenerated.count(group.key) == 0 ? 1 : 0;
  }
  EXPECT_GT(reused, 0u);
  EXPECT_EQ(learner.batches.size(), 2u);
  // The sample file holds each (prompt, sample) once; metrics continue with a resume record.
  std::map<std::pair<uint64_t, uint32_t>, int> samples;
  for (const nlohmann::json& row : read_jsonl(dir_.path() / "samples" / "train.jsonl")) {
    ++samples[{row.at("prompt_key").get<uint64_t>(), row.at("sample_index").get<uint32_t>()}];
  }
  EXPECT_EQ(samples.size(), 32u);
  for (const auto& [key, count] : samples) EXPECT_EQ(count, 1);
  const auto metrics = read_jsonl(dir_.path() / "metrics.jsonl");
  EXPECT_GT(metrics.size(), 0u);
  EXPECT_LE(std::count_if(metrics.begin(), metrics.end(), [](const auto& r) { return r.value("phase", "") == "sft"; }), 1);
  EXPECT_EQ(std::count_if(metrics.begin(), metrics.end(), [](const auto& r) { return r.value("phase", "") == "resume"; }), 1);
  EXPECT_EQ(std::count_if(metrics.begin(), metrics.end(),
                          [](const auto& r) { return r.value("phase", "") == "after-checkpoint"; }),
            0);
  EXPECT_TRUE(std::filesystem::exists(run_dir.checkpoint_dir(int64_t{4}) / core::kCheckpointCommitMarker));
}

// Dynamic sampling: the prompt keys the sample file records, which must be 0..n-1, each key's
// samples once, trained when the key is informative and dropped as uninformative otherwise.
// Returns n.
size_t expect_sample_file_outcomes(const std::filesystem::path& file, const std::function<bool(uint64_t)>& uniform) {
  std::map<std::pair<uint64_t, uint32_t>, std::string> rows;
  for (const nlohmann::json& row : read_jsonl(file)) {
    const auto key = row.at("prompt_key").get<uint64_t>();
    const std::string outcome = row.at("state") == "trained" ? "trained" : row.value("drop_reason", "?");
    EXPECT_TRUE(rows.emplace(std::make_pair(key, row.at("sample_index").get<uint32_t>()), outcome).second) << row.dump();
    EXPECT_EQ(outcome, uniform(key) ? "uninformative" : "trained") << row.dump();
  }
  std::set<uint64_t> keys;
  for (const auto& [key_sample, outcome] : rows) keys.insert(key_sample.first);
  EXPECT_EQ(rows.size(), keys.size() * 2);  // group_size 2
  EXPECT_TRUE(keys.empty() || *keys.rbegin() + 1 == keys.size()) << "prompt keys are not 0..n-1";
  return keys.size();
}

// Every batch in `batches` has `groups` groups, none whose key `uniform` picks.
void expect_batches_of(const std::vector<std::vector<FakeLearner::TrainedGroup>>& batches, size_t groups,
                       const std::function<bool(uint64_t)>& uniform) {
  for (const auto& batch : batches) {
    EXPECT_EQ(batch.size(), groups);
    for (const auto& group : batch) EXPECT_FALSE(uniform(group.key)) << group.key;
  }
}

TEST_F(ControllerTest, DynamicSamplingDropLeavesUninformativeGroupsOutOfTheBatch) {
  config_.grpo.dynamic_sampling.mode = DynamicSampling::kDrop;
  const auto uniform = [](uint64_t key) { return key % 4 == 1; };
  score_all_wrong(uniform);
  ASSERT_TRUE(run().ok());
  // Each step trains its three informative groups; the uninformative one is not sent.
  ASSERT_EQ(learner_.batches.size(), 3u);
  expect_batches_of(learner_.batches, 3, uniform);
  // No prompt beyond the run's 12 was drawn; each is trained or dropped exactly once.
  EXPECT_EQ(expect_sample_file_outcomes(run_dir_->samples_path("train"), uniform), 12u);
  const auto metrics = read_jsonl(dir_.path() / "metrics.jsonl");
  for (const nlohmann::json& row : metrics) {
    if (row.value("phase", "") != "rl") continue;
    EXPECT_EQ(row.at("dynamic_sampling").at("dropped_groups"), 1) << row.dump();
    EXPECT_EQ(row.at("dynamic_sampling").at("refilled_groups"), 0) << row.dump();
    EXPECT_EQ(row.at("groups"), 3);
  }
  const auto last = std::find_if(metrics.rbegin(), metrics.rend(), [](const auto& r) { return r.value("phase", "") == "rl"; });
  EXPECT_EQ(last->at("drops").at("uninformative"), 6);
  EXPECT_EQ(last->at("dynamic_sampling").at("dropped_groups_total"), 3);
  const std::string exposition = registry_.serialize();
  EXPECT_NE(exposition.find("caravan_dynamic_sampling_dropped_groups_total 3"), std::string::npos) << exposition;
  EXPECT_NE(exposition.find("caravan_ledger_dropped_samples_total{reason=\"uninformative\"} 6"), std::string::npos);
}

TEST_F(ControllerTest, DynamicSamplingRefillDrawsNewPromptsUntilTheStepIsFull) {
  config_.pipeline.mode = "one_step_off";
  config_.grpo.dynamic_sampling.mode = DynamicSampling::kRefill;
  const auto uniform = [](uint64_t key) { return key % 4 == 1; };
  score_all_wrong(uniform);
  ASSERT_TRUE(run().ok());
  ASSERT_EQ(learner_.batches.size(), 3u);
  expect_batches_of(learner_.batches, 4, uniform);
  expect_every_trained_prompt_once();
  // 12 informative prompts are keys 0..15 less the 4 uniform ones: nothing more was drawn.
  EXPECT_EQ(expect_sample_file_outcomes(run_dir_->samples_path("train"), uniform), 16u);
}

TEST_F(ControllerTest, DynamicSamplingRefillStopsAtItsCapAndTrainsWhatItHas) {
  config_.grpo.steps = 1;
  config_.grpo.dynamic_sampling.mode = DynamicSampling::kRefill;
  config_.grpo.dynamic_sampling.max_rounds = 2;
  // Only prompt 0 is informative: 4 refills (one more round of 4) are drawn, then the step
  // trains its one group.
  const auto uniform = [](uint64_t key) { return key != 0; };
  score_all_wrong(uniform);
  ASSERT_TRUE(run().ok());
  ASSERT_EQ(learner_.batches.size(), 1u);
  expect_batches_of(learner_.batches, 1, uniform);
  EXPECT_EQ(expect_sample_file_outcomes(run_dir_->samples_path("train"), uniform), 8u);
  const auto metrics = read_jsonl(dir_.path() / "metrics.jsonl");
  const auto step = std::find_if(metrics.begin(), metrics.end(), [](const auto& r) { return r.value("phase", "") == "rl"; });
  ASSERT_NE(step, metrics.end());
  EXPECT_EQ(step->at("dynamic_sampling").at("dropped_groups"), 7);
  EXPECT_EQ(step->at("dynamic_sampling").at("refilled_groups"), 4);
  EXPECT_TRUE(step->at("dynamic_sampling").at("capped").get<bool>());
  EXPECT_EQ(step->at("groups"), 1);
}

TEST_F(ControllerTest, DynamicSamplingStepWithEveryGroupUninformativeMakesNoUpdate) {
  config_.grpo.steps = 2;
  config_.grpo.dynamic_sampling.mode = DynamicSampling::kDrop;
  const auto uniform = [](uint64_t) { return true; };
  score_all_wrong(uniform);
  ASSERT_TRUE(run().ok());
  // Nothing reached the learner; the steps count, the policy stays the SFT one, no sync is spent.
  EXPECT_TRUE(learner_.batches.empty());
  EXPECT_EQ(learner_.version, 1u);
  EXPECT_EQ(actor0_.syncs, 1u);
  EXPECT_EQ(expect_sample_file_outcomes(run_dir_->samples_path("train"), uniform), 8u);
  int rl_rows = 0;
  for (const nlohmann::json& row : read_jsonl(dir_.path() / "metrics.jsonl")) {
    if (row.value("phase", "") != "rl") continue;
    ++rl_rows;
    EXPECT_FALSE(row.at("update").get<bool>());
    EXPECT_EQ(row.at("groups"), 0);
    EXPECT_EQ(row.at("policy_version"), 1);
    EXPECT_EQ(row.at("dynamic_sampling").at("dropped_groups"), 4);
  }
  EXPECT_EQ(rl_rows, 2);
  EXPECT_TRUE(std::filesystem::exists(run_dir_->checkpoint_dir(int64_t{2}) / core::kCheckpointCommitMarker));
}

TEST_F(ControllerTest, DynamicSamplingRefillResumesWithNothingLostOrDoneTwice) {
  config_.pipeline.mode = "one_step_off";
  config_.grpo.steps = 4;
  config_.grpo.checkpoint_every = 2;
  config_.grpo.dynamic_sampling.mode = DynamicSampling::kRefill;
  const auto uniform = [](uint64_t key) { return key % 3 == 1; };
  score_all_wrong(uniform);
  // The first run fails while step 3 trains; the second resumes from step 2's checkpoint.
  learner_.fail_batch = 3;
  EXPECT_FALSE(run().ok());
  ScriptedLink link;
  FakeLearner learner(link);
  FakeActor actor0(link, "rollout-0");
  FakeActor actor1(link, "rollout-1");
  FakeVerifier verifier0(link, "verifier-0");
  FakeVerifier verifier1(link, "verifier-1");
  verifier0.all_wrong = uniform;
  verifier1.all_wrong = uniform;
  auto run_dir = core::RunDirectory::open(dir_.path()).value();
  metrics::Registry registry;
  Controller resumed(config_, link, run_dir, *prompts_, tokenizer_, registry);
  for (const std::string& worker : workers()) link.hello(worker);
  ASSERT_TRUE(resumed.run({}).ok());

  std::vector<std::vector<FakeLearner::TrainedGroup>> batches(learner_.batches.begin(), learner_.batches.begin() + 2);
  batches.insert(batches.end(), learner.batches.begin(), learner.batches.end());
  ASSERT_EQ(batches.size(), 4u);
  expect_batches_of(batches, 4, uniform);
  std::map<uint64_t, int> trained;
  for (const auto& batch : batches) {
    for (const auto& group : batch) ++trained[group.key];
  }
  EXPECT_EQ(trained.size(), 16u);
  for (const auto& [key, count] : trained) EXPECT_EQ(count, 1) << "prompt key " << key;
  // 16 informative prompts are keys 0..23 less the 8 uniform ones, each recorded once.
  EXPECT_EQ(expect_sample_file_outcomes(dir_.path() / "samples" / "train.jsonl", uniform), 24u);
}

TEST_F(ControllerTest, LostLearnerStopsTheRunWithAResumeHint) {
  learner_.on_train = [&](size_t batches) {
    if (batches == 2) link_.kill("learner-0");
  };
  const Status status = run();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("--resume"), std::string::npos) << status.message();
}

TEST_F(ControllerTest, StopRequestFinishesTheStepCheckpointsAndReturnsCancelled) {
  std::stop_source stop;
  learner_.on_train = [&](size_t batches) {
    if (batches == 1) stop.request_stop();
  };
  const Status status = run(stop.get_token());
  EXPECT_EQ(status.code(), StatusCode::kCancelled) << status.to_string();
  EXPECT_EQ(learner_.batches.size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(run_dir_->checkpoint_dir(int64_t{1}) / core::kCheckpointCommitMarker));
  EXPECT_NE(status.message().find("--resume"), std::string::npos);
}

TEST_F(ControllerTest, WorkerThatNeverConnectsFailsTheRunNamingIt) {
  config_.cluster.connect_timeout_s = 3;
  link_.kill("verifier-1");
  link_.add_worker("verifier-1", {});
  auto run_dir = core::RunDirectory::create(dir_.path(), "x");
  ASSERT_TRUE(run_dir.ok());
  run_dir_.emplace(std::move(*run_dir));
  auto task = core::ArithmeticTask::create(task_);
  prompts_ = std::make_unique<core::ArithmeticPromptSource>(
      std::move(*task), config_.run.seed, "arithmetic", "arithmetic",
      [this](const core::TaskPrompt& prompt) -> Result<std::vector<int32_t>> { return tokenizer_.encode(prompt.text); });
  Controller controller(config_, link_, *run_dir_, *prompts_, tokenizer_, registry_);
  for (const std::string& worker : workers()) {
    if (worker != "verifier-1") link_.hello(worker);
  }
  const Status status = controller.run({});
  EXPECT_EQ(status.code(), StatusCode::kTimeout);
  EXPECT_NE(status.message().find("verifier-1"), std::string::npos);
}

}  // namespace
}  // namespace caravan::controller
