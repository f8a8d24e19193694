// A process's debug log: every level in the file, the console keeps its level.
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "apps/process_log.h"
#include "core/read_file.h"
#include "core/log.h"
#include "tests/common/temp_dir.h"

namespace caravan::apps {
namespace {

using caravan::testing::TempDir;

TEST(ProcessLog, FileGetsEveryLevelConsoleKeepsItsLevel) {
  TempDir dir;
  log::set_level(log::Level::kInfo);
  std::mutex mutex;
  std::vector<std::string> console;
  {
    auto opened = ProcessLog::open(dir.path() / "logs" / "rollout-1.log", [&](log::Level, std::string_view line) {
      std::lock_guard lock(mutex);
      console.emplace_back(line);
    });
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    log::debug("event=quiet_detail");
    log::info("event=visible");
    log::result("a result line");
  }
  const std::string file = core::read_file(dir.path() / "logs" / "rollout-1.log", "test output").value();
  EXPECT_NE(file.find("event=quiet_detail"), std::string::npos) << file;
  EXPECT_NE(file.find("event=visible"), std::string::npos) << file;
  EXPECT_NE(file.find("a result line"), std::string::npos) << file;
  ASSERT_EQ(console.size(), 2u);
  EXPECT_NE(console[0].find("event=visible"), std::string::npos);
  EXPECT_EQ(console[1], "a result line");
  // Closed: the level is the console's again and the file gets nothing more.
  EXPECT_FALSE(log::enabled(log::Level::kDebug));
  log::warn("event=after_close");
  const std::string after = core::read_file(dir.path() / "logs" / "rollout-1.log", "test output").value();
  EXPECT_EQ(after.find("event=after_close"), std::string::npos);
}

TEST(ProcessLog, UnwritableFileIsNamed) {
  TempDir dir;
  std::ofstream(dir.path() / "not_a_directory") << "x";
  const auto opened = ProcessLog::open(dir.path() / "not_a_directory" / "launcher.log");
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("not_a_directory/launcher.log"), std::string::npos)
      << opened.status().message();
}

} // namespace
} // namespace caravan::apps
