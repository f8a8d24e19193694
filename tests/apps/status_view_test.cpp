// The live status block of `caravan run` on a fake terminal: the text and escape sequences it
// writes, replayed on a minimal screen model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <sstream>
#include <string>
#include <vector>

#include "apps/status_view.h"

namespace caravan::apps {
namespace {

// A screen that understands what StatusView writes: printable text, '\n', '\r', CSI n A (cursor
// up) and CSI J (erase to the end of the screen). Anything else fails the test.
class FakeTerminal {
 public:
  void feed(const std::string& bytes) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      const char c = bytes[i];
      if (c == '\n') {
        ++row_;
        column_ = 0;
      } else if (c == '\r') {
        column_ = 0;
      } else if (c == '\x1b') {
        ASSERT_LT(i + 1, bytes.size());
        ASSERT_EQ(bytes[i + 1], '[');
        size_t end = i + 2;
        while (end < bytes.size() && std::isdigit(static_cast<unsigned char>(bytes[end]))) ++end;
        ASSERT_LT(end, bytes.size());
        const int count = end > i + 2 ? std::stoi(bytes.substr(i + 2, end - i - 2)) : 1;
        if (bytes[end] == 'A') {
          row_ = std::max(0, row_ - count);
        } else if (bytes[end] == 'J') {
          if (static_cast<size_t>(row_) < lines_.size()) {
            lines_[static_cast<size_t>(row_)].resize(static_cast<size_t>(column_));
            lines_.resize(static_cast<size_t>(row_) + 1);
          }
        } else {
          FAIL() << "unexpected escape sequence ending in '" << bytes[end] << "'";
        }
        i = end;
      } else {
        if (lines_.size() <= static_cast<size_t>(row_)) lines_.resize(static_cast<size_t>(row_) + 1);
        std::string& line = lines_[static_cast<size_t>(row_)];
        if (line.size() <= static_cast<size_t>(column_)) line.resize(static_cast<size_t>(column_) + 1, ' ');
        line[static_cast<size_t>(column_++)] = c;
      }
    }
  }
  // The screen's lines, without the empty line the cursor may sit on at the end.
  std::vector<std::string> lines() const {
    std::vector<std::string> shown = lines_;
    while (!shown.empty() && shown.back().empty()) shown.pop_back();
    return shown;
  }

 private:
  std::vector<std::string> lines_;
  int row_ = 0;
  int column_ = 0;
};

ProgressSnapshot training_at_step_3() {
  ProgressSnapshot progress;
  progress.phase = "rl";
  progress.step = 3;
  progress.total_steps = 4;
  progress.reward_mean = 0.412;
  progress.accuracy = 0.385;
  progress.tokens_per_second = 1234;
  progress.sync_round_trip_seconds = 0.31;
  progress.seconds_per_step = 4.1;
  progress.eta_seconds = 4.1;
  progress.workers_alive = 5;
  progress.workers_total = 6;
  return progress;
}

TEST(StatusBlock, ShowsStepEtaRewardAccuracyThroughputSyncAndWorkers) {
  const std::vector<std::string> block = format_status_block(training_at_step_3(), 200);
  ASSERT_EQ(block.size(), 2u);
  EXPECT_EQ(block[0], "caravan  step 3/4  [###############-----] 75%  ETA 0:00:04  (4.1 s/step)");
  EXPECT_EQ(block[1], "reward 0.412  accuracy 38.5%  tokens/s 1.2k  sync 0.31 s  processes 5/6");
}

TEST(StatusBlock, UnknownValuesAreDashesAndStartUpIsNamed) {
  ProgressSnapshot progress;
  progress.total_steps = 10;
  const std::vector<std::string> block = format_status_block(progress, 200);
  EXPECT_EQ(block[0], "caravan  step 0/10  [--------------------] 0%  starting up");
  EXPECT_EQ(block[1], "reward -  accuracy -  tokens/s -  sync -  processes 0/0");
}

TEST(StatusBlock, LinesAreCutBelowTheTerminalWidth) {
  for (const std::string& line : format_status_block(training_at_step_3(), 30)) EXPECT_EQ(line.size(), 29u) << line;
}

TEST(StatusBlock, DurationsReadAsHoursMinutesSeconds) {
  EXPECT_EQ(format_duration(0), "0:00:00");
  EXPECT_EQ(format_duration(3723.4), "1:02:03");
  EXPECT_EQ(format_duration(-1), "-");
}

TEST(StatusView, LogLinesScrollAboveTheBlockWhichIsRedrawnInPlace) {
  std::ostringstream out;
  StatusView view(out, 200);
  view.update(training_at_step_3());
  view.print_line("12:00:00.000 I role=learner first line");
  ProgressSnapshot later = training_at_step_3();
  later.step = 4;
  later.eta_seconds = 0;
  view.update(later);
  view.print_line("12:00:01.000 I role=controller second line");

  // The exact bytes: the block, then for each line: up over the block, erase, line, block.
  const std::vector<std::string> first = format_status_block(training_at_step_3(), 200);
  const std::vector<std::string> second = format_status_block(later, 200);
  const std::string erase = "\x1b[2A\r\x1b[J";
  EXPECT_EQ(out.str(), first[0] + "\n" + first[1] + "\n" +                                         //
                           erase + "12:00:00.000 I role=learner first line\n" + first[0] + "\n" + first[1] + "\n" +  //
                           erase + second[0] + "\n" + second[1] + "\n" +                                              //
                           erase + "12:00:01.000 I role=controller second line\n" + second[0] + "\n" + second[1] + "\n");

  FakeTerminal terminal;
  terminal.feed(out.str());
  EXPECT_EQ(terminal.lines(), (std::vector<std::string>{"12:00:00.000 I role=learner first line",
                                                         "12:00:01.000 I role=controller second line", second[0],
                                                         second[1]}));
}

TEST(StatusView, AnUnchangedBlockIsNotRewritten) {
  std::ostringstream out;
  StatusView view(out, 200);
  view.update(training_at_step_3());
  const std::string once = out.str();
  view.update(training_at_step_3());
  EXPECT_EQ(out.str(), once);
}

TEST(StatusView, CloseLeavesTheLastBlockAndLaterLinesScrollBelowIt) {
  std::ostringstream out;
  StatusView view(out, 200);
  view.update(training_at_step_3());
  view.close();
  view.print_line("after the run");
  FakeTerminal terminal;
  terminal.feed(out.str());
  const std::vector<std::string> block = format_status_block(training_at_step_3(), 200);
  EXPECT_EQ(terminal.lines(), (std::vector<std::string>{block[0], block[1], "after the run"}));
}

} // namespace
} // namespace caravan::apps
