#include "apps/status_view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/str_cat.h"

namespace caravan::apps {
namespace {

// ANSI: cursor up N lines (CUU), carriage return, erase from the cursor to the end of the screen (ED 0).
std::string cursor_up(size_t lines) { return str_cat("\x1b[", lines, "A"); }
constexpr std::string_view kEraseBelow = "\r\x1b[J";

constexpr int kBarWidth = 20;

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

std::string or_dash(const std::optional<double>& value, int decimals, std::string_view unit = "") {
  if (!value || !std::isfinite(*value)) return "-";
  return str_cat(fixed(*value, decimals), unit);
}

std::string percent(const std::optional<double>& fraction) {
  if (!fraction || !std::isfinite(*fraction)) return "-";
  return str_cat(fixed(*fraction * 100.0, 1), "%");
}

// 950 -> "950", 1234 -> "1.2k", 2500000 -> "2.5M".
std::string compact(const std::optional<double>& value) {
  if (!value || !std::isfinite(*value)) return "-";
  if (*value >= 1e6) return str_cat(fixed(*value / 1e6, 1), "M");
  if (*value >= 1e3) return str_cat(fixed(*value / 1e3, 1), "k");
  return fixed(*value, 0);
}

std::string progress_bar(int64_t step, int64_t total) {
  const double fraction = total > 0 ? std::clamp(static_cast<double>(step) / static_cast<double>(total), 0.0, 1.0) : 0.0;
  const int filled = static_cast<int>(std::lround(fraction * kBarWidth));
  return str_cat("[", std::string(static_cast<size_t>(filled), '#'), std::string(static_cast<size_t>(kBarWidth - filled), '-'),
                 "] ", static_cast<int>(std::lround(fraction * 100.0)), "%");
}

std::string cut(std::string line, int width) {
  const size_t limit = static_cast<size_t>(std::max(1, width - 1));
  if (line.size() > limit) line.resize(limit);
  return line;
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "-";
  const auto total = static_cast<int64_t>(std::llround(seconds));
  char text[32];
  std::snprintf(text, sizeof(text), "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  return text;
}

std::vector<std::string> format_status_block(const ProgressSnapshot& progress, int width) {
  std::string head = str_cat("caravan  step ", progress.step, "/", progress.total_steps, "  ",
                             progress_bar(progress.step, progress.total_steps));
  if (progress.step == 0) {
    head += str_cat("  ", progress.phase == "starting" ? "starting up" : "warm-up (SFT, evaluation)");
  } else if (progress.eta_seconds) {
    head += str_cat("  ETA ", format_duration(*progress.eta_seconds), "  (", or_dash(progress.seconds_per_step, 1),
                    " s/step)");
  }
  std::string numbers = str_cat("reward ", or_dash(progress.reward_mean, 3), "  accuracy ", percent(progress.accuracy));
  if (progress.eval_accuracy) numbers += str_cat("  held-out ", percent(progress.eval_accuracy));
  numbers += str_cat("  tokens/s ", compact(progress.tokens_per_second), "  sync ", or_dash(progress.sync_round_trip_seconds, 2, " s"),
                     "  processes ", progress.workers_alive, "/", progress.workers_total);
  return {cut(std::move(head), width), cut(std::move(numbers), width)};
}

StatusView::StatusView(std::ostream& terminal, int width) : terminal_(terminal), width_(std::max(1, width)) {}

void StatusView::erase_block() {
  if (drawn_lines_ == 0) return;
  terminal_ << cursor_up(drawn_lines_) << kEraseBelow;
  drawn_lines_ = 0;
}

void StatusView::draw_block() {
  if (closed_) return;
  for (const std::string& line : block_) terminal_ << cut(line, width_) << '\n';
  drawn_lines_ = block_.size();
}

void StatusView::print_line(std::string_view line) {
  erase_block();
  terminal_ << line << '\n';
  draw_block();
  terminal_.flush();
}

void StatusView::update(const ProgressSnapshot& progress) {
  std::vector<std::string> block = format_status_block(progress, width_);
  if (block == block_ && drawn_lines_ == block_.size()) return;
  block_ = std::move(block);
  erase_block();
  draw_block();
  terminal_.flush();
}

void StatusView::set_width(int width) { width_ = std::max(1, width); }

void StatusView::close() {
  closed_ = true;
  drawn_lines_ = 0;
  terminal_.flush();
}

} // namespace caravan::apps
