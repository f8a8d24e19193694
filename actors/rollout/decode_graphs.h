// File: actors/rollout/decode_graphs.h
// CUDA graphs of the engine's decode steps (builds with CARAVAN_WITH_CUDA only). A decode-only
// step of B sequences (each one new token) is padded to a bucket of shapes: the batch to the
// next power of two, the key length to the next multiple of kKeyBucket. The first step of a
// bucket runs the model once on a side stream (warm-up) and captures one forward into a graph
// (at::cuda::CUDAGraph, one memory pool for every graph); later steps of the bucket copy their
// tokens, positions, mask and KV pool rows into the graph's input tensors and replay it: one
// launch instead of a few hundred kernel launches per step. The graph's forward stores and reads
// keys through its own index tensors (a model::KvMemory over the PagedKvCache's pools), so the
// host bookkeeping of the cache is done here (PagedKvCache::advance). Padding rows write to and
// read from one scratch block of the cache, which stays taken.
//
//   std::unique_ptr<DecodeGraphs> graphs = make_decode_graphs(model, cache, /*max_batch=*/options.max_running);
//   if (std::optional<at::Tensor> logits = graphs->step(sequences, tokens)) ...;  // else run eagerly
//
// Graphs read the model's parameters and the cache's pools by address: new weights must be
// copied into the parameters in place (call clear() otherwise). Owner thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <ATen/ATen.h>

#include "actors/rollout/paged_kv_cache.h"
#include "model/batch_layout.h"
#include "model/llama.h"

namespace caravan::rollout {

// The engine's handle on the graphs; make_decode_graphs() makes the one implementation.
class DecodeGraphs {
 public:
  // Key lengths are padded to a multiple of this.
  static constexpr int64_t kKeyBucket = 256;

  virtual ~DecodeGraphs() = default;

  // One decode step: sequences[i] has new_tokens 1 and past = the cache length of its slot (with
  // room reserved for one more position); tokens[i] is its new token. Returns logits [B, V]
  // float32 (as LogitRows::kLastOfEachSequence) with every slot advanced by one position, or
  // nullopt (nothing done) when the step has no graph: a sequence with new_tokens != 1, or more
  // than max_batch sequences.
  virtual std::optional<at::Tensor> step(const std::vector<model::BatchLayout::Sequence>& sequences,
                                         const std::vector<int64_t>& tokens) = 0;

  // Drops every graph (e.g. the parameters were replaced by new tensors).
  virtual void clear() = 0;

  // Graphs captured so far.
  virtual int64_t num_graphs() const = 0;
};

// `model` and `cache` on one CUDA device, outliving the result; batches of at most max_batch
// sequences (rounded up to a power of two) get graphs. Takes one block of `cache` for the
// padding rows. Defined in builds with CARAVAN_WITH_CUDA only (actors/rollout/decode_graphs.cpp).
std::unique_ptr<DecodeGraphs> make_decode_graphs(model::LlamaImpl& model, PagedKvCache& cache, int64_t max_batch);

} // namespace caravan::rollout
