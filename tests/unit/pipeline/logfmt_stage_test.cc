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

// The example from Promtail's logfmt documentation.
TEST(LogfmtStage, ExtractsOnlyMappedKeysFromTheLine) {
  auto stage = MustBuild(R"y(logfmt:
  mapping:
    timestamp: time
    app:
    duration:
    unknown:)y");
  auto out = RunStage(*stage, MakeEntry("time=2012-11-01T22:08:41+00:00 app=loki level=WARN "
                                        "duration=125 message=\"this is a log line\" "
                                        "extra=\"user=foo\""));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ExtractedOr(out[0], "timestamp"), "2012-11-01T22:08:41+00:00");
  EXPECT_EQ(ExtractedOr(out[0], "app"), "loki");
  EXPECT_EQ(ExtractedOr(out[0], "duration"), "125");
  EXPECT_EQ(ExtractedOr(out[0], "unknown"), "<absent>");
  EXPECT_EQ(ExtractedOr(out[0], "level"), "<absent>");
}

TEST(LogfmtStage, ParsesAnExtractedSource) {
  auto first = MustBuild("logfmt:\n  mapping:\n    extra:");
  auto second = MustBuild("logfmt:\n  mapping:\n    user:\n  source: extra");
  auto out = RunStage(*first, MakeEntry("level=info extra=\"user=foo\""));
  ASSERT_EQ(out.size(), 1u);
  Collect c;
  second->Process(std::move(out[0]), c);
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(ExtractedOr(c.entries[0], "extra"), "user=foo");
  EXPECT_EQ(ExtractedOr(c.entries[0], "user"), "foo");
}

TEST(LogfmtStage, DecodesValuesLikeGoLogfmt) {
  struct Case {
    const char* line;
    const char* want;  // value of key "k", or <absent>
  } cases[] = {
      {"k=v", "v"},
      {"a=1 k=\"quoted value\"", "quoted value"},
      {"k=\"esc \\\"q\\\" \\\\ \\n \\u00e9\"", "esc \"q\" \\ \n \xc3\xa9"},
      {"k", ""},  // a bare key has an empty value
      {"k=", ""},
      {"  k=v  ", "v"},
      {"x=1\nk=second-record", "second-record"},
      {"k=1 k=2", "2"},           // the last one wins
      {"a=b=c k=v", "<absent>"},  // syntax error before k: scanning stops
      {"k=v a=b=c", "v"},         // ... and pairs before the error stay
      {"k=\"unterminated", "<absent>"},
      {"=v k=x", "<absent>"},
  };
  auto stage = MustBuild("logfmt:\n  mapping:\n    k:");
  for (const auto& c : cases) {
    auto out = RunStage(*stage, MakeEntry(c.line));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(ExtractedOr(out[0], "k"), c.want) << c.line;
    EXPECT_EQ(out[0].entry.line, c.line);
  }
}

TEST(LogfmtStage, LeavesEntryAloneWhenSourceIsMissing) {
  auto stage = MustBuild("logfmt:\n  mapping:\n    k:\n  source: nothere");
  auto out = RunStage(*stage, MakeEntry("k=v"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].extracted.empty());
}

TEST(LogfmtStage, RefusesBadConfigWithPosition) {
  struct Case {
    const char* yaml;
    const char* want;
  } cases[] = {
      {"logfmt:\n  source: x",
       "promtail.yaml:2:3: pipeline_stages[0].mapping: logfmt mapping is required"},
      {"logfmt:\n  mapping:\n    a:\n  sourc: x",
       "promtail.yaml:4:3: pipeline_stages[0]: unknown key \"sourc\" (did you mean \"source\"?)"},
      {"logfmt:\n  mapping:\n    a:\n  source: \"\"",
       "promtail.yaml:4:11: pipeline_stages[0].source: empty source"},
      {"logfmt:\n  mapping: [a]",
       "promtail.yaml:2:12: pipeline_stages[0].mapping: expected a mapping of extracted keys to "
       "logfmt keys"},
  };
  for (const auto& c : cases) EXPECT_EQ(ConfigError(c.yaml), c.want) << c.yaml;
}

}  // namespace
}  // namespace skidder::pipeline
