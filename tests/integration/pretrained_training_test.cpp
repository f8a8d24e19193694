// A real-checkpoint training round trip in one process, where the in-memory model is at hand:
// a small random Qwen3-shaped Hugging Face checkpoint is loaded, RLVR rows are rendered through
// its chat template, a few GRPO steps run on completions sampled with the rollout code, and the
// checkpoint the learner writes must reload with bit-identical logits and the same greedy
// continuations.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

#include "actors/rollout/engine.h"
#include "core/checkpoints.h"
#include "core/rlvr_dataset.h"
#include "core/run_directory.h"
#include "learner/checkpoint.h"
#include "learner/grpo_options.h"
#include "learner/grpo_trainer.h"
#include "learner/rollout_sampling.h"
#include "model/model_loader.h"
#include "model/model_options.h"
#include "tests/common/hf_checkpoint.h"
#include "tests/common/temp_dir.h"
#include "tests/common/llama_rows.h"

namespace caravan {
namespace {

namespace fs = std::filesystem;

// A stand-in reward with a spread inside every group, so each GRPO step has advantages to
// follow: the fraction of completion tokens that are ASCII digits.
float digit_fraction(const std::vector<int32_t>& tokens) {
  if (tokens.empty()) return 0;
  int digits = 0;
  for (int32_t token : tokens) digits += token >= '0' && token <= '9';
  return static_cast<float>(digits) / static_cast<float>(tokens.size());
}

at::Tensor logits_of(model::Llama& model, const std::vector<int32_t>& prompt) {
  const at::Tensor tokens = at::tensor(std::vector<int64_t>(prompt.begin(), prompt.end())).unsqueeze(0);
  at::NoGradGuard no_grad;
  return caravan::testing::row_logits(*model, tokens);
}

// `samples` completions of `prompt` from the rollout engine, in sample order; sample s draws
// with seed sampling_seed(params.seed, 0, s).
std::vector<rollout::SequenceOutput> engine_samples(model::LlamaImpl& model, const std::vector<int32_t>& prompt,
                                                    size_t samples, const rollout::SamplingParams& params) {
  rollout::Engine engine(model, {.block_size = 16}, /*num_blocks=*/64, /*token_text=*/nullptr, /*policy_version=*/0);
  rollout::EngineRequest request{.id = 0, .prompt = prompt, .samples = {}};
  for (size_t s = 0; s < samples; ++s) {
    request.samples.push_back(params);
    request.samples.back().seed = rollout::sampling_seed(params.seed, 0, s);
  }
  const Status added = engine.add(std::move(request));
  EXPECT_TRUE(added.ok()) << added.to_string();
  std::vector<rollout::SequenceOutput> out(samples);
  while (!engine.idle()) {
    for (rollout::SequenceOutput& done : engine.step()) out[done.sample] = std::move(done);
  }
  return out;
}

std::set<std::string> keys_of(const nlohmann::json& object) {
  std::set<std::string> keys;
  for (const auto& item : object.items()) keys.insert(item.key());
  return keys;
}

TEST(PretrainedTrainingTest, GrpoOnChatRowsThenTheCheckpointReloadsBitIdentical) {
  testing::TempDir dir;
  const testing::HfCheckpoint input = testing::write_qwen3_checkpoint(dir.path() / "qwen3");
  model::ModelOptions options;
  options.path = input.dir.string();
  options.checkpoint_dtype = "float32";  // trained float32 weights, saved without rounding
  const model::ModelSpec spec = model::open_model(options).value();
  model::Llama policy = model::load_model(spec, /*seed=*/1).value();

  const core::RlvrDataset dataset =
      core::load_rlvr_dataset(std::string(CARAVAN_SOURCE_DIR) + "/tests/data/rlvr/sample.jsonl", {}).value();
  std::vector<std::vector<int32_t>> prompts;
  for (size_t i = 0; i < 6; ++i) {
    const std::vector<int32_t> ids = spec.prompts->encode_chat(dataset.rows[i].messages).value();
    ASSERT_EQ(ids.front(), testing::kQwenImStart);  // rendered by the chat template
    prompts.push_back(ids);
  }

  learner::GrpoOptions grpo;
  grpo.learning_rate = 1e-3;
  const double temperature = 1.0;
  learner::RolloutSampling rollout;
  rollout.temperature = temperature;
  rollout.max_new_tokens = 8;
  learner::GrpoTrainer trainer(policy, grpo, rollout, spec.tokenizer->pad_id());
  const at::Tensor before = logits_of(policy, prompts[0]);
  for (uint64_t step = 0; step < 3; ++step) {
    std::vector<learner::RolloutGroup> groups;
    for (size_t p = 0; p < 4; ++p) {
      const std::vector<int32_t>& prompt = prompts[p];
      const std::vector<rollout::SequenceOutput> completions = engine_samples(
          *policy, prompt, 4,
          {.temperature = temperature, .max_new_tokens = 8, .stop_ids = spec.prompts->stop_ids(), .seed = step * 10 + p});
      learner::RolloutGroup group{.prompt_id = p, .prompt_tokens = prompt, .samples = {}};
      for (size_t s = 0; s < completions.size(); ++s) {
        // Distinct rewards guarantee a non-zero advantage in every group.
        const float reward = digit_fraction(completions[s].tokens) + 0.1f * static_cast<float>(s);
        group.samples.push_back({.tokens = completions[s].tokens, .logprobs = completions[s].logprobs,
                                 .reward = reward, .judged = true, .policy_version = step});
      }
      groups.push_back(std::move(group));
    }
    ASSERT_TRUE(trainer.step(groups, /*policy_version=*/step).ok());
  }
  EXPECT_FALSE(at::equal(before, logits_of(policy, prompts[0]))) << "GRPO did not change the policy";

  const core::RunDirectory run_dir = core::RunDirectory::create(dir.path() / "run", "[run]\n").value();
  const Result<fs::path> checkpoint = core::begin_checkpoint(run_dir, 3);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().to_string();
  const Status written = learner::write_checkpoint(*checkpoint, {.step = 3, .policy_version = 3, .rl_started = true},
                                                   policy, spec.config, model::save_options(spec), &trainer);
  ASSERT_TRUE(written.ok()) << written.to_string();

  // A complete Hugging Face directory with the input's config.json keys (only the dtype differs).
  const nlohmann::json saved_config = nlohmann::json::parse(std::ifstream(*checkpoint / "config.json"));
  EXPECT_EQ(keys_of(saved_config), keys_of(input.config_json));
  for (const auto& [key, value] : input.config_json.items()) {
    if (key != "torch_dtype") {
      EXPECT_EQ(saved_config[key], value) << key;
    }
  }
  EXPECT_EQ(saved_config["torch_dtype"], "float32");
  for (const char* file : {"tokenizer.json", "tokenizer_config.json", "generation_config.json", "model.safetensors"}) {
    EXPECT_TRUE(fs::exists(*checkpoint / file)) << file;
  }

  model::ModelOptions reload_options;
  reload_options.path = checkpoint->string();
  const model::ModelSpec reloaded_spec = model::open_model(reload_options).value();
  model::Llama reloaded = model::load_model(reloaded_spec, /*seed=*/99).value();
  for (const std::vector<int32_t>& prompt : prompts) {
    EXPECT_TRUE(at::equal(logits_of(reloaded, prompt), logits_of(policy, prompt)));
  }
  const rollout::SamplingParams greedy{.temperature = 0.0, .max_new_tokens = 12, .stop_ids = spec.prompts->stop_ids()};
  for (size_t i = 0; i < prompts.size(); ++i) {
    const rollout::SequenceOutput expected = engine_samples(*policy, prompts[i], 1, greedy).front();
    const rollout::SequenceOutput actual = engine_samples(*reloaded, prompts[i], 1, greedy).front();
    EXPECT_EQ(actual.tokens, expected.tokens) << i;
    EXPECT_EQ(actual.logprobs, expected.logprobs) << i;
  }
}

}  // namespace
}  // namespace caravan
