#include "learner/chunked_logprobs.h"

#include <gtest/gtest.h>

#include "learner/train_step.h"
#include "model/logprobs.h"
#include "tests/learner/finite_difference.h"
#include "tests/learner/trainer_test_util.h"

namespace caravan::learner {
namespace {

// The reference computation: the full [B, T, V] logits, log_softmax and entropy.
TokenStatistics full_statistics(const at::Tensor& hidden, const at::Tensor& head, const at::Tensor& targets,
                                double temperature) {
  const at::Tensor logits = at::linear(hidden, head);
  const at::Tensor log_p = at::log_softmax(logits.to(at::promote_types(logits.scalar_type(), at::kFloat)) / temperature, -1);
  return {.logprobs = model::token_logprobs(logits, targets, temperature), .entropy = -(log_p.exp() * log_p).sum(-1)};
}

TEST(ChunkedTokenStatistics, EqualTheFullComputationInValueAndGradient) {
  at::manual_seed(11);
  const at::Tensor hidden = at::randn({2, 5, 8});
  const at::Tensor head = at::randn({13, 8});
  const at::Tensor targets = at::randint(13, {2, 5}, at::kLong);
  // Upstream gradients for both outputs, as a loss would send.
  const at::Tensor g = at::randn({2, 5});
  const at::Tensor h = at::randn({2, 5});
  const double temperature = 0.8;

  const at::Tensor full_hidden = hidden.clone().requires_grad_(true);
  const at::Tensor full_head = head.clone().requires_grad_(true);
  const TokenStatistics full = full_statistics(full_hidden, full_head, targets, temperature);
  ((full.logprobs * g).sum() + (full.entropy * h).sum()).backward();

  for (const int64_t chunk : {1, 3, 10, 1000}) {
    SCOPED_TRACE(chunk);
    const at::Tensor chunk_hidden = hidden.clone().requires_grad_(true);
    const at::Tensor chunk_head = head.clone().requires_grad_(true);
    const TokenStatistics chunked = chunked_token_statistics(chunk_hidden, chunk_head, targets, temperature, chunk);
    ((chunked.logprobs * g).sum() + (chunked.entropy * h).sum()).backward();
    EXPECT_TRUE(at::allclose(chunked.logprobs, full.logprobs, 1e-5, 1e-5));
    EXPECT_TRUE(at::allclose(chunked.entropy, full.entropy, 1e-5, 1e-5));
    EXPECT_TRUE(at::allclose(chunk_hidden.grad(), full_hidden.grad(), 1e-4, 1e-5));
    EXPECT_TRUE(at::allclose(chunk_head.grad(), full_head.grad(), 1e-4, 1e-5));
  }
}

TEST(ChunkedTokenStatistics, GradientsMatchFiniteDifferences) {
  at::manual_seed(12);
  const at::Tensor hidden = at::randn({1, 3, 4}, at::kDouble);
  const at::Tensor head = at::randn({6, 4}, at::kDouble);
  const at::Tensor targets = at::tensor({1, 5, 0}, at::kLong).view({1, 3});
  const at::Tensor g = at::tensor({0.3, -1.2, 0.7}, at::kDouble).view({1, 3});
  const at::Tensor h = at::tensor({-0.4, 0.9, 0.2}, at::kDouble).view({1, 3});
  const auto loss = [&](const at::Tensor& x, const at::Tensor& w) {
    const TokenStatistics s = chunked_token_statistics(x, w, targets, /*temperature=*/1.3, /*chunk_size=*/2);
    return (s.logprobs * g).sum() + (s.entropy * h).sum();
  };
  const at::Tensor x = hidden.clone().requires_grad_(true);
  const at::Tensor w = head.clone().requires_grad_(true);
  loss(x, w).backward();
  EXPECT_LT(testing::relative_error(
                x.grad(), testing::central_difference([&](const at::Tensor& p) { return loss(p, head).item<double>(); },
                                                      hidden)),
            1e-6);
  EXPECT_LT(testing::relative_error(
                w.grad(), testing::central_difference([&](const at::Tensor& p) { return loss(hidden, p).item<double>(); },
                                                      head)),
            1e-6);
}

// On the model: hidden states + head weight give the logprobs of the full forward, with tied and
// untied output heads.
TEST(ChunkedTokenStatistics, MatchTheModelsFullLogits) {
  for (const bool tied : {false, true}) {
    SCOPED_TRACE(tied);
    core::TransformerConfig config = testing::tiny_llama(0)->config();
    config.tie_word_embeddings = tied;
    at::manual_seed(4);
    model::Llama model(config);
    const SequenceBatch batch =
        pack_sequences({{.prompt = std::vector<int32_t>{3, 4, 5}, .completion = std::vector<int32_t>{6, 7}},
                        {.prompt = std::vector<int32_t>{8}, .completion = std::vector<int32_t>{9}}},
                       /*pad_id=*/0)
            .value();
    at::NoGradGuard no_grad;
    const at::Tensor full = model::token_logprobs(target_logits(*model, batch), batch.targets, 0.9);
    const TokenStatistics chunked = chunked_token_statistics(target_hidden_states(*model, batch),
                                                             output_head_weight(*model), batch.targets, 0.9, 3);
    EXPECT_TRUE(at::allclose(chunked.logprobs, full, 1e-5, 1e-5));
  }
}

} // namespace
} // namespace caravan::learner
