// File: core/reward_config.h
// The reward configuration: how each dataset source turns a verifier's verdict into the scalar
// reward the learner trains on (weight, all-or-nothing scoring, a multiplicative format check,
// DAPO's soft overlong punishment, a fixed reward for truncated samples). Read from a TOML file
// that every verifier process loads; its version is a hash of the file's bytes, so processes
// reading the same file agree on it without talking to each other. The rules are applied by
// rewards/reward_composer.h; this file only parses and validates.
//
//   [source.gsm8k]              # a dataset source ("dataset" of an RLVR row)
//   verifier = "math"           # optional: registry name ("" or absent = the row's verifier)
//   weight = 1.0                # multiplies the verifier score, 0 <= x <= 1000
//   partial_credit = true       # false: a score < 1 becomes 0 (e.g. unit tests of code)
//   numeric_tolerance = 0.0     # math answers: accept |answer - ref| <= x * |ref|; 0 = exact
//   [source.gsm8k.format]       # optional multiplicative format reward
//   pattern = '\\boxed\{'       # PCRE2 regex (core/regex.h) searched anywhere in the completion
//   multiplier_if_missing = 0.0 # reward *= this when the pattern is absent, 0 <= x <= 1
//   [source.gsm8k.overlong]     # optional DAPO soft overlong punishment
//   max_tokens = 1024           # L_max >= 1
//   buffer_tokens = 256         # L_cache, 0 <= x < max_tokens
//   [source.gsm8k.non_stop]     # optional: a truncated sample (no EOS) gets exactly
//   reward = 0.0                # this reward, -1000 <= x <= 1000
//   [source.default]            # applies to every source without a section of its own
//
//   Result<core::RewardOptions> options = core::load_reward_options("configs/rewards.toml");
//   if (!options.ok()) return options.status();  // "rewards.toml: [source.gsm8k] weight: expected ..."
//   const core::SourceRewardOptions* gsm8k = options->find("gsm8k");  // or [source.default]
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/regex.h"
#include "core/status.h"

namespace caravan::core {

// Multiplicative format reward (open-instruct found additive format bonuses get gamed).
// A plain value; copies share the compiled, immutable regex.
struct FormatRewardOptions {
  // PCRE2 (Perl-syntax) regular expression, searched anywhere in the completion. Matching is
  // bounded (core/regex.h): a completion on which the pattern exceeds the match or heap limit
  // counts as missing the format.
  std::string pattern;
  // The reward is multiplied by this when the pattern is absent. Range: [0, 1].
  double multiplier_if_missing = 0.0;
  // `pattern` compiled; always set in options made by make_format_reward_options() or the parser.
  std::optional<Regex> regex;
};

// kInvalidArgument naming the pattern and PCRE2's reason when `pattern` is not a valid regular
// expression, or when multiplier_if_missing is outside [0, 1].
Result<FormatRewardOptions> make_format_reward_options(std::string pattern, double multiplier_if_missing);

// DAPO soft overlong punishment (Yu et al. 2025, eq. 13), added to the reward:
//   len <= max_tokens - buffer_tokens              -> 0
//   max_tokens - buffer_tokens < len <= max_tokens -> ((max_tokens - buffer_tokens) - len) / buffer_tokens
//   len > max_tokens                               -> -1
struct OverlongOptions {
  // L_max, in completion tokens. Range: >= 1.
  int64_t max_tokens = 1;
  // L_cache, in completion tokens; 0 gives a hard cut (-1 beyond max_tokens). Range: [0, max_tokens).
  int64_t buffer_tokens = 0;
};

// The reward rules of one dataset source. A plain value.
struct SourceRewardOptions {
  // Verifier registry name; empty = whichever verifier the dataset row names.
  std::string verifier;
  // Multiplies the verifier score. Range: [0, 1000].
  double weight = 1.0;
  // false: a score below 1 becomes 0 (all-or-nothing, e.g. a program that fails one test).
  bool partial_credit = true;
  // Relative tolerance the verifier accepts for numeric answers: |answer - reference| <=
  // numeric_tolerance * |reference| (a zero reference stays exact). 0, the default, is exact
  // comparison: a rounded decimal is then wrong. Only for sources whose ground truths are
  // themselves rounded (measurements, physics). Passed to Verifier::verify() as
  // VerifySettings::numeric_tolerance; verifiers without numeric answers ignore it. Range: [0, 1].
  double numeric_tolerance = 0.0;
  // Absent: no format check.
  std::optional<FormatRewardOptions> format;
  // Absent: no length penalty.
  std::optional<OverlongOptions> overlong;
  // When set, a truncated sample (stopped by the length limit, no EOS) gets exactly this reward,
  // replacing every other rule. Absent: truncated samples are scored like the others.
  // Range: [-1000, 1000].
  std::optional<double> non_stop_reward;
};

// The whole reward configuration. A plain value; share it as std::shared_ptr<const RewardOptions>.
struct RewardOptions {
  // Section name under [source] -> its rules. The key "default" applies to unlisted sources.
  std::map<std::string, SourceRewardOptions, std::less<>> sources;
  // reward_config_version() of the file's bytes: 12 lowercase hex digits.
  std::string version;

  static constexpr std::string_view kDefaultSource = "default";

  // The rules of `source`, else those of [source.default], else nullptr. The pointer lives as
  // long as this object.
  const SourceRewardOptions* find(std::string_view source) const;
};

// The first 12 hex digits of the 64-bit FNV-1a hash of `bytes`: the config's version.
std::string reward_config_version(std::string_view bytes);

// kNotFound if the file cannot be read; kInvalidArgument for TOML syntax errors (with line and
// column), wrong types, out-of-range values, bad regular expressions, unknown keys and sections,
// and a file without any [source.NAME] section. Messages read
// "FILE: [source.gsm8k.overlong] buffer_tokens: expected 0 <= x < max_tokens (1024), got 2048".
Result<RewardOptions> load_reward_options(const std::filesystem::path& file);

// load_reward_options() for text already in memory; `source_name` prefixes every error and the
// version is computed from `toml_text`.
Result<RewardOptions> parse_reward_options(std::string_view toml_text, const std::string& source_name);

} // namespace caravan::core
