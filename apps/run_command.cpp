// caravan run: resolves the config (run directory, free ports), writes it into the run
// directory, starts controller, rollout actors, verifiers and the learner as child processes
// and supervises them until the controller finishes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "core/command_line.h"
#include "apps/commands.h"
#include "apps/process_supervisor.h"
#include "core/config.h"
#include "core/log.h"
#include "core/run_directory.h"
#include "model/model_loader.h"

namespace caravan::apps {
namespace {

// Asks the kernel for a free TCP port on `host`. The port is released before use, so another
// process could take it first; binding then fails loudly in the worker that needs it.
Result<int64_t> pick_free_port(const std::string& host) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Status::unavailable("socket() failed while picking a free port");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = 0;
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    ::close(fd);
    return Status::invalid_argument(str_cat("[cluster] host: '", host, "' is not an IPv4 address"));
  }
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    return Status::unavailable(str_cat("cannot bind a free port on ", host));
  }
  ::close(fd);
  return static_cast<int64_t>(ntohs(address.sin_port));
}

std::string utc_stamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y%m%d-%H%M%S", &utc);
  return text;
}

Result<core::RunConfig> resolve(core::RunConfig config, const std::optional<std::string>& run_dir_flag) {
  if (run_dir_flag) config.run.directory = *run_dir_flag;
  if (config.run.directory.empty()) config.run.directory = str_cat("runs/", config.run.name, "-", utc_stamp());
  // Workers may start elsewhere (cluster launchers): the resolved config names every path absolutely.
  for (std::string* path :
       {&config.run.directory, &config.verifier.reward_config, &config.task.dataset, &config.model.path}) {
    if (!path->empty()) *path = std::filesystem::absolute(*path).lexically_normal().string();
  }
  if (config.cluster.controller_port == 0) {
    CARAVAN_ASSIGN_OR_RETURN(config.cluster.controller_port, pick_free_port(config.cluster.host));
  }
  if (config.cluster.weights_sync_port == 0) {
    do {
      CARAVAN_ASSIGN_OR_RETURN(config.cluster.weights_sync_port, pick_free_port(config.cluster.host));
    } while (config.cluster.weights_sync_port == config.cluster.controller_port);
  }
  return config;
}

// Opens the model every worker will load, so a checkpoint Caravan cannot represent, or one the
// task cannot prompt, fails here, naming the file and key, before any process starts.
Status check_model(const core::RunConfig& config) {
  CARAVAN_ASSIGN_OR_RETURN(const model::ModelSpec spec, model::open_model(config.model));
  if (config.task.kind == "rlvr" && !spec.prompts->format().chat_format) {
    return Status::invalid_argument(str_cat("[task] kind = \"rlvr\" renders chat prompts, but ",
                                            spec.prompts->format().chat_template_origin));
  }
  if (config.rollout.max_new_tokens >= spec.config.max_position_embeddings) {
    return Status::invalid_argument(str_cat("[rollout] max_new_tokens = ", config.rollout.max_new_tokens,
                                            " leaves no room for a prompt in the model's ",
                                            spec.config.max_position_embeddings, " positions"));
  }
  log::info("event=model_checked source=", spec.pretrained() ? spec.directory.string() : std::string("inline"),
            " architecture=", core::enum_name(spec.config.architecture), " layers=", spec.config.num_layers,
            " vocab=", spec.config.vocab_size, " context=", spec.config.max_position_embeddings);
  return Status();
}

Status run(const std::string& config_path, const std::optional<std::string>& run_dir_flag) {
  // Before any thread exists, so the signal mask holds for the whole process.
  ProcessSupervisor supervisor(std::chrono::seconds(10));
  CARAVAN_ASSIGN_OR_RETURN(core::RunConfig loaded, core::load_run_config(config_path));
  CARAVAN_ASSIGN_OR_RETURN(core::RunConfig config, resolve(std::move(loaded), run_dir_flag));
  CARAVAN_RETURN_IF_ERROR(check_model(config));
  CARAVAN_ASSIGN_OR_RETURN(core::RunDirectory run_dir,
                           core::RunDirectory::create(config.run.directory, core::to_toml(config)));
  log::info("event=run_start name=", config.run.name, " run_dir=", run_dir.root().string(),
            " rollout_actors=", config.rollout.actors, " verifiers=", config.verifier.workers);

  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string resolved_config = run_dir.config_path().string();
  auto start = [&](const std::string& role, int64_t rank) {
    return supervisor.spawn(str_cat(role, "-", rank), {self, "worker", "--role", role, "--rank", std::to_string(rank),
                                                       "--config", resolved_config});
  };
  CARAVAN_RETURN_IF_ERROR(start("controller", 0));
  CARAVAN_RETURN_IF_ERROR(start("learner", 0));
  for (int64_t r = 0; r < config.rollout.actors; ++r) CARAVAN_RETURN_IF_ERROR(start("rollout", r));
  for (int64_t r = 0; r < config.verifier.workers; ++r) CARAVAN_RETURN_IF_ERROR(start("verifier", r));
  CARAVAN_RETURN_IF_ERROR(supervisor.wait("controller-0"));
  log::info("event=run_complete run_dir=", run_dir.root().string());
  return Status();
}

}  // namespace

int run_command(int argc, char** argv) {
  core::CommandLine cli("caravan run", "Start every role of a run (controller, learner, rollout actors, verifiers) on this machine\n"
                         "as separate processes, supervise them, and stop them all if any fails or on Ctrl-C.");
  cli.positional("CONFIG", "run configuration (TOML), e.g. configs/quickstart.toml");
  cli.flag("--run-dir", "DIR", "run directory to create (default: [run] directory, else runs/<name>-<UTC time>)");
  if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, /*first=*/2)) return *exit_code;
  log::set_context("role=launcher");
  Status status = run(cli.positional_value(0), cli.value("--run-dir"));
  if (!status.ok()) {
    log::error("event=run_failed reason=\"", status.to_string(), "\"");
    return status.code() == StatusCode::kCancelled ? 130 : 1;
  }
  return 0;
}

} // namespace caravan::apps
