#include "model/activation_checkpoint.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

namespace caravan::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Keeps the block alive in the autograd context until the backward pass.
struct BlockHolder : public torch::CustomClassHolder {
  explicit BlockHolder(std::function<at::Tensor(const at::Tensor&)> f) : block(std::move(f)) {}
  std::function<at::Tensor(const at::Tensor&)> block;
};

struct CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, c10::intrusive_ptr<BlockHolder> holder) {
    // Function::forward runs without grad: no activation of the block is kept.
    at::Tensor output = holder->block(input);
    ctx->save_for_backward({input});
    ctx->saved_data["block"] = c10::IValue::make_capsule(std::move(holder));
    return output;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor input = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    const auto holder = c10::static_intrusive_pointer_cast<BlockHolder>(ctx->saved_data["block"].toCapsule());
    at::Tensor output;
    {
      at::AutoGradMode grad_mode(true);
      output = holder->block(input);
    }
    // Nothing in the block needs a gradient (a frozen copy run with grad mode on).
    if (!output.requires_grad()) return {at::Tensor(), at::Tensor()};
    // Reentrant backward: the parameters the block used receive their gradients here.
    torch::autograd::backward({output}, {grads[0]});
    return {input.grad(), at::Tensor()};
  }
};

} // namespace

at::Tensor checkpointed(const std::function<at::Tensor(const at::Tensor&)>& block, const at::Tensor& input) {
  if (!at::GradMode::is_enabled()) return block(input);
  // The input must carry a graph edge for the function's backward to run; a block whose input
  // needs no gradient but whose parameters do gets one through a detached, grad-requiring copy.
  const at::Tensor edge_input = input.requires_grad() ? input : input.detach().requires_grad_(true);
  return CheckpointFunction::apply(edge_input, c10::make_intrusive<BlockHolder>(block));
}

} // namespace caravan::model
