// File: core/run_config.h
// The typed configuration of a run: one plain Options struct per component, with defaults
// in member initializers and units/ranges documented per field. core/config.h parses TOML
// into these structs (and writes them back); components receive their own struct.
//
//   CARAVAN_ASSIGN_OR_RETURN(core::RunConfig config, core::load_run_config("configs/quickstart.toml"));
//   CARAVAN_ASSIGN_OR_RETURN(model::ModelSpec spec, model::open_model(config.model));
#pragma once

#include <cstdint>
#include <string>

#include "core/transformer_config.h"

namespace caravan::core {

// [run]
struct RunOptions {
  // Name of the run; the run directory defaults to runs/<name>. Required.
  std::string name;
  // Where the run directory is created; empty = "runs/<name>".
  std::string directory;
  // Seed for model init, data order and sampling. Any value.
  uint64_t seed = 1234;
  // LibTorch intra-op threads per process at most, >= 1. Processes that compute at the same time
  // share the machine's cores (core/thread_budget.h), so each may get fewer.
  int64_t threads_per_process = 1;
};

// [task]: what the run trains on: the embedded arithmetic task (a+b, a-b, a*b) or an RLVR
// prompt set in the Tülu 3 JSONL layout (core/rlvr_dataset.h).
struct TaskOptions {
  // "arithmetic" or "rlvr". Required. Arithmetic prompts are scored by [verifier] name; RLVR
  // rows by the verifier their "dataset" maps to (core/rlvr_dataset.h).
  std::string kind;
  // rlvr only, required there: the JSONL prompt set. `caravan run` records it as an absolute path.
  std::string dataset;
  // rlvr only: "skip" a malformed row (logged with FILE:LINE and counted in metrics.jsonl) or
  // "fail" the run at the first one.
  std::string on_bad_row = "skip";
  // arithmetic only: operands of + and - are drawn from [0, max_operand_add], 1..10^6.
  int64_t max_operand_add = 99;
  // arithmetic only: operands of * are drawn from [0, max_operand_mul], 1..10^6.
  int64_t max_operand_mul = 19;
  // Size of the fixed, seeded held-out set, disjoint from the training prompts, >= 1. For rlvr,
  // that many rows are split off by a seeded hash of their content and must leave training rows.
  int64_t held_out_size = 500;
  // Seed of the held-out split and selection (independent of run.seed so runs are comparable).
  uint64_t held_out_seed = 20261123;
};

// [model]: the model a run trains: a Hugging Face checkpoint directory (`path`) or, for the
// embedded quickstart, an architecture given inline (the keys of core::TransformerConfig) with
// random weights and the byte tokenizer. Exactly one of the two (core/config checks it).
struct ModelOptions {
  // A Hugging Face model directory: config.json, model.safetensors (or shards with their
  // index), tokenizer.json, tokenizer_config.json (chat template, special tokens) and optionally
  // generation_config.json. `caravan run` records it as an absolute path. Empty = inline.
  std::string path;
  // Compute dtype of every process's copy of the model: "float32" or "bfloat16".
  std::string dtype = "float32";
  // dtype of the safetensors in written checkpoints: "auto" (the input checkpoint's dtype;
  // float32 for an inline model), "float32", "bfloat16" or "float16".
  std::string checkpoint_dtype = "auto";
  // A built-in chat template family used instead of the checkpoint's own: "llama3", "chatml",
  // "qwen3" or "tulu" (model/chat_template.h). Empty = recognise the checkpoint's template. An
  // inline model has no template of its own, so chat prompts ([task] kind = "rlvr") need one.
  std::string chat_template;
  // Chat templates with a thinking switch (Qwen3): render the generation prompt with thinking
  // on (true, the template's default) or off (false: an empty <think></think> block).
  bool enable_thinking = true;
  // The inline architecture; only read when `path` is empty.
  TransformerConfig inline_config;
};

// [sft]: supervised warm-up on generated problems with their answers.
struct SftOptions {
  // Optimizer steps; 0 skips SFT. 0..10^7.
  int64_t steps = 300;
  // Problems per step, >= 1.
  int64_t batch_size = 64;
  // AdamW learning rate, > 0.
  double learning_rate = 1e-3;
  // Linear warm-up steps, >= 0.
  int64_t warmup_steps = 20;
};

// [grpo]: the RL stage.
struct GrpoOptions {
  // RL steps (each: generate, verify, one optimizer update, weight sync), >= 0.
  int64_t steps = 100;
  // Prompts per step, >= 1.
  int64_t prompts_per_step = 32;
  // Completions per prompt (the GRPO group), >= 2.
  int64_t group_size = 8;
  // AdamW learning rate, > 0.
  double learning_rate = 3e-4;
  // PPO clip range: ratio clipped to [1 - clip_low, 1 + clip_high]; each in (0, 1).
  double clip_low = 0.2;
  double clip_high = 0.2;
  // Coefficient of the k3 KL penalty against the frozen reference (SFT) model, >= 0.
  double kl_coef = 0.01;
  // Added to the group reward std before dividing, > 0.
  double advantage_eps = 1e-6;
  // Maximum gradient L2 norm, > 0.
  double max_grad_norm = 1.0;
  // AdamW weight decay, >= 0.
  double weight_decay = 0.0;
  // Write checkpoints/step-N every this many RL steps (and at the end); 0 = only at the end.
  int64_t checkpoint_every = 0;
};

// [rollout]
struct RolloutOptions {
  // Number of rollout actor processes, >= 1.
  int64_t actors = 1;
  // Sampling temperature for RL rollouts, > 0 (held-out evaluation is always greedy).
  double temperature = 1.0;
  // Nucleus sampling for RL rollouts: sample from the smallest set of tokens whose probability
  // reaches top_p; 1 = the full distribution. (0, 1].
  double top_p = 1.0;
  // Generated tokens per completion, >= 1.
  int64_t max_new_tokens = 8;
};

// [verifier]
struct VerifierOptions {
  // Number of verifier processes, >= 1.
  int64_t workers = 1;
  // Verifier used for the task's samples.
  std::string name = "arithmetic";
  // Verification threads per verifier process, 0..1024; 0 = run.threads_per_process.
  int64_t threads = 0;
  // Reward items a verifier process queues beyond those running, >= 1. A request that does not
  // fit now is refused as busy and resent by the controller (back-pressure); one larger than
  // this can never fit and fails the run.
  int64_t queue_capacity = 65536;
  // Reward config (core/reward_config.h): weights, format and length rules per dataset source.
  // Empty = the verifier's score is the reward. Re-read by running verifiers when the file
  // changes or on SIGHUP; `caravan run` records it as an absolute path.
  std::string reward_config;
  // Wall-clock budget of one code verification (all of a sample's tests), seconds, > 0.
  double code_deadline_s = 10.0;
  // Code sandboxes kept started per verifier process, 0..256 (0 = start one per check).
  int64_t code_warm_sandboxes = 4;
};

// [weights_sync]
struct WeightSyncOptions {
  // Communicator backend: "auto" (nccl in a CUDA build that sees a GPU, else gloo), "gloo",
  // "nccl" or "cuda_ipc" (learner and actors on one GPU); the last two need -DCARAVAN_WITH_CUDA=ON.
  std::string backend = "auto";
  // What a sync sends once every actor holds the previous version: "off" (everything),
  // "changed_tensors" (tensors whose checksum changed) or "xor_bf16" (changed tensors as a
  // zero-run coded XOR against the actors' bytes).
  std::string delta = "off";
  // Flat bucket size for the broadcast, bytes, >= 1024.
  int64_t bucket_bytes = 4 << 20;
  // Deadline of each step of a sync (rendezvous, control round trip, collective), seconds, > 0.
  double timeout_s = 120.0;
};

// [pipeline]: how generation and training overlap (actors/controller/admission.h).
struct PipelineOptions {
  // "sync": a step's prompts are generated with the weights of the step before, while the
  // learner waits; "one_step_off": the next step's prompts are generated while the learner
  // trains (samples at most 1 version old); "async": rollout actors never wait, samples are at
  // most max_staleness versions old.
  std::string mode = "sync";
  // async only: the most versions a trained sample's first token may lag the policy it trains, 1..64.
  int64_t max_staleness = 2;
  // A group older than the bound (after a worker failure re-ordered the work): "drop" discards
  // its samples and generates the prompt again; "downweight" trains it with its loss scaled by
  // stale_weight per version beyond the bound. Counted either way.
  std::string stale_samples = "drop";
  // Loss scale per version beyond max_staleness when stale_samples = "downweight", (0, 1).
  double stale_weight = 0.5;
  // DAPO overlong filtering: completions cut at max_new_tokens get no gradient and do not
  // count in their group's baseline (dropped with reason over_length).
  bool drop_truncated = false;
};

// [deadlines]: the wall-clock budget of each kind of request, seconds, > 0. Liveness is
// separate ([cluster] heartbeats): a worker past a deadline is alive but too slow; its work is
// re-queued elsewhere (rollout, reward) or the run stops with a checkpoint (learner).
struct DeadlineOptions {
  double sft_s = 3600.0;
  // One held-out evaluation (all its prompts).
  double evaluation_s = 1800.0;
  // One RolloutRequest (all its groups).
  double rollout_s = 600.0;
  double reward_s = 300.0;
  double train_step_s = 1800.0;
  // One weight sync, the group's re-formation included.
  double weight_sync_s = 300.0;
  double checkpoint_s = 1800.0;
};

// [supervision]: what happens when a process fails.
struct SupervisionOptions {
  // Restarts of one rollout actor or verifier over the run before the run fails, 0..1000.
  int64_t max_restarts = 3;
  // Delay before the first restart, seconds, doubled for each further restart of that worker, >= 0.
  double restart_backoff_s = 1.0;
  // On SIGTERM (what Slurm and Kubernetes send) the run checkpoints and exits within this, seconds, > 0.
  double sigterm_grace_s = 120.0;
};

// [cluster]: addresses of the run's processes.
struct ClusterOptions {
  // The controller's address: it binds there and every worker connects to it. A worker tells the
  // run where it can be reached (its Hello) by CARAVAN_HOST in its environment, which cluster
  // launchers set per node, else by this host (every role on one machine).
  std::string host = "127.0.0.1";
  // Controller ROUTER port; 0 = `caravan run` picks a free port and records it in the resolved config.
  int64_t controller_port = 0;
  // Port of the weight-sync rendezvous (a c10d TCPStore) the learner serves on its machine; the
  // learner's Hello tells the controller, which names it in every SyncWeights. 0 = `caravan run`
  // picks a free one (a worker started by a cluster launcher picks its own).
  int64_t weights_sync_port = 0;
  // Every process sends a heartbeat this often, seconds, > 0.
  double heartbeat_interval_s = 2.0;
  // A peer silent for this long is dead: the controller re-queues a worker's work, a worker
  // exits when its controller is gone. Seconds, > heartbeat_interval_s.
  double heartbeat_timeout_s = 20.0;
  // How long the controller waits for every worker's first Hello, seconds, > 0.
  double connect_timeout_s = 600.0;
};

// [metrics]: Prometheus /metrics endpoints (core/metrics/exposer.h), one per process.
struct MetricsOptions {
  // IPv4 address the endpoints bind to; empty = cluster.host. "0.0.0.0" for every interface.
  std::string host;
  // 0 = metrics off. Otherwise process i of a run listens on port_base + i, with i = 0 for the
  // controller, 1 for the learner, 2.. for the rollout actors, then the verifiers; the last
  // port must be <= 65535. 0..65535.
  int64_t port_base = 0;
};

struct RunConfig {
  RunOptions run;
  TaskOptions task;
  ModelOptions model;
  SftOptions sft;
  GrpoOptions grpo;
  RolloutOptions rollout;
  VerifierOptions verifier;
  WeightSyncOptions weights_sync;
  PipelineOptions pipeline;
  DeadlineOptions deadlines;
  SupervisionOptions supervision;
  ClusterOptions cluster;
  MetricsOptions metrics;
};

} // namespace caravan::core
