#include <gtest/gtest.h>

#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::ConfigError;
using testing::ExtractedOr;
using testing::MakeEntry;
using testing::MustBuild;
using testing::RunStage;

TEST(RegexStage, ExtractsNamedGroupsFromTheLine) {
  auto stage = MustBuild(R"y(regex:
  expression: "^(?s)(?P<time>\\S+?) (?P<stream>stdout|stderr) (?P<flags>\\S+?) (?P<content>.*)$")y");
  auto out =
      RunStage(*stage, MakeEntry("2019-01-01T01:00:00.000000001Z stderr P i'm a log message!"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ExtractedOr(out[0], "time"), "2019-01-01T01:00:00.000000001Z");
  EXPECT_EQ(ExtractedOr(out[0], "stream"), "stderr");
  EXPECT_EQ(ExtractedOr(out[0], "flags"), "P");
  EXPECT_EQ(ExtractedOr(out[0], "content"), "i'm a log message!");
  EXPECT_EQ(out[0].entry.line, "2019-01-01T01:00:00.000000001Z stderr P i'm a log message!");
}

// Go 1.22's named-group syntax, which Promtail 3 and Alloy take (RE2 of 2022 alone refuses it);
// the relabel rules, selectors and templates compile through the same GoRegexpForRe2.
TEST(RegexStage, TakesGoNamedGroupsWithoutTheP) {
  auto stage = MustBuild(R"y(regex:
  expression: "level=(?<level>\\w+) msg=(?<msg>.*)")y");
  auto out = RunStage(*stage, MakeEntry("ts level=warn msg=disk full"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ExtractedOr(out[0], "level"), "warn");
  EXPECT_EQ(ExtractedOr(out[0], "msg"), "disk full");
}

TEST(RegexStage, MatchesAnExtractedSourceAndSetsUnmatchedGroupsEmpty) {
  auto first = MustBuild(R"y(regex:
  expression: "^(?P<year>\\d+)")y");
  auto second = MustBuild(R"y(regex:
  expression: "^(?P<year_short>\\d{2})(?P<never>x)?"
  source: year)y");
  auto out = RunStage(*first, MakeEntry("2019-01-01 message"));
  ASSERT_EQ(out.size(), 1u);
  Collect c;
  second->Process(std::move(out[0]), c);
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(ExtractedOr(c.entries[0], "year"), "2019");
  EXPECT_EQ(ExtractedOr(c.entries[0], "year_short"), "20");
  EXPECT_EQ(ExtractedOr(c.entries[0], "never"), "");
}

TEST(RegexStage, LeavesEntryAloneWhenNoMatchOrNoSource) {
  auto stage = MustBuild("regex:\n  expression: \"^(?P<n>\\\\d+)$\"");
  auto out = RunStage(*stage, MakeEntry("not a number"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].extracted.empty());
  auto sourced = MustBuild("regex:\n  expression: \"(?P<n>.)\"\n  source: missing");
  out = RunStage(*sourced, MakeEntry("x"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].extracted.empty());
}

TEST(RegexStage, ReadsSourceFromLabelsLikePromtailsExtractedMap) {
  auto stage = MustBuild("regex:\n  expression: \"_(?P<ns>[a-z]+)_\"\n  source: filename");
  auto out = RunStage(*stage, MakeEntry("line", {{"filename", "/var/log/pods/x_default_y"}}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ExtractedOr(out[0], "ns"), "default");
}

TEST(RegexStage, RefusesBadConfigWithPosition) {
  EXPECT_EQ(ConfigError("regex:\n  expresion: a"),
            "promtail.yaml:2:3: pipeline_stages[0]: unknown key \"expresion\" (did you mean "
            "\"expression\"?)");
  EXPECT_EQ(ConfigError("regex:\n  source: a"),
            "promtail.yaml:2:3: pipeline_stages[0].expression: expression is required");
  EXPECT_EQ(ConfigError("regex:\n  expression: \"(?P<a>\""),
            "promtail.yaml:2:15: pipeline_stages[0].expression: could not compile regular "
            "expression: missing ): (?P<a>");
  EXPECT_EQ(ConfigError("regex:\n  expression: a\n  extra: 1"),
            "promtail.yaml:3:3: pipeline_stages[0]: unknown key \"extra\"");
  EXPECT_EQ(ConfigError("regex:\n  expression: a\n  source: \"\""),
            "promtail.yaml:3:11: pipeline_stages[0].source: must not be empty");
}

}  // namespace
}  // namespace skidder::pipeline
