// caravan reward-test: scores a JSONL file of hand-labelled completions exactly as a run's
// verifier would (rewards/reward_scoring.h: the same choice of verifier, reward rules and
// status) and reports how often the status agrees with the intended one, the score and reward
// distribution and the slowest cases. It is how a verifier or a reward config is checked before
// a run trusts it.
//
// Input, one JSON object per line (blank lines are ignored):
//   {"id": "gsm-1",                  // string or integer, required
//    "verifier": "math",             // registry name, required
//    "ground_truth": "42",           // string, or any JSON value (serialised compactly)
//    "completion": "... \\boxed{42}",// string, required
//    "expected": "ok",               // optional: ok|wrong|timeout|error|sandbox_violation
//    "source": "gsm8k",              // optional: reward-config section (default: "default")
//    "completion_tokens": 812,       // optional, >= 0, EOS excluded; needed by an [overlong] rule
//    "truncated": false}             // optional: stopped without EOS
// A malformed line is reported as "FILE:LINE: field 'x': reason" and skipped (counted in the
// summary); with --strict it is fatal before anything runs.
//
// Each sample gets the status and reward a run would give it: without --config the verifier's
// score is the reward; with it, the sample's source selects the rules, which may name another
// verifier. A source without rules, or an [overlong] rule for a sample without
// completion_tokens, is status "error" (not judged). "expected" is compared with that status.
//
// Output (--out), one line per sample in input order: {"id", "verifier", "source", "ms",
// "reward"}, where "reward" is the breakdown in the layout of the run's sample files
// (core/reward_record.h) and "verifier" the one the line names.
//
// Exit codes: 0 success; 1 some sample's status differs from its "expected"; 2 usage or input
// errors (bad flags, unreadable files, a bad config, a malformed line under --strict).
// SIGHUP re-reads --config (rewards/reward_config_watcher.h); later samples carry the new version.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/command_line.h"
#include "apps/commands.h"
#include "core/atomic_file.h"
#include "core/log.h"
#include "core/parallel_for.h"
#include "rewards/reward_config_watcher.h"
#include "rewards/reward_scoring.h"
#include "rewards/verifier_registry.h"

namespace caravan::apps {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr int kExitDisagreement = 1;
constexpr int kExitUsage = 2;
// Progress goes to stderr every this many checked samples.
constexpr int64_t kProgressEvery = 1000;
// Workers look for a changed --config every this many samples (and at the first).
constexpr int64_t kReloadCheckEvery = 64;
constexpr size_t kSlowestShown = 5;
constexpr size_t kProblemsShown = 20;
constexpr size_t kDetailWidth = 100;

// One validated input line.
struct SampleCase {
  int64_t line = 0;
  std::string id;
  std::string verifier;
  std::string ground_truth;
  std::string completion;
  std::optional<rewards::VerdictStatus> expected;
  std::string source{core::RewardOptions::kDefaultSource};
  std::optional<int64_t> completion_tokens;
  bool truncated = false;
};

struct SampleSet {
  std::vector<SampleCase> cases;
  int64_t lines_skipped = 0;
  // "FILE:LINE: field 'x': reason" of the first kProblemsShown malformed lines.
  std::vector<std::string> problems;
};

// What scoring one sample produced.
struct CaseOutcome {
  rewards::RewardBreakdown reward;
  // Wall time of the scoring, milliseconds.
  double ms = 0.0;
};

std::optional<rewards::VerdictStatus> status_from_name(std::string_view name) {
  for (rewards::VerdictStatus status :
       {rewards::VerdictStatus::kOk, rewards::VerdictStatus::kWrong, rewards::VerdictStatus::kTimeout,
        rewards::VerdictStatus::kError, rewards::VerdictStatus::kSandboxViolation}) {
    if (name == rewards::verdict_status_name(status)) return status;
  }
  return std::nullopt;
}

// Parses one non-blank line; `where` is "FILE:LINE".
Result<SampleCase> parse_sample(const std::string& text, const std::string& where, int64_t line,
                                const rewards::VerifierRegistry& registry) {
  const json row = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (row.is_discarded()) return Status::invalid_argument(str_cat(where, ": not valid JSON"));
  if (!row.is_object()) return Status::invalid_argument(str_cat(where, ": expected a JSON object"));
  auto bad = [&](std::string_view field, const std::string& reason) {
    return Status::invalid_argument(str_cat(where, ": field '", field, "': ", reason));
  };
  auto required_string = [&](std::string_view field, std::string& out) -> Status {
    auto it = row.find(field);
    if (it == row.end()) return bad(field, "missing");
    if (!it->is_string()) return bad(field, str_cat("expected a string, got ", it->type_name()));
    out = it->get<std::string>();
    return Status();
  };

  SampleCase sample;
  sample.line = line;
  auto id = row.find("id");
  if (id == row.end()) return bad("id", "missing");
  if (id->is_string()) {
    sample.id = id->get<std::string>();
  } else if (id->is_number_integer()) {
    sample.id = id->dump();
  } else {
    return bad("id", str_cat("expected a string or an integer, got ", id->type_name()));
  }
  CARAVAN_RETURN_IF_ERROR(required_string("verifier", sample.verifier));
  if (Result<const rewards::Verifier*> found = registry.find(sample.verifier); !found.ok()) {
    return bad("verifier", found.status().message());
  }
  auto truth = row.find("ground_truth");
  if (truth == row.end()) return bad("ground_truth", "missing");
  sample.ground_truth = truth->is_string() ? truth->get<std::string>() : truth->dump();
  CARAVAN_RETURN_IF_ERROR(required_string("completion", sample.completion));

  if (auto expected = row.find("expected"); expected != row.end()) {
    const std::optional<rewards::VerdictStatus> status =
        expected->is_string() ? status_from_name(expected->get<std::string>()) : std::nullopt;
    if (!status) return bad("expected", str_cat("expected one of ok, wrong, timeout, error, sandbox_violation, got ", expected->dump()));
    sample.expected = status;
  }
  if (row.contains("source")) CARAVAN_RETURN_IF_ERROR(required_string("source", sample.source));
  if (auto tokens = row.find("completion_tokens"); tokens != row.end()) {
    if (!tokens->is_number_integer() || tokens->get<int64_t>() < 0) {
      return bad("completion_tokens", str_cat("expected an integer >= 0, got ", tokens->dump()));
    }
    sample.completion_tokens = tokens->get<int64_t>();
  }
  if (auto truncated = row.find("truncated"); truncated != row.end()) {
    if (!truncated->is_boolean()) return bad("truncated", str_cat("expected a boolean, got ", truncated->dump()));
    sample.truncated = truncated->get<bool>();
  }
  return sample;
}

Result<SampleSet> read_samples(const fs::path& file, bool strict, const rewards::VerifierRegistry& registry) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::not_found(str_cat(file.string(), ": cannot open samples file"));
  SampleSet set;
  std::string text;
  for (int64_t line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    Result<SampleCase> sample = parse_sample(text, str_cat(file.string(), ":", line), line, registry);
    if (sample.ok()) {
      set.cases.push_back(std::move(sample).value());
      continue;
    }
    if (strict) return sample.status();
    ++set.lines_skipped;
    if (set.problems.size() < kProblemsShown) set.problems.push_back(sample.status().message());
  }
  return set;
}

// Scores `sample` by the run's scoring path under `options` (null: no reward config).
rewards::RewardBreakdown score(const SampleCase& sample, const rewards::VerifierRegistry& registry,
                               const core::RewardOptions* options) {
  return rewards::score_item(registry, options,
                             {.verifier = sample.verifier,
                              .source = sample.source,
                              .ground_truth = sample.ground_truth,
                              .completion = sample.completion,
                              .completion_tokens = sample.completion_tokens,
                              .truncated = sample.truncated});
}

// The watcher SIGHUP reloads; null when no --config was given or outside a run.
std::atomic<rewards::RewardConfigWatcher*> g_sighup_watcher{nullptr};
static_assert(std::atomic<rewards::RewardConfigWatcher*>::is_always_lock_free);

void on_sighup(int) {
  if (rewards::RewardConfigWatcher* watcher = g_sighup_watcher.load()) watcher->request_reload();
}

// Routes SIGHUP to `watcher` while alive; restores the previous disposition on destruction.
class SighupReload {
 public:
  explicit SighupReload(rewards::RewardConfigWatcher& watcher) {
    g_sighup_watcher.store(&watcher);
    struct sigaction action = {};
    action.sa_handler = on_sighup;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGHUP, &action, &previous_);
  }
  SighupReload(const SighupReload&) = delete;
  SighupReload& operator=(const SighupReload&) = delete;
  ~SighupReload() {
    sigaction(SIGHUP, &previous_, nullptr);
    g_sighup_watcher.store(nullptr);
  }

 private:
  struct sigaction previous_ = {};
};

// Checks every sample on `threads` threads; outcomes[i] belongs to cases[i].
std::vector<CaseOutcome> check_all(const std::vector<SampleCase>& cases, const rewards::VerifierRegistry& registry,
                                   rewards::RewardConfigWatcher* watcher, int threads) {
  std::vector<CaseOutcome> outcomes(cases.size());
  std::atomic<int64_t> done{0};
  core::parallel_for(cases.size(), threads, [&](size_t i) {
    const SampleCase& sample = cases[i];
    if (watcher != nullptr && i % kReloadCheckEvery == 0) {
      Result<bool> reloaded = watcher->maybe_reload();
      if (!reloaded.ok()) {
        log::warn("event=reward_config_reload_failed error=\"", reloaded.status().message(), "\"");
      } else if (*reloaded) {
        log::info("event=reward_config_reloaded version=", watcher->current()->version);
      }
    }
    // Held until the sample is scored: the plan points into it.
    const std::shared_ptr<const core::RewardOptions> options = watcher != nullptr ? watcher->current() : nullptr;
    const auto start = std::chrono::steady_clock::now();
    CaseOutcome& outcome = outcomes[i];
    outcome.reward = score(sample, registry, options.get());
    outcome.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    const int64_t finished = done.fetch_add(1) + 1;
    if (finished % kProgressEvery == 0) log::info("event=progress checked=", finished, " total=", cases.size());
  });
  return outcomes;
}

json result_line(const SampleCase& sample, const CaseOutcome& outcome) {
  return {{"id", sample.id},
          {"verifier", sample.verifier},
          {"source", sample.source},
          {"ms", outcome.ms},
          {"reward", rewards::reward_record(outcome.reward)}};
}

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  if (text.size() > kDetailWidth) text = text.substr(0, kDetailWidth - 3) + "...";
  return text;
}

std::string fixed(double value, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", digits, value);
  return buffer;
}

std::string pad(const std::string& text, size_t width) {
  return text.size() >= width ? text + " " : text + std::string(width - text.size(), ' ');
}

// Prints the summary on stdout; returns the number of disagreements with "expected".
int64_t print_summary(const std::vector<SampleCase>& cases, const std::vector<CaseOutcome>& outcomes) {
  struct Cell {
    int64_t count = 0;
    double score_sum = 0.0;
    double reward_sum = 0.0;
  };
  struct Agreement {
    int64_t n = 0;
    int64_t agree = 0;
  };
  std::map<std::pair<std::string, std::string>, Cell> cells;
  std::map<std::string, Agreement> agreement;
  std::vector<size_t> disagreements;
  for (size_t i = 0; i < cases.size(); ++i) {
    const rewards::RewardBreakdown& reward = outcomes[i].reward;
    Cell& cell = cells[{reward.verifier, rewards::verdict_status_name(reward.status)}];
    ++cell.count;
    cell.score_sum += reward.raw_score;
    cell.reward_sum += reward.final_reward;
    if (!cases[i].expected) continue;
    const bool agrees = *cases[i].expected == reward.status;
    for (const std::string& key : {reward.verifier, std::string("total")}) {
      ++agreement[key].n;
      agreement[key].agree += agrees ? 1 : 0;
    }
    if (!agrees) disagreements.push_back(i);
  }

  std::ostringstream out;
  out << "\nscore distribution:\n  " << pad("verifier", 12) << pad("status", 18) << pad("count", 8)
      << pad("mean_score", 12) << "mean_reward\n";
  for (const auto& [key, cell] : cells) {
    const auto count = static_cast<double>(cell.count);
    out << "  " << pad(key.first, 12) << pad(key.second, 18) << pad(std::to_string(cell.count), 8)
        << pad(fixed(cell.score_sum / count, 3), 12) << fixed(cell.reward_sum / count, 3) << "\n";
  }

  out << "\nagreement with expected:\n";
  if (agreement.empty()) out << "  (no sample has \"expected\")\n";
  for (const auto& [key, counts] : agreement) {
    if (key == "total") continue;
    out << "  " << pad(key, 12) << "n=" << pad(std::to_string(counts.n), 6) << "agree=" << pad(std::to_string(counts.agree), 6)
        << fixed(100.0 * static_cast<double>(counts.agree) / static_cast<double>(counts.n), 1) << "%\n";
  }
  if (auto total = agreement.find("total"); total != agreement.end()) {
    out << "  " << pad("total", 12) << "n=" << pad(std::to_string(total->second.n), 6) << "agree="
        << pad(std::to_string(total->second.agree), 6)
        << fixed(100.0 * static_cast<double>(total->second.agree) / static_cast<double>(total->second.n), 1) << "%\n";
  }

  out << "\ndisagreements: " << disagreements.size() << "\n";
  for (size_t i : disagreements) {
    const rewards::RewardBreakdown& reward = outcomes[i].reward;
    out << "  id=" << cases[i].id << " line=" << cases[i].line << " verifier=" << reward.verifier
        << " expected=" << rewards::verdict_status_name(*cases[i].expected)
        << " got=" << rewards::verdict_status_name(reward.status) << " score=" << fixed(reward.raw_score, 3)
        << " detail=" << one_line(reward.detail) << "\n";
  }

  std::vector<size_t> by_time(cases.size());
  for (size_t i = 0; i < by_time.size(); ++i) by_time[i] = i;
  const size_t shown = std::min(kSlowestShown, by_time.size());
  std::partial_sort(by_time.begin(), by_time.begin() + static_cast<std::ptrdiff_t>(shown), by_time.end(),
                    [&](size_t a, size_t b) { return outcomes[a].ms > outcomes[b].ms; });
  out << "\nslowest:\n";
  for (size_t k = 0; k < shown; ++k) {
    const size_t i = by_time[k];
    out << "  " << pad(fixed(outcomes[i].ms, 3) + " ms", 14) << "id=" << cases[i].id
        << " verifier=" << outcomes[i].reward.verifier << "\n";
  }
  std::cout << out.str();
  return static_cast<int64_t>(disagreements.size());
}

Status write_results(const fs::path& file, const std::vector<SampleCase>& cases, const std::vector<CaseOutcome>& outcomes) {
  std::string text;
  for (size_t i = 0; i < cases.size(); ++i) text += result_line(cases[i], outcomes[i]).dump() + "\n";
  return core::write_file_atomically(file, text);
}

Result<int> parse_threads(const std::optional<std::string>& flag) {
  if (!flag) return 1;
  int threads = 0;
  const auto [end, error] = std::from_chars(flag->data(), flag->data() + flag->size(), threads);
  if (error != std::errc() || end != flag->data() + flag->size() || threads < 1 || threads > 256) {
    return Status::invalid_argument(str_cat("--threads: expected an integer 1 <= N <= 256, got '", *flag, "'"));
  }
  return threads;
}

int usage_error(const Status& status) {
  std::cerr << "caravan reward-test: " << status.message() << "\n";
  return kExitUsage;
}

}  // namespace

int reward_test_command(int argc, char** argv) {
  core::CommandLine cli("caravan reward-test",
                  "Run verifiers (and reward rules) over labelled samples and report agreement.\n"
                  "Exit code 0: all agree; 1: some status differs from \"expected\"; 2: usage or input error.\n"
                  "SIGHUP re-reads --config.");
  cli.flag("--samples", "S.jsonl", "samples: id, verifier, ground_truth, completion [, expected, source, "
                                   "completion_tokens, truncated]");
  cli.flag("--config", "R.toml", "reward config: also compose each sample's reward (see configs/rewards.toml)");
  cli.flag("--out", "RESULTS.jsonl", "write one result line per sample, in input order");
  cli.flag("--threads", "N", "verifier threads (default 1)");
  cli.switch_flag("--strict", "a malformed sample line is fatal (default: skip it and count it)");
  if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, /*first=*/2)) return *exit_code;
  const std::optional<std::string> samples_flag = cli.value("--samples");
  if (!samples_flag) return usage_error(Status::invalid_argument("--samples is required"));
  Result<int> threads = parse_threads(cli.value("--threads"));
  if (!threads.ok()) return usage_error(threads.status());

  const rewards::VerifierRegistry registry = rewards::make_default_registry();
  std::unique_ptr<rewards::RewardConfigWatcher> watcher;
  if (const std::optional<std::string> config = cli.value("--config")) {
    Result<std::unique_ptr<rewards::RewardConfigWatcher>> opened =
        rewards::RewardConfigWatcher::open(*config, rewards::verifiers_known_to(registry));
    if (!opened.ok()) return usage_error(opened.status());
    watcher = std::move(opened).value();
  }
  Result<SampleSet> samples = read_samples(*samples_flag, cli.is_set("--strict"), registry);
  if (!samples.ok()) return usage_error(samples.status());
  for (const std::string& problem : samples->problems) log::warn("event=bad_sample_line skipped=\"", problem, "\"");

  const auto start = std::chrono::steady_clock::now();
  std::vector<CaseOutcome> outcomes;
  {
    std::optional<SighupReload> reload_on_sighup;
    if (watcher) reload_on_sighup.emplace(*watcher);
    outcomes = check_all(samples->cases, registry, watcher.get(), *threads);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (const std::optional<std::string> out = cli.value("--out")) {
    if (Status written = write_results(*out, samples->cases, outcomes); !written.ok()) return usage_error(written);
  }
  std::cout << "reward-test: " << samples->cases.size() << " samples from " << *samples_flag << " ("
            << samples->lines_skipped << " malformed lines skipped), " << *threads << " threads, " << fixed(seconds, 3)
            << " s\n";
  if (watcher) std::cout << "reward config: " << watcher->file().string() << " version " << watcher->current()->version << "\n";
  const int64_t disagreements = print_summary(samples->cases, outcomes);
  return disagreements > 0 ? kExitDisagreement : 0;
}

} // namespace caravan::apps
