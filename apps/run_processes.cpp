#include "apps/run_processes.h"

#include "core/status.h"

namespace caravan::apps {
namespace {

struct Worker {
  std::string role;
  int64_t rank = 0;
};

std::vector<Worker> workers(const RunConfig& config) {
  std::vector<Worker> list;
  for (int64_t r = 0; r < config.learner.ranks; ++r) list.push_back({"learner", r});
  for (int64_t r = 0; r < config.rollout.actors; ++r) list.push_back({"rollout", r});
  for (int64_t r = 0; r < config.verifier.workers; ++r) list.push_back({"verifier", r});
  return list;
}

}  // namespace

std::vector<std::string> supervised_process_names(const RunConfig& config, bool external_workers) {
  std::vector<std::string> names{"controller-0"};
  if (external_workers) return names;
  for (const Worker& worker : workers(config)) names.push_back(str_cat(worker.role, "-", worker.rank));
  return names;
}

std::string external_workers_listing(const RunConfig& config) {
  std::string lines;
  for (const Worker& worker : workers(config)) lines += str_cat(worker.role, " ", worker.rank, "\n");
  return lines;
}

} // namespace caravan::apps
