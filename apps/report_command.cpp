// caravan report RUN_DIR [--output FILE]: one self-contained HTML page about a run
// (apps/run_report.h), written atomically; by default RUN_DIR/report.html.
#include <filesystem>
#include <iostream>

#include "apps/command_status.h"
#include "apps/commands.h"
#include "apps/run_report.h"
#include "core/atomic_file.h"
#include "core/command_line.h"
#include "core/log.h"

namespace caravan::apps {
namespace {

Status report(const core::CommandLine& cli) {
  const std::filesystem::path run_dir = cli.positional_value(0);
  const std::filesystem::path output = cli.value("--output").value_or((run_dir / "report.html").string());
  CARAVAN_ASSIGN_OR_RETURN(const RunRecords records, load_run_records(run_dir));
  CARAVAN_RETURN_IF_ERROR(core::write_file_atomically(output, render_run_report(records)));
  log::info("event=report_written file=", output.string(), " metrics_rows=", records.metrics.size(),
            " samples=", records.train_samples.size());
  log::result(str_cat("report: ", output.string()));
  return Status();
}

}  // namespace

int report_command(int argc, char** argv) {
  core::CommandLine cli("caravan report",
                        "Write one self-contained HTML page about a run: plots of reward and accuracy per dataset\n"
                        "source, KL, entropy, response length, staleness, throughput and the time per step, the\n"
                        "held-out evaluations, and the best and worst samples. It needs no network to view.");
  cli.positional("RUN_DIR", "a run directory `caravan run` created (config.toml, metrics.jsonl, samples/)");
  cli.flag("--output", "FILE", "where to write the page (default: RUN_DIR/report.html)");
  if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, /*first=*/2)) return *exit_code;
  return exit_code(report(cli), "report");
}

} // namespace caravan::apps
