// LibTorch's glog output (here c10d's TCPStore client retrying a port nobody serves, the lines a
// newcomer sees when a rendezvous is not up yet) goes to Caravan's debug log, not to stderr.
// A binary of its own: glog is initialised once per process.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include "apps/process_log.h"
#include "core/read_file.h"
#include "apps/third_party_logs.h"
#include "tests/common/tcp_listener.h"
#include "tests/common/temp_dir.h"
#include "weights_sync/rendezvous_store.h"

namespace caravan::apps {
namespace {

using caravan::testing::TempDir;

// Sends fd 2 to `file` for its lifetime.
class StderrToFile {
 public:
  explicit StderrToFile(const std::filesystem::path& file) : saved_(::dup(STDERR_FILENO)) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDERR_FILENO);
    ::close(fd);
  }
  ~StderrToFile() {
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
  }

 private:
  int saved_;
};

TEST(ThirdPartyLogs, C10dConnectRetriesGoToTheDebugLogNotToStderr) {
  route_third_party_logs("third_party_logs_test");
  TempDir dir;
  const std::filesystem::path debug_log = dir.path() / "logs" / "rollout-0.log";
  const std::filesystem::path console = dir.path() / "stderr.txt";
  {
    StderrToFile redirect(console);
    auto opened = ProcessLog::open(debug_log);
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    // A port that was free a moment ago: nobody serves a store there.
    const int port = [] { return static_cast<int>(caravan::testing::TcpListener().port()); }();
    const auto store = wsync::RendezvousStore::connect("127.0.0.1", port, std::chrono::milliseconds(2500), {});
    EXPECT_FALSE(store.ok());
  }
  const std::string log = core::read_file(debug_log, "test output").value();
  const std::string err = core::read_file(console, "test output").value();
  EXPECT_NE(log.find("source=glog"), std::string::npos) << log;
  EXPECT_NE(log.find("[c10d] The client socket"), std::string::npos) << log;
  EXPECT_EQ(err.find("[c10d]"), std::string::npos) << err;
  EXPECT_EQ(err.find("Logging before InitGoogleLogging"), std::string::npos) << err;
  EXPECT_EQ(err.find("client socket"), std::string::npos) << err;
}

} // namespace
} // namespace caravan::apps
