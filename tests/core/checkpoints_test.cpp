#include "core/checkpoints.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

#include "core/atomic_file.h"
#include "core/read_file.h"

namespace caravan::core {
namespace {

class CheckpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("caravan-checkpoints-" + std::to_string(::getpid()) + "-" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    auto created = RunDirectory::create(root_, "[run]\n");
    ASSERT_TRUE(created.ok()) << created.status().to_string();
    run_dir_.emplace(*created);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // A checkpoint of `step` holding one part file, committed or not.
  std::filesystem::path make_checkpoint(int64_t step, bool commit) {
    auto dir = begin_checkpoint(*run_dir_, step);
    EXPECT_TRUE(dir.ok()) << dir.status().to_string();
    EXPECT_TRUE(write_file_atomically(*dir / "part.json", "{\"step\": " + std::to_string(step) + "}").ok());
    if (commit) {
      EXPECT_TRUE(commit_checkpoint(*dir, "{\"step\": " + std::to_string(step) + "}").ok());
    }
    return *dir;
  }

  std::filesystem::path root_;
  std::optional<RunDirectory> run_dir_;
};

TEST_F(CheckpointsTest, BeginCreatesAnEmptyStepDirectory) {
  auto dir = begin_checkpoint(*run_dir_, 7);
  ASSERT_TRUE(dir.ok()) << dir.status().to_string();
  EXPECT_EQ(*dir, run_dir_->checkpoint_dir(int64_t{7}));
  EXPECT_TRUE(std::filesystem::is_directory(*dir));
  EXPECT_TRUE(std::filesystem::is_empty(*dir));
}

TEST_F(CheckpointsTest, BeginRemovesAnUncommittedLeftover) {
  const std::filesystem::path leftover = make_checkpoint(4, /*commit=*/false);
  ASSERT_TRUE(std::filesystem::exists(leftover / "part.json"));
  auto dir = begin_checkpoint(*run_dir_, 4);
  ASSERT_TRUE(dir.ok()) << dir.status().to_string();
  EXPECT_TRUE(std::filesystem::is_empty(*dir));
}

TEST_F(CheckpointsTest, BeginRefusesACommittedStepAndKeepsIt) {
  const std::filesystem::path committed = make_checkpoint(4, /*commit=*/true);
  auto dir = begin_checkpoint(*run_dir_, 4);
  EXPECT_EQ(dir.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(dir.status().message().find("step-000004"), std::string::npos) << dir.status().message();
  EXPECT_TRUE(std::filesystem::exists(committed / "part.json"));
}

TEST_F(CheckpointsTest, BeginRejectsANegativeStep) {
  EXPECT_EQ(begin_checkpoint(*run_dir_, -1).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(CheckpointsTest, CommitWritesTheManifestAsTheMarker) {
  auto dir = begin_checkpoint(*run_dir_, 2);
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(commit_checkpoint(*dir, "{\"parts\": []}").ok());
  auto marker = read_file(*dir / kCheckpointCommitMarker, "marker");
  ASSERT_TRUE(marker.ok()) << marker.status().to_string();
  EXPECT_EQ(*marker, "{\"parts\": []}");
  EXPECT_FALSE(std::filesystem::exists(*dir / (std::string(kCheckpointCommitMarker) + ".tmp")));
}

TEST_F(CheckpointsTest, CommitTwiceIsRefused) {
  const std::filesystem::path dir = make_checkpoint(2, /*commit=*/true);
  EXPECT_EQ(commit_checkpoint(dir, "{}").code(), StatusCode::kFailedPrecondition);
}

TEST_F(CheckpointsTest, CommitOfAMissingDirectoryIsNotFound) {
  const Status status = commit_checkpoint(run_dir_->checkpoint_dir(int64_t{9}), "{}");
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_NE(status.message().find("step-000009"), std::string::npos) << status.message();
}

TEST_F(CheckpointsTest, LatestIsNulloptWithoutCheckpoints) {
  auto latest = latest_committed_checkpoint(*run_dir_);
  ASSERT_TRUE(latest.ok()) << latest.status().to_string();
  EXPECT_FALSE(latest->has_value());
}

TEST_F(CheckpointsTest, LatestIsNulloptWhenOnlyUncommittedOnesExist) {
  make_checkpoint(5, /*commit=*/false);
  auto latest = latest_committed_checkpoint(*run_dir_);
  ASSERT_TRUE(latest.ok()) << latest.status().to_string();
  EXPECT_FALSE(latest->has_value());
}

// A crash while step 30 is being written leaves step 20 in force; other names are ignored.
TEST_F(CheckpointsTest, LatestSkipsUncommittedAndForeignEntries) {
  make_checkpoint(10, /*commit=*/true);
  const std::filesystem::path step20 = make_checkpoint(20, /*commit=*/true);
  make_checkpoint(30, /*commit=*/false);
  std::filesystem::create_directories(run_dir_->checkpoints_dir() / "step-abc");
  std::filesystem::create_directories(run_dir_->checkpoints_dir() / ".step-000040.staging");
  ASSERT_TRUE(write_file_atomically(run_dir_->checkpoints_dir() / "step-000050", "not a directory").ok());
  auto latest = latest_committed_checkpoint(*run_dir_);
  ASSERT_TRUE(latest.ok()) << latest.status().to_string();
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->step, 20);
  EXPECT_EQ((*latest)->dir, step20);
}

// Steps compare as numbers, not as names: step-1000000 (7 digits) beats step-999999.
TEST_F(CheckpointsTest, LatestComparesStepsNumerically) {
  make_checkpoint(999999, /*commit=*/true);
  make_checkpoint(1000000, /*commit=*/true);
  auto latest = latest_committed_checkpoint(*run_dir_);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->step, 1000000);
}

}  // namespace
}  // namespace caravan::core
