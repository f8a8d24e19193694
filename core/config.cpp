#include "core/config.h"

#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include <toml++/toml.h>

#include "core/read_file.h"
#include "core/rope_spec.h"
#include "core/toml_names.h"

namespace caravan::core {
namespace {

// What a field accepts. Bounds apply to numbers; `choices` to strings.
struct Rule {
  bool required = false;
  std::optional<double> min;
  std::optional<double> max;
  bool min_exclusive = false;
  bool max_exclusive = false;
  std::vector<std::string> choices;
};

Rule required() {
  Rule rule;
  rule.required = true;
  return rule;
}
Rule at_least(double low) {
  Rule rule;
  rule.min = low;
  return rule;
}
Rule greater_than(double low) {
  Rule rule = at_least(low);
  rule.min_exclusive = true;
  return rule;
}
Rule in_range(double low, double high) {
  Rule rule = at_least(low);
  rule.max = high;
  return rule;
}
// low < x <= high.
Rule left_open_range(double low, double high) {
  Rule rule = in_range(low, high);
  rule.min_exclusive = true;
  return rule;
}
// low <= x < high.
Rule right_open_range(double low, double high) {
  Rule rule = in_range(low, high);
  rule.max_exclusive = true;
  return rule;
}
Rule open_range(double low, double high) {
  Rule rule = in_range(low, high);
  rule.min_exclusive = rule.max_exclusive = true;
  return rule;
}
Rule one_of(std::vector<std::string> choices) {
  Rule rule;
  rule.choices = std::move(choices);
  return rule;
}
Rule required_one_of(std::vector<std::string> choices) {
  Rule rule = one_of(std::move(choices));
  rule.required = true;
  return rule;
}

// The enumerators of an enum that config.toml spells by enum_name (core/transformer_config.h).
const auto& enumerators(Architecture) { return kAllArchitectures; }
const auto& enumerators(RopeScalingType) { return kAllRopeScalingTypes; }
const auto& enumerators(ThreadWait) { return kAllThreadWaits; }
const auto& enumerators(AdvantageEstimator) { return kAllAdvantageEstimators; }
const auto& enumerators(PolicyLossKind) { return kAllPolicyLossKinds; }
const auto& enumerators(LossAggregation) { return kAllLossAggregations; }
const auto& enumerators(KlEstimator) { return kAllKlEstimators; }
const auto& enumerators(KlPlacement) { return kAllKlPlacements; }
const auto& enumerators(LrScheduleKind) { return kAllLrScheduleKinds; }

// A rule accepting exactly the names of `value`'s enumerators.
template <class Enum>
Rule enum_choices(const Enum& value) {
  std::vector<std::string> names;
  for (Enum enumerator : enumerators(value)) names.emplace_back(enum_name(enumerator));
  return one_of(std::move(names));
}

std::string describe_range(const Rule& rule) {
  std::string text;
  if (rule.min) text += str_cat(*rule.min, rule.min_exclusive ? " < " : " <= ");
  text += "x";
  if (rule.max) text += str_cat(rule.max_exclusive ? " < " : " <= ", *rule.max);
  return text;
}

// Every field of RunConfig, in file order. Parser and writer both walk this one list, so the
// two can never disagree about a key's name, section or type.
template <class Visitor>
void visit_fields(RunConfig& c, Visitor& v) {
  v.section("run");
  v.field("name", c.run.name, required());
  v.field("directory", c.run.directory, Rule{});
  v.field("seed", c.run.seed, Rule{});
  v.field("threads_per_process", c.run.threads_per_process, in_range(1, 256));
  v.field("thread_wait", c.run.thread_wait, enum_choices(c.run.thread_wait));

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
    TransformerConfig& m = c.model.inline_config;
    v.field("architecture", m.architecture, enum_choices(m.architecture));
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
    RopeScaling& rope = m.rope_scaling;
    v.field("rope_scaling", rope.type, enum_choices(rope.type));
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

  v.section("dpo");
  v.field("steps", c.dpo.steps, in_range(1, 1e7));
  v.field("batch_size", c.dpo.batch_size, in_range(1, 1e6));
  v.field("learning_rate", c.dpo.learning_rate, open_range(0, 1));
  v.field("warmup_steps", c.dpo.warmup_steps, in_range(0, 1e7));
  v.field("beta", c.dpo.beta, greater_than(0));
  v.field("loss", c.dpo.loss, one_of({"dpo", "dpo_norm"}));
  v.field("max_grad_norm", c.dpo.max_grad_norm, greater_than(0));
  v.field("checkpoint_every", c.dpo.checkpoint_every, in_range(0, 1e7));

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
  AdvantageOptions& advantage = c.grpo.advantage;
  v.field("advantage_estimator", advantage.estimator, enum_choices(advantage.estimator));
  v.field("advantage_eps", advantage.eps, greater_than(0));
  v.field("advantage_group_baseline", advantage.group_baseline, Rule{});
  v.field("gae_gamma", advantage.gae_gamma, in_range(0, 1));
  v.field("gae_lambda", advantage.gae_lambda, in_range(0, 1));
  v.field("gae_whiten", advantage.gae_whiten, Rule{});
  PolicyLossOptions& loss = c.grpo.loss;
  v.field("policy_loss", loss.kind, enum_choices(loss.kind));
  v.field("clip_low", loss.clip_low, left_open_range(0, 1));
  v.field("clip_high", loss.clip_high, greater_than(0));
  v.field("dual_clip", loss.dual_clip, at_least(0));
  v.field("loss_aggregation", loss.aggregation, enum_choices(loss.aggregation));
  v.field("entropy_coef", loss.entropy_coef, at_least(0));
  KlOptions& kl = c.grpo.kl;
  v.field("kl_estimator", kl.estimator, enum_choices(kl.estimator));
  v.field("kl_placement", kl.placement, enum_choices(kl.placement));
  v.field("kl_coef", kl.coef, at_least(0));
  v.field("kl_target", kl.target, at_least(0));
  v.field("kl_horizon", kl.horizon, at_least(1));
  OffPolicyCorrectionOptions& correction = c.grpo.correction;
  v.field("tis_cap", correction.tis_cap, at_least(0));
  v.field("mask_ratio_low", correction.mask_low, at_least(0));
  v.field("mask_ratio_high", correction.mask_high, at_least(0));
  LrScheduleOptions& schedule = c.grpo.schedule;
  v.field("lr_schedule", schedule.kind, enum_choices(schedule.kind));
  v.field("warmup_steps", schedule.warmup_steps, in_range(0, 1e7));
  v.field("min_lr_ratio", schedule.min_lr_ratio, in_range(0, 1));

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
}

// Reads fields out of a parsed TOML document; keeps the first error.
class FieldReader {
 public:
  FieldReader(const toml::table& root, std::string source) : root_(root), source_(std::move(source)) {}

  void section(std::string_view name) {
    section_ = std::string(name);
    known_keys_[section_];
    const toml::node* node = root_.get(name);
    table_ = node != nullptr ? node->as_table() : nullptr;
    if (node != nullptr && table_ == nullptr) {
      fail(str_cat("[", section_, "] must be a table, got ", toml_type_name(*node)));
    }
  }

  // Reads the inline architecture keys whatever `used` says, recording which are present, so
  // that validate_model_source can reject them beside [model] path.
  template <class Fields>
  void inline_model_fields(bool /*used*/, const Fields& fields) {
    reading_inline_model_ = true;
    fields();
    reading_inline_model_ = false;
  }
  // The inline architecture keys the file gives, in file order of visit_fields.
  const std::vector<std::string>& inline_model_keys() const { return inline_model_keys_; }

  template <class T>
  void field(std::string_view key, T& value, const Rule& rule) {
    known_keys_[section_].insert(std::string(key));
    const toml::node* node = table_ != nullptr ? table_->get(key) : nullptr;
    if (node != nullptr && reading_inline_model_) inline_model_keys_.emplace_back(key);
    if (node == nullptr) {
      if (rule.required) fail(str_cat("[", section_, "] missing required key '", key, "'"));
      return;
    }
    read(key, *node, value, rule);
  }

  // Unknown sections and keys are errors: a typo must not silently fall back to a default.
  void reject_unknown() {
    for (const auto& [name, node] : root_) {
      auto known = known_keys_.find(std::string(name.str()));
      if (known == known_keys_.end()) {
        fail(str_cat("unknown section [", name.str(), "]"));
        continue;
      }
      const toml::table* table = node.as_table();
      if (table == nullptr) continue;
      for (const auto& [key, unused] : *table) {
        if (!known->second.count(std::string(key.str()))) {
          fail(str_cat("[", name.str(), "] unknown key '", key.str(), "'"));
        }
      }
    }
  }

  const Status& status() const { return status_; }

 private:
  void fail(const std::string& message) {
    if (status_.ok()) status_ = Status::invalid_argument(str_cat(source_, ": ", message));
  }
  void wrong_type(std::string_view key, const char* expected, const toml::node& node) {
    fail(str_cat("[", section_, "] ", key, ": expected ", expected, ", got ", toml_type_name(node)));
  }
  void check_range(std::string_view key, double x, const Rule& rule) {
    const bool below = rule.min && (rule.min_exclusive ? x <= *rule.min : x < *rule.min);
    const bool above = rule.max && (rule.max_exclusive ? x >= *rule.max : x > *rule.max);
    if (below || above || std::isnan(x)) {
      fail(str_cat("[", section_, "] ", key, ": expected ", describe_range(rule), ", got ", x));
    }
  }

  void read(std::string_view key, const toml::node& node, std::string& value, const Rule& rule) {
    if (!node.is_string()) return wrong_type(key, "a string", node);
    value = node.as_string()->get();
    if (rule.choices.empty()) return;
    for (const auto& choice : rule.choices) {
      if (choice == value) return;
    }
    std::string allowed;
    for (const auto& choice : rule.choices) allowed += str_cat(allowed.empty() ? "" : ", ", "\"", choice, "\"");
    fail(str_cat("[", section_, "] ", key, ": expected one of ", allowed, ", got \"", value, "\""));
  }
  void read(std::string_view key, const toml::node& node, int64_t& value, const Rule& rule) {
    if (!node.is_integer()) return wrong_type(key, "an integer", node);
    value = node.as_integer()->get();
    check_range(key, static_cast<double>(value), rule);
  }
  void read(std::string_view key, const toml::node& node, uint64_t& value, const Rule& rule) {
    if (!node.is_integer()) return wrong_type(key, "an integer", node);
    const int64_t signed_value = node.as_integer()->get();
    if (signed_value < 0) return fail(str_cat("[", section_, "] ", key, ": expected x >= 0, got ", signed_value));
    value = static_cast<uint64_t>(signed_value);
  }
  void read(std::string_view key, const toml::node& node, double& value, const Rule& rule) {
    if (node.is_integer()) {
      value = static_cast<double>(node.as_integer()->get());
    } else if (node.is_floating_point()) {
      value = node.as_floating_point()->get();
    } else {
      return wrong_type(key, "a number", node);
    }
    check_range(key, value, rule);
  }
  // A list of non-empty strings.
  void read(std::string_view key, const toml::node& node, std::vector<std::string>& value, const Rule&) {
    const toml::array* array = node.as_array();
    if (array == nullptr) return wrong_type(key, "an array of strings", node);
    value.clear();
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      if (!element.is_string()) return wrong_type(str_cat(key, "[", i, "]"), "a string", element);
      if (element.as_string()->get().empty()) return fail(str_cat("[", section_, "] ", key, "[", i, "]: must not be empty"));
      value.push_back(element.as_string()->get());
    }
  }
  void read(std::string_view key, const toml::node& node, bool& value, const Rule&) {
    if (!node.is_boolean()) return wrong_type(key, "a boolean", node);
    value = node.as_boolean()->get();
  }
  // A key that may be absent: present means set.
  template <class T>
  void read(std::string_view key, const toml::node& node, std::optional<T>& value, const Rule& rule) {
    T present{};
    read(key, node, present, rule);
    value = present;
  }
  // An enum is a string naming one of its enumerators; `rule` is enum_choices(value).
  template <class Enum>
    requires std::is_enum_v<Enum>
  void read(std::string_view key, const toml::node& node, Enum& value, const Rule& rule) {
    std::string name;
    read(key, node, name, rule);
    for (Enum enumerator : enumerators(value)) {
      if (enum_name(enumerator) == name) value = enumerator;
    }
  }

  const toml::table& root_;
  std::string source_;
  std::string section_;
  const toml::table* table_ = nullptr;
  std::map<std::string, std::set<std::string>> known_keys_;
  bool reading_inline_model_ = false;
  std::vector<std::string> inline_model_keys_;
  Status status_;
};

// Writes every field into a TOML document.
class FieldWriter {
 public:
  // The inline architecture is written only for a model without [model] path.
  template <class Fields>
  void inline_model_fields(bool used, const Fields& fields) {
    if (used) fields();
  }
  void section(std::string_view name) {
    root_.insert(name, toml::table{});
    table_ = root_.get(name)->as_table();
  }
  template <class T>
  void field(std::string_view key, const std::optional<T>& value, const Rule& rule) {
    if (value) field(key, *value, rule);  // an absent key stays absent
  }
  template <class T>
  void field(std::string_view key, const T& value, const Rule&) {
    if constexpr (std::is_same_v<T, uint64_t>) {
      // TOML integers are signed 64-bit; seeds above INT64_MAX do not round-trip, so they are rejected.
      CARAVAN_CHECK(value <= static_cast<uint64_t>(INT64_MAX), key, " = ", value, " does not fit a TOML integer");
      table_->insert(key, static_cast<int64_t>(value));
    } else if constexpr (std::is_enum_v<T>) {
      table_->insert(key, std::string(enum_name(value)));
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      toml::array array;
      for (const std::string& element : value) array.push_back(element);
      table_->insert(key, std::move(array));
    } else {
      table_->insert(key, value);
    }
  }
  const toml::table& root() const { return root_; }

 private:
  toml::table root_;
  toml::table* table_ = nullptr;
};

// [model] takes a checkpoint directory or an inline architecture, never both and never neither.
Status validate_model_source(const ModelOptions& model, const std::vector<std::string>& inline_keys,
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
Status validate_inline_model(const TransformerConfig& m, const std::string& source) {
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
  if (m.rope_scaling.type == RopeScalingType::kLongrope) {
    return Status::invalid_argument(str_cat(source, ": [model] rope_scaling = \"longrope\" needs the short_factor and "
                                            "long_factor lists of a Hugging Face config.json; config.toml cannot "
                                            "state them"));
  }
  if (const Result<RopeSpec> rope = resolve_rope(m, "rope_scaling_"); !rope.ok()) {
    return Status::invalid_argument(str_cat(source, ": [model] ", rope.status().message()));
  }
  return Status();
}

// The [grpo] algorithm keys whose valid range depends on another key or excludes a point.
Status validate_rl_algorithm(const GrpoOptions& g, const std::string& source) {
  if (g.loss.dual_clip != 0 && g.loss.dual_clip <= 1) {
    return Status::invalid_argument(str_cat(source, ": [grpo] dual_clip: expected 0 (off) or > 1, got ",
                                            g.loss.dual_clip));
  }
  if (g.loss.dual_clip != 0 && g.loss.kind != PolicyLossKind::kPpo) {
    return Status::invalid_argument(str_cat(source, ": [grpo] dual_clip applies to policy_loss = \"ppo\" only (policy_loss is \"",
                                            enum_name(g.loss.kind), "\")"));
  }
  if (g.advantage.group_baseline && g.advantage.estimator != AdvantageEstimator::kReinforcePlusPlus) {
    return Status::invalid_argument(str_cat(source, ": [grpo] advantage_group_baseline applies to advantage_estimator = "
                                            "\"reinforce_pp\" only (the others are group baselines already)"));
  }
  const bool gae_keys_set = g.advantage.gae_gamma != AdvantageOptions{}.gae_gamma ||
                            g.advantage.gae_lambda != AdvantageOptions{}.gae_lambda ||
                            g.advantage.gae_whiten != AdvantageOptions{}.gae_whiten;
  if (gae_keys_set && g.advantage.estimator != AdvantageEstimator::kGae) {
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
  const bool gae = c.grpo.advantage.estimator == AdvantageEstimator::kGae;
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
  if (c.task.kind == "rlvr" && c.sft.steps != 0) {
    return Status::invalid_argument(str_cat(source, ": [sft] steps = ", c.sft.steps,
                                            " but must be 0 for [task] kind = \"rlvr\": RLVR rows carry a ground "
                                            "truth for the verifier, not reference completions to imitate"));
  }
  CARAVAN_RETURN_IF_ERROR(validate_rl_algorithm(c.grpo, source));
  CARAVAN_RETURN_IF_ERROR(validate_value_model(c, source));
  if (c.grpo.bf16_autocast && c.model.dtype != "float32") {
    return Status::invalid_argument(str_cat(source, ": [grpo] bf16_autocast needs [model] dtype = \"float32\" (the ",
                                            "float32 master weights), got \"", c.model.dtype, "\""));
  }
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
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& error) {
    const auto& begin = error.source().begin;
    return Status::invalid_argument(str_cat(source_name, ":", begin.line, ":", begin.column, ": ",
                                            error.description()));
  }
  RunConfig config;
  FieldReader reader(root, source_name);
  visit_fields(config, reader);
  reader.reject_unknown();
  CARAVAN_RETURN_IF_ERROR(reader.status());
  CARAVAN_RETURN_IF_ERROR(validate_model_source(config.model, reader.inline_model_keys(), source_name));
  CARAVAN_RETURN_IF_ERROR(validate_cross_fields(config, source_name));
  return config;
}

Result<RunConfig> load_run_config(const std::filesystem::path& file) {
  CARAVAN_ASSIGN_OR_RETURN(const std::string text, read_file(file, "config file"));
  return parse_run_config(text, file.string());
}

std::string to_toml(const RunConfig& config) {
  RunConfig copy = config;
  FieldWriter writer;
  visit_fields(copy, writer);
  std::ostringstream out;
  // Basic strings only: they escape control characters. A multi-line string drops a newline
  // right after its opening quotes (the stop string "\n\n" would come back as "\n") and a
  // literal string cannot hold one at all.
  out << toml::toml_formatter(writer.root(), toml::toml_formatter::default_flags &
                                                 ~(toml::format_flags::allow_multi_line_strings |
                                                   toml::format_flags::allow_literal_strings));
  out << "\n";
  return out.str();
}

} // namespace caravan::core
