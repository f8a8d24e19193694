#include "learner/chunked_logprobs.h"

#include <algorithm>

#include <torch/csrc/autograd/custom_function.h>

#include "core/status.h"

namespace caravan::learner {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Rows [begin, end) of a [N, ...] tensor.
at::Tensor rows(const at::Tensor& t, int64_t begin, int64_t end) { return t.slice(/*dim=*/0, begin, end); }

// Half types compute in float32; float32 and float64 (gradient checks) keep their precision.
at::ScalarType compute_type(const at::Tensor& hidden) { return at::promote_types(hidden.scalar_type(), at::kFloat); }

// z for rows [begin, end): [rows, V] in compute_type.
at::Tensor scaled_logits(const at::Tensor& hidden, const at::Tensor& weight, int64_t begin, int64_t end, double scale) {
  return at::linear(rows(hidden, begin, end), weight).to(compute_type(hidden)) / scale;
}

// Inputs: hidden [N,H], weight [V,H], targets [N]; outputs: logprobs [N], entropy [N].
struct ChunkedStatisticsFunction : public torch::autograd::Function<ChunkedStatisticsFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                               const at::Tensor& targets, double scale, int64_t chunk_size) {
    const int64_t n = hidden.size(0);
    at::Tensor logprobs = at::empty({n}, hidden.options().dtype(compute_type(hidden)));
    at::Tensor entropy = at::empty_like(logprobs);
    at::Tensor log_normalizer = at::empty_like(logprobs);
    for (int64_t begin = 0; begin < n; begin += chunk_size) {
      const int64_t end = std::min(n, begin + chunk_size);
      const at::Tensor z = scaled_logits(hidden, weight, begin, end, scale);
      const at::Tensor log_z = at::logsumexp(z, /*dim=*/{-1});
      const at::Tensor p = at::softmax(z, -1);
      rows(log_normalizer, begin, end).copy_(log_z);
      rows(logprobs, begin, end).copy_(z.gather(-1, rows(targets, begin, end).unsqueeze(-1)).squeeze(-1) - log_z);
      rows(entropy, begin, end).copy_(log_z - (p * z).sum(-1));
    }
    ctx->save_for_backward({hidden, weight, targets, log_normalizer, entropy});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["chunk_size"] = chunk_size;
    return {logprobs, entropy};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor& hidden = saved[0];
    const at::Tensor& weight = saved[1];
    const at::Tensor& targets = saved[2];
    const at::Tensor& log_normalizer = saved[3];
    const at::Tensor& entropy = saved[4];
    const double scale = ctx->saved_data["scale"].toDouble();
    const int64_t chunk_size = ctx->saved_data["chunk_size"].toInt();
    // Gradients are materialised (zeros for an unused output), so both are defined.
    const at::Tensor& grad_logprobs = grads[0];
    const at::Tensor& grad_entropy = grads[1];
    const bool want_hidden = ctx->needs_input_grad(0);
    const bool want_weight = ctx->needs_input_grad(1);
    const at::Tensor weight_wide = weight.to(compute_type(hidden));
    at::Tensor grad_hidden = want_hidden ? at::empty_like(hidden) : at::Tensor();
    at::Tensor grad_weight = want_weight ? at::zeros_like(weight_wide) : at::Tensor();
    const int64_t n = hidden.size(0);
    for (int64_t begin = 0; begin < n; begin += chunk_size) {
      const int64_t end = std::min(n, begin + chunk_size);
      const at::Tensor log_p = scaled_logits(hidden, weight, begin, end, scale) - rows(log_normalizer, begin, end).unsqueeze(-1);
      const at::Tensor p = at::exp(log_p);
      const at::Tensor g = rows(grad_logprobs, begin, end).unsqueeze(-1);
      const at::Tensor h = rows(grad_entropy, begin, end).unsqueeze(-1);
      at::Tensor grad_z = -p * (g + h * (log_p + rows(entropy, begin, end).unsqueeze(-1)));
      grad_z.scatter_add_(-1, rows(targets, begin, end).unsqueeze(-1), g);
      grad_z.div_(scale);
      if (want_hidden) rows(grad_hidden, begin, end).copy_(grad_z.mm(weight_wide));
      if (want_weight) grad_weight.add_(grad_z.t().mm(rows(hidden, begin, end).to(weight_wide.scalar_type())));
    }
    return {grad_hidden, want_weight ? grad_weight.to(weight.scalar_type()) : at::Tensor(), at::Tensor(), at::Tensor(),
            at::Tensor()};
  }
};

} // namespace

TokenStatistics chunked_token_statistics(const at::Tensor& hidden, const at::Tensor& head_weight,
                                         const at::Tensor& targets, double temperature, int64_t chunk_size) {
  CARAVAN_CHECK(hidden.dim() == 3 && head_weight.dim() == 2 && hidden.size(2) == head_weight.size(1),
                "chunked_token_statistics: hidden ", hidden.sizes(), " and head weight ", head_weight.sizes(),
                " disagree");
  CARAVAN_CHECK(targets.scalar_type() == at::kLong && targets.dim() == 2 && targets.size(0) == hidden.size(0) &&
                    targets.size(1) == hidden.size(1),
                "targets must be int64 [", hidden.size(0), ", ", hidden.size(1), "], got ", targets.scalar_type(), " ",
                targets.sizes());
  CARAVAN_CHECK(chunk_size >= 1, "chunk_size must be >= 1, got ", chunk_size);
  const double scale = temperature > 0.0 ? temperature : 1.0;
  const int64_t batch = hidden.size(0);
  const int64_t steps = hidden.size(1);
  const variable_list out = ChunkedStatisticsFunction::apply(hidden.reshape({batch * steps, hidden.size(2)}),
                                                             head_weight, targets.reshape({batch * steps}), scale,
                                                             chunk_size);
  return {.logprobs = out[0].view({batch, steps}), .entropy = out[1].view({batch, steps})};
}

} // namespace caravan::learner
