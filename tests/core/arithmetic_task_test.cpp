#include "core/arithmetic_task.h"

#include <gtest/gtest.h>

#include <set>

namespace caravan::core {
namespace {

TEST(ArithmeticTaskTest, ProblemsRenderPromptAndExactAnswer) {
  EXPECT_EQ((ArithmeticProblem{ArithmeticOp::kAdd, 37, 45}.prompt()), "37+45=");
  EXPECT_EQ((ArithmeticProblem{ArithmeticOp::kAdd, 37, 45}.answer()), "82");
  EXPECT_EQ((ArithmeticProblem{ArithmeticOp::kSubtract, 12, 34}.answer()), "-22");
  EXPECT_EQ((ArithmeticProblem{ArithmeticOp::kMultiply, 12, 13}.answer()), "156");
  EXPECT_NE((ArithmeticProblem{ArithmeticOp::kAdd, 1, 2}.id()), (ArithmeticProblem{ArithmeticOp::kAdd, 2, 1}.id()));
}

TEST(ArithmeticTaskTest, HeldOutSetIsFixedDistinctAndDisjointFromTraining) {
  TaskOptions options;
  options.kind = "arithmetic";
  auto task = ArithmeticTask::create(options);
  ASSERT_TRUE(task.ok()) << task.status().to_string();
  auto again = ArithmeticTask::create(options);
  ASSERT_EQ(task->held_out().size(), 500u);
  std::set<uint64_t> held_out;
  for (size_t i = 0; i < task->held_out().size(); ++i) {
    EXPECT_EQ(task->held_out()[i].id(), again->held_out()[i].id());
    EXPECT_TRUE(task->is_held_out(task->held_out()[i]));
    held_out.insert(task->held_out()[i].id());
  }
  EXPECT_EQ(held_out.size(), 500u);
  std::set<int> ops;
  for (uint64_t i = 0; i < 20000; ++i) {
    const ArithmeticProblem p = task->training_problem(/*seed=*/7, i);
    EXPECT_FALSE(held_out.count(p.id())) << p.prompt();
    EXPECT_LE(p.a, p.op == ArithmeticOp::kMultiply ? options.max_operand_mul : options.max_operand_add);
    ops.insert(static_cast<int>(p.op));
  }
  EXPECT_EQ(ops.size(), 3u);
}

TEST(ArithmeticTaskTest, TrainingStreamIsAPureFunctionOfSeedAndIndex) {
  TaskOptions options;
  options.kind = "arithmetic";
  auto task = ArithmeticTask::create(options).value();
  EXPECT_EQ(task.training_problem(3, 99).id(), task.training_problem(3, 99).id());
  int differing = 0;
  for (uint64_t i = 0; i < 50; ++i) differing += task.training_problem(3, i).id() != task.training_problem(4, i).id();
  EXPECT_GT(differing, 40);
}

TEST(ArithmeticTaskTest, TooLargeHeldOutSetIsRejected) {
  TaskOptions options;
  options.kind = "arithmetic";
  options.max_operand_add = 9;
  options.max_operand_mul = 9;
  auto task = ArithmeticTask::create(options);
  EXPECT_EQ(task.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(task.status().message().find("held_out_size"), std::string::npos);
}

}  // namespace
} // namespace caravan::core
