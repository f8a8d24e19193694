// File: tests/common/caravan_cli.h
// Runs the real `caravan` binary (CARAVAN_BINARY, set by the test target) as a user would, with
// stdin, stdout and stderr redirected through files in a scratch directory.
//
//   const CliOutcome outcome = run_caravan("tokenize --model " + quoted(dir), scratch, "Hello");
//   EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace caravan::testing {

struct CliOutcome {
  // The exit code, or -1 when the process did not exit normally.
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A path as one shell word.
inline std::string quoted(const std::filesystem::path& path) { return "'" + path.string() + "'"; }

// Runs `caravan ARGS` (ARGS as shell words) with `stdin_text` on stdin; the files it needs go to
// `scratch` (an existing directory).
inline CliOutcome run_caravan(const std::string& args, const std::filesystem::path& scratch,
                              const std::string& stdin_text = "") {
  const std::filesystem::path in = scratch / "caravan.stdin", out = scratch / "caravan.stdout",
                              err = scratch / "caravan.stderr";
  write_text(in, stdin_text);
  const std::string command = std::string("'") + CARAVAN_BINARY + "' " + args + " < " + quoted(in) + " > " +
                              quoted(out) + " 2> " + quoted(err);
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(out), read_text(err)};
}

} // namespace caravan::testing
