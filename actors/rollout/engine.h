// File: actors/rollout/engine.h
// The rollout engine: continuous batching over a paged KV cache. Requests (one prompt, n
// samples) join a waiting queue; every step() the scheduler
//   1. gives each running sequence, oldest first, the tokens it still needs (one for a decode
//      step, a chunk for a prompt being prefilled) within a per-step token budget, reserving KV
//      blocks; when blocks run out it preempts the newest running sequence (frees its blocks,
//      puts it back in the queue with its sampler and tokens; it is recomputed later, prompt +
//      tokens generated so far), never dropping one;
//   2. admits waiting sequences in arrival order while budget, blocks and max_running allow,
//      first attaching the cached KV blocks of their longest known prompt prefix (chained block
//      hashes), and prefilling long prompts in chunks;
//   3. runs one forward over all of it (model/batch_layout.h) and samples one token for every
//      sequence that has computed all its tokens (actors/rollout/sampler.h).
// A request's n samples share its prompt: one sequence prefills it, the others fork its KV
// blocks when it completes (copy on write of the last partial block) and draw their first
// token from the same logits. Sequences end by their sampler (stop id, stop string, max new
// tokens) and leave the batch at once. Every token records the policy version of the weights
// that produced it: the caller installs new weights between steps and calls
// set_policy_version().
//
//   CARAVAN_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::create(*model, options, token_text));
//   CARAVAN_RETURN_IF_ERROR(engine->add({.id = 7, .prompt = ids, .samples = params_per_sample}));
//   while (!engine->idle()) for (SequenceOutput& done : engine->step()) consume(done);
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "actors/rollout/engine_options.h"
#include "actors/rollout/engine_stats.h"
#include "actors/rollout/intra_op_threads.h"
#include "actors/rollout/paged_kv_cache.h"
#include "actors/rollout/sampler.h"
#include "model/llama.h"

namespace caravan::rollout {

class DecodeGraphs;

// One prompt to complete samples.size() times.
struct EngineRequest {
  // The caller's; returned with every output of this request.
  uint64_t id = 0;
  std::vector<int32_t> prompt;
  // One per sample (their seeds differ); non-empty.
  std::vector<SamplingParams> samples;
};

// One finished sample.
struct SequenceOutput {
  uint64_t request_id = 0;
  // Index into the request's samples.
  uint32_t sample = 0;
  std::vector<int32_t> tokens;
  // logprobs[i]: the sampler's logprob of tokens[i]; top_logprobs[i] its top logprobs
  // (top_logprobs is empty when the sample did not ask for them).
  std::vector<float> logprobs;
  std::vector<std::vector<TokenLogprob>> top_logprobs;
  // policy_versions[i]: the version set when tokens[i] was drawn.
  std::vector<uint64_t> policy_versions;
  FinishReason finish_reason = FinishReason::kLength;
};

// Owner thread only. The model, and the token text, must outlive the engine; the model's
// weights may change only between step() calls (then call set_policy_version).
class Engine {
 public:
  // Allocates the KV cache: kv_cache_blocks(options, ...) blocks in the model's dtype on its
  // device (kv_cache_fraction: of that device's available_memory_bytes()). Errors: those of
  // available_memory_bytes, kv_cache_blocks and EngineOptions::validate.
  static Result<std::unique_ptr<Engine>> create(model::LlamaImpl& model, const EngineOptions& options,
                                                const TokenText* token_text, uint64_t policy_version = 0);
  Engine(model::LlamaImpl& model, const EngineOptions& options, int64_t num_blocks, const TokenText* token_text,
         uint64_t policy_version);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a request. kInvalidArgument naming the field: no samples, invalid sampling params, an
  // empty prompt, a token outside the vocabulary, prompt + max_new_tokens beyond the model's
  // context or beyond what the whole KV cache holds.
  [[nodiscard]] Status add(EngineRequest request);
  // What add() would return, without queueing.
  [[nodiscard]] Status check(const EngineRequest& request) const;

  // True when no sequence is queued or running.
  bool idle() const { return waiting_.empty() && running_.empty(); }

  // One scheduler step and one forward; returns the samples that ended in it. Runs under
  // NoGradGuard. Does nothing when idle.
  std::vector<SequenceOutput> step();

  // Tokens drawn from now on carry `version`; cached prefixes are forgotten (their keys came
  // from the old weights). Sequences running keep the keys they have (computed with the weights
  // of their time).
  void set_policy_version(uint64_t version);

  // Abandons every queued and running sequence (their outputs are dropped); frees their blocks.
  void clear();

  EngineStats stats() const;
  const PagedKvCache& cache() const { return cache_; }

 private:
  struct Sequence;
  struct Planned {
    Sequence* sequence;
    int64_t tokens;  // positions computed this step
  };
  std::vector<Planned> schedule();
  // Frees `victim`'s blocks and puts it back in the queue.
  void preempt(Sequence* victim);
  void enqueue(Sequence* sequence);
  // Samples the next token of every row; forks followers of a prefill that completed.
  std::vector<SequenceOutput> sample(const std::vector<Planned>& plan, const at::Tensor& logits);
  SequenceOutput finish(Sequence* sequence);

  model::LlamaImpl& model_;
  EngineOptions options_;
  const TokenText* token_text_;
  at::Device device_;
  PagedKvCache cache_;
  uint64_t policy_version_;
  int64_t next_order_ = 0;
  std::vector<std::unique_ptr<Sequence>> sequences_;  // every live sequence
  std::deque<Sequence*> waiting_;                     // by arrival order
  std::vector<Sequence*> running_;                    // by arrival order
  EngineCounters counters_;
  std::optional<IntraOpThreads> threads_;  // set on CPU with options.follow_free_cores: each step's threads
  std::unique_ptr<DecodeGraphs> graphs_;   // set on CUDA with options.cuda_graphs (CUDA builds)
};

} // namespace caravan::rollout
