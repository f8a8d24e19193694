// Functional tests of CodeVerifier (needs bubblewrap): assert lists, stdin/stdout pairs, partial
// credit, extraction, malformed ground truth, the warm pool, shutdown, and programs that try to
// forge a pass.
#include "rewards/code/code_verifier.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/rewards/code/sandbox_test_util.h"

namespace caravan::rewards::code {
namespace {

using testing::fast_options;
using testing::fenced;

constexpr const char* kDouble = "def f(x):\n    return 2 * x\n";
constexpr const char* kFourAsserts =
    R"(["assert f(1) == 2", "assert f(2) == 4", "assert f(3) == 7", "assert f(0) == 1"])";

class CodeVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override { CARAVAN_REQUIRE_SANDBOX(); }
};

TEST_F(CodeVerifierTest, AllAssertsPass) {
  CodeVerifier verifier(fast_options());
  const Verdict v = verifier.verify(fenced(kDouble), R"(["assert f(1) == 2", "assert f(5) == 10"])");
  EXPECT_EQ(v.status, VerdictStatus::kOk) << v.detail;
  EXPECT_DOUBLE_EQ(v.score, 1.0);
}

TEST_F(CodeVerifierTest, PartialCreditIsFractionPassed) {
  CodeVerifier verifier(fast_options());
  const Verdict v = verifier.verify(fenced(kDouble), kFourAsserts);
  EXPECT_EQ(v.status, VerdictStatus::kWrong);
  EXPECT_DOUBLE_EQ(v.score, 0.5);
  EXPECT_NE(v.detail.find("2/4 tests passed; test 2 failed: AssertionError"), std::string::npos) << v.detail;
}

TEST_F(CodeVerifierTest, AllOrNothingGivesZeroForPartial) {
  CodeVerifierOptions options = fast_options();
  options.all_or_nothing = true;
  CodeVerifier verifier(options);
  const Verdict v = verifier.verify(fenced(kDouble), kFourAsserts);
  EXPECT_EQ(v.status, VerdictStatus::kWrong);
  EXPECT_DOUBLE_EQ(v.score, 0.0);
}

TEST_F(CodeVerifierTest, StdinStdoutPairsIgnoreTrailingWhitespace) {
  CodeVerifier verifier(fast_options());
  const std::string program = "a, b = map(int, input().split())\nprint(a + b, ' ')\nprint()\n";
  const Verdict ok = verifier.verify(fenced(program), R"({"stdin": ["1 2\n", "5 5"], "stdout": ["3", "10\n"]})");
  EXPECT_EQ(ok.status, VerdictStatus::kOk) << ok.detail;
  const Verdict wrong = verifier.verify(fenced(program), R"({"stdin": ["1 2\n", "5 5"], "stdout": ["3", "11"]})");
  EXPECT_EQ(wrong.status, VerdictStatus::kWrong);
  EXPECT_DOUBLE_EQ(wrong.score, 0.5);
  EXPECT_NE(wrong.detail.find("stdout differs"), std::string::npos) << wrong.detail;
}

TEST_F(CodeVerifierTest, SyntaxErrorIsWrongWithZeroScore) {
  CodeVerifier verifier(fast_options());
  const Verdict v = verifier.verify(fenced("def f(x) return x"), R"(["assert f(1) == 1"])");
  EXPECT_EQ(v.status, VerdictStatus::kWrong);
  EXPECT_DOUBLE_EQ(v.score, 0.0);
  EXPECT_NE(v.detail.find("SyntaxError"), std::string::npos) << v.detail;
}

TEST_F(CodeVerifierTest, DeeplyNestedProgramIsWrongNotError) {
  CodeVerifier verifier(fast_options());
  const Verdict v = verifier.verify(fenced("x = " + std::string(5000, '-') + "1"), R"(["assert x == 1"])");
  EXPECT_EQ(v.status, VerdictStatus::kWrong) << v.detail;
  EXPECT_NE(v.detail.find("RecursionError"), std::string::npos) << v.detail;
}

TEST_F(CodeVerifierTest, UsesLastFencedBlock) {
  CodeVerifier verifier(fast_options());
  const std::string completion = "Draft:\n```python\ndef f(x):\n    return x\n```\nFixed:\n" + fenced(kDouble);
  EXPECT_EQ(verifier.verify(completion, R"(["assert f(3) == 6"])").status, VerdictStatus::kOk);
}

TEST_F(CodeVerifierTest, MalformedGroundTruthIsError) {
  CodeVerifier verifier(fast_options());
  const Verdict not_json = verifier.verify(fenced(kDouble), "assert f(1) == 2");
  EXPECT_EQ(not_json.status, VerdictStatus::kError);
  EXPECT_NE(not_json.detail.find("not valid JSON"), std::string::npos);
  const Verdict lengths = verifier.verify(fenced(kDouble), R"({"stdin": ["1"], "stdout": []})");
  EXPECT_EQ(lengths.status, VerdictStatus::kError);
  const Verdict broken_test = verifier.verify(fenced(kDouble), R"(["assert f(1) ==", "assert f(1) == 2"])");
  EXPECT_EQ(broken_test.status, VerdictStatus::kError);
  EXPECT_NE(broken_test.detail.find("ground truth: test 0 does not compile"), std::string::npos) << broken_test.detail;
}

TEST_F(CodeVerifierTest, WarmPoolServesCallsAndColdPathStartsFreshSandboxes) {
  CodeVerifier warm(fast_options(/*warm_pool_size=*/2));
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the pool refill
    EXPECT_EQ(warm.verify(fenced(kDouble), R"(["assert f(2) == 4"])").status, VerdictStatus::kOk);
  }
  EXPECT_EQ(warm.pool().warm_takes(), 3u);
  EXPECT_EQ(warm.pool().cold_starts(), 0u);

  CodeVerifier cold(fast_options(/*warm_pool_size=*/0));
  EXPECT_EQ(cold.verify(fenced(kDouble), R"(["assert f(2) == 4"])").status, VerdictStatus::kOk);
  EXPECT_EQ(cold.pool().warm_takes(), 0u);
  EXPECT_EQ(cold.pool().cold_starts(), 1u);
}

TEST_F(CodeVerifierTest, ConcurrentCallsAreIndependent) {
  CodeVerifier verifier(fast_options());
  std::vector<Verdict> verdicts(8);
  std::vector<std::jthread> threads;
  for (size_t t = 0; t < verdicts.size(); ++t) {
    threads.emplace_back([&, t] {
      const std::string truth = "[\"assert f(" + std::to_string(t) + ") == " + std::to_string(2 * t) + "\"]";
      verdicts[t] = verifier.verify(fenced(kDouble), truth);
    });
  }
  threads.clear();
  for (const Verdict& v : verdicts) EXPECT_EQ(v.status, VerdictStatus::kOk) << v.detail;
}

TEST_F(CodeVerifierTest, ShutdownLeavesNoSandboxProcess) {
  const CodeVerifierOptions options = fast_options(/*warm_pool_size=*/3);
  {
    CodeVerifier verifier(options);
    EXPECT_EQ(verifier.verify(fenced(kDouble), R"(["assert f(1) == 2"])").status, VerdictStatus::kOk);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  int left = 0;
  for (uid_t uid = options.sandbox_uid_first; uid < options.sandbox_uid_first + options.sandbox_uid_count; ++uid) {
    left += testing::processes_of_uid(uid);
  }
  EXPECT_EQ(left, 0);
}

// Results of standard-library types compare by value with plain literals, in top-level asserts, in
// asserts inside a test's own function, with != and with state shared across tests.
TEST_F(CodeVerifierTest, EqualityIsJudgedOnValues) {
  CodeVerifier verifier(fast_options());
  const std::string program =
      "from collections import Counter, namedtuple\nPoint = namedtuple('Point', 'x y')\n"
      "def counts(s):\n    return Counter(s)\ndef point(x):\n    return Point(x, 2 * x)\n";
  const Verdict v = verifier.verify(fenced(program), R"j([
      "assert counts('aab') == {'a': 2, 'b': 1}",
      "assert point(1) == (1, 2)",
      "assert point(2) != (2, 5)",
      "def check(c):\n    assert c('x') == {'x': 1}\n    assert c('') == {}\ncheck(counts)",
      "total = len(counts('abc'))",
      "assert total == 3.0"])j");
  EXPECT_EQ(v.status, VerdictStatus::kOk) << v.detail;
  EXPECT_EQ(v.score, 1.0);
}

// Each program below tries to make the failing test `assert f(1) == 99` count as passed.
class ForgeryTest : public CodeVerifierTest,
                    public ::testing::WithParamInterface<std::pair<const char*, const char*>> {};

TEST_P(ForgeryTest, CannotReportSuccess) {
  CodeVerifier verifier(fast_options());
  const std::string program = std::string("def f(x):\n    return x\n") + GetParam().second;
  const Verdict v = verifier.verify(fenced(program), R"(["assert f(1) == 99", "assert f(1) == 98"])");
  EXPECT_NE(v.status, VerdictStatus::kOk) << GetParam().first << ": " << v.detail;
  EXPECT_DOUBLE_EQ(v.score, 0.0) << GetParam().first << ": " << v.detail;
}

INSTANTIATE_TEST_SUITE_P(
    CodeVerifier, ForgeryTest,
    ::testing::Values(
        std::pair{"sys_exit_early", "import sys\nsys.exit(0)\n"},
        std::pair{"os_exit_early", "import os\nos._exit(0)\n"},
        std::pair{"fake_pass_lines",
                  "import os\nprint('0 pass\\n1 pass\\nD 0')\ntry:\n    os.write(3, b'x 0 pass\\n')\n"
                  "except OSError:\n    pass\n"},
        std::pair{"patch_assertion_error",
                  "import builtins\nclass Quiet(Exception):\n    pass\nbuiltins.AssertionError = Quiet\n"},
        std::pair{"patch_exec", "import builtins\nbuiltins.exec = lambda *args, **kwargs: None\n"},
        std::pair{"raise_done_event", "import sys, os\nsys.audit('caravan.done')\nos._exit(0)\n"},
        std::pair{"call_harness_audit_from_frame",
                  "import sys, os\nframe = sys._getframe()\nwhile frame.f_back:\n    frame = frame.f_back\n"
                  "    for value in frame.f_locals.values():\n        if value is sys.audit:\n"
                  "            value('caravan.done')\nos._exit(0)\n"},
        std::pair{"redefine_harness_reporting",
                  "import sys\nframe = sys._getframe()\nwhile frame.f_back:\n    frame = frame.f_back\n"
                  "    frame.f_globals['judge_child'] = lambda *a: ('pass', '', b'')\n"
                  "    frame.f_globals['one_line'] = lambda *a: 'pass'\n"},
        std::pair{"hunt_nonce_with_gc", "import gc\nobjects = gc.get_objects()\n"},
        std::pair{"reopen_report_fd", "open('/proc/1/fd/3', 'w').write('x 0 pass\\n')\n"},
        std::pair{"always_equal_object",
                  "class Eq:\n    def __eq__(self, other):\n        return True\n"
                  "    def __ne__(self, other):\n        return False\ndef f(x):\n    return Eq()\n"},
        std::pair{"always_equal_int_subclass",
                  "class Eq(int):\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return Eq(x)\n"},
        std::pair{"replace_comparison_in_globals",
                  "class Eq:\n    def __eq__(self, other):\n        return True\ndef f(x):\n    g = globals()\n"
                  "    for name in list(g):\n        if name.startswith('_caravan_eq_'):\n"
                  "            g[name] = lambda a, b: True\n    return Eq()\n"},
        std::pair{"swap_comparison_code",
                  "import sys\ndef f(x):\n    frame = sys._getframe(1)\n"
                  "    for value in list(frame.f_globals.values()):\n"
                  "        if getattr(value, '__name__', '') == 'strict_eq':\n"
                  "            value.__code__ = (lambda a, b: True).__code__\n    return x\n"}),
    [](const auto& info) { return std::string(info.param.first); });

}  // namespace
}  // namespace caravan::rewards::code
