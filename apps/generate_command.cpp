// caravan generate: offline sampling from a Hugging Face model directory with the rollout code a
// run uses, one JSONL row per completion.
#include <ATen/Parallel.h>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/command_status.h"
#include "apps/commands.h"
#include "apps/offline_sampler.h"
#include "apps/sampling_flags.h"
#include "core/atomic_file.h"
#include "core/command_line.h"
#include "core/jsonl.h"
#include "core/log.h"
#include "core/prompt_file.h"
#include "model/model_loader.h"

namespace caravan::apps {
namespace {

// The token ids of every row, each checked to fit the model with max_new_tokens.
Result<std::vector<std::vector<int32_t>>> encode_rows(const std::vector<core::PromptRow>& rows,
                                                      const model::ModelSpec& spec, int64_t max_new_tokens,
                                                      const std::string& file) {
  std::vector<std::vector<int32_t>> prompts;
  prompts.reserve(rows.size());
  for (const core::PromptRow& row : rows) {
    Result<std::vector<int32_t>> ids = spec.prompts->encode(row.prompt);
    if (!ids.ok()) return ids.status().with_context(str_cat(file, ":", row.line));
    const auto tokens = static_cast<int64_t>(ids->size());
    if (tokens == 0) return Status::invalid_argument(str_cat(file, ":", row.line, ": the prompt encodes to no tokens"));
    if (tokens + max_new_tokens > spec.config.max_position_embeddings) {
      return Status::invalid_argument(str_cat(file, ":", row.line, ": the prompt has ", tokens,
                                              " tokens; with --max-new-tokens ", max_new_tokens,
                                              " it exceeds the model's context of ",
                                              spec.config.max_position_embeddings));
    }
    prompts.push_back(std::move(*ids));
  }
  return prompts;
}

// One output row: the input row's keys, then the completion.
Result<nlohmann::json> output_row(const core::PromptRow& row, size_t sample, size_t prompt_tokens,
                                  const rollout::SequenceOutput& sequence, const model::Tokenizer& tokenizer) {
  nlohmann::json out = row.extra;
  out["line"] = row.line;
  out["sample"] = sample;
  out["prompt_tokens"] = prompt_tokens;
  CARAVAN_ASSIGN_OR_RETURN(std::string text, model::decode_generated(tokenizer, sequence.tokens));
  out["text"] = std::move(text);
  out["tokens"] = sequence.tokens;
  out["logprobs"] = sequence.logprobs;
  out["finish_reason"] = rollout::finish_reason_name(sequence.finish_reason);
  if (!sequence.top_logprobs.empty()) {
    nlohmann::json top = nlohmann::json::array();
    for (const auto& position : sequence.top_logprobs) {
      nlohmann::json entries = nlohmann::json::array();
      for (const rollout::TokenLogprob& entry : position) entries.push_back({{"token", entry.token}, {"logprob", entry.logprob}});
      top.push_back(std::move(entries));
    }
    out["top_logprobs"] = std::move(top);
  }
  return out;
}

Status generate(const core::CommandLine& cli) {
  CARAVAN_ASSIGN_OR_RETURN(const SamplingFlags flags, read_sampling_flags(cli, /*default_temperature=*/1.0));
  const std::optional<std::string> prompts_file = cli.value("--prompts");
  if (!prompts_file) return Status::invalid_argument("--prompts FILE.jsonl is required (see --help)");
  at::set_num_threads(flags.threads);
  CARAVAN_ASSIGN_OR_RETURN(const model::ModelSpec spec, model::open_model(flags.model));
  CARAVAN_ASSIGN_OR_RETURN(const std::vector<core::PromptRow> rows, core::read_prompt_file(*prompts_file));
  CARAVAN_ASSIGN_OR_RETURN(const std::vector<std::vector<int32_t>> prompts,
                           encode_rows(rows, spec, flags.sampling.sampling.max_new_tokens, *prompts_file));
  CARAVAN_ASSIGN_OR_RETURN(model::Llama model, model::load_model(spec, flags.sampling.sampling.seed));
  model->eval();
  OfflineSamplingOptions sampling = flags.sampling;
  sampling.sampling.stop_ids = spec.prompts->stop_ids();
  const rollout::TokenText token_text = rollout::TokenText::from_tokenizer(*spec.tokenizer);  // for --stop
  sampling.token_text = &token_text;
  OfflineSampler sampler(*model, sampling);
  CARAVAN_ASSIGN_OR_RETURN(const auto samples, sampler.sample(prompts, "generate"));

  std::string text;
  for (size_t p = 0; p < rows.size(); ++p) {
    for (size_t s = 0; s < samples[p].size(); ++s) {
      CARAVAN_ASSIGN_OR_RETURN(const nlohmann::json row,
                               output_row(rows[p], s, prompts[p].size(), samples[p][s], *spec.tokenizer));
      text += core::jsonl_line(row);
    }
  }
  if (const std::optional<std::string> out = cli.value("--out")) {
    CARAVAN_RETURN_IF_ERROR(core::write_file_atomically(*out, text));
    log::info("generate: wrote ", rows.size() * static_cast<size_t>(sampling.samples_per_prompt), " completions to ", *out);
  } else {
    std::cout << text << std::flush;
  }
  return Status();
}

}  // namespace

int generate_command(int argc, char** argv) {
  core::CommandLine cli("caravan generate",
                        "Sample completions from a Hugging Face model directory with the rollout code a run uses.\n"
                        "Input rows are {\"messages\": [{\"role\", \"content\"}, ...]} (rendered with the model's chat\n"
                        "template and its generation prompt) or {\"prompt\": \"...\"} (encoded as is); every other key is\n"
                        "copied to the output. Output rows (JSONL) add line, sample, prompt_tokens, text, tokens,\n"
                        "per-token logprobs (under the temperature-scaled distribution), finish_reason\n"
                        "(stop|stop_string|length) and, with --top-logprobs K, top_logprobs: per position the K most\n"
                        "likely [{token, logprob}].\n"
                        "Progress goes to stderr.");
  cli.flag("--prompts", "FILE", "JSONL prompt rows (required)");
  cli.flag("--out", "FILE", "write the completions here (default: stdout)");
  declare_sampling_flags(cli, /*default_temperature=*/1.0);
  if (std::optional<int> usage_exit = cli.parse_or_exit(argc, argv, /*first=*/2)) return *usage_exit;
  log::set_context("role=generate");
  return exit_code(generate(cli), "generate");
}

} // namespace caravan::apps
