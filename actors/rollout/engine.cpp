#include "actors/rollout/engine.h"

#include <algorithm>

#include <ATen/Parallel.h>

#include <torch/csrc/autograd/grad_mode.h>

#include "actors/rollout/decode_graphs.h"
#include "actors/rollout/device_memory.h"
#include "core/status.h"

namespace caravan::rollout {

struct Engine::Sequence {
  uint64_t request_id = 0;
  uint32_t sample = 0;
  int64_t order = 0;  // arrival order: lower is older
  SequenceSampler sampler;
  std::vector<int32_t> tokens;  // prompt + generated
  size_t prompt_length = 0;
  std::vector<float> logprobs = {};
  std::vector<std::vector<TokenLogprob>> top_logprobs = {};
  std::vector<uint64_t> policy_versions = {};
  int64_t slot = -1;     // the cache slot, -1 while queued
  int64_t computed = 0;  // positions of `tokens` whose keys the slot holds
  uint64_t kv_version = 0;  // policy version when the slot's first keys were computed
  bool preempted = false;
  // Samples of the same request waiting to fork this sequence's prompt when its prefill ends.
  std::vector<Sequence*> followers = {};
};

namespace {

at::Device model_device(const model::LlamaImpl& model) { return model.parameters().front().device(); }
at::ScalarType model_dtype(const model::LlamaImpl& model) { return model.parameters().front().scalar_type(); }

} // namespace

Result<std::unique_ptr<Engine>> Engine::create(model::LlamaImpl& model, const EngineOptions& options,
                                               const TokenText* token_text, uint64_t policy_version) {
  int64_t available_bytes = 0;  // read only when kv_cache_fraction sizes the cache
  if (options.kv_cache_bytes == 0) {
    CARAVAN_ASSIGN_OR_RETURN(available_bytes, available_memory_bytes(model_device(model)));
  }
  CARAVAN_ASSIGN_OR_RETURN(const int64_t blocks,
                           kv_cache_blocks(options, model.config(), model_dtype(model), available_bytes));
  return std::make_unique<Engine>(model, options, blocks, token_text, policy_version);
}

Engine::Engine(model::LlamaImpl& model, const EngineOptions& options, int64_t num_blocks, const TokenText* token_text,
               uint64_t policy_version)
    : model_(model),
      options_(options),
      token_text_(token_text),
      device_(model_device(model)),
      cache_(model.config(), num_blocks, options.block_size, model_dtype(model), device_),
      policy_version_(policy_version) {
  CARAVAN_CHECK(options_.validate().ok(), "Engine: invalid options: ", options_.validate().message());
  if (options_.follow_free_cores && device_.is_cpu()) threads_.emplace(at::get_num_threads());
#ifdef CARAVAN_WITH_CUDA
  if (options_.cuda_graphs && device_.is_cuda()) graphs_ = make_decode_graphs(model_, cache_, options_.max_running);
#endif
}

Engine::~Engine() {
  if (threads_ && at::get_num_threads() != threads_->most()) at::set_num_threads(threads_->most());
}

Status Engine::check(const EngineRequest& request) const {
  const std::string where = str_cat("request ", request.id, ": ");
  if (request.samples.empty()) return Status::invalid_argument(where + "samples: empty");
  if (request.prompt.empty()) return Status::invalid_argument(where + "prompt: empty");
  const core::TransformerConfig& config = model_.config();
  for (size_t i = 0; i < request.prompt.size(); ++i) {
    if (request.prompt[i] < 0 || request.prompt[i] >= config.vocab_size) {
      return Status::invalid_argument(str_cat(where, "prompt[", i, "] = ", request.prompt[i],
                                              " is outside the vocabulary [0, ", config.vocab_size, ")"));
    }
  }
  const auto prompt_length = static_cast<int64_t>(request.prompt.size());
  for (size_t s = 0; s < request.samples.size(); ++s) {
    const SamplingParams& params = request.samples[s];
    if (Status valid = params.validate(); !valid.ok()) {
      return Status::invalid_argument(str_cat(where, "samples[", s, "]: ", valid.message()));
    }
    const int64_t total = prompt_length + params.max_new_tokens;
    if (total > config.max_position_embeddings) {
      return Status::invalid_argument(str_cat(where, "prompt: ", prompt_length, " tokens + max_new_tokens ",
                                              params.max_new_tokens, " exceed the context of ",
                                              config.max_position_embeddings));
    }
    // One more block for a copy on write of a shared last block.
    const int64_t blocks = cache_.blocks_for(total) + 1;
    if (blocks > cache_.blocks().num_blocks()) {
      return Status::invalid_argument(str_cat(where, "prompt: ", prompt_length, " tokens + max_new_tokens ",
                                              params.max_new_tokens, " need ", blocks, " KV blocks, the whole cache has ",
                                              cache_.blocks().num_blocks(), " (raise kv_cache_bytes)"));
    }
  }
  return Status();
}

Status Engine::add(EngineRequest request) {
  CARAVAN_RETURN_IF_ERROR(check(request));
  Sequence* leader = nullptr;
  for (size_t s = 0; s < request.samples.size(); ++s) {
    auto sequence = std::make_unique<Sequence>(Sequence{
        .request_id = request.id,
        .sample = static_cast<uint32_t>(s),
        .order = next_order_++,
        .sampler = SequenceSampler(request.samples[s], request.prompt, token_text_),
        .tokens = request.prompt,
        .prompt_length = request.prompt.size(),
    });
    if (leader == nullptr || !options_.share_prefixes) {
      leader = sequence.get();
      waiting_.push_back(leader);
    } else {
      leader->followers.push_back(sequence.get());
    }
    sequences_.push_back(std::move(sequence));
  }
  return Status();
}

void Engine::enqueue(Sequence* sequence) {
  const auto at = std::upper_bound(waiting_.begin(), waiting_.end(), sequence,
                                   [](const Sequence* a, const Sequence* b) { return a->order < b->order; });
  waiting_.insert(at, sequence);
}

void Engine::preempt(Sequence* victim) {
  cache_.close_sequence(victim->slot);
  victim->slot = -1;
  victim->computed = 0;
  victim->preempted = true;
  running_.erase(std::find(running_.begin(), running_.end(), victim));
  enqueue(victim);
  ++counters_.preemptions;
}

std::vector<Engine::Planned> Engine::schedule() {
  std::vector<Planned> plan;
  int64_t budget = options_.max_step_tokens;
  // Running sequences, oldest first; the newest give their blocks up when blocks run out.
  for (size_t i = 0; i < running_.size() && budget > 0; ++i) {
    Sequence* sequence = running_[i];
    const int64_t tokens = std::min(static_cast<int64_t>(sequence->tokens.size()) - sequence->computed, budget);
    bool reserved = cache_.reserve(sequence->slot, tokens);
    while (!reserved) {
      Sequence* victim = running_.back();
      preempt(victim);
      if (victim == sequence) break;
      reserved = cache_.reserve(sequence->slot, tokens);
    }
    if (!reserved) break;  // it was the newest: nothing runs after it
    plan.push_back({sequence, tokens});
    budget -= tokens;
  }
  // Waiting sequences in arrival order, while the whole rest of their prompt fits in free blocks.
  while (budget > 0 && !waiting_.empty()) {
    Sequence* sequence = waiting_.front();
    const auto joining = static_cast<int64_t>(1 + sequence->followers.size());
    if (static_cast<int64_t>(running_.size()) + joining > options_.max_running && !running_.empty()) break;
    const int64_t slot = cache_.open_sequence();
    const auto length = static_cast<int64_t>(sequence->tokens.size());
    const int64_t cached = options_.share_prefixes ? cache_.attach_prefix(slot, sequence->tokens, length - 1) : 0;
    if (!cache_.reserve(slot, length - cached)) {
      cache_.close_sequence(slot);
      break;
    }
    waiting_.pop_front();
    sequence->slot = slot;
    sequence->computed = cached;
    sequence->kv_version = policy_version_;
    sequence->preempted = false;
    counters_.prefix_cached_tokens += cached;
    running_.insert(std::upper_bound(running_.begin(), running_.end(), sequence,
                                     [](const Sequence* a, const Sequence* b) { return a->order < b->order; }),
                    sequence);
    const int64_t tokens = std::min(length - cached, budget);
    plan.push_back({sequence, tokens});
    budget -= tokens;
  }
  return plan;
}

std::vector<SequenceOutput> Engine::step() {
  if (idle()) return {};
  torch::NoGradGuard no_grad;
  const auto started = std::chrono::steady_clock::now();
  const double cpu_started = threads_ ? process_cpu_seconds() : 0.0;
  if (threads_ && threads_->threads() != at::get_num_threads()) at::set_num_threads(threads_->threads());
  const std::vector<Planned> plan = schedule();
  CARAVAN_CHECK(!plan.empty(), "Engine: a step with nothing to run (", waiting_.size(), " waiting, ", running_.size(),
                " running, ", cache_.blocks().num_free(), " free blocks)");
  std::vector<model::BatchLayout::Sequence> entries;
  std::vector<int64_t> ids;
  int64_t decode = 0;
  int64_t prefill = 0;
  for (const Planned& p : plan) {
    Sequence& s = *p.sequence;
    entries.push_back({.new_tokens = p.tokens, .past = s.computed, .memory_slot = s.slot});
    ids.insert(ids.end(), s.tokens.begin() + s.computed, s.tokens.begin() + s.computed + p.tokens);
    const bool decoding = s.tokens.size() > s.prompt_length && p.tokens == 1 &&
                          s.computed + 1 == static_cast<int64_t>(s.tokens.size());
    (decoding ? decode : prefill) += p.tokens;
  }
  at::Tensor logits;
  if (graphs_) {
    if (std::optional<at::Tensor> replayed = graphs_->step(entries, ids)) {
      logits = std::move(*replayed);
      ++counters_.cuda_graph_steps;
    }
  }
  if (!logits.defined()) {
    const model::BatchLayout layout(std::move(entries), device_,
                                    options_.group_by_context ? model::ContextGrouping::kByContext
                                                              : model::ContextGrouping::kLongest);
    logits = model_.forward(at::tensor(ids, at::kLong).to(device_), layout, &cache_,
                            model::LogitRows::kLastOfEachSequence);
  }
  for (const Planned& p : plan) {
    Sequence& s = *p.sequence;
    s.computed += p.tokens;
    if (s.kv_version == policy_version_) cache_.publish_full_blocks(s.slot, s.tokens);
  }
  std::vector<SequenceOutput> done = sample(plan, logits);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (threads_) threads_->observe(seconds, process_cpu_seconds() - cpu_started);
  counters_.prefill_tokens += prefill;
  counters_.decode_tokens += decode;
  counters_.prefill_seconds += seconds * static_cast<double>(prefill) / static_cast<double>(prefill + decode);
  counters_.decode_seconds += seconds * static_cast<double>(decode) / static_cast<double>(prefill + decode);
  ++counters_.steps;
  return done;
}

std::vector<SequenceOutput> Engine::sample(const std::vector<Planned>& plan, const at::Tensor& logits) {
  std::vector<Sequence*> rows;
  std::vector<int64_t> logit_rows;
  for (size_t i = 0; i < plan.size(); ++i) {
    Sequence* s = plan[i].sequence;
    if (s->computed < static_cast<int64_t>(s->tokens.size())) continue;  // mid-prefill
    rows.push_back(s);
    logit_rows.push_back(static_cast<int64_t>(i));
    // The prompt is complete: the other samples of the request fork its blocks and draw their
    // first token from the same logits.
    for (Sequence* follower : s->followers) {
      follower->slot = cache_.fork(s->slot);
      follower->computed = s->computed;
      follower->kv_version = s->kv_version;
      counters_.prefix_cached_tokens += s->computed;
      running_.insert(std::upper_bound(running_.begin(), running_.end(), follower,
                                       [](const Sequence* a, const Sequence* b) { return a->order < b->order; }),
                      follower);
      rows.push_back(follower);
      logit_rows.push_back(static_cast<int64_t>(i));
    }
    s->followers.clear();
  }
  std::vector<SequenceOutput> done;
  if (rows.empty()) return done;
  std::vector<SequenceSampler*> samplers;
  samplers.reserve(rows.size());
  for (Sequence* s : rows) samplers.push_back(&s->sampler);
  const at::Tensor index = at::tensor(logit_rows, at::kLong).to(logits.device());
  std::vector<SampledToken> sampled = sample_tokens(logits.index_select(0, index), samplers);
  for (size_t r = 0; r < rows.size(); ++r) {
    Sequence* s = rows[r];
    s->tokens.push_back(sampled[r].token);
    s->logprobs.push_back(sampled[r].logprob);
    if (s->sampler.params().top_logprobs > 0) s->top_logprobs.push_back(std::move(sampled[r].top));
    s->policy_versions.push_back(policy_version_);
    if (s->sampler.finished()) done.push_back(finish(s));
  }
  return done;
}

SequenceOutput Engine::finish(Sequence* sequence) {
  cache_.close_sequence(sequence->slot);
  running_.erase(std::find(running_.begin(), running_.end(), sequence));
  SequenceOutput out{
      .request_id = sequence->request_id,
      .sample = sequence->sample,
      .tokens = std::vector<int32_t>(sequence->tokens.begin() + static_cast<std::ptrdiff_t>(sequence->prompt_length),
                                     sequence->tokens.end()),
      .logprobs = std::move(sequence->logprobs),
      .top_logprobs = std::move(sequence->top_logprobs),
      .policy_versions = std::move(sequence->policy_versions),
      .finish_reason = *sequence->sampler.finish_reason(),
  };
  sequences_.erase(std::find_if(sequences_.begin(), sequences_.end(),
                                [&](const std::unique_ptr<Sequence>& s) { return s.get() == sequence; }));
  return out;
}

void Engine::set_policy_version(uint64_t version) {
  policy_version_ = version;
  cache_.forget_prefixes();
  if (graphs_) graphs_->clear();  // new weights may be new tensors: recapture
}

void Engine::clear() {
  for (Sequence* s : running_) cache_.close_sequence(s->slot);
  running_.clear();
  waiting_.clear();
  sequences_.clear();
}

EngineStats Engine::stats() const {
  EngineStats stats;
  for (const Sequence* s : waiting_) {
    stats.waiting += 1 + static_cast<int64_t>(s->followers.size());
    stats.preempted += s->preempted ? 1 : 0;
  }
  for (const Sequence* s : running_) stats.waiting += static_cast<int64_t>(s->followers.size());
  stats.running = static_cast<int64_t>(running_.size());
  stats.kv_blocks_used = cache_.blocks().num_used();
  stats.kv_blocks_free = cache_.blocks().num_free();
  stats.prefix_lookups = cache_.blocks().prefix_lookups();
  stats.prefix_hits = cache_.blocks().prefix_hits();
  stats.totals = counters_;
  return stats;
}

} // namespace caravan::rollout
