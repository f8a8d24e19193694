// caravan eval: a model directory's accuracy on an RLVR-layout dataset, with the generation code
// and the verifiers and reward rules of a run; the before/after comparison of a training run.
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/controller/reward_item.h"
#include "apps/command_status.h"
#include "apps/commands.h"
#include "apps/offline_sampler.h"
#include "apps/pass_at_k.h"
#include "apps/sampling_flags.h"
#include "core/atomic_file.h"
#include "core/command_line.h"
#include "core/jsonl.h"
#include "core/log.h"
#include "core/parallel_for.h"
#include "core/reward_config.h"
#include "core/rlvr_dataset.h"
#include "model/model_loader.h"
#include "rewards/reward_scoring.h"
#include "rewards/verifier_registry.h"

namespace caravan::apps {
namespace {

// The dataset rows that fit the model and their prompt ids, parallel.
struct EvalPrompts {
  std::vector<const core::RlvrRow*> rows;
  std::vector<std::vector<int32_t>> tokens;
};

// One scored completion.
struct EvalSample {
  std::string completion;
  int64_t completion_tokens = 0;
  rollout::FinishReason finish_reason = rollout::FinishReason::kLength;
  rewards::RewardBreakdown reward;
};

// The rows of `dataset` whose prompt and max_new_tokens fit the model; the others are counted.
Result<EvalPrompts> encode_rows(const core::RlvrDataset& dataset, const model::ModelSpec& spec,
                                int64_t max_new_tokens, const std::string& file, int64_t& too_long) {
  EvalPrompts prompts;
  for (const core::RlvrRow& row : dataset.rows) {
    Result<std::vector<int32_t>> tokens = spec.prompts->encode_chat(row.messages);
    if (!tokens.ok()) return tokens.status().with_context(str_cat(file, ":", row.line));
    if (static_cast<int64_t>(tokens->size()) + max_new_tokens > spec.config.max_position_embeddings) {
      if (too_long++ == 0) {
        log::warn("eval: ", file, ":", row.line, ": the prompt has ", tokens->size(), " tokens; with --max-new-tokens ",
                  max_new_tokens, " it exceeds the model's context of ", spec.config.max_position_embeddings,
                  " (skipped, counted)");
      }
      continue;
    }
    prompts.rows.push_back(&row);
    prompts.tokens.push_back(std::move(*tokens));
  }
  if (prompts.rows.empty()) return Status::invalid_argument(str_cat(file, ": no row fits the model's context"));
  return prompts;
}

// Per-source (and overall) tallies.
struct SourceStats {
  int64_t rows = 0;
  int64_t samples = 0;
  int64_t correct = 0;
  int64_t unjudged = 0;
  double reward_sum = 0;
  int64_t judged = 0;
  int64_t completion_tokens = 0;
  double pass_at_k_sum = 0;

  void add_row(const std::vector<EvalSample>& row_samples, int64_t k) {
    ++rows;
    int64_t row_correct = 0;
    for (const EvalSample& sample : row_samples) {
      ++samples;
      completion_tokens += sample.completion_tokens;
      row_correct += sample.reward.status == rewards::VerdictStatus::kOk;
      if (!sample.reward.trainable()) {
        ++unjudged;
        continue;
      }
      ++judged;
      reward_sum += sample.reward.final_reward;
    }
    correct += row_correct;
    pass_at_k_sum += pass_at_k(static_cast<int64_t>(row_samples.size()), row_correct, k);
  }
};

std::string percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f%%", 100.0 * fraction);
  return text;
}

// One line per source and one for all rows. pass@1 is the accuracy: the fraction of samples the
// verifier accepts (the unbiased estimator for k = 1).
void print_table(const std::map<std::string, SourceStats>& by_source, const SourceStats& all, int64_t n) {
  const std::string pass_n = str_cat("pass@", n);
  std::printf("%-16s %6s %8s %8s %8s %11s %11s %9s\n", "source", "rows", "samples", "pass@1", n > 1 ? pass_n.c_str() : "",
              "mean_reward", "mean_tokens", "unjudged");
  const auto line = [&](const std::string& name, const SourceStats& s) {
    const double samples = static_cast<double>(std::max<int64_t>(s.samples, 1));
    const std::string at_n = n > 1 ? percent(s.pass_at_k_sum / static_cast<double>(std::max<int64_t>(s.rows, 1))) : "";
    std::printf("%-16s %6lld %8lld %8s %8s %11.3f %11.1f %9lld\n", name.c_str(), static_cast<long long>(s.rows),
                static_cast<long long>(s.samples), percent(static_cast<double>(s.correct) / samples).c_str(),
                at_n.c_str(), s.judged > 0 ? s.reward_sum / static_cast<double>(s.judged) : 0.0,
                static_cast<double>(s.completion_tokens) / samples, static_cast<long long>(s.unjudged));
  };
  for (const auto& [source, stats] : by_source) line(source, stats);
  line("all", all);
}

nlohmann::json sample_record(const core::RlvrRow& row, size_t prompt_tokens, size_t index, const EvalSample& sample) {
  return {{"line", row.line},
          {"source", row.dataset},
          {"verifier", row.verifier},
          {"sample", index},
          {"prompt_tokens", prompt_tokens},
          {"completion", sample.completion},
          {"completion_tokens", sample.completion_tokens},
          {"finish_reason", rollout::finish_reason_name(sample.finish_reason)},
          {"reward", rewards::reward_record(sample.reward)}};
}

Status evaluate(const core::CommandLine& cli) {
  CARAVAN_ASSIGN_OR_RETURN(const SamplingFlags flags, read_sampling_flags(cli, /*default_temperature=*/0.0));
  const std::optional<std::string> dataset_file = cli.value("--dataset");
  if (!dataset_file) return Status::invalid_argument("--dataset FILE.jsonl is required (see --help)");
  at::set_num_threads(flags.threads);
  std::shared_ptr<const core::RewardOptions> reward_options;
  if (const std::optional<std::string> file = cli.value("--reward-config")) {
    CARAVAN_ASSIGN_OR_RETURN(core::RewardOptions options, core::load_reward_options(*file));
    reward_options = std::make_shared<const core::RewardOptions>(std::move(options));
  }
  CARAVAN_ASSIGN_OR_RETURN(const model::ModelSpec spec, model::open_model(flags.model));
  core::RlvrDatasetOptions dataset_options;
  dataset_options.on_bad_row = cli.is_set("--strict") ? core::BadRowPolicy::kFail : core::BadRowPolicy::kSkip;
  CARAVAN_ASSIGN_OR_RETURN(const core::RlvrDataset dataset, core::load_rlvr_dataset(*dataset_file, dataset_options));
  for (const std::string& problem : dataset.report.problems) log::warn("eval: skipped ", problem);
  int64_t too_long = 0;
  CARAVAN_ASSIGN_OR_RETURN(const EvalPrompts prompts,
                           encode_rows(dataset, spec, flags.sampling.sampling.max_new_tokens, *dataset_file, too_long));

  CARAVAN_ASSIGN_OR_RETURN(model::Llama model, model::load_model(spec, flags.sampling.sampling.seed));
  model->eval();
  OfflineSamplingOptions sampling = flags.sampling;
  sampling.sampling.stop_ids = spec.prompts->stop_ids();
  const rollout::TokenText token_text = rollout::TokenText::from_tokenizer(*spec.tokenizer);  // for --stop
  sampling.token_text = &token_text;
  CARAVAN_ASSIGN_OR_RETURN(const auto generated, OfflineSampler(*model, sampling).sample(prompts.tokens, "eval"));

  // Score every completion with the run's verifiers and rules, on --threads threads.
  const auto n = static_cast<size_t>(sampling.samples_per_prompt);
  const size_t rows = prompts.rows.size();
  std::vector<std::vector<EvalSample>> samples(rows, std::vector<EvalSample>(n));
  for (size_t p = 0; p < rows; ++p) {
    for (size_t s = 0; s < n; ++s) {
      const rollout::SequenceOutput& sequence = generated[p][s];
      EvalSample& sample = samples[p][s];
      CARAVAN_ASSIGN_OR_RETURN(sample.completion, model::decode_generated(*spec.tokenizer, sequence.tokens));
      sample.finish_reason = sequence.finish_reason;
      sample.completion_tokens = controller::completion_token_count(
          sequence.tokens, /*stopped=*/sample.finish_reason == rollout::FinishReason::kStopToken);
    }
  }
  const rewards::VerifierRegistry registry = rewards::make_default_registry();
  core::parallel_for(rows * n, flags.threads, [&](size_t index) {
    const core::RlvrRow& row = *prompts.rows[index / n];
    EvalSample& sample = samples[index / n][index % n];
    sample.reward = rewards::score_item(registry, reward_options.get(),
                                        {.verifier = row.verifier,
                                         .source = row.dataset,
                                         .ground_truth = row.ground_truth,
                                         .completion = sample.completion,
                                         .completion_tokens = sample.completion_tokens,
                                         .truncated = sample.finish_reason == rollout::FinishReason::kLength});
  });

  std::map<std::string, SourceStats> by_source;
  SourceStats all;
  std::string records;
  for (size_t p = 0; p < rows; ++p) {
    by_source[prompts.rows[p]->dataset].add_row(samples[p], static_cast<int64_t>(n));
    all.add_row(samples[p], static_cast<int64_t>(n));
    for (size_t s = 0; s < n; ++s) {
      records += core::jsonl_line(sample_record(*prompts.rows[p], prompts.tokens[p].size(), s, samples[p][s]));
    }
  }
  std::printf("eval: %s on %s: %zu rows (%lld malformed skipped, %lld too long for the context), %zu samples each, "
              "temperature %g\n",
              spec.directory.string().c_str(), dataset_file->c_str(), rows,
              static_cast<long long>(dataset.report.rows_skipped), static_cast<long long>(too_long), n,
              sampling.sampling.temperature);
  print_table(by_source, all, static_cast<int64_t>(n));
  std::fflush(stdout);
  if (const std::optional<std::string> out = cli.value("--out")) {
    CARAVAN_RETURN_IF_ERROR(core::write_file_atomically(*out, records));
    log::info("eval: wrote ", rows * n, " scored samples to ", *out);
  }
  return Status();
}

}  // namespace

int eval_command(int argc, char** argv) {
  core::CommandLine cli("caravan eval",
                        "Accuracy of a Hugging Face model directory on an RLVR-layout JSONL set ({\"messages\",\n"
                        "\"ground_truth\", \"dataset\"} per row, as `[task] kind = \"rlvr\"` reads it): --n completions per\n"
                        "row (greedy by default), scored by the run's verifiers and reward rules. Prints per dataset\n"
                        "source and overall: the accuracy pass@1 (the fraction of samples the verifier accepts),\n"
                        "pass@n (the unbiased estimator from n samples), the mean reward of the judged samples, mean\n"
                        "completion tokens and the unjudged count (timeout or error). Rows too long for the context are\n"
                        "skipped and counted.");
  cli.flag("--dataset", "FILE", "RLVR JSONL rows (required)");
  cli.flag("--reward-config", "FILE", "reward rules per source (as [verifier] reward_config); default: the verifier's score");
  cli.flag("--out", "FILE", "write one JSONL row per scored sample (the sample files' reward layout)");
  cli.switch_flag("--strict", "stop at the first malformed row instead of skipping it");
  declare_sampling_flags(cli, /*default_temperature=*/0.0);
  if (std::optional<int> usage_exit = cli.parse_or_exit(argc, argv, /*first=*/2)) return *usage_exit;
  log::set_context("role=eval");
  return exit_code(evaluate(cli), "eval");
}

} // namespace caravan::apps
