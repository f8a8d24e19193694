// File: core/command_line.h
// A small parser for `PROGRAM [--flag value] [--switch] [POSITIONAL]`, shared by the `caravan`
// subcommands and the benchmarks. Each command declares its flags with help text; --help
// prints them. Unknown flags are errors.
//
//   CommandLine cli("caravan run", "Start every role of a run on this machine.");
//   cli.positional("CONFIG", "run configuration (TOML)");
//   cli.flag("--run-dir", "DIR", "run directory (default: runs/<name>-<time>)");
//   if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, /*first=*/2)) return *exit_code;
//   std::string config = cli.positional_value(0);
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"

namespace caravan::core {

class CommandLine {
 public:
  // `program` prefixes the usage line and every error, e.g. "caravan run" or "bench_code".
  CommandLine(std::string program, std::string summary);

  // A required positional argument (in declaration order).
  void positional(std::string name, std::string help);
  // An option taking a value (`--name VALUE` or `--name=VALUE`).
  void flag(std::string name, std::string value_name, std::string help);
  // An option taking no value (`--name`); is_set() tells whether it was given.
  void switch_flag(std::string name, std::string help);

  // Parses argv[first..argc); call once per object. kInvalidArgument naming an unknown flag, a flag without its value
  // or a missing/extra positional argument. --help / -h always succeeds.
  Status parse(int argc, char** argv, int first);

  // parse(), then the usual command-line outcome: prints the help (exit code 0) or the error
  // (exit code 2) and returns the code, or returns nullopt when the command should run.
  std::optional<int> parse_or_exit(int argc, char** argv, int first);

  bool help_requested() const { return help_requested_; }
  std::string help() const;
  const std::string& positional_value(size_t index) const { return positionals_.at(index); }
  std::optional<std::string> value(const std::string& flag) const;
  bool is_set(const std::string& switch_name) const { return switches_set_.count(switch_name) > 0; }
  // The value of `flag` as a number > 0 (an integer when `integer`), or `fallback` when the flag
  // was not given. kInvalidArgument naming the program, the flag and the text otherwise.
  Result<double> positive_number(const std::string& flag, double fallback, bool integer = false) const;
  // Bounds for number(): low < x (or low <= x when low_inclusive) and x <= high when given.
  struct NumberRange {
    double low = 0;
    bool low_inclusive = true;
    std::optional<double> high = std::nullopt;
    bool integer = false;
  };
  // The value of `flag` as a number in `range`, or `fallback` when the flag was not given.
  // kInvalidArgument naming the program, the flag, the range and the text otherwise.
  Result<double> number(const std::string& flag, double fallback, const NumberRange& range) const;

 private:
  struct Flag {
    std::string name, value_name, help;
    // A switch takes no value (value_name is empty).
    bool is_switch = false;
  };
  std::string program_, summary_;
  std::vector<std::pair<std::string, std::string>> positional_specs_;
  std::vector<Flag> flags_;
  std::vector<std::string> positionals_;
  std::map<std::string, std::string> values_;
  std::set<std::string> switches_set_;
  bool help_requested_ = false;
};

} // namespace caravan::core
