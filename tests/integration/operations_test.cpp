// What an operator sees of a real short `caravan run`: a console without the libraries' start-up
// noise (which goes to the run directory's debug logs), the live status block on a terminal, and
// the HTML report rendered by a real browser (Debian's headless chromium).
#include <gtest/gtest.h>

#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "tests/common/png_image.h"
#include "tests/integration/caravan_run.h"

namespace {

using namespace caravan::testing;

// Lines glog and c10d print when nobody routes them (glog's "I1207 12:00:00.123456 ..." prefix).
void expect_no_library_noise(const std::string& console) {
  EXPECT_EQ(console.find("Logging before InitGoogleLogging"), std::string::npos) << console;
  EXPECT_EQ(console.find("[c10d]"), std::string::npos) << console;
  EXPECT_EQ(console.find("TCPStore"), std::string::npos) << console;
  EXPECT_FALSE(std::regex_search(console, std::regex(R"((^|\n)[IWEF]\d{4} \d\d:\d\d:\d\d)"))) << console;
}

// `command` through /bin/sh; its exit status.
int shell(const std::string& command) { return std::system(command.c_str()); }

class OperationsTest : public ::testing::Test {
 protected:
  // One short run shared by the tests of this suite (it takes most of a minute).
  static void SetUpTestSuite() {
    // Everything the suite writes: the run directory, its output, the report and the browser's.
    work_ = fs::temp_directory_path() / ("caravan-ops-" + std::to_string(::getpid()));
    fs::remove_all(work_);
    fs::create_directories(work_);
    run_dir_ = work_ / "run";
    CaravanRun run(CARAVAN_SHORT_CONFIG, run_dir_);
    status_ = run.wait(180s);
    stdout_ = run.stdout_text();
    stderr_ = run.stderr_text();
  }
  static void TearDownTestSuite() {
    if (!::testing::UnitTest::GetInstance()->Failed()) {
      fs::remove_all(work_);
    }
  }
  void SetUp() override {
    ASSERT_TRUE(status_.has_value()) << "the short run did not finish in 3 minutes\n" << stderr_;
    ASSERT_TRUE(WIFEXITED(*status_) && WEXITSTATUS(*status_) == 0) << stderr_;
  }

  static inline fs::path work_;
  static inline fs::path run_dir_;
  static inline std::optional<int> status_;
  static inline std::string stdout_, stderr_;
};

TEST_F(OperationsTest, ConsoleHasNoLibraryNoiseAndEveryProcessKeepsADebugLog) {
  expect_no_library_noise(stderr_);
  expect_no_library_noise(stdout_);
  // Not a terminal: plain lines only.
  EXPECT_EQ(stderr_.find("\x1b["), std::string::npos);
  EXPECT_EQ(stdout_.find("\x1b["), std::string::npos);
  EXPECT_NE(stderr_.find("step=4/4"), std::string::npos) << stderr_;

  for (const char* process : {"launcher", "controller-0", "learner-0", "rollout-0", "rollout-1", "verifier-0", "verifier-1"}) {
    const std::string log = read_file(run_dir_ / "logs" / (std::string(process) + ".log"));
    EXPECT_FALSE(log.empty()) << process;
  }
  // Debug lines are in the debug log only.
  EXPECT_NE(read_file(run_dir_ / "logs" / "controller-0.log").find("event=weights_synced"), std::string::npos);
  EXPECT_EQ(stderr_.find("event=weights_synced"), std::string::npos);
  // The learner's c10d store lines, if it logged any, went to its debug log as glog lines.
  const std::string learner_log = read_file(run_dir_ / "logs" / "learner-0.log");
  for (size_t at = learner_log.find("TCPStore"); at != std::string::npos; at = learner_log.find("TCPStore", at + 1)) {
    const size_t line_start = learner_log.rfind('\n', at) + 1;
    EXPECT_NE(learner_log.substr(line_start, at - line_start).find(" D "), std::string::npos)
        << learner_log.substr(line_start, at - line_start);
  }
}

TEST_F(OperationsTest, ReportRendersItsPlotsInHeadlessChromium) {
  const fs::path page = work_ / "report.html";
  CaravanRun report({"report", run_dir_.string(), "--output", page.string()}, (work_ / "report").string());
  const auto status = report.wait(60s);
  ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << report.stderr_text();
  const std::string html = read_file(page);
  for (const char* external : {"http://", "https://", "<script", "<link", " src="}) {
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  }

  // The DOM as the browser built it: every chart an <svg>, the metrics of 4 steps as paths of 4 points.
  const fs::path dom_file = work_ / "dom.html";
  const std::string chromium =
      "chromium --headless --disable-gpu --no-sandbox --user-data-dir=" + (work_ / "chromium").string();
  ASSERT_EQ(shell(chromium + " --dump-dom file://" + page.string() + " > " + dom_file.string() + " 2>/dev/null"), 0);
  const std::string dom = read_file(dom_file);
  const std::regex chart(R"re(<svg class="chart"[^>]*aria-label="([^"]*)")re");
  std::vector<std::string> charts;
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), chart); it != std::sregex_iterator(); ++it) {
    charts.push_back((*it)[1].str());
  }
  EXPECT_EQ(charts, (std::vector<std::string>{"Reward per source", "Accuracy per source", "KL to the reference", "Entropy",
                                              "Response length", "Truncation rate", "Staleness", "Throughput",
                                              "Time per step"}));
  const std::regex path(R"re(<path class="series" data-series="([^"]*)" data-points="(\d+)" d="(M[^"]*)")re");
  std::map<std::string, int> four_point_paths;
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), path); it != std::sregex_iterator(); ++it) {
    const int points = std::stoi((*it)[2].str());
    const std::string d = (*it)[3].str();
    EXPECT_EQ(static_cast<int>(std::count(d.begin(), d.end(), 'L')), points - 1) << d;
    if (points == 4) ++four_point_paths[(*it)[1].str()];
  }
  // Reward, accuracy (all sources and the arithmetic source), KL, throughput and the step times.
  EXPECT_GE(four_point_paths["all sources"], 2);
  EXPECT_GE(four_point_paths["kl"], 1);
  EXPECT_GE(four_point_paths["generated tokens/s"], 1);
  EXPECT_GE(four_point_paths["step"], 1);
  EXPECT_GE(four_point_paths["mean"], 2);  // response length, staleness
  EXPECT_NE(dom.find("<h3>Best samples</h3>"), std::string::npos);
  // The held-out evaluations after SFT and after RL, with their accuracy.
  for (const char* evaluation : {"eval-sft", "eval-rl"}) {
    EXPECT_TRUE(std::regex_search(dom, std::regex(std::string("<tr><td>") + evaluation + R"(</td><td>\d+\.\d%</td></tr>)")))
        << evaluation;
  }

  // The pixels: the first series colour (#1f77b4) is drawn, and the page is far from blank.
  const fs::path shot = work_ / "report.png";
  ASSERT_EQ(shell(chromium + " --screenshot=" + shot.string() + " --window-size=1200,1400 file://" + page.string() +
                  " >/dev/null 2>&1"),
            0);
  const std::optional<PngImage> image = decode_png(read_file(shot));
  ASSERT_TRUE(image.has_value()) << "not an RGB(A) PNG: " << shot;
  ASSERT_EQ(image->width, 1200u);
  int64_t series_pixels = 0, ink_pixels = 0;
  for (uint32_t y = 0; y < image->height; ++y) {
    for (uint32_t x = 0; x < image->width; ++x) {
      const auto [r, g, b] = image->pixel(x, y);
      if (std::abs(r - 0x1f) < 24 && std::abs(g - 0x77) < 24 && std::abs(b - 0xb4) < 24) ++series_pixels;
      if (r < 200 || g < 200 || b < 200) ++ink_pixels;
    }
  }
  const int64_t all_pixels = int64_t{image->width} * image->height;
  EXPECT_GT(series_pixels, 300) << "no plotted line in " << shot;
  EXPECT_GT(ink_pixels, all_pixels / 50) << "the page looks blank: " << shot;
}

// `caravan run` on a pseudo-terminal: the status block updates in place under the log lines.
TEST(TerminalView, StatusBlockUpdatesInPlaceBelowTheLogLines) {
  const fs::path run_dir = fs::temp_directory_path() / ("caravan-tty-" + std::to_string(::getpid()));
  fs::remove_all(run_dir);
  int terminal = -1;
  winsize size{.ws_row = 40, .ws_col = 160, .ws_xpixel = 0, .ws_ypixel = 0};
  const pid_t pid = ::forkpty(&terminal, nullptr, nullptr, &size);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setenv("TERM", "xterm", 1);
    ::execl(CARAVAN_BINARY, CARAVAN_BINARY, "run", CARAVAN_SHORT_CONFIG, "--run-dir", run_dir.c_str(), nullptr);
    ::_exit(127);
  }
  // Read everything the run writes (a pty's buffer is small: the run would block otherwise).
  std::string screen;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + 180s;
  bool exited = false;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd fd{.fd = terminal, .events = POLLIN, .revents = 0};
    if (::poll(&fd, 1, 100) > 0) {
      std::array<char, 4096> buffer;
      const ssize_t got = ::read(terminal, buffer.data(), buffer.size());
      if (got > 0) {
        screen.append(buffer.data(), static_cast<size_t>(got));
        continue;
      }
    }
    if (exited) break;  // exited and drained
    exited = ::waitpid(pid, &status, WNOHANG) == pid;
  }
  ::close(terminal);
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  ASSERT_TRUE(exited) << "caravan run did not finish in 3 minutes\n" << screen;
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << screen;

  // The block was drawn, moved over and redrawn: cursor up 2 lines, erase to the end.
  EXPECT_NE(screen.find("caravan  step 0/4"), std::string::npos) << screen;
  EXPECT_NE(screen.find("\x1b[2A\r\x1b[J"), std::string::npos) << screen;
  // The last block stays: every step done, the numbers of the run.
  const size_t last_block = screen.rfind("caravan  step 4/4  [####################] 100%");
  ASSERT_NE(last_block, std::string::npos) << screen;
  const std::string tail = screen.substr(last_block);
  EXPECT_TRUE(std::regex_search(tail, std::regex(R"(reward \d\.\d{3}  accuracy \d+\.\d%)"))) << tail;
  EXPECT_TRUE(std::regex_search(tail, std::regex(R"(held-out \d+\.\d%)"))) << tail;
  EXPECT_NE(tail.find("processes "), std::string::npos) << tail;
  // The children's log lines and results scrolled above it, the libraries' noise did not.
  EXPECT_NE(screen.find("event=worker_connected worker=rollout-1"), std::string::npos);
  EXPECT_NE(screen.find("held-out accuracy after RL: "), std::string::npos);
  expect_no_library_noise(screen);
  if (!::testing::Test::HasFailure()) fs::remove_all(run_dir);
}

}  // namespace
