#include "apps/pass_at_k.h"

#include <gtest/gtest.h>

namespace caravan::apps {
namespace {

// Values from the definition 1 - C(n - c, k) / C(n, k), worked out by hand.
TEST(PassAtKTest, MatchesTheCombinatorialDefinition) {
  EXPECT_DOUBLE_EQ(pass_at_k(10, 3, 1), 0.3);               // 1 - C(7,1)/C(10,1) = 1 - 7/10
  EXPECT_DOUBLE_EQ(pass_at_k(5, 2, 2), 0.7);                // 1 - C(3,2)/C(5,2) = 1 - 3/10
  EXPECT_NEAR(pass_at_k(8, 1, 4), 0.5, 1e-12);              // 1 - C(7,4)/C(8,4) = 1 - 35/70
  EXPECT_NEAR(pass_at_k(6, 2, 3), 1.0 - 4.0 / 20.0, 1e-12);  // 1 - C(4,3)/C(6,3)
}

TEST(PassAtKTest, EdgeCases) {
  EXPECT_DOUBLE_EQ(pass_at_k(4, 0, 4), 0.0);   // nothing correct
  EXPECT_DOUBLE_EQ(pass_at_k(4, 4, 1), 1.0);   // everything correct
  EXPECT_DOUBLE_EQ(pass_at_k(4, 1, 4), 1.0);   // fewer wrong samples than k
  EXPECT_DOUBLE_EQ(pass_at_k(1, 1, 1), 1.0);
}

}  // namespace
}  // namespace caravan::apps
