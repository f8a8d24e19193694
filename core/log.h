// File: core/log.h
// One-line structured logging: every event is one line of `key=value` fields after a
// timestamp and a level, so both grep and Loki can read it. The process context (role, rank)
// is prefixed to every line. Progress output of long commands goes through the same sink.
//
//   log::set_context("role=learner rank=0");
//   log::info("step=", step, " loss=", loss);
//   log::result("held-out accuracy after RL: 63.0%");   // bare line on stdout, for people
#pragma once

#include <string>
#include <string_view>

#include "core/str_cat.h"

namespace caravan::log {

// kResult marks a bare line meant for people (see result()); it is never filtered.
enum class Level { kResult, kError, kWarn, kInfo, kDebug };

// Receives each formatted line (no trailing newline). Must be thread-safe.
using Sink = void (*)(Level level, std::string_view line, void* user_data);

// The default sink: stderr, result lines on stdout, one write per line. Thread-safe.
void console_sink(Level level, std::string_view line, void* user_data);
// Replaces the sink (nullptr restores the default, console_sink).
// The only process-global of Caravan; settable as in llama.cpp's log_set.
void set_sink(Sink sink, void* user_data);
// Lines above `level` are dropped. Default kInfo; CARAVAN_LOG_LEVEL=debug raises it.
void set_level(Level level);
// The level set last (or read from CARAVAN_LOG_LEVEL at start).
Level level();
bool enabled(Level level);
// Fields prefixed to every line of this process, e.g. "role=rollout rank=1".
void set_context(std::string fields);

void write(Level level, std::string_view message);
// A bare line meant for people (final results); not prefixed, written to stdout by default.
void result(std::string_view line);

template <class... Args>
void error(const Args&... args) { write(Level::kError, str_cat(args...)); }
template <class... Args>
void warn(const Args&... args) { if (enabled(Level::kWarn)) write(Level::kWarn, str_cat(args...)); }
template <class... Args>
void info(const Args&... args) { if (enabled(Level::kInfo)) write(Level::kInfo, str_cat(args...)); }
template <class... Args>
void debug(const Args&... args) { if (enabled(Level::kDebug)) write(Level::kDebug, str_cat(args...)); }

} // namespace caravan::log
