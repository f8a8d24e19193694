#include "core/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace caravan::log {
namespace {

std::mutex& sink_mutex() {
  static std::mutex mutex;
  return mutex;
}

Level initial_level() {
  const char* env = std::getenv("CARAVAN_LOG_LEVEL");
  if (env == nullptr) return Level::kInfo;
  std::string_view value(env);
  if (value == "debug") return Level::kDebug;
  if (value == "warn") return Level::kWarn;
  if (value == "error") return Level::kError;
  return Level::kInfo;
}

struct State {
  std::atomic<Sink> sink{&console_sink};
  std::atomic<void*> user_data{nullptr};
  std::atomic<int> level{static_cast<int>(initial_level())};
  std::mutex context_mutex;
  std::string context;  // Guarded by context_mutex.
};

State& state() {
  static State s;
  return s;
}

char level_letter(Level level) {
  switch (level) {
    case Level::kResult: return 'R';
    case Level::kError: return 'E';
    case Level::kWarn: return 'W';
    case Level::kInfo: return 'I';
    case Level::kDebug: return 'D';
  }
  return '?';
}

std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%02d:%02d:%02d.%03d", utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis));
  return buffer;
}

}  // namespace

void console_sink(Level level, std::string_view line, void*) {
  std::lock_guard lock(sink_mutex());
  FILE* out = level == Level::kResult ? stdout : stderr;
  // One write per line, so lines of processes sharing a terminal never interleave.
  std::string text(line);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), out);
  std::fflush(out);
}

void set_sink(Sink sink, void* user_data) {
  state().user_data.store(user_data);
  state().sink.store(sink != nullptr ? sink : &console_sink);
}

void set_level(Level level) { state().level.store(static_cast<int>(level)); }

Level level() { return static_cast<Level>(state().level.load()); }

bool enabled(Level level) { return static_cast<int>(level) <= state().level.load(); }

void set_context(std::string fields) {
  std::lock_guard lock(state().context_mutex);
  state().context = std::move(fields);
}

void write(Level level, std::string_view message) {
  std::string context;
  {
    std::lock_guard lock(state().context_mutex);
    context = state().context;
  }
  std::string line = str_cat(timestamp(), " ", level_letter(level), " ", context, context.empty() ? "" : " ", message);
  state().sink.load()(level, line, state().user_data.load());
}

void result(std::string_view line) { state().sink.load()(Level::kResult, line, state().user_data.load()); }

} // namespace caravan::log
