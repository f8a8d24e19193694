#include "learner/value_model.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/read_file.h"
#include "learner/train_step.h"
#include "model/checkpoint_io.h"
#include "model/safetensors.h"
#include "tests/common/temp_dir.h"
#include "tests/learner/trainer_test_util.h"

namespace caravan::learner {
namespace {

// Two right-padded rows: prompt {10, 11, 12} + completion {50, 51}, and {20, 21} + {60, 61, 62}.
SequenceBatch two_sequences(int32_t second_completion_first = 60) {
  const std::vector<int32_t> first_prompt = {10, 11, 12}, first_completion = {50, 51};
  const std::vector<int32_t> second_prompt = {20, 21}, second_completion = {second_completion_first, 61, 62};
  return pack_sequences({{.prompt = first_prompt, .completion = first_completion},
                         {.prompt = second_prompt, .completion = second_completion}},
                        /*pad_id=*/0)
      .value();
}

// hidden states of `policy` that predict the batch's targets, times `head` [1, hidden].
at::Tensor values_by_hand(model::Llama& policy, const SequenceBatch& batch, const at::Tensor& head) {
  at::NoGradGuard no_grad;
  return at::matmul(target_hidden_states(*policy, batch), head.squeeze(0));
}

void set_random_head(ValueModelImpl& value, uint64_t seed) {
  at::manual_seed(seed);
  at::NoGradGuard no_grad;
  value.head()->weight.copy_(at::randn_like(value.head()->weight));
}

TEST(ValueModel, FromThePolicyStartsAtZeroWithThePolicysHiddenStates) {
  model::Llama policy = testing::tiny_llama(/*seed=*/0);
  ValueModel value = value_model_from_policy(policy);
  const SequenceBatch batch = two_sequences();
  const at::Tensor zero_head = value->forward(batch);
  // [B, L-1] like the targets, float32, V = 0 everywhere with the zero head.
  EXPECT_EQ(zero_head.sizes(), batch.targets.sizes());
  EXPECT_EQ(zero_head.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(zero_head, at::zeros_like(zero_head)));
  // The body never holds an output head, and its weights train.
  EXPECT_EQ(value->named_parameters().find("body.lm_head.weight"), nullptr);
  for (const at::Tensor& parameter : value->parameters()) EXPECT_TRUE(parameter.requires_grad());

  set_random_head(*value, /*seed=*/1);
  EXPECT_TRUE(at::allclose(value->forward(batch), values_by_hand(policy, batch, value->head()->weight), 1e-5, 1e-6));
  // A deep copy: training the value model leaves the policy as it was.
  const std::vector<at::Tensor> before = testing::snapshot(*policy);
  value->forward(batch).sum().backward();
  {
    at::NoGradGuard no_grad;
    for (at::Tensor& parameter : value->parameters()) parameter.add_(parameter.grad(), /*alpha=*/0.1);
  }
  EXPECT_TRUE(testing::same_weights(*policy, before));
}

// V of completion token t is read where token t is predicted: changing token t leaves V_t as it
// was and changes the values after it.
TEST(ValueModel, TheValueOfATokenComesFromTheStateBeforeIt) {
  model::Llama policy = testing::tiny_llama(/*seed=*/0);
  ValueModel value = value_model_from_policy(policy);
  set_random_head(*value, /*seed=*/2);
  at::NoGradGuard no_grad;
  const at::Tensor original = value->forward(two_sequences());
  const at::Tensor changed = value->forward(two_sequences(/*second_completion_first=*/99));
  // Row 1: prompt {20, 21}; the completion's first token is target column 1, predicted by the
  // hidden state of token 21 (column 1).
  const SequenceBatch batch = two_sequences();
  EXPECT_EQ(batch.targets[1][1].item<int64_t>(), 60);
  EXPECT_EQ(batch.loss_mask[1][1].item<float>(), 1.0f);
  EXPECT_EQ(batch.loss_mask[1][0].item<float>(), 0.0f);
  EXPECT_TRUE(at::equal(original[1].slice(0, 0, 2), changed[1].slice(0, 0, 2)));
  EXPECT_FALSE(at::allclose(original[1][2], changed[1][2]));
  EXPECT_FALSE(at::allclose(original[1][3], changed[1][3]));
  EXPECT_TRUE(at::equal(original[0], changed[0]));
}

class ValueModelDirectoryTest : public ::testing::Test {
 protected:
  // A tiny causal LM's directory as save_model writes it (config.json + model.safetensors).
  void write_causal_lm() { ASSERT_TRUE(model::save_model(dir_, policy_, policy_->config()).ok()); }

  // The same body as a LlamaForSequenceClassification reward model: "model.*" + score.weight.
  void write_classifier(const at::Tensor& score) {
    write_causal_lm();
    edit_config([](nlohmann::json& json) {
      json["architectures"] = {"LlamaForSequenceClassification"};
      json["num_labels"] = 1;
    });
    model::NamedTensors tensors;
    for (const auto& item : policy_->named_parameters()) {
      if (item.key() != "lm_head.weight") tensors.emplace_back(item.key(), item.value().detach());
    }
    tensors.emplace_back("score.weight", score);
    ASSERT_TRUE(model::save_safetensors(dir_ / "model.safetensors", tensors, {{"format", "pt"}}).ok());
  }

  template <class Edit>
  void edit_config(Edit edit) {
    nlohmann::json json = nlohmann::json::parse(core::read_file(dir_ / "config.json", "config").value());
    edit(json);
    ASSERT_TRUE(core::write_file_atomically(dir_ / "config.json", json.dump()).ok());
  }

  model::Llama policy_ = testing::tiny_llama(/*seed=*/3);
  caravan::testing::TempDir root_;
  std::filesystem::path dir_ = root_.path() / "reward_model";
};

TEST_F(ValueModelDirectoryTest, LoadsARewardModelsBodyAndScoreHead) {
  at::manual_seed(4);
  const at::Tensor score = at::randn({1, policy_->config().hidden_size});
  write_classifier(score);
  Result<ValueModel> value = load_value_model(dir_, policy_->config().vocab_size, at::kFloat);
  ASSERT_TRUE(value.ok()) << value.status().to_string();
  EXPECT_TRUE(at::equal((*value)->head()->weight, score));
  const SequenceBatch batch = two_sequences();
  at::NoGradGuard no_grad;
  EXPECT_TRUE(at::allclose((*value)->forward(batch), values_by_hand(policy_, batch, score), 1e-5, 1e-6));
}

TEST_F(ValueModelDirectoryTest, ADirectoryWithoutScoreHeadStartsAtZero) {
  write_causal_lm();  // has lm_head.weight, which the value model does not use
  Result<ValueModel> value = load_value_model(dir_, policy_->config().vocab_size, at::kFloat);
  ASSERT_TRUE(value.ok()) << value.status().to_string();
  EXPECT_TRUE(at::equal((*value)->head()->weight, at::zeros({1, policy_->config().hidden_size})));
  set_random_head(**value, /*seed=*/5);
  const SequenceBatch batch = two_sequences();
  at::NoGradGuard no_grad;
  EXPECT_TRUE(at::allclose((*value)->forward(batch), values_by_hand(policy_, batch, (*value)->head()->weight), 1e-5,
                           1e-6));
}

TEST_F(ValueModelDirectoryTest, ErrorsNameTheKeyOrTensor) {
  write_classifier(at::zeros({1, policy_->config().hidden_size}));
  Status status = load_value_model(dir_, policy_->config().vocab_size + 1, at::kFloat).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("config.json: key 'vocab_size'"), std::string::npos) << status.message();

  edit_config([](nlohmann::json& json) { json["num_labels"] = 2; });
  status = load_value_model(dir_, policy_->config().vocab_size, at::kFloat).status();
  EXPECT_NE(status.message().find("key 'num_labels'"), std::string::npos) << status.message();

  write_classifier(at::zeros({2, policy_->config().hidden_size}));
  status = load_value_model(dir_, policy_->config().vocab_size, at::kFloat).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("tensor 'score.weight'"), std::string::npos) << status.message();

  EXPECT_EQ(load_value_model(root_.path() / "missing", 1, at::kFloat).status().code(), StatusCode::kNotFound);
}

TEST(ValueModel, ParametersFileRoundTrips) {
  model::Llama policy = testing::tiny_llama(/*seed=*/0);
  ValueModel value = value_model_from_policy(policy);
  set_random_head(*value, /*seed=*/6);
  caravan::testing::TempDir root;
  ASSERT_TRUE(save_value_model_parameters(root.path() / "value.safetensors", *value).ok());
  ValueModel restored = value_model_from_policy(testing::tiny_llama(/*seed=*/7));
  ASSERT_TRUE(load_value_model_parameters(root.path() / "value.safetensors", *restored).ok());
  const auto expected = value->named_parameters();
  for (const auto& item : restored->named_parameters()) EXPECT_TRUE(at::equal(item.value(), expected[item.key()]));
}

}  // namespace
} // namespace caravan::learner
