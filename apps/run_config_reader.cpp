#include "apps/run_config_reader.h"

#include <toml++/toml.h>

#include "core/read_file.h"
#include "core/rope_spec.h"
#include "core/str_cat.h"
#include "core/toml_fields.h"

namespace caravan::apps {
namespace {

using core::at_least;
using core::enum_choices;
using core::greater_than;
using core::in_range;
using core::left_open_range;
using core::one_of;
using core::open_range;
using core::required;
using core::required_one_of;
using core::right_open_range;
using core::Rule;

// Every field of RunConfig, in file order. Parser and writer both walk this one list, so the
// two can never disagree about a key's name, section or type.
template <class Visitor>
void visit_fields(RunConfig& c, Visitor& v) {
  v.section("run");
  v.field("name", c.run.name, required());
  v.field("directory", c.run.directory, Rule{});
  v.field("seed", c.run.seed, Rule{});
  v.field("threads_per_process", c.run.threads_per_process, in_range(1, 256));
  v.field("thread_wait", c.run.thread_wait, enum_choices(core::kAllThreadWaits));

  v.section("task");
  v.field("kind", c.task.kind, required_one_of({"arithmetic", "rlvr", "sft", "dpo"}));
  v.field("dataset", c.task.dataset, Rule{});
  v.field("on_bad_row", c.task.on_bad_row, one_of({"skip", "fail"}));
  v.field("max_operand_add", c.task.max_operand_add, in_range(1, 1e6));
  v.field("max_operand_mul", c.task.max_operand_mul, in_range(1, 1e6));
  v.field("held_out_size", c.task.held_out_size, in_range(1, 1e6));
  v.field("held_out_seed", c.task.held_out_seed, Rule{});
  v.field("held_out_dataset", c.task.held_out_dataset, Rule{});
  v.field("held_out_fraction", c.task.held_out_fraction, right_open_range(0, 1));

  v.section("model");
  v.field("path", c.model.path, Rule{});
  v.field("dtype", c.model.dtype, one_of({"float32", "bfloat16"}));
  v.field("checkpoint_dtype", c.model.checkpoint_dtype, one_of({"auto", "float32", "bfloat16", "float16"}));
  v.field("chat_template", c.model.chat_template, Rule{});
  v.field("enable_thinking", c.model.enable_thinking, Rule{});
  // The inline architecture: read only to be rejected when `path` is set, written only when not.
  v.inline_model_fields(c.model.path.empty(), [&] {
    core::TransformerConfig& m = c.model.inline_config;
    v.field("architecture", m.architecture, enum_choices(core::kAllArchitectures));
    v.field("vocab_size", m.vocab_size, in_range(1, 1e7));
    v.field("hidden_size", m.hidden_size, in_range(2, 65536));
    v.field("intermediate_size", m.intermediate_size, in_range(1, 1e6));
    v.field("num_layers", m.num_layers, in_range(1, 1024));
    v.field("num_heads", m.num_heads, in_range(1, 1024));
    v.field("num_kv_heads", m.num_kv_heads, in_range(1, 1024));
    v.field("max_position_embeddings", m.max_position_embeddings, in_range(2, 1e7));
    v.field("rope_theta", m.rope_theta, greater_than(0));
    v.field("rms_norm_eps", m.rms_norm_eps, open_range(0, 1));
    v.field("tie_word_embeddings", m.tie_word_embeddings, Rule{});
    // 0 = hidden_size / num_heads.
    v.field("head_dim", m.explicit_head_dim, in_range(0, 65536));
    // The keys of config.json's rope_scaling dict, spelled rope_scaling_<key> (core/rope_scaling.h;
    // longrope's lists have no TOML spelling). Which ones a type requires: core::resolve_rope.
    core::RopeScaling& rope = m.rope_scaling;
    v.field("rope_scaling", rope.type, enum_choices(core::kAllRopeScalingTypes));
    v.field("rope_scaling_factor", rope.factor, greater_than(0));
    v.field("rope_scaling_low_freq_factor", rope.low_freq_factor, greater_than(0));
    v.field("rope_scaling_high_freq_factor", rope.high_freq_factor, greater_than(0));
    v.field("rope_scaling_original_max_position_embeddings", rope.original_max_position_embeddings, in_range(1, 1e7));
    v.field("rope_scaling_attention_factor", rope.attention_factor, greater_than(0));
    v.field("rope_scaling_beta_fast", rope.beta_fast, greater_than(0));
    v.field("rope_scaling_beta_slow", rope.beta_slow, greater_than(0));
    v.field("rope_scaling_mscale", rope.mscale, Rule{});
    v.field("rope_scaling_mscale_all_dim", rope.mscale_all_dim, Rule{});
    v.field("rope_scaling_truncate", rope.truncate, Rule{});
    v.field("partial_rotary_factor", m.partial_rotary_factor, greater_than(0));
  });

  v.section("sft");
  v.field("steps", c.sft.steps, in_range(0, 1e7));
  v.field("batch_size", c.sft.batch_size, in_range(1, 1e6));
  v.field("learning_rate", c.sft.learning_rate, open_range(0, 1));
  v.field("warmup_steps", c.sft.warmup_steps, in_range(0, 1e7));
  v.field("checkpoint_every", c.sft.checkpoint_every, in_range(0, 1e7));
  // Batching of the SFT steps (learner/batching_options.h).
  v.field("micro_batch_tokens", c.sft.batching.micro_batch_tokens, in_range(0, 1e9));
  v.field("pack_sequences", c.sft.batching.pack_sequences, Rule{});
  v.field("gradient_checkpointing", c.sft.gradient_checkpointing, Rule{});
  v.field("bf16_autocast", c.sft.bf16_autocast, Rule{});

  v.section("dpo");
  v.field("steps", c.dpo.steps, in_range(1, 1e7));
  v.field("batch_size", c.dpo.batch_size, in_range(1, 1e6));
  v.field("learning_rate", c.dpo.learning_rate, open_range(0, 1));
  v.field("warmup_steps", c.dpo.warmup_steps, in_range(0, 1e7));
  v.field("beta", c.dpo.beta, greater_than(0));
  v.field("loss", c.dpo.loss, one_of({"dpo", "dpo_norm"}));
  v.field("max_grad_norm", c.dpo.max_grad_norm, greater_than(0));
  v.field("checkpoint_every", c.dpo.checkpoint_every, in_range(0, 1e7));
  // Batching of the DPO steps (learner/batching_options.h).
  v.field("micro_batch_tokens", c.dpo.batching.micro_batch_tokens, in_range(0, 1e9));
  v.field("pack_sequences", c.dpo.batching.pack_sequences, Rule{});
  v.field("gradient_checkpointing", c.dpo.gradient_checkpointing, Rule{});
  v.field("bf16_autocast", c.dpo.bf16_autocast, Rule{});

  v.section("grpo");
  v.field("steps", c.grpo.steps, in_range(0, 1e7));
  v.field("prompts_per_step", c.grpo.prompts_per_step, in_range(1, 1e6));
  v.field("group_size", c.grpo.group_size, in_range(2, 4096));
  v.field("learning_rate", c.grpo.learning_rate, open_range(0, 1));
  v.field("max_grad_norm", c.grpo.max_grad_norm, greater_than(0));
  v.field("weight_decay", c.grpo.weight_decay, at_least(0));
  v.field("checkpoint_every", c.grpo.checkpoint_every, in_range(0, 1e7));
  v.field("logprob_chunk_size", c.grpo.logprob_chunk_size, in_range(1, 1e9));
  v.field("gradient_checkpointing", c.grpo.gradient_checkpointing, Rule{});
  v.field("bf16_autocast", c.grpo.bf16_autocast, Rule{});
  // Micro-batches, packing, mini-batches and epochs of an RL step (learner/batching_options.h).
  v.field("micro_batch_tokens", c.grpo.batching.micro.micro_batch_tokens, in_range(0, 1e9));
  v.field("pack_sequences", c.grpo.batching.micro.pack_sequences, Rule{});
  v.field("mini_batches", c.grpo.batching.mini_batches, in_range(1, 1e6));
  v.field("epochs", c.grpo.batching.epochs, in_range(1, 1000));
  learner::AdvantageOptions& advantage = c.grpo.advantage;
  v.field("advantage_estimator", advantage.estimator, enum_choices(learner::kAllAdvantageEstimators));
  v.field("advantage_eps", advantage.eps, greater_than(0));
  v.field("advantage_group_baseline", advantage.group_baseline, Rule{});
  v.field("gae_gamma", advantage.gae_gamma, in_range(0, 1));
  v.field("gae_lambda", advantage.gae_lambda, in_range(0, 1));
  v.field("gae_whiten", advantage.gae_whiten, Rule{});
  learner::PolicyLossOptions& loss = c.grpo.loss;
  v.field("policy_loss", loss.kind, enum_choices(learner::kAllPolicyLossKinds));
  v.field("clip_low", loss.clip_low, left_open_range(0, 1));
  v.field("clip_high", loss.clip_high, greater_than(0));
  v.field("dual_clip", loss.dual_clip, at_least(0));
  v.field("loss_aggregation", loss.aggregation, enum_choices(learner::kAllLossAggregations));
  v.field("entropy_coef", loss.entropy_coef, at_least(0));
  learner::KlOptions& kl = c.grpo.kl;
  v.field("kl_estimator", kl.estimator, enum_choices(learner::kAllKlEstimators));
  v.field("kl_placement", kl.placement, enum_choices(learner::kAllKlPlacements));
  v.field("kl_coef", kl.coef, at_least(0));
  v.field("kl_target", kl.target, at_least(0));
  v.field("kl_horizon", kl.horizon, at_least(1));
  learner::OffPolicyCorrectionOptions& correction = c.grpo.correction;
  v.field("tis_cap", correction.tis_cap, at_least(0));
  v.field("mask_ratio_low", correction.mask_low, at_least(0));
  v.field("mask_ratio_high", correction.mask_high, at_least(0));
  learner::LrScheduleOptions& schedule = c.grpo.schedule;
  v.field("lr_schedule", schedule.kind, enum_choices(learner::kAllLrScheduleKinds));
  v.field("warmup_steps", schedule.warmup_steps, in_range(0, 1e7));
  v.field("min_lr_ratio", schedule.min_lr_ratio, in_range(0, 1));
  controller::DynamicSamplingOptions& dynamic_sampling = c.dynamic_sampling;
  v.field("dynamic_sampling", dynamic_sampling.mode, enum_choices(controller::kAllDynamicSamplings));
  v.field("dynamic_sampling_max_rounds", dynamic_sampling.max_rounds, in_range(1, 1000));

  // PPO's value model (learner/value_model_options.h).
  v.section("value_model");
  learner::ValueModelOptions& value = c.value_model;
  v.field("source", value.source, one_of({"", "policy"}));
  v.field("path", value.path, Rule{});
  v.field("learning_rate", value.learning_rate, open_range(0, 1));
  v.field("weight_decay", value.weight_decay, at_least(0));
  v.field("warmup_steps", value.warmup_steps, in_range(0, 1e7));
  v.field("loss_coef", value.loss_coef, greater_than(0));
  v.field("vf_clip", value.vf_clip, greater_than(0));

  v.section("rollout");
  v.field("actors", c.rollout.actors, in_range(1, 1024));
  v.field("temperature", c.rollout.temperature, greater_than(0));
  v.field("top_p", c.rollout.top_p, left_open_range(0, 1));
  v.field("max_new_tokens", c.rollout.max_new_tokens, in_range(1, 1e6));
  v.field("top_k", c.rollout.top_k, in_range(0, 1e9));
  v.field("min_p", c.rollout.min_p, right_open_range(0, 1));
  v.field("repetition_penalty", c.rollout.repetition_penalty, greater_than(0));
  v.field("presence_penalty", c.rollout.presence_penalty, in_range(-2, 2));
  v.field("frequency_penalty", c.rollout.frequency_penalty, in_range(-2, 2));
  v.field("stop_strings", c.rollout.stop_strings, Rule{});
  v.field("top_logprobs", c.rollout.top_logprobs, in_range(0, 20));
  v.field("kv_cache_bytes", c.rollout.kv_cache_bytes, in_range(0, 1e15));
  v.field("kv_cache_fraction", c.rollout.kv_cache_fraction, left_open_range(0, 1));
  v.field("kv_block_size", c.rollout.kv_block_size, in_range(1, 4096));
  v.field("max_step_tokens", c.rollout.max_step_tokens, in_range(1, 1e7));
  v.field("max_running_sequences", c.rollout.max_running_sequences, in_range(1, 1e6));

  v.section("verifier");
  v.field("workers", c.verifier.workers, in_range(1, 1024));
  v.field("name", c.verifier.name, one_of({"arithmetic"}));
  v.field("threads", c.verifier.threads, in_range(0, 1024));
  v.field("queue_capacity", c.verifier.queue_capacity, in_range(1, 1e9));
  v.field("reward_config", c.verifier.reward_config, Rule{});
  v.field("code_deadline_s", c.verifier.code_deadline_s, greater_than(0));
  v.field("code_warm_sandboxes", c.verifier.code_warm_sandboxes, in_range(0, 256));

  v.section("weights_sync");
  v.field("backend", c.weights_sync.backend, one_of({"auto", "gloo", "nccl", "cuda_ipc"}));
  v.field("delta", c.weights_sync.delta, one_of({"off", "changed_tensors", "xor_bf16"}));
  v.field("bucket_bytes", c.weights_sync.bucket_bytes, in_range(1024, 1e12));
  v.field("timeout_s", c.weights_sync.timeout_s, greater_than(0));

  v.section("pipeline");
  v.field("mode", c.pipeline.mode, one_of({"sync", "one_step_off", "async"}));
  v.field("max_staleness", c.pipeline.max_staleness, in_range(1, 64));
  v.field("stale_samples", c.pipeline.stale_samples, one_of({"drop", "downweight"}));
  v.field("stale_weight", c.pipeline.stale_weight, open_range(0, 1));
  v.field("drop_truncated", c.pipeline.drop_truncated, Rule{});

  v.section("deadlines");
  v.field("sft_s", c.deadlines.sft_s, greater_than(0));
  v.field("evaluation_s", c.deadlines.evaluation_s, greater_than(0));
  v.field("rollout_s", c.deadlines.rollout_s, greater_than(0));
  v.field("reward_s", c.deadlines.reward_s, greater_than(0));
  v.field("train_step_s", c.deadlines.train_step_s, greater_than(0));
  v.field("weight_sync_s", c.deadlines.weight_sync_s, greater_than(0));
  v.field("checkpoint_s", c.deadlines.checkpoint_s, greater_than(0));

  v.section("supervision");
  v.field("max_restarts", c.supervision.max_restarts, in_range(0, 1000));
  v.field("restart_backoff_s", c.supervision.restart_backoff_s, at_least(0));
  v.field("sigterm_grace_s", c.supervision.sigterm_grace_s, greater_than(0));

  v.section("cluster");
  v.field("host", c.cluster.host, Rule{});
  v.field("controller_port", c.cluster.controller_port, in_range(0, 65535));
  v.field("weights_sync_port", c.cluster.weights_sync_port, in_range(0, 65535));
  v.field("heartbeat_interval_s", c.cluster.heartbeat_interval_s, greater_than(0));
  v.field("heartbeat_timeout_s", c.cluster.heartbeat_timeout_s, greater_than(0));
  v.field("connect_timeout_s", c.cluster.connect_timeout_s, greater_than(0));

  v.section("metrics");
  v.field("host", c.metrics.host, Rule{});
  v.field("port_base", c.metrics.port_base, in_range(0, 65535));

  // learner/data_parallel_options.h
  v.section("learner");
  v.field("ranks", c.learner.ranks, in_range(1, 64));
  v.field("backend", c.learner.backend, one_of({"auto", "gloo", "nccl"}));
  v.field("rendezvous_port", c.learner.rendezvous_port, in_range(0, 65535));
  v.field("collective_timeout_s", c.learner.collective_timeout_s, greater_than(0));
}

// [model] takes a checkpoint directory or an inline architecture, never both and never neither.
Status validate_model_source(const model::ModelOptions& model, const std::vector<std::string>& inline_keys,
                             const std::string& source) {
  if (!model.path.empty() && !inline_keys.empty()) {
    return Status::invalid_argument(str_cat(source, ": [model] ", inline_keys.front(),
                                            ": an inline architecture key cannot be combined with path = \"",
                                            model.path, "\" (the checkpoint's config.json defines the architecture)"));
  }
  if (model.path.empty() && inline_keys.empty()) {
    return Status::invalid_argument(str_cat(source, ": [model] needs path = \"DIR\" (a Hugging Face checkpoint) or an "
                                            "inline architecture (vocab_size, hidden_size, num_layers, ...)"));
  }
  return Status();
}

// The shape constraints of an inline architecture.
Status validate_inline_model(const core::TransformerConfig& m, const std::string& source) {
  if (m.explicit_head_dim == 0 && m.hidden_size % m.num_heads != 0) {
    return Status::invalid_argument(str_cat(source, ": [model] hidden_size (", m.hidden_size,
                                            ") must be a multiple of num_heads (", m.num_heads,
                                            ") unless head_dim is set"));
  }
  if (m.num_heads % m.num_kv_heads != 0) {
    return Status::invalid_argument(str_cat(source, ": [model] num_kv_heads (", m.num_kv_heads,
                                            ") must divide num_heads (", m.num_heads, ")"));
  }
  if (m.head_dim() % 2 != 0) {
    return Status::invalid_argument(str_cat(source, ": [model] head_dim (", m.head_dim(),
                                            m.explicit_head_dim == 0 ? " = hidden_size / num_heads" : "",
                                            ") must be even for RoPE"));
  }
  if (m.rope_scaling.type == core::RopeScalingType::kLongrope) {
    return Status::invalid_argument(str_cat(source, ": [model] rope_scaling = \"longrope\" needs the short_factor and "
                                            "long_factor lists of a Hugging Face config.json; config.toml cannot "
                                            "state them"));
  }
  if (const Result<core::RopeSpec> rope = core::resolve_rope(m, "rope_scaling_"); !rope.ok()) {
    return Status::invalid_argument(str_cat(source, ": [model] ", rope.status().message()));
  }
  return Status();
}

// The [grpo] algorithm keys whose valid range depends on another key or excludes a point.
Status validate_rl_algorithm(const learner::GrpoOptions& g, const std::string& source) {
  if (g.loss.dual_clip != 0 && g.loss.dual_clip <= 1) {
    return Status::invalid_argument(str_cat(source, ": [grpo] dual_clip: expected 0 (off) or > 1, got ",
                                            g.loss.dual_clip));
  }
  if (g.loss.dual_clip != 0 && g.loss.kind != learner::PolicyLossKind::kPpo) {
    return Status::invalid_argument(str_cat(source, ": [grpo] dual_clip applies to policy_loss = \"ppo\" only (policy_loss is \"",
                                            enum_name(g.loss.kind), "\")"));
  }
  if (g.advantage.group_baseline && g.advantage.estimator != learner::AdvantageEstimator::kReinforcePlusPlus) {
    return Status::invalid_argument(str_cat(source, ": [grpo] advantage_group_baseline applies to advantage_estimator = "
                                            "\"reinforce_pp\" only (the others are group baselines already)"));
  }
  const bool gae_keys_set = g.advantage.gae_gamma != learner::AdvantageOptions{}.gae_gamma ||
                            g.advantage.gae_lambda != learner::AdvantageOptions{}.gae_lambda ||
                            g.advantage.gae_whiten != learner::AdvantageOptions{}.gae_whiten;
  if (gae_keys_set && g.advantage.estimator != learner::AdvantageEstimator::kGae) {
    return Status::invalid_argument(str_cat(source, ": [grpo] gae_gamma / gae_lambda / gae_whiten apply to "
                                            "advantage_estimator = \"gae\" only"));
  }
  if (g.kl.target > 0 && g.kl.coef == 0) {
    return Status::invalid_argument(str_cat(source, ": [grpo] kl_target = ", g.kl.target,
                                            " needs kl_coef > 0: the adaptive controller scales the coefficient"));
  }
  if (g.correction.tis_cap != 0 && g.correction.tis_cap < 1) {
    return Status::invalid_argument(str_cat(source, ": [grpo] tis_cap: expected 0 (off) or >= 1, got ",
                                            g.correction.tis_cap));
  }
  const double low = g.correction.mask_low;
  const double high = g.correction.mask_high;
  if ((low != 0 || high != 0) && !(low < 1 && high > 1)) {
    return Status::invalid_argument(str_cat(source, ": [grpo] mask_ratio_low / mask_ratio_high: expected both 0 (off) "
                                            "or 0 <= low < 1 < high, got ", low, " / ", high));
  }
  return Status();
}

// [value_model] exists exactly for [grpo] advantage_estimator = "gae", from one source.
Status validate_value_model(const RunConfig& c, const std::string& source) {
  const learner::ValueModelOptions& value = c.value_model;
  const bool gae = c.grpo.advantage.estimator == learner::AdvantageEstimator::kGae;
  if (gae && !value.enabled()) {
    return Status::invalid_argument(str_cat(source, ": [grpo] advantage_estimator = \"gae\" needs a value model: set ",
                                            "[value_model] source = \"policy\" or [value_model] path = \"DIR\""));
  }
  if (!gae && value.enabled()) {
    return Status::invalid_argument(str_cat(source, ": [value_model] ", value.path.empty() ? "source" : "path",
                                            " is only read when [grpo] advantage_estimator = \"gae\" (it is \"",
                                            enum_name(c.grpo.advantage.estimator), "\")"));
  }
  if (!value.source.empty() && !value.path.empty()) {
    return Status::invalid_argument(str_cat(source, ": [value_model] source = \"", value.source, "\" and path = \"",
                                            value.path, "\": set one of the two"));
  }
  return Status();
}

// Constraints that involve several fields.
Status validate_cross_fields(const RunConfig& c, const std::string& source) {
  if (c.model.path.empty()) CARAVAN_RETURN_IF_ERROR(validate_inline_model(c.model.inline_config, source));
  const bool reads_dataset = c.task.kind == "rlvr" || c.task.kind == "sft" || c.task.kind == "dpo";
  if (reads_dataset && c.task.dataset.empty()) {
    return Status::invalid_argument(
        str_cat(source, ": [task] kind = \"", c.task.kind, "\" needs dataset = \"FILE.jsonl\""));
  }
  if (!reads_dataset && !c.task.dataset.empty()) {
    return Status::invalid_argument(str_cat(source, ": [task] dataset is only read when kind is \"rlvr\", \"sft\" or "
                                            "\"dpo\" (kind is \"", c.task.kind, "\")"));
  }
  const bool stage = c.task.kind == "sft" || c.task.kind == "dpo";
  if (!stage && (!c.task.held_out_dataset.empty() || c.task.held_out_fraction != 0)) {
    return Status::invalid_argument(str_cat(source, ": [task] ",
                                            c.task.held_out_dataset.empty() ? "held_out_fraction" : "held_out_dataset",
                                            " is only read when kind is \"sft\" or \"dpo\" (kind is \"", c.task.kind,
                                            "\")"));
  }
  if (!c.task.held_out_dataset.empty() && c.task.held_out_fraction != 0) {
    return Status::invalid_argument(str_cat(source, ": [task] held_out_fraction = ", c.task.held_out_fraction,
                                            " cannot be combined with held_out_dataset (the held-out set is that file)"));
  }
  if (c.task.kind == "sft" && c.sft.steps == 0) {
    return Status::invalid_argument(str_cat(source, ": [sft] steps = 0, but [task] kind = \"sft\" trains for [sft] "
                                            "steps (>= 1)"));
  }
  for (const auto& [section, autocast] : {std::pair{"sft", c.sft.bf16_autocast}, std::pair{"dpo", c.dpo.bf16_autocast},
                                          std::pair{"grpo", c.grpo.bf16_autocast}}) {
    if (autocast && c.model.dtype != "float32") {
      return Status::invalid_argument(str_cat(source, ": [", section, "] bf16_autocast needs [model] dtype = ",
                                              "\"float32\" (the float32 master weights), got \"", c.model.dtype, "\""));
    }
  }
  if (c.learner.ranks > 1 && c.model.dtype != "float32") {
    return Status::invalid_argument(str_cat(source, ": [learner] ranks = ", c.learner.ranks, " needs [model] dtype = ",
                                            "\"float32\" (got \"", c.model.dtype, "\"): the ranks sum float32 gradients ",
                                            "and shard float32 optimizer state; [grpo] bf16_autocast computes in bfloat16 ",
                                            "on float32 weights"));
  }
  if (c.task.kind == "rlvr" && c.sft.steps != 0) {
    return Status::invalid_argument(str_cat(source, ": [sft] steps = ", c.sft.steps,
                                            " but must be 0 for [task] kind = \"rlvr\": RLVR rows carry a ground "
                                            "truth for the verifier, not reference completions to imitate"));
  }
  CARAVAN_RETURN_IF_ERROR(validate_rl_algorithm(c.grpo, source));
  CARAVAN_RETURN_IF_ERROR(validate_value_model(c, source));
  if (c.cluster.heartbeat_timeout_s <= c.cluster.heartbeat_interval_s) {
    return Status::invalid_argument(str_cat(source, ": [cluster] heartbeat_timeout_s (", c.cluster.heartbeat_timeout_s,
                                            ") must exceed heartbeat_interval_s (", c.cluster.heartbeat_interval_s,
                                            "): a peer would be dead between two heartbeats"));
  }
  // One metrics port per process: controller, learner, rollout actors, verifiers, launcher.
  const int64_t last_metrics_port = c.metrics.port_base + 2 + c.rollout.actors + c.verifier.workers;
  if (c.metrics.port_base != 0 && last_metrics_port > 65535) {
    return Status::invalid_argument(str_cat(source, ": [metrics] port_base (", c.metrics.port_base, ") leaves no room for ",
                                            last_metrics_port - c.metrics.port_base + 1,
                                            " processes: the last port would be ", last_metrics_port));
  }
  return Status();
}

}  // namespace

Result<RunConfig> parse_run_config(std::string_view toml_text, const std::string& source_name) {
  CARAVAN_ASSIGN_OR_RETURN(const toml::table root, core::parse_toml(toml_text, source_name));
  RunConfig config;
  core::TomlFieldReader reader(root, source_name);
  visit_fields(config, reader);
  reader.reject_unknown();
  CARAVAN_RETURN_IF_ERROR(reader.status());
  CARAVAN_RETURN_IF_ERROR(validate_model_source(config.model, reader.inline_model_keys(), source_name));
  CARAVAN_RETURN_IF_ERROR(validate_cross_fields(config, source_name));
  return config;
}

Result<RunConfig> load_run_config(const std::filesystem::path& file) {
  CARAVAN_ASSIGN_OR_RETURN(const std::string text, core::read_file(file, "config file"));
  return parse_run_config(text, file.string());
}

std::string to_toml(const RunConfig& config) {
  RunConfig copy = config;
  core::TomlFieldWriter writer;
  visit_fields(copy, writer);
  return writer.text();
}

} // namespace caravan::apps
