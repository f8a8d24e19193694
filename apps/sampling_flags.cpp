#include "apps/sampling_flags.h"

#include <thread>

#include <nlohmann/json.hpp>

namespace caravan::apps {
namespace {

// --stop: a JSON array of non-empty strings (JSON, so that "\n" and quotes can be written).
Result<std::vector<std::string>> parse_stop_strings(const std::optional<std::string>& text) {
  if (!text) return std::vector<std::string>{};
  const nlohmann::json json = nlohmann::json::parse(*text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  const auto invalid = [&](const std::string& why) {
    return Status::invalid_argument(str_cat("--stop: ", why, ", got '", *text, "'"));
  };
  if (!json.is_array()) return invalid("expected a JSON array of strings such as '[\"</answer>\"]'");
  std::vector<std::string> stop_strings;
  for (size_t i = 0; i < json.size(); ++i) {
    if (!json[i].is_string() || json[i].get<std::string>().empty()) return invalid(str_cat("element ", i, " is not a non-empty string"));
    stop_strings.push_back(json[i].get<std::string>());
  }
  return stop_strings;
}

}  // namespace

void declare_sampling_flags(core::CommandLine& cli, double default_temperature) {
  cli.flag("--model", "DIR", "Hugging Face model directory (config.json, safetensors, tokenizer.json) (required)");
  cli.flag("--n", "N", "completions per prompt (default 1)");
  cli.flag("--temperature", "T", str_cat("sampling temperature, 0 = greedy (default ", default_temperature, ")"));
  cli.flag("--top-p", "P", "nucleus sampling mass in (0, 1] (default 1: the whole distribution)");
  cli.flag("--top-k", "K", "sample from the K most likely tokens only (default 0: off)");
  cli.flag("--min-p", "P", "drop tokens less likely than P times the most likely one, P in [0, 1) (default 0: off)");
  cli.flag("--repetition-penalty", "R",
           "divide positive / multiply negative logits of prompt and completion tokens by R > 0 (default 1: off)");
  cli.flag("--presence-penalty", "X", "subtract X in [-2, 2] from the logit of every token already generated (default 0)");
  cli.flag("--frequency-penalty", "X", "subtract X in [-2, 2] times its count from a generated token's logit (default 0)");
  cli.flag("--stop", "JSON", "stop strings as a JSON array, e.g. '[\"</answer>\", \"\\n\\n\"]': a completion ends with the token "
                             "that completes one (finish_reason stop_string)");
  cli.flag("--top-logprobs", "K", "also report the K (0..20) most likely tokens' logprobs at each position (default 0)");
  cli.flag("--max-new-tokens", "N", "tokens generated per completion at most (default 256)");
  cli.flag("--seed", "S", "sampling seed (default 0); the same seed gives the same completions");
  cli.flag("--batch-size", "N", "sequences generating at once at most (default 64)");
  cli.flag("--kv-cache-mb", "MB", "KV cache size in MiB (default: 20% of the available memory)");
  cli.flag("--threads", "N", "LibTorch threads (default: every core)");
  cli.flag("--dtype", "DTYPE", "compute dtype: float32 (default) or bfloat16");
  cli.flag("--chat-template", "NAME", "use this built-in chat template (llama3, chatml, qwen3, tulu) instead of the model's");
  cli.switch_flag("--no-thinking", "render Qwen3-style chat templates with thinking off (enable_thinking=False)");
}

Result<SamplingFlags> read_sampling_flags(const core::CommandLine& cli, double default_temperature) {
  SamplingFlags flags;
  const std::optional<std::string> model = cli.value("--model");
  if (!model) return Status::invalid_argument("--model DIR is required (see --help)");
  flags.model.path = *model;
  flags.model.dtype = cli.value("--dtype").value_or("float32");
  if (flags.model.dtype != "float32" && flags.model.dtype != "bfloat16") {
    return Status::invalid_argument(str_cat("--dtype: expected float32 or bfloat16, got '", flags.model.dtype, "'"));
  }
  flags.model.chat_template = cli.value("--chat-template").value_or("");
  flags.model.enable_thinking = !cli.is_set("--no-thinking");
  OfflineSamplingOptions& sampling = flags.sampling;
  CARAVAN_ASSIGN_OR_RETURN(const double n, cli.positive_number("--n", 1, /*integer=*/true));
  sampling.samples_per_prompt = static_cast<int64_t>(n);
  rollout::SamplingParams& params = sampling.sampling;
  CARAVAN_ASSIGN_OR_RETURN(params.temperature, cli.number("--temperature", default_temperature, {.low = 0}));
  CARAVAN_ASSIGN_OR_RETURN(params.top_p, cli.number("--top-p", 1.0, {.low = 0, .low_inclusive = false, .high = 1.0}));
  CARAVAN_ASSIGN_OR_RETURN(const double top_k, cli.number("--top-k", 0, {.low = 0, .integer = true}));
  params.top_k = static_cast<int64_t>(top_k);
  CARAVAN_ASSIGN_OR_RETURN(params.min_p, cli.number("--min-p", 0, {.low = 0, .high = 1.0}));
  if (params.min_p >= 1) return Status::invalid_argument(str_cat("--min-p: expected 0 <= x < 1, got ", params.min_p));
  CARAVAN_ASSIGN_OR_RETURN(params.repetition_penalty, cli.number("--repetition-penalty", 1.0, {.low = 0, .low_inclusive = false}));
  CARAVAN_ASSIGN_OR_RETURN(params.presence_penalty,
                           cli.number("--presence-penalty", 0, {.low = -rollout::kMaxAbsPenalty, .high = rollout::kMaxAbsPenalty}));
  CARAVAN_ASSIGN_OR_RETURN(params.frequency_penalty,
                           cli.number("--frequency-penalty", 0, {.low = -rollout::kMaxAbsPenalty, .high = rollout::kMaxAbsPenalty}));
  CARAVAN_ASSIGN_OR_RETURN(params.stop_strings, parse_stop_strings(cli.value("--stop")));
  CARAVAN_ASSIGN_OR_RETURN(const double top_logprobs,
                           cli.number("--top-logprobs", 0, {.low = 0, .high = static_cast<double>(rollout::kMaxTopLogprobs), .integer = true}));
  params.top_logprobs = static_cast<int64_t>(top_logprobs);
  CARAVAN_ASSIGN_OR_RETURN(const double max_new_tokens, cli.positive_number("--max-new-tokens", 256, /*integer=*/true));
  params.max_new_tokens = static_cast<int64_t>(max_new_tokens);
  CARAVAN_ASSIGN_OR_RETURN(const double seed, cli.number("--seed", 0, {.low = 0, .integer = true}));
  params.seed = static_cast<uint64_t>(seed);
  CARAVAN_ASSIGN_OR_RETURN(const double batch_size, cli.positive_number("--batch-size", 64, /*integer=*/true));
  sampling.engine.max_running = static_cast<int64_t>(batch_size);
  if (cli.value("--kv-cache-mb")) {
    CARAVAN_ASSIGN_OR_RETURN(const double megabytes, cli.positive_number("--kv-cache-mb", 0, /*integer=*/true));
    sampling.engine.kv_cache_bytes = static_cast<int64_t>(megabytes) << 20;
  }
  const double cores = std::max(1u, std::thread::hardware_concurrency());
  CARAVAN_ASSIGN_OR_RETURN(const double threads, cli.number("--threads", cores, {.low = 1, .high = 1024, .integer = true}));
  flags.threads = static_cast<int>(threads);
  return flags;
}

} // namespace caravan::apps
