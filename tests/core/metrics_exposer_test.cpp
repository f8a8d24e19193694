#include "core/metrics/exposer.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tests/common/http_client.h"

namespace caravan::metrics {
namespace {

using testing::http_get;
using testing::http_request;

constexpr const char* kLoopback = "127.0.0.1";

// A TCP connection to the exposer that sends nothing; closed on destruction.
class SilentClient {
 public:
  explicit SilentClient(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, kLoopback, &address.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~SilentClient() { ::close(fd_); }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }

 private:
  int fd_;
  bool connected_ = false;
};

TEST(MetricsExposerTest, ServesTheRegistryOnAnEphemeralPort) {
  auto registry = std::make_shared<Registry>();
  registry->add_counter("caravan_test_total", "Test").add({{"k", "v"}}).increment(5);
  auto exposer = Exposer::start({.host = kLoopback, .port = 0}, registry);
  ASSERT_TRUE(exposer.ok()) << exposer.status().to_string();
  const int port = (*exposer)->port();
  EXPECT_GT(port, 0);
  EXPECT_EQ((*exposer)->url(), "http://127.0.0.1:" + std::to_string(port) + "/metrics");

  const testing::HttpResponse response = http_get(kLoopback, port, "/metrics");
  EXPECT_EQ(response.status, 200) << response.headers;
  EXPECT_NE(response.headers.find("text/plain; version=0.0.4; charset=utf-8"), std::string::npos) << response.headers;
  EXPECT_EQ(response.body, registry->serialize());
  EXPECT_NE(response.body.find("caravan_test_total{k=\"v\"} 5\n"), std::string::npos) << response.body;

  // Later updates show up in the next scrape; a query string does not change the path.
  registry->add_gauge("caravan_test_gauge", "G").add({}).set(7);
  EXPECT_NE(http_get(kLoopback, port, "/metrics?x=1").body.find("caravan_test_gauge 7\n"), std::string::npos);
}

TEST(MetricsExposerTest, UnknownPathsAreNotFoundAndOtherMethodsRefused) {
  auto registry = std::make_shared<Registry>();
  auto exposer = Exposer::start({}, registry);
  ASSERT_TRUE(exposer.ok()) << exposer.status().to_string();
  const int port = (*exposer)->port();
  EXPECT_EQ(http_get(kLoopback, port, "/other").status, 404);
  EXPECT_EQ(http_get(kLoopback, port, "/").status, 404);
  EXPECT_EQ(http_get(kLoopback, port, "/metrics/extra").status, 404);
  EXPECT_EQ(http_request(kLoopback, port, "DELETE /metrics").status, 405);
  const testing::HttpResponse head = http_request(kLoopback, port, "HEAD /healthz");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
}

TEST(MetricsExposerTest, ProbesAnswerWhatTheCallbacksSay) {
  auto registry = std::make_shared<Registry>();
  std::atomic<bool> live{true}, ready{false};
  auto exposer = Exposer::start({.live = [&] { return live.load(); }, .ready = [&] { return ready.load(); }}, registry);
  ASSERT_TRUE(exposer.ok()) << exposer.status().to_string();
  const int port = (*exposer)->port();
  EXPECT_EQ(http_get(kLoopback, port, "/healthz").status, 200);
  const testing::HttpResponse not_ready = http_get(kLoopback, port, "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(not_ready.body.find("not ready"), std::string::npos) << not_ready.body;
  ready = true;
  EXPECT_EQ(http_get(kLoopback, port, "/readyz").status, 200);
  live = false;
  EXPECT_EQ(http_get(kLoopback, port, "/healthz").status, 503);
  // /metrics does not depend on the probes.
  EXPECT_EQ(http_get(kLoopback, port, "/metrics").status, 200);
}

TEST(MetricsExposerTest, ProbesWithoutCallbacksAreAlwaysOk) {
  auto registry = std::make_shared<Registry>();
  auto exposer = Exposer::start({}, registry);
  ASSERT_TRUE(exposer.ok()) << exposer.status().to_string();
  EXPECT_EQ(http_get(kLoopback, (*exposer)->port(), "/healthz").status, 200);
  EXPECT_EQ(http_get(kLoopback, (*exposer)->port(), "/readyz").status, 200);
}

TEST(MetricsExposerTest, AnswersUnavailableOnceTheRegistryIsGone) {
  auto registry = std::make_shared<Registry>();
  auto exposer = Exposer::start({}, registry);
  ASSERT_TRUE(exposer.ok()) << exposer.status().to_string();
  registry.reset();
  const testing::HttpResponse gone = http_get(kLoopback, (*exposer)->port(), "/metrics");
  EXPECT_EQ(gone.status, 503);
  EXPECT_NE(gone.body.find("registry is gone"), std::string::npos) << gone.body;
  // Liveness is the process's, not the registry's.
  EXPECT_EQ(http_get(kLoopback, (*exposer)->port(), "/healthz").status, 200);
}

TEST(MetricsExposerTest, BadOptionsAndTakenPortsAreReported) {
  auto registry = std::make_shared<Registry>();
  EXPECT_EQ(Exposer::start({.host = "localhost"}, registry).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Exposer::start({.port = 70000}, registry).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Exposer::start({.client_timeout = std::chrono::seconds(0)}, registry).status().code(),
            StatusCode::kInvalidArgument);
  auto first = Exposer::start({}, registry);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  const Status taken = Exposer::start({.port = (*first)->port()}, registry).status();
  EXPECT_EQ(taken.code(), StatusCode::kUnavailable);
  EXPECT_NE(taken.message().find("127.0.0.1:" + std::to_string((*first)->port())), std::string::npos)
      << taken.message();
}

TEST(MetricsExposerTest, ConcurrentScrapesAllGetTheWholeRegistry) {
  auto registry = std::make_shared<Registry>();
  Family<Counter>& family = registry->add_counter("caravan_series_total", "Many series");
  for (int i = 0; i < 2000; ++i) family.add({{"i", std::to_string(i)}}).increment();
  const std::string expected = registry->serialize();
  auto exposer = Exposer::start({}, registry);
  ASSERT_TRUE(exposer.ok()) << exposer.status().to_string();
  // Silent connections held open meanwhile do not hold the scrapes up.
  SilentClient silent_a((*exposer)->port()), silent_b((*exposer)->port());
  ASSERT_TRUE(silent_a.connected() && silent_b.connected());
  constexpr int kThreads = 8, kScrapesEach = 5;
  std::atomic<int> complete{0};
  std::vector<std::thread> scrapers;
  for (int t = 0; t < kThreads; ++t) {
    scrapers.emplace_back([&] {
      for (int s = 0; s < kScrapesEach; ++s) {
        const testing::HttpResponse response = http_get(kLoopback, (*exposer)->port(), "/metrics");
        if (response.status == 200 && response.body == expected) ++complete;
      }
    });
  }
  for (std::thread& scraper : scrapers) scraper.join();
  EXPECT_EQ(complete.load(), kThreads * kScrapesEach);
}

TEST(MetricsExposerTest, AClientHangingUpMidReplyDoesNotKillTheProcess) {
  auto registry = std::make_shared<Registry>();
  // A large body, so the reply is still being written when the client is gone.
  Family<Counter>& family = registry->add_counter("caravan_big_total", "Big");
  for (int i = 0; i < 20000; ++i) family.add({{"i", std::to_string(i)}}).increment();
  auto exposer = Exposer::start({}, registry);
  ASSERT_TRUE(exposer.ok()) << exposer.status().to_string();
  for (int attempt = 0; attempt < 3; ++attempt) {
    SilentClient client((*exposer)->port());
    ASSERT_TRUE(client.connected());
    const std::string request = "GET /metrics HTTP/1.0\r\n\r\n";
    ASSERT_EQ(::send(client.fd(), request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  }
  EXPECT_EQ(http_get(kLoopback, (*exposer)->port(), "/metrics").status, 200);
}

TEST(MetricsExposerTest, StopsServingWhenDestroyed) {
  auto registry = std::make_shared<Registry>();
  int port = 0;
  {
    auto exposer = Exposer::start({}, registry);
    ASSERT_TRUE(exposer.ok()) << exposer.status().to_string();
    port = (*exposer)->port();
    EXPECT_EQ(http_get(kLoopback, port, "/healthz").status, 200);
  }
  EXPECT_EQ(http_get(kLoopback, port, "/healthz").status, 0);  // connection refused
  // The port is free again.
  auto again = Exposer::start({.port = port}, registry);
  EXPECT_TRUE(again.ok()) << again.status().to_string();
}

}  // namespace
} // namespace caravan::metrics
