// The echo stage (Alloy's loki.echo): prints each entry as -dry-run does and passes nothing on.
#include <gtest/gtest.h>

#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::ConfigError;
using testing::MakeEntry;
using testing::MustBuild;
using testing::RunStage;

TEST(EchoStage, PrintsTheEntryAsDryRunDoesAndPassesNothingOn) {
  for (const char* yaml : {"echo:", "echo: {}"}) {
    std::unique_ptr<Stage> echo = MustBuild(yaml);
    Entry e =
        MakeEntry("hello", Labels{{"job", "a"}, {"__path__", "/x"}}, 1'700'000'000'500'000'000);
    e.structured_metadata.push_back({"trace_id", "t 1"});
    ::testing::internal::CaptureStdout();
    EXPECT_TRUE(RunStage(*echo, std::move(e)).empty()) << yaml;
    EXPECT_EQ(::testing::internal::GetCapturedStdout(),
              "2023-11-14T22:13:20.500000000Z\t{job=\"a\"}\thello\ttrace_id=\"t 1\"\n")
        << yaml;
  }
}

TEST(EchoStage, TakesNoOptionsAndEndsItsList) {
  EXPECT_NE(ConfigError("echo: {level: info}").find("unknown key \"level\""), std::string::npos);
  auto p = Pipeline::Build(testing::StagesYaml("- echo: {}\n- labels: {a: \"\"}\n"), {});
  ASSERT_FALSE(p.has_value());
  EXPECT_NE(p.error().message().find("echo must be the last stage of its list"), std::string::npos)
      << p.error().message();
}

}  // namespace
}  // namespace skidder::pipeline
