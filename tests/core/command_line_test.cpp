#include "core/command_line.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace caravan::core {
namespace {

// Parses `args` (without the program name) with a fresh CLI of one positional, one flag and
// one switch, kept in cli_.
class CommandLineTest : public ::testing::Test {
 protected:
  Status parse(std::vector<std::string> args) {
    cli_ = CommandLine("bench_x", "Does x.");
    cli_.positional("INPUT", "input file");
    cli_.flag("--seconds", "S", "how long");
    cli_.switch_flag("--quick", "short run");
    args.insert(args.begin(), "bench_x");
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    return cli_.parse(static_cast<int>(argv.size()), argv.data(), /*first=*/1);
  }
  CommandLine cli_{"", ""};
};

TEST_F(CommandLineTest, ReadsPositionalsFlagsAndSwitches) {
  ASSERT_TRUE(parse({"in.txt", "--seconds=2.5", "--quick"}).ok());
  EXPECT_EQ(cli_.positional_value(0), "in.txt");
  EXPECT_EQ(cli_.value("--seconds").value(), "2.5");
  EXPECT_TRUE(cli_.is_set("--quick"));
  EXPECT_DOUBLE_EQ(cli_.positive_number("--seconds", 9.0).value(), 2.5);
}

TEST_F(CommandLineTest, AbsentFlagsTakeTheirFallback) {
  ASSERT_TRUE(parse({"in.txt"}).ok());
  EXPECT_FALSE(cli_.value("--seconds").has_value());
  EXPECT_FALSE(cli_.is_set("--quick"));
  EXPECT_DOUBLE_EQ(cli_.positive_number("--seconds", 9.0).value(), 9.0);
}

TEST_F(CommandLineTest, ErrorsNameTheProgramAndTheArgument) {
  EXPECT_EQ(parse({"in.txt", "--bogus"}).message(), "bench_x: unknown option '--bogus' (see --help)");
  EXPECT_EQ(parse({"in.txt", "--seconds"}).message(), "bench_x: option --seconds needs a value");
  EXPECT_EQ(parse({"in.txt", "--quick=1"}).message(), "bench_x: option --quick takes no value");
  EXPECT_EQ(parse({}).message(), "bench_x: missing INPUT (see --help)");
  EXPECT_EQ(parse({"a", "b"}).message(), "bench_x: unexpected argument 'b'");
}

TEST_F(CommandLineTest, PositiveNumberRejectsNonNumbersNonPositivesAndFractionsForIntegers) {
  for (const char* text : {"abc", "0", "-1", "2x", ""}) {
    CommandLine cli("bench_x", "");
    cli.flag("--n", "N", "");
    std::string program = "bench_x", flag = "--n", value = text;
    char* argv[] = {program.data(), flag.data(), value.data()};
    ASSERT_TRUE(cli.parse(3, argv, 1).ok());
    const Result<double> number = cli.positive_number("--n", 1.0);
    EXPECT_EQ(number.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(number.status().message().find("--n"), std::string::npos);
  }
  ASSERT_TRUE(parse({"in.txt", "--seconds", "2.5"}).ok());
  EXPECT_EQ(cli_.positive_number("--seconds", 1.0, /*integer=*/true).status().message(),
            "bench_x: --seconds: expected an integer > 0, got '2.5'");
}

TEST_F(CommandLineTest, HelpListsEveryOption) {
  ASSERT_TRUE(parse({"--help"}).ok());
  EXPECT_TRUE(cli_.help_requested());
  const std::string help = cli_.help();
  EXPECT_EQ(help.rfind("usage: bench_x INPUT [options]", 0), 0u) << help;
  for (const char* name : {"INPUT", "--seconds S", "--quick", "--help"}) {
    EXPECT_NE(help.find(name), std::string::npos) << name;
  }
}

} // namespace
} // namespace caravan::core
