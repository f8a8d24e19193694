// File: bench/bench_rewards.cpp
// Benchmark of the reward verifiers (issues 5 and 17): exact math verifications per second per
// core against the target of >= 20,000 checks/s/core on two mixes:
//  - "math": the answers of tests/data/math/cases.jsonl as they are (short completions);
//  - "realistic": the same answers after 200-2,000 characters of generated reasoning (prose,
//    inline and display LaTeX, intermediate equations), as real rollouts have them, so
//    extraction scans a realistic amount of text.
// ArithmeticVerifier on a generated "37+45=82" mix is the baseline measured in the same run.
// Single-threaded, so checks/s is checks/s per core. Also prints p50/p99 latency and the five
// slowest cases and case kinds (by mean latency), so a missed target names what to optimise.
//
//   build/bench/bench_rewards --quick            # ~5 s per mix
//   build/bench/bench_rewards                    # ~30 s per mix
//   build/bench/bench_rewards --cases my.jsonl --seconds 10
//
// The last line is `RESULT math_checks_per_s=... realistic_checks_per_s=... ...`.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/command_line.h"
#include "core/log.h"
#include "core/status.h"
#include "core/str_cat.h"
#include "rewards/arithmetic_verifier.h"
#include "rewards/math/math_verifier.h"
#include "rewards/verifier.h"

#ifndef CARAVAN_MATH_CASES
#error "CARAVAN_MATH_CASES must name tests/data/math/cases.jsonl"
#endif

namespace caravan::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Issue 5 target for the math verifier.
constexpr double kMathTargetChecksPerSecond = 20000.0;
// Latency samples kept per verifier (reservoir sampling beyond this), to bound memory.
constexpr size_t kMaxLatencySamples = size_t{1} << 20;

struct BenchOptions {
  // Measured seconds per mix (after one warm-up pass). Range: > 0.
  double seconds = 30.0;
  // JSON-lines file with "output", "ground_truth", "expected" and optional "category".
  std::string cases_path = CARAVAN_MATH_CASES;
};

// One (completion, ground truth) pair of a mix.
struct Case {
  std::string output;
  std::string ground_truth;
  // "ok" or "wrong": what the verifier should say.
  std::string expected;
  // Kind of case ("fraction", "pi", ...); "generated" for the arithmetic mix.
  std::string category;
  // 1-based line in the cases file; 0 for generated cases.
  int line = 0;
};

struct Measurement {
  uint64_t checks = 0;
  double seconds = 0.0;
  double p50_us = 0.0;
  double p99_us = 0.0;
  // Cases whose verdict differed from `expected` in the warm-up pass.
  int disagreements = 0;
  // Verdicts with status kTimeout during the measured run.
  uint64_t timeouts = 0;
  // Per case (index into the mix): total nanoseconds and calls.
  std::vector<double> case_total_ns;
  std::vector<uint64_t> case_calls;

  double checks_per_second() const { return seconds > 0 ? static_cast<double>(checks) / seconds : 0.0; }
};

// Parses argv into `options`. Returns the exit code to stop with (0 after --help, 2 on a bad
// flag), or nullopt to run.
std::optional<int> parse_args(int argc, char** argv, BenchOptions& options) {
  core::CommandLine cli("bench_rewards",
                        "Measures reward verifications per second per core (single thread).\n"
                        "The last line is `RESULT key=value ...`.");
  cli.switch_flag("--quick", "5 s per mix instead of 30 s");
  cli.flag("--seconds", "S", "measured seconds per mix (overrides --quick)");
  cli.flag("--cases", "FILE", "math mix, JSON lines with output, ground_truth, expected (default " CARAVAN_MATH_CASES ")");
  if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, /*first=*/1)) return exit_code;
  Result<double> seconds = cli.positive_number("--seconds", cli.is_set("--quick") ? 5.0 : options.seconds);
  if (!seconds.ok()) {
    std::cerr << seconds.status().message() << "\n";
    return 2;
  }
  options.seconds = *seconds;
  options.cases_path = cli.value("--cases").value_or(options.cases_path);
  return std::nullopt;
}

Result<std::vector<Case>> load_cases(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::invalid_argument(str_cat(path, ": cannot open"));
  std::vector<Case> cases;
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.is_object()) {
      return Status::invalid_argument(str_cat(path, ":", line_number, ": not a JSON object"));
    }
    Case c;
    for (auto [key, field] : {std::pair{"output", &c.output}, std::pair{"ground_truth", &c.ground_truth},
                              std::pair{"expected", &c.expected}}) {
      if (!record.contains(key) || !record[key].is_string()) {
        return Status::invalid_argument(str_cat(path, ":", line_number, ": needs string field '", key, "'"));
      }
      *field = record[key].get<std::string>();
    }
    c.category = record.contains("category") && record["category"].is_string()
                     ? record["category"].get<std::string>()
                     : "uncategorised";
    c.line = line_number;
    cases.push_back(std::move(c));
  }
  if (cases.empty()) return Status::invalid_argument(str_cat(path, ": no cases"));
  return cases;
}

// GSM8K-style completions ending in "a+b=c" / "#### c" / "The answer is c."; one in four wrong.
std::vector<Case> generate_arithmetic_cases(size_t count) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> operand(1, 999);
  std::vector<Case> cases;
  cases.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const int a = operand(rng);
    const int b = operand(rng);
    const int sum = a + b;
    const bool wrong = i % 4 == 3;
    const int answer = wrong ? sum + 1 : sum;
    Case c;
    switch (i % 3) {
      case 0:
        c.output = str_cat(a, "+", b, "=", answer);
        break;
      case 1:
        c.output = str_cat("We add the two numbers: ", a, " + ", b, " = ", answer, ".\n#### ", answer);
        break;
      default:
        c.output = str_cat("First, ", a, " plus ", b, " gives ", answer, ". The answer is ", answer, ".");
        break;
    }
    c.ground_truth = std::to_string(sum);
    c.expected = wrong ? "wrong" : "ok";
    c.category = "generated";
    cases.push_back(std::move(c));
  }
  return cases;
}

// Reasoning lengths of the realistic mix, in characters.
constexpr size_t kMinReasoningChars = 200;
constexpr size_t kMaxReasoningChars = 2000;

// One sentence of made-up but well-formed reasoning: prose with numbers, inline and display
// LaTeX, and intermediate equations; never the words the extraction looks for.
std::string reasoning_sentence(std::mt19937& rng) {
  std::uniform_int_distribution<int> small(2, 99);
  const int a = small(rng);
  const int b = small(rng);
  switch (rng() % 8) {
    case 0: return str_cat("First, we note that $", a, " + ", b, " = ", a + b, "$. ");
    case 1: return str_cat("Multiplying, $", a, " \\times ", b, " = ", a * b, "$, so the product is ", a * b, ". ");
    case 2: return str_cat("We take \\(\\frac{", a, "}{", a + b, "}\\) of the total of ", a + b, " items. ");
    case 3:
      return str_cat("Next, consider $x^2 - ", a + b, "x + ", a * b, " = 0$, whose roots are $x = ", a, "$ and $x = ", b,
                     "$. ");
    case 4: return str_cat("Then the area is $\\frac{1}{2} \\cdot ", a, " \\cdot ", b, "$ square units. ");
    case 5: return str_cat("Substituting back, we get\n\\[ y = ", a, "x + ", b, ". \\]\n");
    case 6: return str_cat("So far we have used ", a, " of the ", a + b, " pieces, and ", b, " remain. ");
    default: return str_cat("Let's double-check this step: ", a + b, " - ", b, " = ", a, ", which is consistent.\n");
  }
}

// `cases` with 200-2,000 characters of reasoning before each completion (seeded, reproducible).
std::vector<Case> with_reasoning(const std::vector<Case>& cases) {
  std::mt19937 rng(2024);
  std::uniform_int_distribution<size_t> length(kMinReasoningChars, kMaxReasoningChars);
  std::vector<Case> out;
  out.reserve(cases.size());
  for (const Case& c : cases) {
    const size_t target = length(rng);
    std::string reasoning;
    while (reasoning.size() < target) reasoning += reasoning_sentence(rng);
    Case long_case = c;
    long_case.output = reasoning + "\n\n" + c.output;
    out.push_back(std::move(long_case));
  }
  return out;
}

double mean_output_chars(const std::vector<Case>& cases) {
  double total = 0;
  for (const Case& c : cases) total += static_cast<double>(c.output.size());
  return cases.empty() ? 0.0 : total / static_cast<double>(cases.size());
}

double percentile_us(std::vector<float>& samples_ns, double q) {
  if (samples_ns.empty()) return 0.0;
  const size_t k = std::min(samples_ns.size() - 1, static_cast<size_t>(q * static_cast<double>(samples_ns.size())));
  std::nth_element(samples_ns.begin(), samples_ns.begin() + static_cast<std::ptrdiff_t>(k), samples_ns.end());
  return samples_ns[k] / 1000.0;
}

// One warm-up pass (which also checks the verdicts against `expected`), then round-robin over
// `cases` for `seconds`, timing every call. Progress goes to the log once a second.
Measurement measure(const rewards::Verifier& verifier, const std::vector<Case>& cases, double seconds) {
  Measurement m;
  for (const Case& c : cases) {
    const rewards::Verdict verdict = verifier.verify(c.output, c.ground_truth);
    if (rewards::verdict_status_name(verdict.status) != c.expected) ++m.disagreements;
  }
  m.case_total_ns.assign(cases.size(), 0.0);
  m.case_calls.assign(cases.size(), 0);
  std::vector<float> samples_ns;
  samples_ns.reserve(kMaxLatencySamples);
  std::mt19937_64 rng(7);

  const auto budget = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  const Clock::time_point start = Clock::now();
  const Clock::time_point stop = start + budget;
  Clock::time_point next_progress = start + std::chrono::seconds(1);
  Clock::time_point now = start;
  size_t index = 0;
  while (now < stop) {
    const Case& c = cases[index];
    const Clock::time_point before = now;
    const rewards::Verdict verdict = verifier.verify(c.output, c.ground_truth);
    now = Clock::now();
    const double ns = std::chrono::duration<double, std::nano>(now - before).count();
    if (verdict.status == rewards::VerdictStatus::kTimeout) ++m.timeouts;
    m.case_total_ns[index] += ns;
    ++m.case_calls[index];
    ++m.checks;
    if (samples_ns.size() < kMaxLatencySamples) {
      samples_ns.push_back(static_cast<float>(ns));
    } else {
      const uint64_t slot = rng() % m.checks;  // reservoir sampling: every call equally likely
      if (slot < kMaxLatencySamples) samples_ns[slot] = static_cast<float>(ns);
    }
    if (++index == cases.size()) index = 0;
    if (now >= next_progress) {
      next_progress += std::chrono::seconds(1);
      const double elapsed = std::chrono::duration<double>(now - start).count();
      log::info("bench=", verifier.name(), " elapsed_s=", static_cast<int>(elapsed + 0.5), "/", seconds,
                " checks=", m.checks, " checks_per_s=", static_cast<uint64_t>(m.checks / elapsed));
    }
  }
  m.seconds = std::chrono::duration<double>(now - start).count();
  m.p50_us = percentile_us(samples_ns, 0.50);
  m.p99_us = percentile_us(samples_ns, 0.99);
  return m;
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  return buffer;
}

std::string shorten(std::string_view text, size_t limit) {
  std::string out;
  for (char ch : text.substr(0, limit)) out += ch == '\n' ? ' ' : ch;
  if (text.size() > limit) out += "...";
  return out;
}

void report(std::string_view name, const Measurement& m, size_t mix_size) {
  log::result(str_cat(name, ": ", m.checks, " checks in ", fixed(m.seconds, 2), " s = ",
                      fixed(m.checks_per_second(), 0), " checks/s/core, p50 ", fixed(m.p50_us, 2), " us, p99 ",
                      fixed(m.p99_us, 2), " us (mix of ", mix_size, " cases, ", m.disagreements,
                      " verdicts differing from expected, ", m.timeouts, " timeouts)"));
}

// The five slowest cases and case kinds by mean latency.
void report_slowest(const Measurement& m, const std::vector<Case>& cases) {
  std::vector<size_t> order;
  std::map<std::string, std::pair<double, uint64_t>> by_category;  // total ns, calls
  for (size_t i = 0; i < cases.size(); ++i) {
    if (m.case_calls[i] == 0) continue;
    order.push_back(i);
    auto& [total, calls] = by_category[cases[i].category];
    total += m.case_total_ns[i];
    calls += m.case_calls[i];
  }
  const auto mean_us = [&](size_t i) { return m.case_total_ns[i] / static_cast<double>(m.case_calls[i]) / 1000.0; };
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return mean_us(a) > mean_us(b); });
  log::result("5 slowest math cases (mean latency):");
  for (size_t r = 0; r < std::min<size_t>(5, order.size()); ++r) {
    const Case& c = cases[order[r]];
    log::result(str_cat("  ", fixed(mean_us(order[r]), 1), " us  line ", c.line, " [", c.category,
                        "] output=\"", shorten(c.output, 60), "\" ground_truth=\"", shorten(c.ground_truth, 40),
                        "\""));
  }
  std::vector<std::pair<double, std::string>> kinds;
  for (const auto& [category, totals] : by_category) {
    kinds.emplace_back(totals.first / static_cast<double>(totals.second) / 1000.0, category);
  }
  std::sort(kinds.rbegin(), kinds.rend());
  log::result("5 slowest math case kinds (mean latency):");
  for (size_t r = 0; r < std::min<size_t>(5, kinds.size()); ++r) {
    log::result(str_cat("  ", fixed(kinds[r].first, 1), " us  ", kinds[r].second));
  }
}

int run(const BenchOptions& options) {
  Result<std::vector<Case>> loaded = load_cases(options.cases_path);
  if (!loaded.ok()) {
    log::error("bench_rewards: ", loaded.status().to_string());
    return 1;
  }
  const std::vector<Case>& math_cases = loaded.value();
  const std::vector<Case> arithmetic_cases = generate_arithmetic_cases(1000);
  log::info("bench=rewards cases=", options.cases_path, " math_cases=", math_cases.size(),
            " arithmetic_cases=", arithmetic_cases.size(), " seconds_per_verifier=", options.seconds,
            " threads=1");

  const std::vector<Case> realistic_cases = with_reasoning(math_cases);
  const rewards::math::MathVerifier math_verifier;
  const Measurement math = measure(math_verifier, math_cases, options.seconds);
  const Measurement realistic = measure(math_verifier, realistic_cases, options.seconds);
  const rewards::ArithmeticVerifier arithmetic_verifier;
  const Measurement arithmetic = measure(arithmetic_verifier, arithmetic_cases, options.seconds);

  report("math", math, math_cases.size());
  report(str_cat("math, realistic mix (", fixed(mean_output_chars(realistic_cases), 0), " chars on average)"), realistic,
         realistic_cases.size());
  report("arithmetic", arithmetic, arithmetic_cases.size());
  report_slowest(math, math_cases);
  const double math_rate = math.checks_per_second();
  const double realistic_rate = realistic.checks_per_second();
  const double target_ratio = math_rate / kMathTargetChecksPerSecond;
  const double realistic_ratio = realistic_rate / kMathTargetChecksPerSecond;
  const double vs_arithmetic = arithmetic.checks_per_second() > 0 ? math_rate / arithmetic.checks_per_second() : 0;
  log::result(str_cat("math target (>= ", fixed(kMathTargetChecksPerSecond, 0), " checks/s/core): ",
                      std::min(target_ratio, realistic_ratio) >= 1.0 ? "met" : "MISSED", " (ratio ",
                      fixed(target_ratio, 2), " short mix, ", fixed(realistic_ratio, 2), " realistic mix)"));
  log::result(str_cat("RESULT math_checks_per_s=", fixed(math_rate, 0), " math_p50_us=", fixed(math.p50_us, 2),
                      " math_p99_us=", fixed(math.p99_us, 2), " math_target_ratio=", fixed(target_ratio, 3),
                      " realistic_checks_per_s=", fixed(realistic_rate, 0), " realistic_p50_us=",
                      fixed(realistic.p50_us, 2), " realistic_p99_us=", fixed(realistic.p99_us, 2),
                      " realistic_target_ratio=", fixed(realistic_ratio, 3), " realistic_mean_chars=",
                      fixed(mean_output_chars(realistic_cases), 0),
                      " arithmetic_checks_per_s=", fixed(arithmetic.checks_per_second(), 0),
                      " arithmetic_p50_us=", fixed(arithmetic.p50_us, 2), " arithmetic_p99_us=",
                      fixed(arithmetic.p99_us, 2), " math_vs_arithmetic=", fixed(vs_arithmetic, 4),
                      " math_disagreements=", math.disagreements, " realistic_disagreements=", realistic.disagreements,
                      " math_timeouts=", math.timeouts + realistic.timeouts));
  return 0;
}

} // namespace
} // namespace caravan::bench

int main(int argc, char** argv) {
  caravan::bench::BenchOptions options;
  if (std::optional<int> exit_code = caravan::bench::parse_args(argc, argv, options)) return *exit_code;
  return caravan::bench::run(options);
}
