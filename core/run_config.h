// File: core/run_config.h
// The typed configuration of a run: one plain Options struct per component, with defaults
// in member initializers and units/ranges documented per field. core/config.h parses TOML
// into these structs (and writes them back); components receive their own struct.
//
//   CARAVAN_ASSIGN_OR_RETURN(core::RunConfig config, core::load_run_config("configs/quickstart.toml"));
//   CARAVAN_ASSIGN_OR_RETURN(model::ModelSpec spec, model::open_model(config.model));
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>
#include <string_view>

#include "core/thread_wait.h"
#include "core/transformer_config.h"
#include "learner/value_model_options.h"

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
  // How idle LibTorch/OpenBLAS (OpenMP) threads wait between parallel regions, set in every
  // process before its threads start (core/thread_wait.h): "passive" (sleep at once) or "active"
  // (spin). Passive costs little on an idle machine and keeps a run usable on a shared one;
  // active collapses when other processes compete for the cores (bench/RESULTS.md,
  // bench_rollout_cpu).
  ThreadWait thread_wait = ThreadWait::kPassive;
};

// [task]: what the run trains on: the embedded arithmetic task (a+b, a-b, a*b), an RLVR
// prompt set in the Tülu 3 JSONL layout (core/rlvr_dataset.h), or one of the stages before RL:
// supervised fine-tuning on conversations (tasks/sft_dataset.h) or DPO on preference pairs
// (tasks/preference_dataset.h), each run in one process and ending in a Hugging Face checkpoint.
struct TaskOptions {
  // "arithmetic", "rlvr", "sft" or "dpo". Required. Arithmetic prompts are scored by [verifier]
  // name; RLVR rows by the verifier their "dataset" maps to (core/rlvr_dataset.h). "sft" trains
  // by [sft], "dpo" by [dpo]; neither uses rollouts or verifiers.
  std::string kind;
  // rlvr, sft and dpo, required there: the JSONL file. `caravan run` records it as an absolute path.
  std::string dataset;
  // rlvr, sft and dpo: "skip" a malformed row (logged with FILE:LINE and counted in
  // metrics.jsonl) or "fail" the run at the first one.
  std::string on_bad_row = "skip";
  // arithmetic only: operands of + and - are drawn from [0, max_operand_add], 1..10^6.
  int64_t max_operand_add = 99;
  // arithmetic only: operands of * are drawn from [0, max_operand_mul], 1..10^6.
  int64_t max_operand_mul = 19;
  // Size of the fixed, seeded held-out set, disjoint from the training prompts, >= 1. For rlvr
  // (and sft / dpo without held_out_dataset or held_out_fraction), that many rows are split off
  // by a seeded hash of their content and must leave training rows.
  int64_t held_out_size = 500;
  // Seed of the held-out split and selection (independent of run.seed so runs are comparable).
  uint64_t held_out_seed = 20261123;
  // sft and dpo only: a JSONL file in the dataset's layout that is the held-out set (nothing is
  // split off `dataset`). `caravan run` records it as an absolute path. Empty = split.
  std::string held_out_dataset;
  // sft and dpo only: hold out each row whose seeded content hash falls in this fraction,
  // [0, 1); 0 = hold out held_out_size rows instead. Not combined with held_out_dataset.
  double held_out_fraction = 0.0;
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

// [sft]: supervised fine-tuning: the warm-up on generated problems with their answers before RL
// ([task] kind = "arithmetic"), or the SFT stage on a JSONL dataset ([task] kind = "sft").
struct SftOptions {
  // Optimizer steps; 0 skips the warm-up (the SFT stage needs >= 1). 0..10^7.
  int64_t steps = 300;
  // Problems (arithmetic) or conversations (the SFT stage) per step, >= 1.
  int64_t batch_size = 64;
  // AdamW learning rate, > 0.
  double learning_rate = 1e-3;
  // Linear warm-up steps, >= 0.
  int64_t warmup_steps = 20;
  // SFT stage only: write checkpoints/step-N every this many steps (and the final model at the
  // end); 0 = only the final model. >= 0.
  int64_t checkpoint_every = 0;
};

// [dpo]: the DPO stage ([task] kind = "dpo"): direct preference optimisation against a frozen
// copy of the starting model (learner/dpo_trainer.h).
struct DpoOptions {
  // Optimizer steps, 1..10^7.
  int64_t steps = 100;
  // Preference pairs per step, >= 1.
  int64_t batch_size = 8;
  // AdamW learning rate, > 0 (Tülu 3 8B: 5e-7).
  double learning_rate = 5e-7;
  // Linear warm-up steps, >= 0.
  int64_t warmup_steps = 0;
  // The DPO temperature beta, > 0: the implicit reward of a response is beta times its log-ratio
  // against the reference (Tülu 3 used 5 with "dpo_norm").
  double beta = 5.0;
  // "dpo": sequence log-probabilities are sums over the response tokens (Rafailov et al.);
  // "dpo_norm": averages per token (open-instruct's length-normalised loss, Tülu 3's choice).
  std::string loss = "dpo_norm";
  // Maximum gradient L2 norm, > 0.
  double max_grad_norm = 1.0;
  // Write checkpoints/step-N every this many steps (and the final model at the end); 0 = only
  // the final model. >= 0.
  int64_t checkpoint_every = 0;
};

// The options of the RL stage's components, one struct per component. The learner's
// components (learner/advantages.h, policy_loss.h, kl_control.h, off_policy_correction.h,
// lr_schedule.h) take these structs as their own arguments: core cannot see learner/, so the
// structs the config reader fills live here, grouped per component. All keys are read from
// [grpo] (core/config.cpp), spelled as each field says.

// How a sample's advantage is estimated from the rewards (learner/advantages.h).
enum class AdvantageEstimator {
  // GRPO (DeepSeekMath): (r - mean_group) / (std_group + eps), unbiased std.
  kGrpo,
  // Dr. GRPO (Liu et al. 2025, "Understanding R1-Zero-Like Training"): r - mean_group.
  kDrGrpo,
  // RLOO (Ahmadian et al. 2024): r - mean of the other judged samples of the group.
  kRloo,
  // REINFORCE++ (Hu 2025): per-token returns (or, with a group baseline, r - mean_group),
  // normalised over all completion tokens of the batch.
  kReinforcePlusPlus,
  // GAE (Schulman et al. 2016) over per-token values of a value model ([value_model]): PPO.
  kGae,
};
inline constexpr std::array<AdvantageEstimator, 5> kAllAdvantageEstimators = {
    AdvantageEstimator::kGrpo, AdvantageEstimator::kDrGrpo, AdvantageEstimator::kRloo,
    AdvantageEstimator::kReinforcePlusPlus, AdvantageEstimator::kGae};
// config.toml spelling: "grpo", "dr_grpo", "rloo", "reinforce_pp", "gae".
constexpr std::string_view enum_name(AdvantageEstimator estimator) {
  switch (estimator) {
    case AdvantageEstimator::kGrpo: return "grpo";
    case AdvantageEstimator::kDrGrpo: return "dr_grpo";
    case AdvantageEstimator::kRloo: return "rloo";
    case AdvantageEstimator::kReinforcePlusPlus: return "reinforce_pp";
    case AdvantageEstimator::kGae: return "gae";
  }
  return "unknown";
}

// [grpo] advantage_*: learner/advantages.h.
struct AdvantageOptions {
  // [grpo] advantage_estimator.
  AdvantageEstimator estimator = AdvantageEstimator::kGrpo;
  // [grpo] advantage_eps: added to the std before dividing (grpo, reinforce_pp), > 0.
  double eps = 1e-6;
  // [grpo] advantage_group_baseline: reinforce_pp only: subtract the group's mean reward before
  // the batch normalisation (OpenRLHF/verl "reinforce_plus_plus_baseline").
  bool group_baseline = false;
  // [grpo] gae_gamma / gae_lambda: gae only: the discount and the GAE lambda, both in [0, 1]
  // (Tülu 3: 1 and 0.95).
  double gae_gamma = 1.0;
  double gae_lambda = 0.95;
  // [grpo] gae_whiten: gae only: whiten the advantages over all completion tokens of the batch
  // (the value targets stay unwhitened), as verl and OpenRLHF do.
  bool gae_whiten = true;
};

// The per-token surrogate objective (learner/policy_loss.h).
enum class PolicyLossKind {
  // PPO clipped surrogate (Schulman et al. 2017) with separate bounds (DAPO clip-higher) and an
  // optional dual clip (Ye et al. 2020).
  kPpo,
  // GSPO (Zheng et al. 2025): the clipped surrogate of the length-normalised sequence ratio.
  kGspo,
  // CISPO (MiniMax-M1, 2025): REINFORCE with a clipped, stop-gradient importance weight.
  kCispo,
};
inline constexpr std::array<PolicyLossKind, 3> kAllPolicyLossKinds = {PolicyLossKind::kPpo, PolicyLossKind::kGspo,
                                                                      PolicyLossKind::kCispo};
// config.toml spelling: "ppo", "gspo", "cispo".
constexpr std::string_view enum_name(PolicyLossKind kind) {
  switch (kind) {
    case PolicyLossKind::kPpo: return "ppo";
    case PolicyLossKind::kGspo: return "gspo";
    case PolicyLossKind::kCispo: return "cispo";
  }
  return "unknown";
}

// How per-token loss terms become one scalar (learner/policy_loss.h).
enum class LossAggregation {
  // Sum over all completion tokens of the batch / their number (DAPO).
  kTokenMean,
  // Mean over sequences of each sequence's token mean (the original GRPO; GSPO).
  kSequenceMeanTokenMean,
  // Sum over all completion tokens / (sequences x [rollout] max_new_tokens) (Dr. GRPO).
  kConstantDenominator,
};
inline constexpr std::array<LossAggregation, 3> kAllLossAggregations = {
    LossAggregation::kTokenMean, LossAggregation::kSequenceMeanTokenMean, LossAggregation::kConstantDenominator};
// config.toml spelling: "token_mean", "seq_mean_token_mean", "constant".
constexpr std::string_view enum_name(LossAggregation aggregation) {
  switch (aggregation) {
    case LossAggregation::kTokenMean: return "token_mean";
    case LossAggregation::kSequenceMeanTokenMean: return "seq_mean_token_mean";
    case LossAggregation::kConstantDenominator: return "constant";
  }
  return "unknown";
}

// [grpo] policy_loss, clip_*, loss_aggregation, entropy_coef: learner/policy_loss.h.
struct PolicyLossOptions {
  // [grpo] policy_loss.
  PolicyLossKind kind = PolicyLossKind::kPpo;
  // [grpo] clip_low / clip_high: the ratio (ppo), sequence ratio (gspo) or importance weight
  // (cispo) is clipped to [1 - clip_low, 1 + clip_high]. clip_low in (0, 1] (1 = no lower
  // bound, as MiniMax-M1 uses CISPO), clip_high > 0. DAPO: 0.2 / 0.28; GSPO: 3e-4 / 4e-4.
  double clip_low = 0.2;
  double clip_high = 0.2;
  // [grpo] dual_clip: ppo only: for A < 0 the token loss is at most dual_clip * |A|
  // (Ye et al. 2020); 0 = off, else > 1 (verl's default when on: 3).
  double dual_clip = 0.0;
  // [grpo] loss_aggregation.
  LossAggregation aggregation = LossAggregation::kTokenMean;
  // [grpo] entropy_coef: the loss subtracts entropy_coef x the aggregated token entropy, >= 0.
  double entropy_coef = 0.0;
};

// The estimator of KL(pi_theta || pi_ref) per token, from x = log pi_theta - log pi_ref
// (Schulman, "Approximating KL divergence", 2020) (learner/kl_control.h).
enum class KlEstimator {
  // x: unbiased, can be negative.
  kK1,
  // x^2 / 2: biased, low variance.
  kK2,
  // exp(-x) + x - 1: unbiased, >= 0 (GRPO's).
  kK3,
};
inline constexpr std::array<KlEstimator, 3> kAllKlEstimators = {KlEstimator::kK1, KlEstimator::kK2,
                                                                KlEstimator::kK3};
// config.toml spelling: "k1", "k2", "k3".
constexpr std::string_view enum_name(KlEstimator estimator) {
  switch (estimator) {
    case KlEstimator::kK1: return "k1";
    case KlEstimator::kK2: return "k2";
    case KlEstimator::kK3: return "k3";
  }
  return "unknown";
}

// Where the KL penalty against the reference enters.
enum class KlPlacement {
  // A loss term coef x kl, aggregated like the policy loss (GRPO).
  kLoss,
  // Subtracted from the per-token reward before the advantage (InstructGPT/PPO, REINFORCE++).
  kReward,
};
inline constexpr std::array<KlPlacement, 2> kAllKlPlacements = {KlPlacement::kLoss, KlPlacement::kReward};
// config.toml spelling: "loss", "reward".
constexpr std::string_view enum_name(KlPlacement placement) {
  switch (placement) {
    case KlPlacement::kLoss: return "loss";
    case KlPlacement::kReward: return "reward";
  }
  return "unknown";
}

// [grpo] kl_*: learner/kl_control.h.
struct KlOptions {
  // [grpo] kl_estimator.
  KlEstimator estimator = KlEstimator::kK3;
  // [grpo] kl_placement.
  KlPlacement placement = KlPlacement::kLoss;
  // [grpo] kl_coef: the (initial) coefficient, >= 0; 0 = no penalty (and no reference forward).
  double coef = 0.01;
  // [grpo] kl_target: 0 = fixed coefficient; > 0 = the PPO adaptive controller (Ziegler et al.
  // 2019) steers the measured KL towards this value (nats per token).
  double target = 0.0;
  // [grpo] kl_horizon: the adaptive controller's horizon in samples, >= 1.
  double horizon = 10000.0;
};

// [grpo] tis_cap, mask_ratio_*: learner/off_policy_correction.h. The ratio is
// pi_learner(token) / pi_rollout(token), the learner's recomputation against the logprob the
// rollout engine recorded. Any correction on makes the PPO ratio's denominator the learner's
// own recomputation, so that the rollout/learner gap is carried by the correction alone.
struct OffPolicyCorrectionOptions {
  // [grpo] tis_cap: truncated importance sampling: each token's loss is multiplied by
  // min(ratio, tis_cap); 0 = off, else >= 1 (Yao et al. 2025 use 2).
  double tis_cap = 0.0;
  // [grpo] mask_ratio_low / mask_ratio_high: IcePop-style: tokens whose ratio leaves
  // [low, high] get no gradient. Both 0 = off; else 0 <= low < 1 < high (IcePop: 0.5 / 5).
  double mask_low = 0.0;
  double mask_high = 0.0;

  bool enabled() const { return tis_cap > 0 || mask_high > 0; }
};

// The learning-rate multiplier after the warm-up (learner/lr_schedule.h).
enum class LrScheduleKind {
  kConstant,
  // Linear decay to min_lr_ratio at the last step.
  kLinear,
  // Half-cosine decay to min_lr_ratio at the last step.
  kCosine,
};
inline constexpr std::array<LrScheduleKind, 3> kAllLrScheduleKinds = {LrScheduleKind::kConstant,
                                                                      LrScheduleKind::kLinear,
                                                                      LrScheduleKind::kCosine};
// config.toml spelling: "constant", "linear", "cosine".
constexpr std::string_view enum_name(LrScheduleKind kind) {
  switch (kind) {
    case LrScheduleKind::kConstant: return "constant";
    case LrScheduleKind::kLinear: return "linear";
    case LrScheduleKind::kCosine: return "cosine";
  }
  return "unknown";
}

// [grpo] lr_schedule, warmup_steps, min_lr_ratio: learner/lr_schedule.h.
struct LrScheduleOptions {
  // [grpo] lr_schedule.
  LrScheduleKind kind = LrScheduleKind::kConstant;
  // [grpo] warmup_steps: linear warm-up from learning_rate / warmup_steps, >= 0.
  int64_t warmup_steps = 0;
  // [grpo] min_lr_ratio: the multiplier linear and cosine decay to, in [0, 1].
  double min_lr_ratio = 0.0;
};

// [grpo]: the RL stage.
struct GrpoOptions {
  // RL steps (each: generate, verify, one optimizer update, weight sync), >= 0.
  int64_t steps = 100;
  // Prompts per step, >= 1.
  int64_t prompts_per_step = 32;
  // Completions per prompt (the GRPO group), >= 2.
  int64_t group_size = 8;
  // AdamW learning rate (the peak of the schedule), > 0.
  double learning_rate = 3e-4;
  // Maximum gradient L2 norm, > 0.
  double max_grad_norm = 1.0;
  // AdamW weight decay, >= 0.
  double weight_decay = 0.0;
  // Write checkpoints/step-N every this many RL steps (and at the end); 0 = only at the end.
  int64_t checkpoint_every = 0;
  // [grpo] logprob_chunk_size: positions per chunk when the learner computes logprobs and
  // entropy from the hidden states, so that no [tokens x vocab] logits tensor exists at once
  // (learner/chunked_logprobs.h), >= 1.
  int64_t logprob_chunk_size = 1024;
  // [grpo] gradient_checkpointing: keep only each decoder layer's input in the policy's forward
  // and rerun the layer in the backward pass (model/activation_checkpoint.h): less memory, one
  // more forward per layer, the same gradients.
  bool gradient_checkpointing = false;
  // [grpo] bf16_autocast: the policy's and the reference's forward passes run their matmuls in
  // bfloat16 on the float32 parameters, which stay the master weights (learner/autocast.h).
  // Needs [model] dtype = "float32".
  bool bf16_autocast = false;
  AdvantageOptions advantage;
  PolicyLossOptions loss;
  KlOptions kl;
  OffPolicyCorrectionOptions correction;
  LrScheduleOptions schedule;
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
  // The sampling controls of RL rollouts (actors/rollout/sampler.h gives their order); held-out
  // evaluation ignores them (greedy), except stop_strings.
  // Keep the top_k most likely tokens; 0 = off. 0..1e9.
  int64_t top_k = 0;
  // Keep tokens with p >= min_p * (largest p); 0 = off. [0, 1).
  double min_p = 0.0;
  // HF/CTRL repetition penalty on prompt and completion tokens; 1 = off. > 0.
  double repetition_penalty = 1.0;
  // OpenAI/vLLM presence penalty on completion tokens; 0 = off. [-2, 2].
  double presence_penalty = 0.0;
  // OpenAI/vLLM frequency penalty on completion tokens; 0 = off. [-2, 2].
  double frequency_penalty = 0.0;
  // A completion ends with the token that completes one of these strings; each non-empty.
  std::vector<std::string> stop_strings;
  // Also return the top_logprobs most likely tokens' logprobs at each position; 0 = off. 0..20.
  int64_t top_logprobs = 0;
  // The rollout engine (actors/rollout/engine_options.h). KV cache size in bytes; 0 = take
  // kv_cache_fraction of the memory available at start instead. >= 0.
  int64_t kv_cache_bytes = 0;
  // Fraction of the available memory (MemAvailable) for the KV cache when kv_cache_bytes is 0,
  // (0, 1]. The cache never exceeds what max_running_sequences full-context sequences need.
  double kv_cache_fraction = 0.2;
  // Positions per KV block, 1..4096.
  int64_t kv_block_size = 16;
  // Tokens one engine step computes at most (prompt chunks and decode steps together), >= 1.
  int64_t max_step_tokens = 512;
  // Sequences generating at once at most, >= 1.
  int64_t max_running_sequences = 256;
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
  // controller, 1 for the learner, 2.. for the rollout actors, then the verifiers, then the
  // `caravan run` launcher; the last port must be <= 65535. 0..65535. A cluster launcher can
  // set one process's address instead with CARAVAN_METRICS_HOST / CARAVAN_METRICS_PORT
  // (apps/metrics_endpoint.h).
  int64_t port_base = 0;
};

struct RunConfig {
  RunOptions run;
  TaskOptions task;
  ModelOptions model;
  SftOptions sft;
  DpoOptions dpo;
  GrpoOptions grpo;
  learner::ValueModelOptions value_model;
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
