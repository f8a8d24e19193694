#include "actors/rollout/sampler.h"

#include <algorithm>
#include <limits>
#include <map>

#include <ATen/core/grad_mode.h>

#include "core/hash.h"
#include "core/status.h"
#include "model/logprobs.h"

namespace caravan::rollout {
namespace {

// Rows that go through the same steps: one temperature (0 = greedy), truncating or not.
struct GroupKey {
  double temperature;
  bool truncates;
  auto operator<=>(const GroupKey&) const = default;
};

template <typename T>
at::Tensor column(const std::vector<T>& values, at::ScalarType type, const at::Device& device) {
  return at::tensor(at::ArrayRef<T>(values), at::TensorOptions().dtype(type)).to(device).unsqueeze(1);
}

// (row, token) entries of a penalty and the value each entry uses, flattened for index_select.
struct PenaltyEntries {
  std::vector<int64_t> positions;  // row * V + token
  std::vector<float> values;
  void add(int64_t row, int32_t token, int64_t vocab, double value) {
    CARAVAN_CHECK(token >= 0 && token < vocab, "sample_tokens: token ", token, " outside the ", vocab, " logits");
    positions.push_back(row * vocab + token);
    values.push_back(static_cast<float>(value));
  }
};

// Steps 1-2 of the file comment: float32 logits [N, V] with every row's penalties applied (a
// copy; `logits` itself is not modified).
at::Tensor penalised_logits(const at::Tensor& logits, std::span<SequenceSampler* const> rows) {
  const int64_t vocab = logits.size(1);
  PenaltyEntries repetition;
  PenaltyEntries subtracted;
  for (size_t i = 0; i < rows.size(); ++i) {
    const SamplingParams& params = rows[i]->params();
    const auto row = static_cast<int64_t>(i);
    if (params.repetition_penalty != 1.0) {
      for (const int32_t token : rows[i]->repetition_tokens()) repetition.add(row, token, vocab, params.repetition_penalty);
    }
    if (params.presence_penalty != 0.0 || params.frequency_penalty != 0.0) {
      for (const auto& [token, count] : rows[i]->generated_counts()) {
        subtracted.add(row, token, vocab,
                       params.presence_penalty + params.frequency_penalty * static_cast<double>(count));
      }
    }
  }
  at::Tensor out = logits.to(at::kFloat);
  if (repetition.positions.empty() && subtracted.positions.empty()) return out;
  out = out.contiguous().clone();
  at::Tensor flat = out.view({-1});
  const auto apply = [&](const PenaltyEntries& entries, bool multiplicative) {
    if (entries.positions.empty()) return;
    const at::Tensor positions = at::tensor(at::ArrayRef<int64_t>(entries.positions)).to(out.device());
    const at::Tensor values = at::tensor(at::ArrayRef<float>(entries.values)).to(out.device());
    const at::Tensor current = flat.index_select(0, positions);
    const at::Tensor updated =
        multiplicative ? at::where(current > 0, current / values, current * values) : current - values;
    flat.index_copy_(0, positions, updated);
  };
  apply(repetition, /*multiplicative=*/true);
  apply(subtracted, /*multiplicative=*/false);
  return out;
}

// Index of the first position whose cumulative probability exceeds u * total, per row: inverse-CDF
// sampling of `probs` [G, V] (any order; zeros are never drawn) with uniforms [G, 1] in
// [0, 1 - 2^-53]. u * total < total, so the position exists and has a non-zero probability.
at::Tensor inverse_cdf(const at::Tensor& probs, const at::Tensor& uniforms) {
  const at::Tensor cdf = probs.to(at::kDouble).cumsum(-1);
  const at::Tensor target = uniforms * cdf.narrow(1, cdf.size(1) - 1, 1);
  return (cdf <= target).sum(-1, /*keepdim=*/true).clamp_max(probs.size(1) - 1);
}

// Steps 4-8 of the file comment for `members` of `rows`, which share `temperature` (> 0), with
// one uniform number per member: the drawn token ids [G] (int64, on the logits' device).
at::Tensor draw(const at::Tensor& logits, double temperature, bool truncates, const std::vector<int64_t>& members,
                std::span<SequenceSampler* const> rows, const std::vector<double>& uniforms) {
  const at::Device device = logits.device();
  const at::Tensor u = column(uniforms, at::kDouble, device);
  const at::Tensor probs = at::softmax(logits / temperature, -1);
  if (!truncates) return inverse_cdf(probs, u).squeeze(1);

  const int64_t vocab = logits.size(1);
  std::vector<int64_t> top_k;
  std::vector<float> top_p;
  std::vector<float> min_p;
  for (const int64_t m : members) {
    const SamplingParams& params = rows[static_cast<size_t>(m)]->params();
    top_k.push_back(params.top_k > 0 ? std::min(params.top_k, vocab) : vocab);
    // A row without top-p keeps every token whatever the rounding of the cumulative sum.
    top_p.push_back(params.top_p < 1.0 ? static_cast<float>(params.top_p) : std::numeric_limits<float>::infinity());
    min_p.push_back(static_cast<float>(params.min_p));
  }
  const at::Tensor k = column(top_k, at::kLong, device);
  const auto [sorted, order] = probs.sort(/*dim=*/-1, /*descending=*/true);
  const at::Tensor cumulative = sorted.cumsum(-1);
  // Top-p on the top-k distribution renormalised: the mass before a token, over the top-k mass.
  const at::Tensor top_k_mass = cumulative.gather(1, k - 1);
  const at::Tensor keep = (at::arange(vocab, at::TensorOptions().dtype(at::kLong).device(device)).unsqueeze(0) < k) &
                          ((cumulative - sorted) < column(top_p, at::kFloat, device) * top_k_mass) &
                          (sorted >= column(min_p, at::kFloat, device) * sorted.narrow(1, 0, 1));
  // Every rule keeps a prefix of the sorted tokens, at least the most likely one.
  return order.gather(1, inverse_cdf(sorted.masked_fill(keep.logical_not(), 0.0), u)).squeeze(1);
}

}  // namespace

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStopToken: return "stop";
    case FinishReason::kStopString: return "stop_string";
    case FinishReason::kLength: return "length";
  }
  CARAVAN_CHECK(false, "finish_reason_name: unknown reason ", static_cast<int>(reason));
  return "";
}

SequenceSampler::SequenceSampler(SamplingParams params, std::span<const int32_t> prompt, const TokenText* token_text)
    : params_(std::move(params)), token_text_(token_text), stop_strings_(params_.stop_strings) {
  const Status valid = params_.validate();
  CARAVAN_CHECK(valid.ok(), "SequenceSampler: ", valid.message());
  CARAVAN_CHECK(params_.stop_strings.empty() || token_text_ != nullptr, "SequenceSampler: stop strings without token text");
  if (params_.repetition_penalty != 1.0) {
    for (const int32_t token : prompt) {
      if (seen_set_.insert(token).second) seen_.push_back(token);
    }
  }
}

double SequenceSampler::next_uniform() {
  // SplitMix64's stream: the draw-th output depends only on the seed and the draw count.
  const uint64_t bits = core::splitmix64(params_.seed + draws_++ * 0x9e3779b97f4a7c15ULL);
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

bool SequenceSampler::truncates() const { return params_.top_k > 0 || params_.top_p < 1.0 || params_.min_p > 0.0; }

void SequenceSampler::record(int32_t token) {
  CARAVAN_CHECK(!finished(), "SequenceSampler: token after the sequence finished");
  generated_.push_back(token);
  if (params_.repetition_penalty != 1.0 && seen_set_.insert(token).second) seen_.push_back(token);
  if (params_.presence_penalty != 0.0 || params_.frequency_penalty != 0.0) ++generated_counts_[token];
  if (std::find(params_.stop_ids.begin(), params_.stop_ids.end(), token) != params_.stop_ids.end()) {
    finish_reason_ = FinishReason::kStopToken;
  } else if (!stop_strings_.empty() && stop_strings_.append(token_text_->bytes(token))) {
    finish_reason_ = FinishReason::kStopString;
  } else if (static_cast<int64_t>(generated_.size()) >= params_.max_new_tokens) {
    finish_reason_ = FinishReason::kLength;
  }
}

std::vector<SampledToken> sample_tokens(const at::Tensor& logits, std::span<SequenceSampler* const> rows) {
  CARAVAN_CHECK(logits.dim() == 2 && logits.size(0) == static_cast<int64_t>(rows.size()), "sample_tokens: logits ",
                logits.sizes(), " for ", rows.size(), " rows");
  at::NoGradGuard no_grad;
  std::map<GroupKey, std::vector<int64_t>> groups;
  for (size_t i = 0; i < rows.size(); ++i) {
    CARAVAN_CHECK(!rows[i]->finished(), "sample_tokens: row ", i, " already finished");
    const SamplingParams& params = rows[i]->params();
    groups[{params.temperature, params.temperature > 0 && rows[i]->truncates()}].push_back(static_cast<int64_t>(i));
  }
  const at::Tensor penalised = penalised_logits(logits, rows);
  std::vector<SampledToken> out(rows.size());
  for (const auto& [key, members] : groups) {
    const bool whole_batch = members.size() == rows.size();
    const at::Tensor index = whole_batch ? at::Tensor() : at::tensor(at::ArrayRef<int64_t>(members)).to(logits.device());
    const auto take = [&](const at::Tensor& all) { return whole_batch ? all : all.index_select(0, index); };
    const at::Tensor log_probs = model::scaled_log_softmax(take(logits), key.temperature);
    const at::Tensor group_logits = take(penalised);
    at::Tensor tokens;
    if (key.temperature > 0) {
      std::vector<double> uniforms;
      uniforms.reserve(members.size());
      for (const int64_t m : members) uniforms.push_back(rows[static_cast<size_t>(m)]->next_uniform());
      tokens = draw(group_logits, key.temperature, key.truncates, members, rows, uniforms);
    } else {
      tokens = group_logits.argmax(-1);
    }
    const at::Tensor token_logprobs = log_probs.gather(1, tokens.unsqueeze(1)).squeeze(1);
    int64_t top_count = 0;
    for (const int64_t m : members) top_count = std::max(top_count, rows[static_cast<size_t>(m)]->params().top_logprobs);
    top_count = std::min(top_count, logits.size(1));
    // [G, top_count] on the host, or [G, 0] when no member asks for top logprobs.
    at::Tensor top_values = at::empty({static_cast<int64_t>(members.size()), 0}, at::kFloat);
    at::Tensor top_tokens = at::empty({static_cast<int64_t>(members.size()), 0}, at::kLong);
    if (top_count > 0) {
      std::tie(top_values, top_tokens) = log_probs.topk(top_count, /*dim=*/-1);
      top_values = top_values.to(at::kCPU, at::kFloat);
      top_tokens = top_tokens.to(at::kCPU);
    }
    const auto top_values_a = top_values.accessor<float, 2>();
    const auto top_tokens_a = top_tokens.accessor<int64_t, 2>();
    const at::Tensor tokens_host = tokens.to(at::kCPU);
    const at::Tensor logprobs_host = token_logprobs.to(at::kCPU, at::kFloat);
    const auto tokens_a = tokens_host.accessor<int64_t, 1>();
    const auto logprobs_a = logprobs_host.accessor<float, 1>();
    for (size_t g = 0; g < members.size(); ++g) {
      const auto row = static_cast<size_t>(members[g]);
      SampledToken& sampled = out[row];
      sampled.token = static_cast<int32_t>(tokens_a[static_cast<int64_t>(g)]);
      sampled.logprob = logprobs_a[static_cast<int64_t>(g)];
      const int64_t wanted = std::min(rows[row]->params().top_logprobs, top_count);
      sampled.top.reserve(static_cast<size_t>(wanted));
      for (int64_t j = 0; j < wanted; ++j) {
        sampled.top.push_back({.token = static_cast<int32_t>(top_tokens_a[static_cast<int64_t>(g)][j]),
                               .logprob = top_values_a[static_cast<int64_t>(g)][j]});
      }
    }
  }
  for (size_t i = 0; i < rows.size(); ++i) rows[i]->record(out[i].token);
  return out;
}

} // namespace caravan::rollout
