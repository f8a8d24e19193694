#include "apps/run_config_reader.h"

#include <filesystem>

#include <gtest/gtest.h>

namespace caravan::apps {
namespace {

using core::RopeScalingType;
using core::ThreadWait;
using core::TransformerConfig;
using learner::AdvantageEstimator;
using learner::DpoOptions;
using learner::GrpoOptions;
using learner::KlEstimator;
using learner::KlPlacement;
using learner::LossAggregation;
using learner::LrScheduleKind;
using learner::PolicyLossKind;

// [run] and [task] without a [model] section.
constexpr const char* kRunAndTask = R"(
[run]
name = "t"
[task]
kind = "arithmetic"
)";
// A complete minimal config: an inline model.
const std::string kMinimal = std::string(kRunAndTask) + "[model]\nnum_layers = 2\n";

Status parse_error(const std::string& text) { return parse_run_config(text, "test.toml").status(); }

TEST(ConfigTest, MinimalConfigGetsDefaults) {
  auto config = parse_run_config(kMinimal, "test.toml");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->run.name, "t");
  EXPECT_EQ(config->grpo.group_size, GrpoOptions{}.group_size);
  EXPECT_EQ(config->model.inline_config.hidden_size, TransformerConfig{}.hidden_size);
  EXPECT_EQ(config->model.inline_config.num_layers, 2);
  EXPECT_EQ(config->model.dtype, "float32");
  EXPECT_EQ(config->model.checkpoint_dtype, "auto");
  EXPECT_TRUE(config->model.enable_thinking);
}

TEST(ConfigTest, ModelPathExcludesInlineArchitectureKeys) {
  Status status = parse_error(std::string(kRunAndTask) + "[model]\npath = \"models/qwen\"\nhidden_size = 64\n");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("test.toml: [model] hidden_size: an inline architecture key cannot be combined with "
                                  "path = \"models/qwen\""),
            std::string::npos)
      << status.message();
}

TEST(ConfigTest, ModelNeedsAPathOrAnInlineArchitecture) {
  Status status = parse_error(kRunAndTask);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("test.toml: [model] needs path = \"DIR\""), std::string::npos) << status.message();
  // Settings that are not architecture keys do not count as an inline model.
  status = parse_error(std::string(kRunAndTask) + "[model]\ndtype = \"bfloat16\"\n");
  EXPECT_NE(status.message().find("[model] needs path"), std::string::npos) << status.message();
}

TEST(ConfigTest, ModelPathConfigRoundTripsWithoutInlineKeys) {
  auto config = parse_run_config(std::string(kRunAndTask) +
                                     "[model]\npath = \"/models/qwen\"\ndtype = \"bfloat16\"\nenable_thinking = false\n"
                                     "checkpoint_dtype = \"float32\"\nchat_template = \"qwen3\"\n",
                                 "test.toml");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  const std::string resolved = to_toml(*config);
  EXPECT_EQ(resolved.find("hidden_size"), std::string::npos) << resolved;
  auto again = parse_run_config(resolved, "resolved.toml");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->model.path, "/models/qwen");
  EXPECT_EQ(again->model.dtype, "bfloat16");
  EXPECT_EQ(again->model.checkpoint_dtype, "float32");
  EXPECT_EQ(again->model.chat_template, "qwen3");
  EXPECT_FALSE(again->model.enable_thinking);
}

TEST(ConfigTest, ModelDtypeListsTheChoices) {
  Status status = parse_error(std::string(kRunAndTask) + "[model]\nnum_layers = 2\ndtype = \"float64\"\n");
  EXPECT_NE(status.message().find("[model] dtype: expected one of \"float32\", \"bfloat16\", got \"float64\""),
            std::string::npos)
      << status.message();
}

TEST(ConfigTest, MissingRequiredKeyIsNamed) {
  Status status = parse_error("[run]\nname = \"t\"\n[task]\nmax_operand_add = 9\n");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("test.toml: [task] missing required key 'kind'"), std::string::npos) << status.message();
}

TEST(ConfigTest, WrongTypeIsNamedWithExpectedType) {
  Status status = parse_error(std::string(kMinimal) + "[grpo]\ngroup_size = \"eight\"\n");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("test.toml: [grpo] group_size: expected an integer, got a string"), std::string::npos)
      << status.message();
}

TEST(ConfigTest, UnknownKeyIsNamed) {
  Status status = parse_error(std::string(kMinimal) + "[grpo]\ngruop_size = 8\n");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("[grpo] unknown key 'gruop_size'"), std::string::npos) << status.message();
}

TEST(ConfigTest, UnknownSectionIsNamed) {
  Status status = parse_error(std::string(kMinimal) + "[grop]\ngroup_size = 8\n");
  EXPECT_NE(status.message().find("unknown section [grop]"), std::string::npos) << status.message();
}

TEST(ConfigTest, OutOfRangeValueShowsTheRange) {
  Status status = parse_error(std::string(kMinimal) + "[grpo]\nclip_low = 1.5\n");
  EXPECT_NE(status.message().find("[grpo] clip_low: expected 0 < x <= 1, got 1.5"), std::string::npos) << status.message();
}

TEST(ConfigTest, InvalidChoiceListsTheChoices) {
  Status status = parse_error("[run]\nname = \"t\"\n[task]\nkind = \"chess\"\n");
  EXPECT_NE(status.message().find("[task] kind: expected one of \"arithmetic\", \"rlvr\", \"sft\", \"dpo\", got \"chess\""),
            std::string::npos)
      << status.message();
}

TEST(ConfigTest, StagesReadTheirDatasetHeldOutSetAndDpoOptions) {
  auto config = parse_run_config("[run]\nname = \"t\"\n[task]\nkind = \"dpo\"\ndataset = \"p.jsonl\"\n"
                                 "held_out_dataset = \"h.jsonl\"\n[model]\nnum_layers = 2\n"
                                 "[dpo]\nbeta = 0.1\nloss = \"dpo\"\nsteps = 7\n",
                                 "test.toml");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->task.held_out_dataset, "h.jsonl");
  EXPECT_EQ(config->dpo.beta, 0.1);
  EXPECT_EQ(config->dpo.loss, "dpo");
  EXPECT_EQ(config->dpo.steps, 7);
  EXPECT_EQ(DpoOptions{}.loss, "dpo_norm");
  const auto error = [](const std::string& task, const std::string& rest) {
    return parse_error("[run]\nname = \"t\"\n[task]\n" + task + "[model]\nnum_layers = 2\n" + rest).message();
  };
  EXPECT_NE(error("kind = \"sft\"\n", "").find("[task] kind = \"sft\" needs dataset"), std::string::npos);
  EXPECT_NE(error("kind = \"sft\"\ndataset = \"d\"\nheld_out_fraction = 0.1\nheld_out_dataset = \"h\"\n", "")
                .find("held_out_fraction = 0.1 cannot be combined with held_out_dataset"),
            std::string::npos);
  EXPECT_NE(error("kind = \"sft\"\ndataset = \"d\"\nheld_out_fraction = 1.0\n", "")
                .find("[task] held_out_fraction: expected 0 <= x < 1, got 1"),
            std::string::npos);
  EXPECT_NE(error("kind = \"arithmetic\"\nheld_out_fraction = 0.2\n", "")
                .find("[task] held_out_fraction is only read when kind is \"sft\" or \"dpo\""),
            std::string::npos);
  EXPECT_NE(error("kind = \"dpo\"\ndataset = \"d\"\n", "[dpo]\nloss = \"ipo\"\n")
                .find("[dpo] loss: expected one of \"dpo\", \"dpo_norm\", got \"ipo\""),
            std::string::npos);
  EXPECT_NE(error("kind = \"sft\"\ndataset = \"d\"\n", "[sft]\nsteps = 0\n").find("[sft] steps = 0"),
            std::string::npos);
}

constexpr const char* kRlvr = R"(
[run]
name = "t"
[task]
kind = "rlvr"
dataset = "prompts.jsonl"
held_out_size = 8
[model]
path = "models/tiny"
[sft]
steps = 0
)";

TEST(ConfigTest, RlvrTaskReadsDatasetAndBadRowPolicy) {
  auto config = parse_run_config(kRlvr, "test.toml");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->task.dataset, "prompts.jsonl");
  EXPECT_EQ(config->task.on_bad_row, "skip");
  EXPECT_EQ(config->task.held_out_size, 8);
  const std::string with_fail = "[run]\nname = \"t\"\n[task]\nkind = \"rlvr\"\ndataset = \"d.jsonl\"\n"
                                "on_bad_row = \"fail\"\n[model]\nnum_layers = 2\n[sft]\nsteps = 0\n";
  ASSERT_TRUE(parse_run_config(with_fail, "test.toml").ok());
  EXPECT_EQ(parse_run_config(with_fail, "test.toml")->task.on_bad_row, "fail");
  auto round_trip = parse_run_config(to_toml(*config), "resolved.toml");
  ASSERT_TRUE(round_trip.ok()) << round_trip.status().to_string();
  EXPECT_EQ(round_trip->task.dataset, "prompts.jsonl");
}

TEST(ConfigTest, RlvrTaskNeedsADataset) {
  Status status = parse_error("[run]\nname = \"t\"\n[task]\nkind = \"rlvr\"\n[model]\nnum_layers = 2\n[sft]\nsteps = 0\n");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("test.toml: [task] kind = \"rlvr\" needs dataset = \"FILE.jsonl\""),
            std::string::npos)
      << status.message();
}

TEST(ConfigTest, DatasetWithoutRlvrKindIsRejected) {
  Status status = parse_error("[run]\nname = \"t\"\n[task]\nkind = \"arithmetic\"\ndataset = \"d.jsonl\"\n"
                              "[model]\nnum_layers = 2\n");
  EXPECT_NE(status.message().find("[task] dataset is only read when kind is \"rlvr\", \"sft\" or \"dpo\""), std::string::npos)
      << status.message();
}

TEST(ConfigTest, RlvrTaskRefusesSftStepsBecauseRowsHaveNoReferenceCompletions) {
  // [sft] steps defaults to 300, so an RLVR config must set it to 0.
  Status status = parse_error("[run]\nname = \"t\"\n[task]\nkind = \"rlvr\"\ndataset = \"d.jsonl\"\n"
                              "[model]\nnum_layers = 2\n");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("[sft] steps = 300 but must be 0 for [task] kind = \"rlvr\": RLVR rows carry "
                                  "a ground truth for the verifier, not reference completions"),
            std::string::npos)
      << status.message();
}

TEST(ConfigTest, BadRowPolicyListsTheChoices) {
  Status status = parse_error("[run]\nname = \"t\"\n[task]\nkind = \"rlvr\"\ndataset = \"d.jsonl\"\n"
                              "on_bad_row = \"ignore\"\n[model]\nnum_layers = 2\n[sft]\nsteps = 0\n");
  EXPECT_NE(status.message().find("[task] on_bad_row: expected one of \"skip\", \"fail\", got \"ignore\""),
            std::string::npos)
      << status.message();
}

TEST(ConfigTest, ThreadWaitDefaultsToPassiveAndRoundTrips) {
  auto config = parse_run_config(kMinimal, "test.toml");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->run.thread_wait, ThreadWait::kPassive);
  const std::string active = "[run]\nname = \"t\"\nthread_wait = \"active\"\n[task]\nkind = \"arithmetic\"\n"
                             "[model]\nnum_layers = 2\n";
  auto parsed = parse_run_config(active, "test.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->run.thread_wait, ThreadWait::kActive);
  auto round_trip = parse_run_config(to_toml(*parsed), "resolved.toml");
  ASSERT_TRUE(round_trip.ok()) << round_trip.status().to_string();
  EXPECT_EQ(round_trip->run.thread_wait, ThreadWait::kActive);
}

TEST(ConfigTest, UnknownThreadWaitNamesTheKeyAndTheChoices) {
  Status status = parse_error("[run]\nname = \"t\"\nthread_wait = \"spin\"\n[task]\nkind = \"arithmetic\"\n"
                              "[model]\nnum_layers = 2\n");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("test.toml: [run] thread_wait: expected one of \"passive\", \"active\", got \"spin\""),
            std::string::npos)
      << status.message();
}

TEST(ConfigTest, SyntaxErrorHasLineAndColumn) {
  Status status = parse_error("[run]\nname = \n");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("test.toml:2:"), std::string::npos) << status.message();
}

TEST(ConfigTest, CrossFieldConstraintIsChecked) {
  Status status = parse_error(std::string(kRunAndTask) + "[model]\nhidden_size = 100\nnum_heads = 3\n");
  EXPECT_NE(status.message().find("hidden_size (100) must be a multiple of num_heads (3)"), std::string::npos)
      << status.message();
}

TEST(ConfigTest, MissingFileIsNotFound) {
  auto config = load_run_config("/nonexistent/caravan.toml");
  EXPECT_EQ(config.status().code(), StatusCode::kNotFound);
  EXPECT_NE(config.status().message().find("/nonexistent/caravan.toml"), std::string::npos);
}

TEST(ConfigTest, ResolvedConfigRoundTrips) {
  auto config = parse_run_config(kMinimal + "[grpo]\nkl_coef = 0.05\n[cluster]\ncontroller_port = 4242\n",
                                 "test.toml");
  ASSERT_TRUE(config.ok());
  auto again = parse_run_config(to_toml(*config), "resolved.toml");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(to_toml(*again), to_toml(*config));
  EXPECT_DOUBLE_EQ(again->grpo.kl.coef, 0.05);
  EXPECT_EQ(again->cluster.controller_port, 4242);
}

TEST(ConfigTest, RolloutSamplingKeysAreReadCheckedAndRoundTrip) {
  auto config = parse_run_config(kMinimal + R"([rollout]
top_k = 20
min_p = 0.05
repetition_penalty = 1.1
presence_penalty = 0.5
frequency_penalty = -0.5
stop_strings = ["</answer>", "\n\n"]
top_logprobs = 5
)",
                                 "test.toml");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->rollout.top_k, 20);
  EXPECT_DOUBLE_EQ(config->rollout.min_p, 0.05);
  EXPECT_DOUBLE_EQ(config->rollout.repetition_penalty, 1.1);
  EXPECT_DOUBLE_EQ(config->rollout.presence_penalty, 0.5);
  EXPECT_DOUBLE_EQ(config->rollout.frequency_penalty, -0.5);
  EXPECT_EQ(config->rollout.stop_strings, (std::vector<std::string>{"</answer>", "\n\n"}));
  EXPECT_EQ(config->rollout.top_logprobs, 5);
  auto again = parse_run_config(to_toml(*config), "resolved.toml");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->rollout.stop_strings, config->rollout.stop_strings);
  EXPECT_EQ(to_toml(*again), to_toml(*config));
  // Defaults: every control off.
  auto defaults = parse_run_config(kMinimal, "test.toml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->rollout.stop_strings.empty());
  EXPECT_EQ(defaults->rollout.repetition_penalty, 1.0);

  const auto expect_error = [](const std::string& line, const std::string& message) {
    const Status status = parse_error(kMinimal + "[rollout]\n" + line + "\n");
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << line;
    EXPECT_NE(status.message().find(message), std::string::npos) << status.message();
  };
  expect_error("top_k = -1", "[rollout] top_k: expected 0 <= x");
  expect_error("min_p = 1.0", "[rollout] min_p: expected 0 <= x < 1, got 1");
  expect_error("repetition_penalty = 0", "[rollout] repetition_penalty: expected 0 < x");
  expect_error("presence_penalty = 2.5", "[rollout] presence_penalty: expected -2 <= x <= 2, got 2.5");
  expect_error("frequency_penalty = -3", "[rollout] frequency_penalty: expected -2 <= x <= 2, got -3");
  expect_error("top_logprobs = 21", "[rollout] top_logprobs: expected 0 <= x <= 20, got 21");
  expect_error("stop_strings = \"</a>\"", "[rollout] stop_strings: expected an array of strings, got a string");
  expect_error("stop_strings = [\"x\", 3]", "[rollout] stop_strings[1]: expected a string");
  expect_error("stop_strings = [\"x\", \"\"]", "[rollout] stop_strings[1]: must not be empty");
}

TEST(ConfigTest, RlAlgorithmChoicesAreReadIntoTheirComponentsOptions) {
  auto config = parse_run_config(kMinimal + R"([grpo]
advantage_estimator = "reinforce_pp"
advantage_group_baseline = true
policy_loss = "cispo"
clip_low = 1.0
clip_high = 4.0
loss_aggregation = "constant"
entropy_coef = 0.001
kl_estimator = "k2"
kl_placement = "reward"
kl_coef = 0.05
kl_target = 0.02
kl_horizon = 500
tis_cap = 2.0
mask_ratio_low = 0.5
mask_ratio_high = 5.0
lr_schedule = "cosine"
warmup_steps = 10
min_lr_ratio = 0.1
)",
                                 "test.toml");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  const GrpoOptions& g = config->grpo;
  EXPECT_EQ(g.advantage.estimator, AdvantageEstimator::kReinforcePlusPlus);
  EXPECT_TRUE(g.advantage.group_baseline);
  EXPECT_EQ(g.loss.kind, PolicyLossKind::kCispo);
  EXPECT_EQ(g.loss.clip_low, 1.0);
  EXPECT_EQ(g.loss.clip_high, 4.0);
  EXPECT_EQ(g.loss.aggregation, LossAggregation::kConstantDenominator);
  EXPECT_EQ(g.loss.entropy_coef, 0.001);
  EXPECT_EQ(g.kl.estimator, KlEstimator::kK2);
  EXPECT_EQ(g.kl.placement, KlPlacement::kReward);
  EXPECT_EQ(g.kl.target, 0.02);
  EXPECT_EQ(g.kl.horizon, 500);
  EXPECT_EQ(g.correction.tis_cap, 2.0);
  EXPECT_EQ(g.correction.mask_low, 0.5);
  EXPECT_EQ(g.correction.mask_high, 5.0);
  EXPECT_EQ(g.schedule.kind, LrScheduleKind::kCosine);
  EXPECT_EQ(g.schedule.warmup_steps, 10);
  EXPECT_EQ(g.schedule.min_lr_ratio, 0.1);
  auto again = parse_run_config(to_toml(*config), "resolved.toml");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(to_toml(*again), to_toml(*config));
}

TEST(ConfigTest, RlAlgorithmKeysThatDependOnEachOtherAreChecked) {
  const std::pair<const char*, const char*> cases[] = {
      {"dual_clip = 1.0\n", "[grpo] dual_clip: expected 0 (off) or > 1, got 1"},
      {"policy_loss = \"gspo\"\ndual_clip = 3.0\n", "dual_clip applies to policy_loss = \"ppo\" only"},
      {"advantage_group_baseline = true\n", "advantage_group_baseline applies to advantage_estimator"},
      {"kl_coef = 0.0\nkl_target = 0.1\n", "kl_target = 0.1 needs kl_coef > 0"},
      {"tis_cap = 0.5\n", "[grpo] tis_cap: expected 0 (off) or >= 1, got 0.5"},
      {"mask_ratio_low = 0.5\n", "mask_ratio_low / mask_ratio_high: expected both 0 (off) or 0 <= low < 1 < high"},
      {"policy_loss = \"trpo\"\n", "[grpo] policy_loss: expected one of \"ppo\", \"gspo\", \"cispo\", got \"trpo\""},
  };
  for (const auto& [keys, expected] : cases) {
    Status status = parse_error(kMinimal + "[grpo]\n" + keys);
    EXPECT_NE(status.message().find(expected), std::string::npos) << keys << ": " << status.message();
  }
}

TEST(ConfigTest, DynamicSamplingIsReadCheckedNamingTheKeyAndRoundTrips) {
  EXPECT_EQ(parse_run_config(kMinimal, "test.toml")->dynamic_sampling.mode, controller::DynamicSampling::kOff);
  auto config = parse_run_config(kMinimal + "[grpo]\ndynamic_sampling = \"refill\"\ndynamic_sampling_max_rounds = 3\n",
                                 "test.toml");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->dynamic_sampling.mode, controller::DynamicSampling::kRefill);
  EXPECT_EQ(config->dynamic_sampling.max_rounds, 3);
  auto again = parse_run_config(to_toml(*config), "resolved.toml");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->dynamic_sampling.mode, controller::DynamicSampling::kRefill);
  EXPECT_EQ(again->dynamic_sampling.max_rounds, 3);
  const Status mode = parse_error(kMinimal + "[grpo]\ndynamic_sampling = \"filter\"\n");
  EXPECT_NE(mode.message().find("[grpo] dynamic_sampling: expected one of \"off\", \"drop\", \"refill\""),
            std::string::npos)
      << mode.message();
  const Status rounds = parse_error(kMinimal + "[grpo]\ndynamic_sampling_max_rounds = 0\n");
  EXPECT_NE(rounds.message().find("[grpo] dynamic_sampling_max_rounds: expected 1 <= x <= 1000, got 0"),
            std::string::npos)
      << rounds.message();
}

TEST(ConfigTest, LearnerRanksAreReadCheckedAndRoundTrip) {
  Result<RunConfig> defaults = parse_run_config(kMinimal, "test.toml");
  ASSERT_TRUE(defaults.ok()) << defaults.status().to_string();
  EXPECT_EQ(defaults->learner.ranks, 1);
  EXPECT_EQ(defaults->learner.backend, "auto");
  Result<RunConfig> config = parse_run_config(
      kMinimal + "[learner]\nranks = 2\nbackend = \"gloo\"\nrendezvous_port = 29600\ncollective_timeout_s = 30.0\n",
      "test.toml");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->learner.ranks, 2);
  EXPECT_EQ(config->learner.backend, "gloo");
  EXPECT_EQ(config->learner.rendezvous_port, 29600);
  EXPECT_EQ(config->learner.collective_timeout_s, 30.0);
  auto again = parse_run_config(to_toml(*config), "resolved.toml");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(to_toml(*again), to_toml(*config));

  const std::pair<std::string, const char*> cases[] = {
      {"[learner]\nranks = 0\n", "[learner] ranks"},
      {"[learner]\nbackend = \"mpi\"\n", "[learner] backend"},
      {"[learner]\ncollective_timeout_s = 0.0\n", "[learner] collective_timeout_s"},
  };
  const Status bfloat16 = parse_error(std::string(kRunAndTask) +
                                      "[model]\nnum_layers = 2\ndtype = \"bfloat16\"\n[learner]\nranks = 2\n");
  EXPECT_NE(bfloat16.message().find("test.toml: [learner] ranks = 2 needs [model] dtype = \"float32\" (got \"bfloat16\")"),
            std::string::npos)
      << bfloat16.message();
  for (const auto& [keys, expected] : cases) {
    const Status status = parse_error(kMinimal + keys);
    EXPECT_NE(status.message().find(expected), std::string::npos) << keys << ": " << status.message();
  }
  // Data-parallel ranks checkpoint like a single learner (their shards are gathered).
  Result<RunConfig> checkpointed =
      parse_run_config(kMinimal + "[learner]\nranks = 2\n[grpo]\ncheckpoint_every = 5\n", "test.toml");
  ASSERT_TRUE(checkpointed.ok()) << checkpointed.status().to_string();
  EXPECT_EQ(checkpointed->grpo.checkpoint_every, 5);
  // ... and train with every estimator (the batch-wide whitening sums over the ranks), PPO's
  // value model and several mini-batches per step.
  const std::string batch_wide[] = {
      "[grpo]\nadvantage_estimator = \"reinforce_pp\"\nmini_batches = 2\n",
      "[grpo]\nadvantage_estimator = \"reinforce_pp\"\nadvantage_group_baseline = true\n",
      "[grpo]\nadvantage_estimator = \"gae\"\nmini_batches = 4\nepochs = 2\n[value_model]\nsource = \"policy\"\n",
  };
  for (const std::string& keys : batch_wide) {
    Result<RunConfig> accepted = parse_run_config(kMinimal + "[learner]\nranks = 2\n" + keys, "test.toml");
    ASSERT_TRUE(accepted.ok()) << keys << ": " << accepted.status().to_string();
    EXPECT_EQ(accepted->learner.ranks, 2);
  }
}

TEST(ConfigTest, PpoReadsGaeAndTheValueModelAndRoundTrips) {
  auto config = parse_run_config(kMinimal + R"([grpo]
advantage_estimator = "gae"
gae_gamma = 0.99
gae_lambda = 0.9
gae_whiten = false
[value_model]
source = "policy"
learning_rate = 2e-5
weight_decay = 0.01
warmup_steps = 3
loss_coef = 0.5
vf_clip = 0.3
)",
                                 "test.toml");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->grpo.advantage.estimator, learner::AdvantageEstimator::kGae);
  EXPECT_EQ(config->grpo.advantage.gae_gamma, 0.99);
  EXPECT_EQ(config->grpo.advantage.gae_lambda, 0.9);
  EXPECT_FALSE(config->grpo.advantage.gae_whiten);
  const learner::ValueModelOptions& value = config->value_model;
  EXPECT_EQ(value.source, "policy");
  EXPECT_EQ(value.learning_rate, 2e-5);
  EXPECT_EQ(value.weight_decay, 0.01);
  EXPECT_EQ(value.warmup_steps, 3);
  EXPECT_EQ(value.loss_coef, 0.5);
  EXPECT_EQ(value.vf_clip, 0.3);
  auto again = parse_run_config(to_toml(*config), "resolved.toml");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(to_toml(*again), to_toml(*config));
}

TEST(ConfigTest, GaeAndTheValueModelNeedEachOther) {
  const std::pair<const char*, const char*> cases[] = {
      {"[grpo]\nadvantage_estimator = \"gae\"\n",
       "[grpo] advantage_estimator = \"gae\" needs a value model: set [value_model] source = \"policy\" or "
       "[value_model] path"},
      {"[value_model]\nsource = \"policy\"\n", "[value_model] source is only read when [grpo] advantage_estimator"},
      {"[value_model]\npath = \"rm\"\n", "[value_model] path is only read when [grpo] advantage_estimator"},
      {"[grpo]\nadvantage_estimator = \"gae\"\n[value_model]\nsource = \"policy\"\npath = \"rm\"\n",
       "[value_model] source = \"policy\" and path = \"rm\": set one of the two"},
      {"[grpo]\ngae_lambda = 0.5\n",
       "[grpo] gae_gamma / gae_lambda / gae_whiten apply to advantage_estimator = \"gae\""},
      {"[value_model]\nsource = \"critic\"\n", "[value_model] source: expected one of"},
      {"[grpo]\nadvantage_estimator = \"gae\"\n[value_model]\nsource = \"policy\"\nvf_clip = 0.0\n",
       "[value_model] vf_clip"},
  };
  for (const auto& [keys, expected] : cases) {
    Status status = parse_error(kMinimal + keys);
    EXPECT_NE(status.message().find(expected), std::string::npos) << keys << ": " << status.message();
  }
}

TEST(ConfigTest, BatchingKeysAreReadAndCheckedNamingTheKey) {
  auto config = parse_run_config(kMinimal + "[grpo]\nmicro_batch_tokens = 512\npack_sequences = true\nmini_batches = 4\n"
                                            "epochs = 2\n[sft]\nmicro_batch_tokens = 256\npack_sequences = true\n"
                                            "[dpo]\nmicro_batch_tokens = 128\n",
                                 "test.toml");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->grpo.batching.micro.micro_batch_tokens, 512);
  EXPECT_TRUE(config->grpo.batching.micro.pack_sequences);
  EXPECT_EQ(config->grpo.batching.mini_batches, 4);
  EXPECT_EQ(config->grpo.batching.epochs, 2);
  EXPECT_EQ(config->sft.batching.micro_batch_tokens, 256);
  EXPECT_TRUE(config->sft.batching.pack_sequences);
  EXPECT_EQ(config->dpo.batching.micro_batch_tokens, 128);
  EXPECT_FALSE(config->dpo.batching.pack_sequences);
  auto again = parse_run_config(to_toml(*config), "resolved.toml");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(to_toml(*again), to_toml(*config));

  const std::pair<std::string, const char*> cases[] = {
      {"[grpo]\nmini_batches = 0\n", "[grpo] mini_batches: expected 1 <= x"},
      {"[grpo]\nepochs = 0\n", "[grpo] epochs: expected 1 <= x"},
      {"[grpo]\nmicro_batch_tokens = -1\n", "[grpo] micro_batch_tokens: expected 0 <= x"},
      {"[grpo]\npack_sequences = 1\n", "[grpo] pack_sequences"},
      {"[sft]\nmicro_batch_tokens = -5\n", "[sft] micro_batch_tokens: expected 0 <= x"},
      {"[dpo]\npack_sequences = \"yes\"\n", "[dpo] pack_sequences"},
  };
  for (const auto& [keys, expected] : cases) {
    Status status = parse_error(kMinimal + keys);
    EXPECT_NE(status.message().find(expected), std::string::npos) << keys << ": " << status.message();
  }
}

TEST(ConfigTest, StagesReadGradientCheckpointingAndBf16AutocastAndNeedFloat32Weights) {
  auto config = parse_run_config(kMinimal + "[sft]\ngradient_checkpointing = true\nbf16_autocast = true\n"
                                            "[dpo]\nbf16_autocast = true\n",
                                 "test.toml");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_TRUE(config->sft.gradient_checkpointing);
  EXPECT_TRUE(config->sft.bf16_autocast);
  EXPECT_FALSE(config->dpo.gradient_checkpointing);
  EXPECT_TRUE(config->dpo.bf16_autocast);
  auto again = parse_run_config(to_toml(*config), "resolved.toml");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(to_toml(*again), to_toml(*config));
  for (const std::string section : {"sft", "dpo", "grpo"}) {
    const Status status = parse_error(std::string(kRunAndTask) + "[model]\nnum_layers = 2\ndtype = \"bfloat16\"\n[" +
                                      section + "]\nbf16_autocast = true\n");
    EXPECT_NE(status.message().find("test.toml: [" + section + "] bf16_autocast needs [model] dtype = \"float32\""),
              std::string::npos)
        << status.message();
  }
}

// Every shipped config parses: a renamed key or section must be renamed in configs/ too.
TEST(ConfigTest, EveryShippedConfigParses) {
  int parsed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(CARAVAN_SOURCE_DIR) + "/configs")) {
    if (entry.path().extension() != ".toml" || entry.path().filename() == "rewards.toml") continue;
    Result<RunConfig> config = load_run_config(entry.path());
    EXPECT_TRUE(config.ok()) << config.status().to_string();
    ++parsed;
  }
  EXPECT_GE(parsed, 3);
}

TEST(ConfigTest, RopeScalingKeysAreCheckedAgainstTheirTypeAndRoundTrip) {
  const std::string yarn = std::string(kRunAndTask) +
                           "[model]\nnum_layers = 2\nrope_scaling = \"yarn\"\nrope_scaling_factor = 4.0\n"
                           "rope_scaling_original_max_position_embeddings = 32\nrope_scaling_truncate = false\n";
  auto config = parse_run_config(yarn, "test.toml");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->model.inline_config.rope_scaling.type, RopeScalingType::kYarn);
  EXPECT_EQ(config->model.inline_config.rope_scaling.factor, 4.0);
  EXPECT_EQ(config->model.inline_config.rope_scaling.truncate, false);
  EXPECT_FALSE(config->model.inline_config.rope_scaling.beta_fast.has_value());
  // Absent keys stay absent in the resolved config.
  const std::string resolved = to_toml(*config);
  EXPECT_EQ(resolved.find("rope_scaling_beta_fast"), std::string::npos) << resolved;
  auto again = parse_run_config(resolved, "resolved.toml");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(to_toml(*again), resolved);

  Status status = parse_error(std::string(kRunAndTask) + "[model]\nnum_layers = 2\nrope_scaling = \"yarn\"\n");
  EXPECT_NE(status.message().find("test.toml: [model] key 'rope_scaling_factor': required for rope_type \"yarn\""),
            std::string::npos)
      << status.message();
  status = parse_error(std::string(kRunAndTask) + "[model]\nnum_layers = 2\nrope_scaling = \"linear\"\nrope_scaling_factor = 2.0\n"
                       "rope_scaling_beta_fast = 8.0\n");
  EXPECT_NE(status.message().find("[model] key 'rope_scaling_beta_fast': not read by rope_type \"linear\""),
            std::string::npos)
      << status.message();
  status = parse_error(std::string(kRunAndTask) + "[model]\nnum_layers = 2\nrope_scaling = \"longrope\"\n");
  EXPECT_NE(status.message().find("[model] rope_scaling = \"longrope\" needs the short_factor"), std::string::npos)
      << status.message();
}

}  // namespace
} // namespace caravan::apps
