#include "core/thread_wait.h"

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "core/str_cat.h"

namespace caravan::core {
namespace {

// Runs the probe (tests/core/thread_wait_probe.cpp) with `environment` prefixed ("env ..."),
// returning what it printed.
std::string run_probe(const std::string& environment, const std::string& policy) {
  const std::string command = str_cat("env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT ", environment, " '",
                                      CARAVAN_THREAD_WAIT_PROBE, "' ", policy, " 2>&1");
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string output;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  EXPECT_EQ(::pclose(pipe), 0) << output;
  return output;
}

int count(const std::string& text, const std::string& what) {
  int found = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++found;
  return found;
}

TEST(ThreadWaitTest, NamesAndPolicies) {
  EXPECT_EQ(enum_name(ThreadWait::kPassive), "passive");
  EXPECT_EQ(enum_name(ThreadWait::kActive), "active");
  EXPECT_EQ(omp_wait_policy(ThreadWait::kPassive), "PASSIVE");
  EXPECT_EQ(omp_wait_policy(ThreadWait::kActive), "ACTIVE");
}

// Without the variable, the process re-executes itself once and libgomp starts passive: no spinning.
TEST(ThreadWaitTest, PassiveReachesTheOpenMpRuntimeOfAChild) {
  const std::string output = run_probe("", "passive");
  EXPECT_EQ(count(output, "probe main"), 2) << output;
  EXPECT_NE(output.find("threads 2"), std::string::npos) << output;
  EXPECT_NE(output.find("OMP_WAIT_POLICY = 'PASSIVE'"), std::string::npos) << output;
  EXPECT_NE(output.find("GOMP_SPINCOUNT = '0'"), std::string::npos) << output;
}

TEST(ThreadWaitTest, ActiveReachesTheOpenMpRuntimeOfAChild) {
  const std::string output = run_probe("", "active");
  EXPECT_EQ(count(output, "probe main"), 2) << output;
  EXPECT_NE(output.find("OMP_WAIT_POLICY = 'ACTIVE'"), std::string::npos) << output;
  EXPECT_EQ(output.find("GOMP_SPINCOUNT = '0'"), std::string::npos) << output;
}

// A process started with the policy (as `caravan run` starts its workers) is not re-executed;
// one started with the other policy is, and ends up with the requested one.
TEST(ThreadWaitTest, ReexecutesOnlyWhenTheEnvironmentDiffers) {
  const std::string same = run_probe("OMP_WAIT_POLICY=passive", "passive");
  EXPECT_EQ(count(same, "probe main"), 1) << same;
  EXPECT_NE(same.find("GOMP_SPINCOUNT = '0'"), std::string::npos) << same;
  const std::string other = run_probe("OMP_WAIT_POLICY=ACTIVE", "passive");
  EXPECT_EQ(count(other, "probe main"), 2) << other;
  EXPECT_NE(other.find("GOMP_SPINCOUNT = '0'"), std::string::npos) << other;
}

}  // namespace
}  // namespace caravan::core
