#include "model/attention.h"

#include <cmath>
#include <limits>
#include <tuple>

#include "core/status.h"
#include "model/linear.h"

namespace caravan::model {
namespace {

// [B, H_kv, S, D] -> [B, H_kv * groups, S, D]: query head h reads key/value head h / groups.
at::Tensor repeat_kv(const at::Tensor& x, int64_t groups) {
  if (groups == 1) return x;
  const auto sizes = x.sizes();
  return x.unsqueeze(2)
      .expand({sizes[0], sizes[1], groups, sizes[2], sizes[3]})
      .reshape({sizes[0], sizes[1] * groups, sizes[2], sizes[3]});
}

} // namespace

AttentionImpl::AttentionImpl(const core::TransformerConfig& config, int64_t layer)
    : layer_(layer),
      num_heads_(config.num_heads),
      num_kv_heads_(config.num_kv_heads),
      head_dim_(config.head_dim()),
      qk_norm_kind_(config.qk_norm()) {
  CARAVAN_CHECK(num_heads_ > 0 && num_kv_heads_ > 0 && num_heads_ % num_kv_heads_ == 0,
                "num_kv_heads (", num_kv_heads_, ") must divide num_heads (", num_heads_, ")");
  CARAVAN_CHECK(head_dim_ > 0 && (config.explicit_head_dim > 0 || head_dim_ * num_heads_ == config.hidden_size),
                "hidden_size (", config.hidden_size, ") must be a multiple of num_heads (", num_heads_,
                ") unless head_dim is explicit");
  const bool bias = config.qkv_bias();
  q_proj_ = register_module("q_proj", Linear(config.hidden_size, num_heads_ * head_dim_, bias));
  k_proj_ = register_module("k_proj", Linear(config.hidden_size, num_kv_heads_ * head_dim_, bias));
  v_proj_ = register_module("v_proj", Linear(config.hidden_size, num_kv_heads_ * head_dim_, bias));
  o_proj_ = register_module("o_proj", Linear(num_heads_ * head_dim_, config.hidden_size, /*bias=*/false));
  switch (qk_norm_kind_) {
    case core::QkNorm::kNone: break;
    case core::QkNorm::kPerHead:
      q_norm_ = register_module("q_norm", RMSNorm(head_dim_, config.rms_norm_eps));
      k_norm_ = register_module("k_norm", RMSNorm(head_dim_, config.rms_norm_eps));
      break;
    case core::QkNorm::kFull:
      q_norm_ = register_module("q_norm",
                                RMSNorm(num_heads_ * head_dim_, config.rms_norm_eps, RmsNormWeighting::kBeforeCast));
      k_norm_ = register_module("k_norm",
                                RMSNorm(num_kv_heads_ * head_dim_, config.rms_norm_eps, RmsNormWeighting::kBeforeCast));
      break;
  }
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, const RopeTables& rope, const at::Tensor& allowed,
                                  KvCache* cache) {
  const int64_t batch = x.size(0);
  const int64_t steps = x.size(1);
  // [B, T, H * D] -> [B, H, T, D]
  auto split_heads = [&](const at::Tensor& t, int64_t heads) {
    return t.view({batch, steps, heads, head_dim_}).transpose(1, 2);
  };
  at::Tensor q = q_proj_(x);
  at::Tensor k = k_proj_(x);
  if (qk_norm_kind_ == core::QkNorm::kFull) {
    q = q_norm_(q);
    k = k_norm_(k);
  }
  q = split_heads(q, num_heads_);
  k = split_heads(k, num_kv_heads_);
  if (qk_norm_kind_ == core::QkNorm::kPerHead) {
    q = q_norm_(q);
    k = k_norm_(k);
  }
  q = apply_rope(q, rope);
  k = apply_rope(k, rope);
  at::Tensor v = split_heads(v_proj_(x), num_kv_heads_);
  if (cache != nullptr) std::tie(k, v) = cache->append(layer_, k, v);
  CARAVAN_CHECK(allowed.dim() == 4 && allowed.size(0) == batch && allowed.size(2) == steps &&
                    allowed.size(3) == k.size(2),
                "attention mask ", allowed.sizes(), " does not match ", steps, " queries and ", k.size(2), " keys");

  const int64_t groups = num_heads_ / num_kv_heads_;
  // Scores, mask and softmax in float32 whatever the model dtype (as Hugging Face does).
  const at::Tensor scores = at::matmul(q, repeat_kv(k, groups).transpose(2, 3)).to(at::kFloat) /
                            std::sqrt(static_cast<double>(head_dim_));
  // A finite fill keeps fully masked rows finite (uniform weights) instead of NaN, and gives
  // masked keys an exact zero weight whenever any key is allowed.
  const at::Tensor masked = scores.masked_fill(allowed.logical_not(), std::numeric_limits<float>::lowest());
  const at::Tensor weights = at::softmax(masked, -1).to(q.scalar_type());
  const at::Tensor context = at::matmul(weights, repeat_kv(v, groups));  // [B, H, T, D]
  return o_proj_(context.transpose(1, 2).reshape({batch, steps, num_heads_ * head_dim_}));
}

} // namespace caravan::model
