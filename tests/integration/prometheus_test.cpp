// Metrics of every role scraped by a real Prometheus (issue 22): a short `caravan run` (every
// role twice, tests/integration/prometheus_run.toml) with [metrics] on, Debian's `prometheus` on
// loopback scraping every process each second through a generated scrape config (with
// deploy/prometheus/alerts.yml loaded). Once Prometheus holds a few steps of every role, the test
//   - asserts through /api/v1/query that the key series of every role exist with sane values,
//   - runs `promtool check metrics` on every process's /metrics and checks /healthz and /readyz,
//   - runs every panel's PromQL expression of deploy/grafana/dashboards/*.json and requires
//     data from each (a panel without data fails, named),
// then stops the run.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <regex>

#include "tests/common/http_client.h"
#include "tests/common/temp_dir.h"
#include "tests/integration/caravan_run.h"

namespace {

using namespace caravan::testing;
using nlohmann::json;

constexpr const char* kLoopback = "127.0.0.1";
constexpr int kRolloutActors = 2;  // prometheus_run.toml [rollout] actors
constexpr int kVerifiers = 2;      // [verifier] workers
// controller, learner, the actors, the verifiers, the launcher.
constexpr int kProcesses = 2 + kRolloutActors + kVerifiers + 1;
// Scrape interval of the generated config; the dashboards' $__rate_interval becomes 10 of them.
constexpr const char* kScrapeInterval = "1s";
constexpr const char* kRateInterval = "10s";

bool port_free(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, kLoopback, &address.sin_addr);
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return bound;
}

// The first of `count` consecutive free ports on loopback, from `from` on.
int free_ports(int count, int from) {
  for (int base = from; base + count <= 65535; base += count) {
    bool all = true;
    for (int i = 0; i < count && all; ++i) all = port_free(base + i);
    if (all) return base;
  }
  ADD_FAILURE() << "no " << count << " consecutive free ports";
  return 0;
}

// One process of the run, as the scrape config names it.
struct Target {
  std::string job;  // caravan-controller, ...
  std::string name; // controller-0, ...
  int port = 0;
};

std::vector<Target> targets(int port_base) {
  std::vector<Target> all = {{"caravan-controller", "controller-0", port_base},
                             {"caravan-learner", "learner-0", port_base + 1}};
  for (int r = 0; r < kRolloutActors; ++r) all.push_back({"caravan-rollout", "rollout-" + std::to_string(r), port_base + 2 + r});
  for (int r = 0; r < kVerifiers; ++r) {
    all.push_back({"caravan-verifier", "verifier-" + std::to_string(r), port_base + 2 + kRolloutActors + r});
  }
  all.push_back({"caravan-launcher", "launcher", port_base + 2 + kRolloutActors + kVerifiers});
  return all;
}

// A scrape config with one job per role, every process of the run a target, the alerts loaded.
std::string scrape_config(const std::vector<Target>& all) {
  std::map<std::string, std::vector<int>> ports_by_job;
  for (const Target& target : all) ports_by_job[target.job].push_back(target.port);
  std::string yaml = std::string("global:\n  scrape_interval: ") + kScrapeInterval + "\n  scrape_timeout: " +
                     kScrapeInterval + "\n  evaluation_interval: " + kScrapeInterval + "\nrule_files:\n  - " +
                     CARAVAN_SOURCE_DIR + "/deploy/prometheus/alerts.yml\nscrape_configs:\n";
  for (const auto& [job, ports] : ports_by_job) {
    yaml += "  - job_name: " + job + "\n    static_configs:\n      - targets: [";
    for (size_t i = 0; i < ports.size(); ++i) yaml += (i ? ", \"" : "\"") + std::string(kLoopback) + ":" + std::to_string(ports[i]) + "\"";
    yaml += "]\n        labels: {role: " + job.substr(std::string("caravan-").size()) + "}\n";
  }
  return yaml;
}

// Debian's prometheus on loopback with its own data directory; stopped on destruction.
class PrometheusServer {
 public:
  PrometheusServer(const fs::path& dir, int port) : port_(port) {
    const fs::path config = dir / "prometheus.yml";
    log_ = (dir / "prometheus.log").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen(log_.c_str(), "w", stdout);
      std::freopen(log_.c_str(), "a", stderr);
      const std::string config_flag = "--config.file=" + config.string();
      const std::string storage_flag = "--storage.tsdb.path=" + (dir / "data").string();
      const std::string listen_flag = "--web.listen-address=" + std::string(kLoopback) + ":" + std::to_string(port);
      ::execl(PROMETHEUS_EXECUTABLE, PROMETHEUS_EXECUTABLE, config_flag.c_str(), storage_flag.c_str(),
              listen_flag.c_str(), "--log.level=warn", static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;
  ~PrometheusServer() {
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(50ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }

  // GET /api/v1/<path>; the parsed body, or an empty object when Prometheus did not answer.
  json api(const std::string& path) const {
    const HttpResponse response = http_get(kLoopback, port_, "/api/v1/" + path);
    if (response.status == 0) return json::object();
    return json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  }
  // The result vector of an instant query at `time` (Unix seconds; 0 = now); empty on error
  // (the error is in `*error` when given).
  json query(const std::string& expr, double time = 0, std::string* error = nullptr) const {
    std::string path = "query?query=" + url_encode(expr);
    if (time > 0) path += "&time=" + std::to_string(time);
    const json reply = api(path);
    if (reply.value("status", "") != "success") {
      if (error != nullptr) *error = reply.is_object() ? reply.value("error", "no answer") : "unparsable answer";
      return json::array();
    }
    return reply["data"]["result"];
  }
  std::string log() const { return read_file(log_); }

 private:
  int port_;
  pid_t pid_ = -1;
  std::string log_;
};

// The value of a result vector's only sample; NaN when it has not exactly one.
double only_value(const json& result) {
  if (result.size() != 1) return std::nan("");
  return std::stod(result[0]["value"][1].get<std::string>());
}

// `promtool check metrics` on `text`: its complaints, empty when it has none and exits 0.
std::string promtool_problems(const fs::path& scratch, const std::string& text) {
  std::ofstream(scratch) << text;
  const std::string command = std::string(PROMTOOL_EXECUTABLE) + " check metrics < " + scratch.string() + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status != 0 && output.empty()) output = "exit status " + std::to_string(status);
  return output;
}

// Every PromQL expression of every panel of the dashboards: "file / panel title (refId)" -> expr.
std::vector<std::pair<std::string, std::string>> dashboard_queries() {
  std::vector<std::pair<std::string, std::string>> queries;
  for (const auto& entry : fs::directory_iterator(fs::path(CARAVAN_SOURCE_DIR) / "deploy/grafana/dashboards")) {
    if (entry.path().extension() != ".json") continue;
    const json dashboard = json::parse(read_file(entry.path()));
    for (const json& panel : dashboard.at("panels")) {
      for (const json& target : panel.at("targets")) {
        const std::string name = entry.path().filename().string() + " / " + panel.at("title").get<std::string>() + " (" +
                                 target.at("refId").get<std::string>() + ")";
        queries.emplace_back(name, target.at("expr").get<std::string>());
      }
    }
  }
  return queries;
}

// Grafana's variables as the dashboards use them, for a query Prometheus runs directly.
std::string expand_grafana_variables(std::string expr) {
  return std::regex_replace(expr, std::regex(R"(\$__rate_interval)"), kRateInterval);
}

class PrometheusRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_base_ = free_ports(kProcesses, 20000 + (::getpid() * 37) % 30000);
    prometheus_port_ = free_ports(1, port_base_ + kProcesses);
    targets_ = targets(port_base_);
    std::ofstream(dir_.path() / "prometheus.yml") << scrape_config(targets_);
    std::ofstream(dir_.path() / "run.toml") << read_file(CARAVAN_PROMETHEUS_CONFIG) << "\n[metrics]\nhost = \""
                                            << kLoopback << "\"\nport_base = " << port_base_ << "\n";
  }

  TempDir dir_;
  int port_base_ = 0;
  int prometheus_port_ = 0;
  std::vector<Target> targets_;
};

TEST_F(PrometheusRunTest, EveryRoleIsScrapedWithSaneValuesAndEveryDashboardPanelHasData) {
  const PrometheusServer prometheus(dir_.path(), prometheus_port_);
  CaravanRun run(dir_.path() / "run.toml", dir_.path() / "run");

  // Until Prometheus has scraped every process and three trained steps, then a few scrapes more
  // (series born at the first steps, e.g. per-verifier ones, need two samples for a rate): the
  // evaluation time of the answer that says so is the time every later query looks at.
  double at = 0;
  const std::string ready = "count(up{job=~\"caravan.*\"} == 1) == " + std::to_string(kProcesses) +
                            " and on() max(caravan_trained_steps) >= 3";
  bool settled = false;
  for (const auto deadline = std::chrono::steady_clock::now() + 150s; std::chrono::steady_clock::now() < deadline;) {
    const json result = prometheus.query(ready);
    if (!result.empty() && settled) {
      at = result[0]["value"][0].get<double>();
      break;
    }
    settled = !result.empty();
    ASSERT_FALSE(run.wait(settled ? 5s : 1s).has_value()) << "the run ended early:\n" << run.stderr_text();
  }
  ASSERT_GT(at, 0) << "Prometheus did not see every process up and 3 steps within 150 s; targets: "
                   << prometheus.api("targets").dump() << "\nprometheus log:\n" << prometheus.log()
                   << "\nrun stderr:\n" << run.stderr_text();

  // While the run lives: every process's own endpoint, and promtool on its /metrics.
  for (const Target& target : targets_) {
    const HttpResponse metrics = http_get(kLoopback, target.port, "/metrics");
    ASSERT_EQ(metrics.status, 200) << target.name;
    EXPECT_EQ(promtool_problems(dir_.path() / (target.name + ".prom"), metrics.body), "")
        << target.name << " /metrics:\n" << metrics.body;
    EXPECT_EQ(http_get(kLoopback, target.port, "/healthz").status, 200) << target.name;
    EXPECT_EQ(http_get(kLoopback, target.port, "/readyz").status, 200) << target.name;
    EXPECT_EQ(http_get(kLoopback, target.port, "/nothing").status, 404) << target.name;
  }

  // The key series of every role, at `at`.
  const auto value = [&](const std::string& expr) {
    std::string error;
    const double v = only_value(prometheus.query(expr, at, &error));
    EXPECT_FALSE(std::isnan(v)) << expr << " has no single value " << error;
    return v;
  };
  // Controller.
  EXPECT_GE(value("caravan_trained_steps"), 3);
  EXPECT_EQ(value("caravan_steps_planned"), 500);
  EXPECT_GE(value("caravan_policy_version"), 3);
  const double reward = value("caravan_step_reward_mean");
  EXPECT_TRUE(reward >= 0 && reward <= 1) << reward;
  const double accuracy = value("caravan_step_accuracy");
  EXPECT_TRUE(accuracy >= 0 && accuracy <= 1) << accuracy;
  EXPECT_GT(value("sum(caravan_sample_reward_count)"), 0);
  const double mean_reward = value("sum(caravan_sample_reward_sum) / sum(caravan_sample_reward_count)");
  EXPECT_TRUE(mean_reward >= 0 && mean_reward <= 1) << mean_reward;
  EXPECT_EQ(value("count(caravan_worker_up == 1)"), 1 + kRolloutActors + kVerifiers);
  EXPECT_LT(value("max(caravan_worker_heartbeat_age_seconds)"), 5);
  EXPECT_GT(value("caravan_ledger_samples{state=\"trained\"}"), 0);
  EXPECT_GT(value("sum(caravan_trained_sample_staleness_versions_count)"), 0);
  // Learner.
  EXPECT_GE(value("caravan_learner_steps_total"), 3);
  EXPECT_GE(value("caravan_learner_policy_version"), 3);
  EXPECT_GT(value("caravan_learner_tokens_total"), 0);
  EXPECT_GT(value("caravan_learner_entropy_nats"), 0);
  const double masked = value("caravan_learner_masked_fraction");
  EXPECT_TRUE(masked >= 0 && masked <= 1) << masked;
  EXPECT_GE(value("caravan_learner_kl"), 0);
  // Rollout actors (and the learner) synced weights.
  EXPECT_EQ(value("count(caravan_rollout_tokens_generated_total > 0)"), kRolloutActors);
  EXPECT_EQ(value("count(caravan_rollout_policy_version >= 1)"), kRolloutActors);
  EXPECT_EQ(value("count(caravan_rollout_response_length_tokens_count > 0)"), kRolloutActors);
  EXPECT_EQ(value("count(caravan_rollout_kv_cache_capacity_bytes >= 0)"), kRolloutActors);
  EXPECT_EQ(value("count(caravan_weight_sync_bytes_total > 0)"), 1 + kRolloutActors);
  EXPECT_EQ(value("count(caravan_weight_sync_seconds_count > 0)"), 1 + kRolloutActors);
  // Verifiers.
  EXPECT_EQ(value("count(sum by (instance) (caravan_verifier_requests_total) > 0)"), kVerifiers);
  EXPECT_EQ(value("count(caravan_verifier_latency_seconds_count{verifier=\"arithmetic\"})"), kVerifiers);
  EXPECT_EQ(value("count(caravan_reward_config_info{version=\"none\"} == 1)"), kVerifiers);
  // Launcher: every child running, none restarted.
  EXPECT_EQ(value("sum(caravan_launcher_process_up)"), kProcesses - 1);
  EXPECT_EQ(value("sum(caravan_launcher_process_restarts_total)"), 0);
  // The alerting rules loaded and evaluate without error.
  const json rules = prometheus.api("rules");
  ASSERT_EQ(rules.value("status", ""), "success") << rules.dump();
  int healthy_rules = 0;
  for (const json& group : rules["data"]["groups"]) {
    for (const json& rule : group["rules"]) healthy_rules += rule.value("health", "") == "ok" ? 1 : 0;
  }
  EXPECT_EQ(healthy_rules, 7) << rules.dump();

  // Every dashboard panel's query has data.
  const auto queries = dashboard_queries();
  EXPECT_GE(queries.size(), 40u);
  std::string without_data;
  for (const auto& [panel, expr] : queries) {
    std::string error;
    if (prometheus.query(expand_grafana_variables(expr), at, &error).empty()) {
      without_data += "  " + panel + ": " + expr + (error.empty() ? "" : " (" + error + ")") + "\n";
    }
  }
  EXPECT_EQ(without_data, "") << "dashboard panels without data:\n" << without_data;

  // Ctrl-C stops the whole run.
  ::kill(run.pid(), SIGINT);
  EXPECT_TRUE(run.wait(60s).has_value());
}

}  // namespace
