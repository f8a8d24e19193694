#include "core/command_line.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>

namespace caravan::core {

CommandLine::CommandLine(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {}

void CommandLine::positional(std::string name, std::string help) {
  positional_specs_.emplace_back(std::move(name), std::move(help));
}

void CommandLine::flag(std::string name, std::string value_name, std::string help) {
  flags_.push_back({std::move(name), std::move(value_name), std::move(help)});
}

void CommandLine::switch_flag(std::string name, std::string help) {
  flags_.push_back({std::move(name), "", std::move(help), /*is_switch=*/true});
}

Status CommandLine::parse(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      return Status();
    }
    if (arg.rfind("--", 0) != 0) {
      positionals_.push_back(arg);
      continue;
    }
    std::string name = arg;
    std::optional<std::string> inline_value;
    if (const size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    const auto flag = std::find_if(flags_.begin(), flags_.end(), [&](const Flag& f) { return f.name == name; });
    if (flag == flags_.end()) {
      return Status::invalid_argument(str_cat(program_, ": unknown option '", name, "' (see --help)"));
    }
    if (flag->is_switch) {
      if (inline_value) return Status::invalid_argument(str_cat(program_, ": option ", name, " takes no value"));
      switches_set_.insert(name);
    } else if (inline_value) {
      values_[name] = *inline_value;
    } else if (i + 1 < argc) {
      values_[name] = argv[++i];
    } else {
      return Status::invalid_argument(str_cat(program_, ": option ", name, " needs a value"));
    }
  }
  if (positionals_.size() < positional_specs_.size()) {
    return Status::invalid_argument(str_cat(program_, ": missing ", positional_specs_[positionals_.size()].first,
                                            " (see --help)"));
  }
  if (positionals_.size() > positional_specs_.size()) {
    return Status::invalid_argument(str_cat(program_, ": unexpected argument '",
                                            positionals_[positional_specs_.size()], "'"));
  }
  return Status();
}

std::optional<int> CommandLine::parse_or_exit(int argc, char** argv, int first) {
  if (Status status = parse(argc, argv, first); !status.ok()) {
    std::cerr << status.message() << "\n";
    return 2;
  }
  if (help_requested_) {
    std::cout << help();
    return 0;
  }
  return std::nullopt;
}

std::string CommandLine::help() const {
  std::string usage = str_cat("usage: ", program_);
  for (const auto& [name, unused] : positional_specs_) usage += " " + name;
  if (!flags_.empty()) usage += " [options]";
  std::string text = str_cat(usage, "\n\n", summary_, "\n");
  if (!positional_specs_.empty()) {
    text += "\narguments:\n";
    for (const auto& [name, help] : positional_specs_) text += str_cat("  ", name, "\n      ", help, "\n");
  }
  text += "\noptions:\n";
  for (const auto& f : flags_) {
    text += str_cat("  ", f.name, f.is_switch ? "" : " ", f.value_name, "\n      ", f.help, "\n");
  }
  text += "  --help\n      show this help and exit\n";
  return text;
}

std::optional<std::string> CommandLine::value(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

Result<double> CommandLine::positive_number(const std::string& flag, double fallback, bool integer) const {
  return number(flag, fallback, {.low = 0, .low_inclusive = false, .integer = integer});
}

Result<double> CommandLine::number(const std::string& flag, double fallback, const NumberRange& range) const {
  const std::optional<std::string> text = value(flag);
  if (!text) return fallback;
  char* end = nullptr;
  const double number = std::strtod(text->c_str(), &end);
  const bool above = range.low_inclusive ? number >= range.low : number > range.low;
  const bool below = !range.high || number <= *range.high;
  if (end == text->c_str() || *end != '\0' || !above || !below || (range.integer && number != std::floor(number))) {
    return Status::invalid_argument(str_cat(program_, ": ", flag, ": expected ", range.integer ? "an integer" : "a number",
                                            " ", range.low_inclusive ? ">= " : "> ", range.low,
                                            range.high ? str_cat(" and <= ", *range.high) : std::string(), ", got '",
                                            *text, "'"));
  }
  return number;
}

} // namespace caravan::core
