#include "core/run_directory.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

#include "core/atomic_file.h"

namespace caravan::core {
namespace {

class RunDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("caravan-run-dir-" + std::to_string(::getpid()) + "-" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  static std::string read(const std::filesystem::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::filesystem::path root_;
};

TEST_F(RunDirectoryTest, CreateWritesLayoutAndConfig) {
  auto dir = RunDirectory::create(root_, "[run]\nname = \"x\"\n");
  ASSERT_TRUE(dir.ok()) << dir.status().to_string();
  EXPECT_EQ(read(dir->config_path()), "[run]\nname = \"x\"\n");
  EXPECT_TRUE(std::filesystem::is_directory(root_ / "samples"));
  EXPECT_TRUE(std::filesystem::is_directory(root_ / "checkpoints"));
  EXPECT_EQ(dir->checkpoint_dir(int64_t{12}).filename(), "step-000012");
}

TEST_F(RunDirectoryTest, RefusesToReuseAnExistingRun) {
  ASSERT_TRUE(RunDirectory::create(root_, "a").ok());
  auto again = RunDirectory::create(root_, "b");
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(read(root_ / "config.toml"), "a");
}

TEST_F(RunDirectoryTest, OpenNeedsAConfig) {
  EXPECT_EQ(RunDirectory::open(root_).status().code(), StatusCode::kNotFound);
}

TEST_F(RunDirectoryTest, AppendJsonlAddsOneLinePerRecord) {
  auto dir = RunDirectory::create(root_, "a").value();
  ASSERT_TRUE(dir.append_jsonl(dir.metrics_path(), {{"step", 1}}).ok());
  ASSERT_TRUE(dir.append_jsonl(dir.metrics_path(), {{"step", 2}}).ok());
  EXPECT_EQ(read(dir.metrics_path()), "{\"step\":1}\n{\"step\":2}\n");
}

TEST_F(RunDirectoryTest, PublishDirectoryNeverOverwrites) {
  std::filesystem::create_directories(root_ / "staged");
  ASSERT_TRUE(write_file_atomically(root_ / "staged" / "f", "1").ok());
  ASSERT_TRUE(publish_directory_atomically(root_ / "staged", root_ / "final").ok());
  EXPECT_EQ(read(root_ / "final" / "f"), "1");
  EXPECT_FALSE(std::filesystem::exists(root_ / "staged"));
  std::filesystem::create_directories(root_ / "staged2");
  EXPECT_EQ(publish_directory_atomically(root_ / "staged2", root_ / "final").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(read(root_ / "final" / "f"), "1");
}

TEST_F(RunDirectoryTest, AtomicWriteToMissingDirectoryFailsCleanly) {
  Status status = write_file_atomically(root_ / "missing" / "f", "x");
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("missing"), std::string::npos);
}

// A rename over a device or a FIFO would replace it with a file (`--out /dev/null` run as root
// once replaced the machine's /dev/null): such a path is refused before anything is written.
TEST_F(RunDirectoryTest, AtomicWriteRefusesPathsThatAreNotRegularFiles) {
  std::filesystem::create_directories(root_);
  const std::filesystem::path fifo = root_ / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::filesystem::path& path : {fifo, root_, std::filesystem::path("/dev/null")}) {
    Status status = write_file_atomically(path, "x");
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << path;
    EXPECT_NE(status.message().find("is not a regular file"), std::string::npos) << status.message();
    EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp")) << path;
  }
  EXPECT_TRUE(std::filesystem::is_fifo(fifo));
  EXPECT_TRUE(std::filesystem::is_character_file("/dev/null"));
}

}  // namespace
} // namespace caravan::core
