// Cross-checks model::Llama against Hugging Face transformers on tiny random models of every
// supported architecture. tests/fixtures/hf/make_fixtures.py (torch + transformers) writes, per
// architecture, a save_pretrained() directory tests/fixtures/hf/<arch>/ plus logits.safetensors
// with "input_ids" [2, 12] int64 and transformers' "logits" [2, 12, vocab] float32. This test
// loads each directory through read_model_config + load_model_weights, runs our forward with
// positions 0..11 and a full mask, and requires max |ours - theirs| <= 1e-4. A fixture
// directory that has not been generated is skipped, naming the script.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "model/checkpoint_io.h"
#include "model/llama.h"
#include "model/safetensors.h"
#include "tests/common/llama_rows.h"

namespace caravan::model {
namespace {

namespace fs = std::filesystem;

constexpr double kTolerance = 1e-4;

const at::Tensor* find_tensor(const NamedTensors& tensors, const std::string& name) {
  for (const auto& [key, tensor] : tensors) {
    if (key == name) return &tensor;
  }
  return nullptr;
}

class HfFixture : public ::testing::TestWithParam<core::Architecture> {};

TEST_P(HfFixture, LogitsMatchTransformers) {
  const std::string name(core::enum_name(GetParam()));
  const fs::path dir = fs::path(CARAVAN_HF_FIXTURES_DIR) / name;
  if (!fs::exists(dir / "logits.safetensors")) {
    GTEST_SKIP() << dir.string() << " has no fixture: run `python3 tests/fixtures/hf/make_fixtures.py` "
                 << "(needs torch and transformers) to generate it";
  }
  const Result<core::TransformerConfig> config = read_model_config(dir);
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->architecture, GetParam());
  Llama model(*config);
  const Status loaded = load_model_weights(dir, model);
  ASSERT_TRUE(loaded.ok()) << loaded.to_string();
  model->eval();

  const Result<NamedTensors> reference = load_safetensors(dir / "logits.safetensors");
  ASSERT_TRUE(reference.ok()) << reference.status().to_string();
  const at::Tensor* input_ids = find_tensor(*reference, "input_ids");
  const at::Tensor* expected = find_tensor(*reference, "logits");
  ASSERT_NE(input_ids, nullptr);
  ASSERT_NE(expected, nullptr);
  ASSERT_EQ(input_ids->dim(), 2);
  const int64_t batch = input_ids->size(0);
  const int64_t steps = input_ids->size(1);
  ASSERT_EQ(expected->sizes(), (std::vector<int64_t>{batch, steps, config->vocab_size}));

  at::NoGradGuard no_grad;
  const at::Tensor tokens = input_ids->to(at::kLong);
  const at::Tensor logits = caravan::testing::row_logits(*model, tokens);
  const double max_diff = (logits - expected->to(at::kFloat)).abs().max().item<double>();
  EXPECT_LE(max_diff, kTolerance) << name << ": max |ours - transformers| = " << max_diff;
}

INSTANTIATE_TEST_SUITE_P(Architectures, HfFixture, ::testing::ValuesIn(core::kAllArchitectures),
                         [](const auto& info) { return std::string(core::enum_name(info.param)); });

} // namespace
} // namespace caravan::model
