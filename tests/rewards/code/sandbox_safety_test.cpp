// Safety tests (issue 5): hostile programs, each run once through the verifier (harness level:
// the verdict must be timeout / sandbox_violation / error, never ok, never a crash or hang) and,
// where the harness would stop them before the kernel does, once as a raw program in a
// SandboxProcess to show the sandbox itself holds (host unharmed, nothing left running).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "rewards/code/code_verifier.h"
#include "rewards/code/sandbox_process.h"
#include "tests/rewards/code/sandbox_test_util.h"

namespace caravan::rewards::code {
namespace {

using testing::fast_options;
using testing::fenced;
using std::chrono::milliseconds;

// Deadline used below and the most a call may overrun it (teardown, python start-up on a busy
// 2-core machine).
constexpr milliseconds kDeadline{2000};
constexpr milliseconds kGrace{1500};

class SandboxSafetyTest : public ::testing::Test {
 protected:
  void SetUp() override { CARAVAN_REQUIRE_SANDBOX(); }

  // Runs `program` against one trivial test; checks the call returned in time and was not ok.
  Verdict run_hostile(const std::string& program) {
    const auto start = Clock::now();
    const Verdict v = verifier_.verify(fenced(program), R"(["assert True"])");
    EXPECT_LT(Clock::now() - start, kDeadline + kGrace) << program;
    EXPECT_TRUE(v.status == VerdictStatus::kTimeout || v.status == VerdictStatus::kSandboxViolation ||
                v.status == VerdictStatus::kError)
        << verdict_status_name(v.status) << ": " << v.detail;
    return v;
  }

  // Runs `script` with python in a raw sandbox (no harness) under a uid of its own.
  SandboxOutcome run_raw(const std::string& script) {
    SandboxConfig config;
    config.command = {"/usr/bin/python3", "-S", "-I", "-c", script};
    config.limits.cpu_seconds = 3;
    config.limits.processes = 16;
    config.output_cap_bytes = 1 << 16;
    config.uid = raw_uid();
    auto sandbox = SandboxProcess::start(config);
    EXPECT_TRUE(sandbox.ok()) << sandbox.status().to_string();
    if (!sandbox.ok()) return {};
    const auto start = Clock::now();
    SandboxOutcome outcome = (*sandbox)->run("", start + kDeadline);
    EXPECT_LT(Clock::now() - start, kDeadline + kGrace) << script;
    return outcome;
  }

  static uid_t raw_uid() { return testing::test_uid_first() + 40; }

  CodeVerifier verifier_{fast_options()};
};

TEST_F(SandboxSafetyTest, ForkBombIsDenied) {
  const Verdict v = run_hostile("import os\nwhile True:\n    os.fork()\n");
  EXPECT_EQ(v.status, VerdictStatus::kSandboxViolation);
  EXPECT_NE(v.detail.find("os.fork"), std::string::npos) << v.detail;
}

TEST_F(SandboxSafetyTest, RawForkBombStopsAtProcessLimitAndIsCleanedUp) {
  if (::geteuid() != 0) GTEST_SKIP() << "RLIMIT_NPROC per sandbox needs root (a uid per sandbox)";
  const SandboxOutcome outcome = run_raw(
      "import os, sys, time\n"
      "try:\n"
      "    while True:\n"
      "        os.fork()\n"
      "except OSError as e:\n"
      "    sys.stdout.write('fork failed errno=%d\\n' % e.errno); sys.stdout.flush()\n"
      "time.sleep(30)\n");
  EXPECT_TRUE(outcome.timed_out);
  EXPECT_NE(outcome.stdout_bytes.find("fork failed errno=11"), std::string::npos) << outcome.stdout_bytes;
  EXPECT_EQ(testing::processes_of_uid(raw_uid()), 0);
}

TEST_F(SandboxSafetyTest, InfiniteLoopTimesOut) {
  EXPECT_EQ(run_hostile("while True:\n    pass\n").status, VerdictStatus::kTimeout);
}

TEST_F(SandboxSafetyTest, CpuLimitEndsBusyLoopBeforeDeadline) {
  CodeVerifierOptions options = fast_options(/*warm_pool_size=*/0);
  options.limits.cpu_seconds = 1;
  // One CPU second takes longer than one wall second on a loaded machine: the wall deadline is
  // far away, so only the CPU limit can end the loop first.
  options.deadline = std::chrono::seconds(30);
  const CodeVerifier verifier(options);
  const auto start = Clock::now();
  const Verdict v = verifier.verify(fenced("while True:\n    pass\n"), R"(["assert True"])");
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(25));
  EXPECT_EQ(v.status, VerdictStatus::kSandboxViolation) << v.detail;
  EXPECT_NE(v.detail.find("SIGXCPU"), std::string::npos) << v.detail;
}

TEST_F(SandboxSafetyTest, SleepingPastDeadlineTimesOut) {
  const Verdict v = run_hostile("import time\ntime.sleep(60)\n");
  EXPECT_EQ(v.status, VerdictStatus::kTimeout);
  EXPECT_NE(v.detail.find("deadline of 2000 ms exceeded"), std::string::npos) << v.detail;
}

TEST_F(SandboxSafetyTest, FiftyGigabyteAllocationHitsMemoryLimit) {
  const Verdict v = run_hostile("block = bytearray(50 * 10**9)\n");
  EXPECT_EQ(v.status, VerdictStatus::kSandboxViolation);
  EXPECT_NE(v.detail.find("MemoryError"), std::string::npos) << v.detail;
}

TEST_F(SandboxSafetyTest, TenGigabyteFileHitsFileSizeLimit) {
  const Verdict v = run_hostile(
      "with open('/tmp/big', 'wb') as f:\n"
      "    for _ in range(10 * 1024):\n"
      "        f.write(b'\\0' * (1 << 20))\n");
  EXPECT_EQ(v.status, VerdictStatus::kSandboxViolation);
  EXPECT_NE(v.detail.find("limit"), std::string::npos) << v.detail;
}

TEST_F(SandboxSafetyTest, SocketsAreDenied) {
  for (const char* address : {"('127.0.0.1', 22)", "('1.1.1.1', 53)"}) {
    const Verdict v = run_hostile(std::string("import socket\ns = socket.create_connection(") + address + ", 1)\n");
    EXPECT_EQ(v.status, VerdictStatus::kSandboxViolation) << address;
    EXPECT_NE(v.detail.find("socket"), std::string::npos) << v.detail;
  }
}

TEST_F(SandboxSafetyTest, RawSandboxHasNoNetwork) {
  // A listener on the host's loopback that the sandbox must not reach.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string port = std::to_string(ntohs(address.sin_port));
  const SandboxOutcome outcome = run_raw(
      "import socket\n"
      "for host, port in (('127.0.0.1', " + port + "), ('1.1.1.1', 53)):\n"
      "    try:\n"
      "        socket.create_connection((host, port), 1)\n"
      "        print(host, 'connected')\n"
      "    except OSError as e:\n"
      "        print(host, 'failed', e.errno)\n");
  ::close(listener);
  EXPECT_NE(outcome.stdout_bytes.find("127.0.0.1 failed"), std::string::npos) << outcome.stdout_bytes;
  EXPECT_NE(outcome.stdout_bytes.find("1.1.1.1 failed"), std::string::npos) << outcome.stdout_bytes;
  EXPECT_EQ(outcome.stdout_bytes.find("connected"), std::string::npos) << outcome.stdout_bytes;
}

TEST_F(SandboxSafetyTest, SecretsAreDenied) {
  // The host's ~/.ssh, spelled out: inside the sandbox there is no HOME and no /etc/passwd.
  const char* home = std::getenv("HOME");
  const std::string ssh_key = std::string("'") + (home != nullptr ? home : "/root") + "/.ssh/id_rsa'";
  for (const std::string& path : {std::string("'/etc/shadow'"), ssh_key, std::string("'/proc/1/environ'")}) {
    const Verdict v = run_hostile("import os\nprint(open(" + path + ").read())\n");
    EXPECT_EQ(v.status, VerdictStatus::kSandboxViolation) << path;
    EXPECT_NE(v.detail.find("open"), std::string::npos) << v.detail;
  }
}

TEST_F(SandboxSafetyTest, RawSandboxSeesNoHostFilesOrEnvironment) {
  ASSERT_EQ(::setenv("CARAVAN_HOST_SECRET", "s3cr3t-host-value", 1), 0);
  const SandboxOutcome outcome = run_raw(
      "import os\n"
      "print('exists', [p for p in ('/etc/shadow', '/root', '/home', '/work', os.path.expanduser('~/.ssh'))"
      " if os.path.exists(p)])\n"
      "print(open('/proc/1/environ', 'rb').read())\n"
      "print(dict(os.environ))\n"
      "print(sorted(os.listdir('/proc')))\n");
  ::unsetenv("CARAVAN_HOST_SECRET");
  EXPECT_NE(outcome.stdout_bytes.find("exists []"), std::string::npos) << outcome.stdout_bytes;
  EXPECT_EQ(outcome.stdout_bytes.find("s3cr3t"), std::string::npos) << outcome.stdout_bytes;
}

TEST_F(SandboxSafetyTest, KillingEverythingOrTheParentIsDenied) {
  for (const char* call : {"os.kill(-1, 9)", "os.kill(os.getppid(), 9)"}) {
    const Verdict v = run_hostile(std::string("import os\n") + call + "\n");
    EXPECT_EQ(v.status, VerdictStatus::kSandboxViolation) << call;
    EXPECT_NE(v.detail.find("os.kill"), std::string::npos) << v.detail;
  }
}

TEST_F(SandboxSafetyTest, RawKillsCannotReachHostProcesses) {
  const pid_t sentinel = ::fork();
  ASSERT_GE(sentinel, 0);
  if (sentinel == 0) {
    ::pause();
    ::_exit(0);
  }
  for (const char* call : {"os.kill(-1, 9)", "os.kill(os.getppid(), 9)"}) {
    run_raw(std::string("import os\n") + call + "\nprint('survived')\n");
  }
  int status = 0;
  EXPECT_EQ(::waitpid(sentinel, &status, WNOHANG), 0) << "the host's sentinel process died";
  ::kill(sentinel, SIGKILL);
  ::waitpid(sentinel, &status, 0);
}

TEST_F(SandboxSafetyTest, DaemonIsDenied) {
  const Verdict v = run_hostile(
      "import os, time\n"
      "if os.fork() == 0:\n"
      "    os.setsid()\n"
      "    if os.fork() == 0:\n"
      "        time.sleep(60)\n");
  EXPECT_EQ(v.status, VerdictStatus::kSandboxViolation);
}

TEST_F(SandboxSafetyTest, RawDaemonDoesNotOutliveTheRun) {
  const std::string marker = "caravan-daemon-marker-" + std::to_string(::getpid());
  const SandboxOutcome outcome = run_raw(
      "import os\n"
      "if os.fork() == 0:\n"
      "    os.setsid()\n"
      "    if os.fork() == 0:\n"
      "        os.execv('/usr/bin/python3', ['python3', '-c', 'import time; time.sleep(60)', '" + marker + "'])\n"
      "    os._exit(0)\n"
      "print('parent done')\n");
  EXPECT_NE(outcome.stdout_bytes.find("parent done"), std::string::npos) << outcome.stderr_bytes;
  EXPECT_EQ(testing::processes_with_marker(marker), 0);
}

TEST_F(SandboxSafetyTest, GigabyteOfStdoutHitsOutputCap) {
  const Verdict v = run_hostile("import sys\nfor _ in range(1024):\n    sys.stdout.write('x' * (1 << 20))\n");
  EXPECT_EQ(v.status, VerdictStatus::kSandboxViolation);
  EXPECT_NE(v.detail.find("output exceeds"), std::string::npos) << v.detail;
}

TEST_F(SandboxSafetyTest, RawGigabyteOfStdoutIsCappedWithoutBlocking) {
  const SandboxOutcome outcome = run_raw(
      "import os\nchunk = b'x' * (1 << 20)\nfor _ in range(1024):\n    os.write(1, chunk)\n");
  EXPECT_TRUE(outcome.stdout_truncated);
  EXPECT_EQ(outcome.stdout_bytes.size(), size_t{1} << 16);
}

TEST_F(SandboxSafetyTest, NonUtf8OutputIsJudgedNotCrashed) {
  const Verdict v = verifier_.verify(fenced("import sys\nsys.stdout.buffer.write(b'\\xff\\xfe\\x80\\n')\n"
                                            "sys.stderr.buffer.write(b'\\xc3\\x28')\n"),
                                     R"({"stdin": [""], "stdout": ["ok"]})");
  EXPECT_EQ(v.status, VerdictStatus::kWrong);
  for (char c : v.detail) EXPECT_TRUE(c >= ' ' && c <= '~') << "non-printable byte in detail: " << v.detail;
}

}  // namespace
}  // namespace caravan::rewards::code
