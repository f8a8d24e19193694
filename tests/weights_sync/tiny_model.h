// File: tests/weights_sync/tiny_model.h
// The tiny Llama (tests/common/tiny_transformer.h) for weight-sync tests, shared by the test
// binary and its peer process, with values drawn from a seed so members start out different.
//
//   model::Llama source = tiny_llama(/*seed=*/1);
//   EXPECT_EQ(parameter_checksum(*receiver), parameter_checksum(*source));
#pragma once

#include <cstdint>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/utils.h>

#include "model/llama.h"
#include "tests/common/tiny_transformer.h"

namespace caravan::wsync::testing {

// Every parameter (and thus the checksum) is a function of `seed`.
inline void fill_parameters(model::LlamaImpl& model, uint64_t seed) {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::NoGradGuard no_grad;
  for (at::Tensor& parameter : model.parameters()) {
    parameter.copy_(at::randn(parameter.sizes(), generator, parameter.scalar_type()));
  }
}

inline model::Llama tiny_llama(uint64_t seed) {
  model::Llama llama(caravan::testing::tiny_transformer_config(/*vocab_size=*/64));
  fill_parameters(*llama, seed);
  return llama;
}

// FNV-1a over the bytes of every parameter, in named_parameters order.
inline uint64_t parameter_checksum(model::LlamaImpl& model) {
  uint64_t hash = 14695981039346656037ULL;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    const at::Tensor bytes = item.value().detach().contiguous();
    const auto* data = static_cast<const unsigned char*>(bytes.data_ptr());
    for (size_t i = 0; i < bytes.nbytes(); ++i) hash = (hash ^ data[i]) * 1099511628211ULL;
  }
  return hash;
}

} // namespace caravan::wsync::testing
