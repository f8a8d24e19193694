#include "apps/run_ports.h"

#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "tests/common/tcp_listener.h"
#include "tests/common/temp_dir.h"

namespace caravan::apps {
namespace {

class RunPortsTest : public ::testing::Test {
 protected:
  RunPortsTest() : run_dir_(core::RunDirectory::create(dir_.path() / "run", "[run]\n").value()) {}
  caravan::testing::TempDir dir_;
  core::RunDirectory run_dir_;
  RunConfig config_;
};

TEST_F(RunPortsTest, PicksDistinctPortsForTheUnsetOnesOnly) {
  config_.cluster.weights_sync_port = 40123;
  auto picked = pick_unset_ports(config_);
  ASSERT_TRUE(picked.ok()) << picked.status().to_string();
  EXPECT_EQ(*picked, std::vector<std::string>{"controller_port"});
  EXPECT_GT(config_.cluster.controller_port, 0);
  EXPECT_NE(config_.cluster.controller_port, 40123);
  EXPECT_EQ(config_.cluster.weights_sync_port, 40123);

  RunConfig unset;
  picked = pick_unset_ports(unset);
  ASSERT_TRUE(picked.ok()) << picked.status().to_string();
  EXPECT_EQ(*picked, (std::vector<std::string>{"controller_port", "weights_sync_port"}));
  EXPECT_NE(unset.cluster.controller_port, unset.cluster.weights_sync_port);
}

TEST_F(RunPortsTest, SeveralLearnerRanksGetARendezvousPortNamedInItsSection) {
  config_.learner.ranks = 2;
  auto picked = pick_unset_ports(config_);
  ASSERT_TRUE(picked.ok()) << picked.status().to_string();
  EXPECT_EQ(*picked, (std::vector<std::string>{"controller_port", "weights_sync_port", "rendezvous_port"}));
  EXPECT_GT(config_.learner.rendezvous_port, 0);
  EXPECT_NE(config_.learner.rendezvous_port, config_.cluster.controller_port);
  EXPECT_NE(config_.learner.rendezvous_port, config_.cluster.weights_sync_port);

  const testing::TcpListener holder;
  config_.learner.rendezvous_port = holder.port();
  const Status status = repick_taken_ports(config_, {}, "run/config.toml");
  EXPECT_NE(status.message().find("[learner] rendezvous_port = " + std::to_string(holder.port()) + " is in use"),
            std::string::npos)
      << status.message();
}

TEST_F(RunPortsTest, AHostThatIsNotIpv4IsNamed) {
  config_.cluster.host = "localhost";
  const Status status = pick_unset_ports(config_).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("[cluster] host: 'localhost'"), std::string::npos) << status.message();
}

TEST_F(RunPortsTest, TheRecordOfPickedPortsRoundTrips) {
  auto none = read_auto_picked_ports(run_dir_);
  ASSERT_TRUE(none.ok()) << none.status().to_string();
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE(write_auto_picked_ports(run_dir_, {"controller_port", "weights_sync_port"}).ok());
  auto keys = read_auto_picked_ports(run_dir_);
  ASSERT_TRUE(keys.ok()) << keys.status().to_string();
  EXPECT_EQ(*keys, (std::vector<std::string>{"controller_port", "weights_sync_port"}));
}

TEST_F(RunPortsTest, AMalformedRecordIsNamed) {
  ASSERT_TRUE(core::write_file_atomically(run_dir_.root() / "launcher_state.json",
                                          R"({"auto_picked_ports": "controller_port"})")
                  .ok());
  const Status status = read_auto_picked_ports(run_dir_).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("launcher_state.json: key 'auto_picked_ports'"), std::string::npos)
      << status.message();
}

TEST_F(RunPortsTest, FreePortsAreKept) {
  ASSERT_TRUE(pick_unset_ports(config_).ok());
  const core::ClusterOptions before = config_.cluster;
  ASSERT_TRUE(repick_taken_ports(config_, {"controller_port", "weights_sync_port"}, "run/config.toml").ok());
  EXPECT_EQ(config_.cluster.controller_port, before.controller_port);
  EXPECT_EQ(config_.cluster.weights_sync_port, before.weights_sync_port);
}

TEST_F(RunPortsTest, ATakenPortThatWasPickedIsPickedAgain) {
  const testing::TcpListener holder;
  config_.cluster.controller_port = holder.port();
  ASSERT_TRUE(pick_unset_ports(config_).ok());  // weights_sync_port
  const int64_t weights_sync_port = config_.cluster.weights_sync_port;
  ASSERT_TRUE(repick_taken_ports(config_, {"controller_port", "weights_sync_port"}, "run/config.toml").ok());
  EXPECT_NE(config_.cluster.controller_port, holder.port());
  EXPECT_NE(config_.cluster.controller_port, weights_sync_port);
  EXPECT_EQ(config_.cluster.weights_sync_port, weights_sync_port);
}

TEST_F(RunPortsTest, ATakenPortTheUserSetIsAnErrorNamingIt) {
  const testing::TcpListener holder;
  config_.cluster.controller_port = holder.port();
  ASSERT_TRUE(pick_unset_ports(config_).ok());
  const Status status = repick_taken_ports(config_, {"weights_sync_port"}, "run/config.toml");
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("run/config.toml: [cluster] controller_port = " + std::to_string(holder.port()) +
                                  " is in use"),
            std::string::npos)
      << status.message();
  EXPECT_EQ(config_.cluster.controller_port, holder.port());
}

}  // namespace
}  // namespace caravan::apps
