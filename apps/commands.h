// File: apps/commands.h
// Entry points of the `caravan` subcommands; each returns the process exit code.
#pragma once

namespace caravan::apps {

// caravan run CONFIG [--run-dir DIR]: every role of a run on this machine, as child processes.
int run_command(int argc, char** argv);
// caravan worker --role ROLE --rank N --config CONFIG: one process of a run (what `run` and
// cluster launchers start).
int worker_command(int argc, char** argv);

} // namespace caravan::apps
