#include "apps/run_console.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>

#include "core/status.h"

namespace caravan::apps {
namespace {

// How often the metrics file is read and the block redrawn (the ETA counts down) without output.
constexpr int kRefreshMillis = 500;

int terminal_columns() {
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

}  // namespace

bool stdout_is_terminal() {
  const char* term = std::getenv("TERM");
  return ::isatty(STDOUT_FILENO) == 1 && term != nullptr && *term != '\0' && std::string_view(term) != "dumb";
}

RunConsole::RunConsole(std::ostream& terminal, int64_t total_steps)
    : progress_(total_steps), view_(terminal, terminal_columns()) {
  int fds[2];
  CARAVAN_CHECK(::pipe2(fds, O_CLOEXEC) == 0, "pipe2 for the children's output failed: errno ", errno);
  pipe_read_ = fds[0];
  pipe_write_ = fds[1];
}

RunConsole::~RunConsole() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
  std::lock_guard lock(view_mutex_);
  view_.close();
  ::close(pipe_read_);
  ::close(pipe_write_);
}

void RunConsole::start(const std::filesystem::path& metrics_file) {
  metrics_file_ = metrics_file;
  redraw();
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void RunConsole::print(std::string_view line) {
  std::lock_guard lock(view_mutex_);
  view_.print_line(line);
}

void RunConsole::set_workers(int64_t alive, int64_t total) {
  workers_alive_.store(alive);
  workers_total_.store(total);
}

void RunConsole::redraw() {
  const ProgressSnapshot now = progress_.snapshot(workers_alive_.load(), workers_total_.load());
  std::lock_guard lock(view_mutex_);
  view_.set_width(terminal_columns());
  view_.update(now);
}

void RunConsole::flush_complete_lines(bool including_partial) {
  size_t start = 0;
  for (size_t end; (end = pending_.find('\n', start)) != std::string::npos; start = end + 1) {
    print(std::string_view(pending_).substr(start, end - start));
  }
  pending_.erase(0, start);
  if (including_partial && !pending_.empty()) {
    print(pending_);
    pending_.clear();
  }
}

void RunConsole::read_new_metrics() {
  std::error_code error;
  const std::uintmax_t size = std::filesystem::file_size(metrics_file_, error);
  if (error || size <= metrics_offset_) return;
  std::ifstream in(metrics_file_, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(metrics_offset_));
  std::string chunk(size - metrics_offset_, '\0');
  in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  chunk.resize(static_cast<size_t>(in.gcount()));
  metrics_offset_ += chunk.size();
  metrics_partial_ += chunk;
  size_t start = 0;
  // Only complete rows: the controller may be half-way through appending one.
  for (size_t end; (end = metrics_partial_.find('\n', start)) != std::string::npos; start = end + 1) {
    progress_.add(nlohmann::json::parse(metrics_partial_.begin() + static_cast<std::ptrdiff_t>(start),
                                        metrics_partial_.begin() + static_cast<std::ptrdiff_t>(end),
                                        /*cb=*/nullptr, /*allow_exceptions=*/false));
  }
  metrics_partial_.erase(0, start);
}

void RunConsole::run(std::stop_token stop) {
  using Clock = std::chrono::steady_clock;
  char buffer[4096];
  Clock::time_point next_refresh = Clock::now();
  while (true) {
    pollfd fd{.fd = pipe_read_, .events = POLLIN, .revents = 0};
    const bool stopping = stop.stop_requested();
    const ssize_t got = ::poll(&fd, 1, stopping ? 0 : kRefreshMillis) > 0 ? ::read(pipe_read_, buffer, sizeof(buffer)) : 0;
    if (got > 0) {
      pending_.append(buffer, static_cast<size_t>(got));
      flush_complete_lines(/*including_partial=*/false);
    }
    if (stopping && got <= 0) {
      // The pipe is drained: a last partial line, then the final block.
      flush_complete_lines(/*including_partial=*/true);
      read_new_metrics();
      redraw();
      return;
    }
    if (Clock::now() >= next_refresh) {
      read_new_metrics();
      redraw();
      next_refresh = Clock::now() + std::chrono::milliseconds(kRefreshMillis);
    }
  }
}

} // namespace caravan::apps
