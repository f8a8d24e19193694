#include "model/activation_checkpoint.h"

#include <vector>

#include <gtest/gtest.h>

#include "model/batch_layout.h"
#include "model/llama.h"
#include "tests/common/tiny_transformer.h"

namespace caravan::model {
namespace {

// A block with a parameter of its own: y = tanh(x * w) @ v.
TEST(Checkpointed, GivesTheGradientsOfThePlainBlock) {
  at::manual_seed(5);
  const at::Tensor x0 = at::randn({3, 4}, at::kDouble);
  const at::Tensor w = at::randn({4}, at::kDouble).requires_grad_(true);
  const at::Tensor v = at::randn({4, 2}, at::kDouble).requires_grad_(true);
  const auto block = [w, v](const at::Tensor& x) { return at::tanh(x * w).mm(v); };
  const at::Tensor upstream = at::randn({3, 2}, at::kDouble);

  const at::Tensor x_plain = x0.clone().requires_grad_(true);
  (block(x_plain) * upstream).sum().backward();
  const std::vector<at::Tensor> plain = {x_plain.grad().clone(), w.grad().clone(), v.grad().clone()};
  w.grad().zero_();
  v.grad().zero_();

  const at::Tensor x_checkpointed = x0.clone().requires_grad_(true);
  const at::Tensor y = checkpointed(block, x_checkpointed);
  EXPECT_TRUE(at::equal(y, block(x0)));
  (y * upstream).sum().backward();
  EXPECT_TRUE(at::allclose(x_checkpointed.grad(), plain[0], 0, 1e-14));
  EXPECT_TRUE(at::allclose(w.grad(), plain[1], 0, 1e-14));
  EXPECT_TRUE(at::allclose(v.grad(), plain[2], 0, 1e-14));
}

// The decoder stack with and without checkpointing: same logits, same gradient for every
// parameter (the rerun computes exactly the same layer).
TEST(Checkpointed, TheLlamaStackGivesTheSameGradients) {
  const core::TransformerConfig config = caravan::testing::tiny_transformer_config(/*vocab_size=*/50);
  // Two sequences of 4 and 3 tokens packed into one forward.
  const at::Tensor tokens = at::tensor({3, 7, 9, 11, 4, 2, 8}, at::kLong);
  const BatchLayout layout = BatchLayout::packed({4, 3}, at::kCPU);
  const auto gradients = [&](bool checkpointing) {
    at::manual_seed(1234);
    Llama model(config);
    model->set_gradient_checkpointing(checkpointing);
    const at::Tensor logits = model->forward(tokens, layout);
    at::manual_seed(7);
    (logits * at::randn(logits.sizes())).sum().backward();
    std::vector<at::Tensor> grads = {logits.detach()};
    for (const at::Tensor& p : model->parameters()) grads.push_back(p.grad().clone());
    return grads;
  };
  const std::vector<at::Tensor> plain = gradients(false);
  const std::vector<at::Tensor> checkpointing = gradients(true);
  ASSERT_EQ(plain.size(), checkpointing.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_TRUE(at::allclose(checkpointing[i], plain[i], 1e-5, 1e-6)) << "tensor " << i;
  }
}

} // namespace
} // namespace caravan::model
