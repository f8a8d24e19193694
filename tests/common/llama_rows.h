// File: tests/common/llama_rows.h
// Teacher-forced logits of whole rows, for model tests that think in [B, T] batches: each row is
// one sequence of T tokens (no cache), flattened into a model::BatchLayout.
//
//   at::Tensor logits = caravan::testing::row_logits(*model, tokens /*[B, T]*/);  // [B, T, V]
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "model/batch_layout.h"
#include "model/llama.h"

namespace caravan::testing {

inline at::Tensor row_logits(model::LlamaImpl& model, const at::Tensor& tokens) {
  const int64_t rows = tokens.size(0);
  const int64_t length = tokens.size(1);
  const model::BatchLayout layout =
      model::BatchLayout::packed(std::vector<int64_t>(static_cast<size_t>(rows), length), tokens.device());
  return model.forward(tokens.reshape({-1}), layout).view({rows, length, -1});
}

} // namespace caravan::testing
