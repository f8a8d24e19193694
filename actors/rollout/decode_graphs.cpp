// Built only with CARAVAN_WITH_CUDA (actors/CMakeLists.txt): it needs LibTorch's CUDA library.
#include "actors/rollout/decode_graphs.h"

#include <algorithm>
#include <map>
#include <utility>

#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "core/status.h"
#include "model/kv_memory.h"

namespace caravan::rollout {
namespace {

// The KV memory of a captured forward: it stores into and reads from the cache's pools through
// index tensors the graph owns (filled before each replay), so the forward has no host work.
class GraphMemory : public model::KvMemory {
 public:
  GraphMemory(const PagedKvCache& cache, at::Tensor write_rows, at::Tensor read_rows, int64_t batch, int64_t keys)
      : cache_(cache), write_rows_(std::move(write_rows)), read_rows_(std::move(read_rows)), batch_(batch), keys_(keys) {}

  void begin_forward(const model::BatchLayout&) override {}
  void store(int64_t layer, const at::Tensor& keys, const at::Tensor& values) override {
    cache_.keys(layer).index_copy_(0, write_rows_, keys);
    cache_.values(layer).index_copy_(0, write_rows_, values);
  }
  std::pair<at::Tensor, at::Tensor> read(int64_t layer, size_t) override {
    const auto gather = [&](const at::Tensor& pool) {
      return pool.index_select(0, read_rows_).view({batch_, keys_, pool.size(1), pool.size(2)}).transpose(1, 2);
    };
    return {gather(cache_.keys(layer)), gather(cache_.values(layer))};
  }
  void end_forward() override {}

 private:
  const PagedKvCache& cache_;
  at::Tensor write_rows_;  // int64 [batch]: the pool row of each row's new token
  at::Tensor read_rows_;   // int64 [batch * keys]: the pool rows of each row's keys
  int64_t batch_;
  int64_t keys_;
};

// One captured decode forward of `batch` rows and `keys` key slots, and its input tensors.
struct Graph {
  at::Tensor tokens;       // int64 [batch]
  at::Tensor write_rows;   // int64 [batch]
  at::Tensor read_rows;    // int64 [batch * keys]
  // One attention group of every row (kLongest): its positions and mask tensors are inputs.
  std::unique_ptr<model::BatchLayout> layout;
  std::unique_ptr<GraphMemory> memory;
  at::cuda::CUDAGraph graph;
  at::Tensor logits;  // output [batch, V], in the graphs' memory pool
  bool captured = false;
};

int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

int64_t power_of_two_at_least(int64_t value) {
  int64_t power = 1;
  while (power < value) power *= 2;
  return power;
}

class CudaDecodeGraphs : public DecodeGraphs {
 public:
  CudaDecodeGraphs(model::LlamaImpl& model, PagedKvCache& cache, int64_t max_batch)
      : model_(model),
        cache_(cache),
        max_batch_(max_batch),
        device_(cache.keys(0).device()),
        pool_(at::cuda::graph_pool_handle()) {
    CARAVAN_CHECK(device_.is_cuda(), "DecodeGraphs: the KV cache is on ", device_, ", not a CUDA device");
    scratch_slot_ = cache_.open_sequence();
    CARAVAN_CHECK(cache_.reserve(scratch_slot_, 1), "DecodeGraphs: no free KV block for the padding rows");
    scratch_row_ = cache_.pool_row(scratch_slot_, 0);
  }
  ~CudaDecodeGraphs() override { cache_.close_sequence(scratch_slot_); }

  std::optional<at::Tensor> step(const std::vector<model::BatchLayout::Sequence>& sequences,
                                 const std::vector<int64_t>& tokens) override {
    const auto count = static_cast<int64_t>(sequences.size());
    CARAVAN_CHECK(tokens.size() == sequences.size(), "DecodeGraphs: ", tokens.size(), " tokens for ", count,
                  " sequences");
    if (count == 0 || count > max_batch_) return std::nullopt;
    int64_t longest = 0;
    for (const model::BatchLayout::Sequence& s : sequences) {
      if (s.new_tokens != 1) return std::nullopt;
      longest = std::max(longest, s.past + 1);
    }
    const int64_t batch = power_of_two_at_least(count);
    const int64_t keys = round_up(longest, kKeyBucket);
    // The inputs on the host: padding rows hold token 0 at position 0 and read and write only
    // the scratch row.
    std::vector<int64_t> token_rows(static_cast<size_t>(batch), 0);
    std::vector<int64_t> positions(static_cast<size_t>(batch), 0);
    std::vector<int64_t> writes(static_cast<size_t>(batch), scratch_row_);
    std::vector<int64_t> reads(static_cast<size_t>(batch * keys), scratch_row_);
    const int64_t block_size = cache_.block_size();
    for (int64_t i = 0; i < count; ++i) {
      const model::BatchLayout::Sequence& s = sequences[static_cast<size_t>(i)];
      CARAVAN_CHECK(s.past == cache_.length(s.memory_slot), "DecodeGraphs: slot ", s.memory_slot, " holds ",
                    cache_.length(s.memory_slot), " positions, the step says ", s.past);
      token_rows[static_cast<size_t>(i)] = tokens[static_cast<size_t>(i)];
      positions[static_cast<size_t>(i)] = s.past;
      writes[static_cast<size_t>(i)] = cache_.pool_row(s.memory_slot, s.past);
      const std::vector<int32_t>& table = cache_.block_table(s.memory_slot);
      for (int64_t j = 0; j < keys; ++j) {
        const int64_t position = std::min(j, s.past);
        reads[static_cast<size_t>(i * keys + j)] =
            static_cast<int64_t>(table[static_cast<size_t>(position / block_size)]) * block_size + position % block_size;
      }
    }
    Graph& graph = graph_for(batch, keys);
    graph.tokens.copy_(at::tensor(token_rows, at::kLong));
    graph.write_rows.copy_(at::tensor(writes, at::kLong));
    graph.read_rows.copy_(at::tensor(reads, at::kLong));
    const at::Tensor& position_input = graph.layout->positions();
    position_input.copy_(at::tensor(positions, at::kLong));
    graph.layout->groups().front().allowed.copy_(
        at::arange(keys, position_input.options()).view({1, 1, 1, keys}) <= position_input.view({batch, 1, 1, 1}));
    if (!graph.captured) capture(graph);
    graph.graph.replay();
    at::Tensor logits = graph.logits.slice(0, 0, count).clone();  // the pool is reused by other graphs
    for (const model::BatchLayout::Sequence& s : sequences) cache_.advance(s.memory_slot, 1);
    return logits;
  }

  void clear() override { graphs_.clear(); }
  int64_t num_graphs() const override { return static_cast<int64_t>(graphs_.size()); }

 private:
  // The graph of a bucket, its input tensors allocated (not captured yet when new).
  Graph& graph_for(int64_t batch, int64_t keys) {
    std::unique_ptr<Graph>& slot = graphs_[{batch, keys}];
    if (slot) return *slot;
    slot = std::make_unique<Graph>();
    const auto options = at::TensorOptions().dtype(at::kLong).device(device_);
    slot->tokens = at::zeros({batch}, options);
    slot->write_rows = at::full({batch}, scratch_row_, options);
    slot->read_rows = at::full({batch * keys}, scratch_row_, options);
    // Every row reads `keys` keys (past keys - 1): one group of `keys` keys, contiguous members.
    std::vector<model::BatchLayout::Sequence> rows;
    for (int64_t i = 0; i < batch; ++i) rows.push_back({.new_tokens = 1, .past = keys - 1, .memory_slot = i});
    slot->layout = std::make_unique<model::BatchLayout>(std::move(rows), device_, model::ContextGrouping::kLongest);
    CARAVAN_CHECK(slot->layout->groups().size() == 1 && !slot->layout->groups().front().token_index.defined(),
                  "DecodeGraphs: a decode layout of ", batch, " rows is not one contiguous group");
    slot->memory = std::make_unique<GraphMemory>(cache_, slot->write_rows, slot->read_rows, batch, keys);
    return *slot;
  }

  // One warm-up forward on a side stream (lazy initialisations, cuBLAS workspaces: nothing may
  // allocate outside the pool during capture), then the captured forward. The warm-up writes
  // the same keys the replay writes.
  void capture(Graph& graph) {
    c10::cuda::device_synchronize();
    const c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device_.index());
    {
      const c10::cuda::CUDAStreamGuard on_side(side);
      (void)model_.forward(graph.tokens, *graph.layout, graph.memory.get(), model::LogitRows::kLastOfEachSequence);
      side.synchronize();
      graph.graph.capture_begin(pool_);
      graph.logits =
          model_.forward(graph.tokens, *graph.layout, graph.memory.get(), model::LogitRows::kLastOfEachSequence);
      graph.graph.capture_end();
    }
    c10::cuda::device_synchronize();
    graph.captured = true;
  }

  model::LlamaImpl& model_;
  PagedKvCache& cache_;
  int64_t max_batch_;
  at::Device device_;
  c10::cuda::MempoolId_t pool_;
  int64_t scratch_slot_ = -1;
  int64_t scratch_row_ = 0;
  std::map<std::pair<int64_t, int64_t>, std::unique_ptr<Graph>> graphs_;
};

} // namespace

std::unique_ptr<DecodeGraphs> make_decode_graphs(model::LlamaImpl& model, PagedKvCache& cache, int64_t max_batch) {
  return std::make_unique<CudaDecodeGraphs>(model, cache, max_batch);
}

} // namespace caravan::rollout
