#include <gtest/gtest.h>

#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::ConfigError;
using testing::ExtractedOr;
using testing::LabelOr;
using testing::MakeEntry;
using testing::MustBuild;
using testing::RunStage;
using testing::TestMetrics;

// Promtail keeps the `log` value whole, trailing newline included (seen on a Promtail run).
TEST(DockerStage, ExtractsFieldsAndKeepsTheTrailingNewlineAsPromtailDoes) {
  auto stage = MustBuild("docker: {}");
  auto out = RunStage(
      *stage,
      MakeEntry(
          R"({"log":"log message\n","stream":"stderr","time":"2019-04-30T02:12:41.8443515Z"})"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].entry.line, "log message\n");
  EXPECT_EQ(out[0].entry.timestamp_ns, 1556590361844351500);
  EXPECT_EQ(LabelOr(out[0], "stream"), "stderr");
  EXPECT_EQ(ExtractedOr(out[0], "output"), "log message\n");
  EXPECT_EQ(ExtractedOr(out[0], "stream"), "stderr");
  EXPECT_EQ(ExtractedOr(out[0], "timestamp"), "2019-04-30T02:12:41.8443515Z");
}

TEST(DockerStage, JoinsLogValuesWithoutNewlinePerStream) {
  auto stage = MustBuild("docker:");
  Collect out;
  auto feed = [&](const char* log, const char* stream) {
    std::string line = std::string(R"({"log":")") + log + R"(","stream":")" + stream +
                       R"(","time":"2019-04-30T02:12:41Z"})";
    stage->Process({MakeEntry(line, {{"filename", "/x.log"}}), {}}, out);
  };
  feed("part one, ", "stdout");
  feed("err whole\\n", "stderr");
  feed("part two\\n", "stdout");
  ASSERT_EQ(out.entries.size(), 2u);
  EXPECT_EQ(out.entries[0].entry.line, "err whole\n");
  EXPECT_EQ(out.entries[1].entry.line, "part one, part two\n");
}

TEST(DockerStage, PassesMalformedLinesThroughAndCountsThem) {
  TestMetrics m;
  auto stage = MustBuild("docker: {}", testing::Ctx(&m.metrics));
  auto out = RunStage(*stage, MakeEntry("{not json"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].entry.line, "{not json");
  EXPECT_EQ(m.metrics.malformed_lines.With({"docker"})->Value(), 1);
}

TEST(DockerStage, PassesDeeplyNestedLinesThroughAsMalformed) {
  TestMetrics m;
  auto stage = MustBuild("docker: {}", testing::Ctx(&m.metrics));
  const std::string line = R"({"log":"x\n","stream":"stdout","time":"2019-04-30T02:12:41Z","a":)" +
                           std::string(200000, '[') + std::string(200000, ']') + "}";
  auto out = RunStage(*stage, MakeEntry(line));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].entry.line, line);
  EXPECT_EQ(m.metrics.malformed_lines.With({"docker"})->Value(), 1);
}

TEST(DockerStage, RefusesOptions) {
  EXPECT_EQ(ConfigError("docker:\n  max_partial_lines: 5"),
            "promtail.yaml:2:3: pipeline_stages[0]: unknown key \"max_partial_lines\"");
}

}  // namespace
}  // namespace skidder::pipeline
