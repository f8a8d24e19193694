#include "model/attention.h"

#include <cmath>
#include <limits>
#include <utility>

#include "core/status.h"
#include "model/linear.h"

namespace caravan::model {
namespace {

// softmax(q k^T / sqrt(head_dim), masked) v for one attention group. q: [G, H, T, D]; k, v:
// [G, H_kv, S, D]; allowed: [G, 1, T, S] bool. Query head h reads key/value head h / (H / H_kv):
// the query heads sharing a key/value head are stacked along the query axis, so the keys are
// never copied per head. Scores, mask and softmax in float32 whatever the dtype (as Hugging Face
// does). Every query has at least one allowed key (itself). Returns [G, H, T, D].
at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& allowed) {
  const int64_t batch = q.size(0);
  const int64_t heads = q.size(1);
  const int64_t steps = q.size(2);
  const int64_t head_dim = q.size(3);
  const int64_t kv_heads = k.size(1);
  const int64_t keys = k.size(2);
  const int64_t groups = heads / kv_heads;
  const at::Tensor stacked = q.reshape({batch, kv_heads, groups * steps, head_dim});
  const at::Tensor scores = at::matmul(stacked, k.transpose(2, 3)).to(at::kFloat) / std::sqrt(static_cast<double>(head_dim));
  // [G, H_kv, groups, T, S] against the mask [G, 1, 1, T, S]. A finite fill gives masked keys an
  // exact zero weight.
  const at::Tensor masked = scores.view({batch, kv_heads, groups, steps, keys})
                                .masked_fill(allowed.unsqueeze(1).logical_not(), std::numeric_limits<float>::lowest());
  const at::Tensor weights = at::softmax(masked, -1).to(q.scalar_type()).view({batch, kv_heads, groups * steps, keys});
  return at::matmul(weights, v).view({batch, heads, steps, head_dim});
}

// Rows of `flat` [N, heads, D] that a group's members own, as [G, heads, T, D].
at::Tensor group_rows(const at::Tensor& flat, const BatchLayout::Group& group) {
  const int64_t members = static_cast<int64_t>(group.members.size());
  const at::Tensor rows = group.token_index.defined()
                              ? flat.index_select(0, group.token_index)
                              : flat.slice(0, group.first_token, group.first_token + members * group.new_tokens);
  return rows.view({members, group.new_tokens, flat.size(1), flat.size(2)}).transpose(1, 2);
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

at::Tensor AttentionImpl::forward(const at::Tensor& x, const RopeTables& rope, const BatchLayout& layout,
                                  KvMemory* memory) {
  const int64_t tokens = x.size(0);
  CARAVAN_CHECK(x.dim() == 2 && tokens == layout.num_tokens(), "attention input ", x.sizes(), " does not match the layout's ",
                layout.num_tokens(), " tokens");
  CARAVAN_CHECK(memory != nullptr || !layout.reads_memory(), "attention: the layout reads past keys but no KV memory was given");
  at::Tensor q = q_proj_(x);
  at::Tensor k = k_proj_(x);
  if (qk_norm_kind_ == core::QkNorm::kFull) {
    q = q_norm_(q);
    k = k_norm_(k);
  }
  q = q.view({tokens, num_heads_, head_dim_});
  k = k.view({tokens, num_kv_heads_, head_dim_});
  if (qk_norm_kind_ == core::QkNorm::kPerHead) {
    q = q_norm_(q);
    k = k_norm_(k);
  }
  q = apply_rope(q, rope);
  k = apply_rope(k, rope);
  const at::Tensor v = v_proj_(x).view({tokens, num_kv_heads_, head_dim_});
  if (memory != nullptr) memory->store(layer_, k, v);

  const auto& groups = layout.groups();
  // [G, H, T, D] -> [G * T, H * D]
  const auto merge_heads = [&](const at::Tensor& context) {
    return context.transpose(1, 2).reshape({-1, num_heads_ * head_dim_});
  };
  const auto group_context = [&](size_t g) {
    const BatchLayout::Group& group = groups[g];
    const auto [keys, values] = memory != nullptr ? memory->read(layer_, g)
                                                  : std::pair{group_rows(k, group), group_rows(v, group)};
    return merge_heads(attend(group_rows(q, group), keys, values, group.allowed));
  };
  at::Tensor context;
  if (groups.size() == 1 && !groups.front().token_index.defined()) {
    context = group_context(0);  // one group over every token in order (a training batch, a decode step)
  } else {
    context = at::empty({tokens, num_heads_ * head_dim_}, q.options());
    for (size_t g = 0; g < groups.size(); ++g) {
      const BatchLayout::Group& group = groups[g];
      if (group.token_index.defined()) {
        context.index_copy_(0, group.token_index, group_context(g));
      } else {
        const int64_t count = static_cast<int64_t>(group.members.size()) * group.new_tokens;
        context.slice(0, group.first_token, group.first_token + count).copy_(group_context(g));
      }
    }
  }
  return o_proj_(context);
}

} // namespace caravan::model
