#include "actors/rollout/intra_op_threads.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace caravan::rollout {

IntraOpThreads::IntraOpThreads(int most, int cores) : most_(most), cores_(cores) {
  CARAVAN_CHECK(most >= 1 && cores >= 1, "IntraOpThreads: most (", most, ") and cores (", cores, ") must be >= 1");
}

int IntraOpThreads::next(int64_t others) {
  const auto reading = static_cast<double>(std::max<int64_t>(0, others));
  others_average_ = others_average_ < 0 ? reading : 0.75 * others_average_ + 0.25 * reading;
  const auto free_cores = static_cast<int64_t>(std::lround(static_cast<double>(cores_) - others_average_));
  return static_cast<int>(std::clamp<int64_t>(free_cores, 1, most_));
}

Result<int64_t> procs_running(std::string_view proc_stat) {
  constexpr std::string_view kField = "procs_running ";
  size_t at = proc_stat.find(kField);
  while (at != std::string_view::npos && at != 0 && proc_stat[at - 1] != '\n') at = proc_stat.find(kField, at + 1);
  if (at == std::string_view::npos) return Status::invalid_argument("/proc/stat: no procs_running field");
  const std::string_view digits = proc_stat.substr(at + kField.size());
  int64_t value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || value < 0 || (end != digits.data() + digits.size() && *end != '\n')) {
    return Status::invalid_argument(str_cat("/proc/stat: procs_running: expected a count, got \"",
                                            digits.substr(0, digits.find('\n')), "\""));
  }
  return value;
}

namespace {

// Threads of this process in state R now (the third field of /proc/self/task/TID/stat, after the
// parenthesised command name); at least 1, the caller.
int64_t own_running_threads() {
  int64_t running = 0;
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", error)) {
    std::ifstream stat(task.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;  // the thread ended meanwhile
    const size_t name_end = line.rfind(')');
    if (name_end != std::string::npos && name_end + 2 < line.size() && line[name_end + 2] == 'R') ++running;
  }
  return std::max<int64_t>(1, running);
}

} // namespace

Result<int64_t> other_runnable_tasks() {
  std::ifstream file("/proc/stat");
  if (!file) return Status::unavailable("/proc/stat: cannot open it");
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  CARAVAN_ASSIGN_OR_RETURN(const int64_t running, procs_running(text));
  return std::max<int64_t>(0, running - own_running_threads());
}

} // namespace caravan::rollout
