#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::ConfigError;
using testing::ExtractedOr;
using ::testing::HasSubstr;
using testing::MakeEntry;
using testing::MustBuild;
using testing::StagesYaml;
using testing::TestMetrics;

// The pipeline of Promtail's match documentation, with its two log lines.
TEST(MatchStage, RunsNestedStagesOrDropsAsInPromtailsExample) {
  TestMetrics m;
  auto p = Pipeline::Build(StagesYaml(R"(
- json:
    expressions:
      app:
- labels:
    app:
- match:
    selector: '{app="loki"}'
    stages:
    - json:
        expressions:
          msg: message
- match:
    pipeline_name: "app2"
    selector: '{app="pokey"}'
    action: keep
    stages:
    - json:
        expressions:
          msg: msg
- match:
    selector: '{app="promtail"} |~ ".*noisy error.*"'
    action: drop
    drop_counter_reason: promtail_noisy_error
- output:
    source: msg
)"),
                           testing::Ctx(&m.metrics));
  ASSERT_TRUE(p.has_value()) << p.error().message();
  Collect out;
  (*p)->Process(MakeEntry(R"({ "time":"2012-11-01T22:08:41+00:00", "app":"loki", )"
                          R"("component": ["parser","type"], "level" : "WARN", )"
                          R"("message" : "app1 log line" })"),
                out);
  (*p)->Process(MakeEntry(R"({ "time":"2012-11-01T22:08:41+00:00", "app":"promtail", )"
                          R"("component": ["parser","type"], "level" : "ERROR", )"
                          R"("message" : "foo noisy error" })"),
                out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.line, "app1 log line");
  EXPECT_EQ(*out.entries[0].entry.labels.Get("app"), "loki");
  EXPECT_EQ(m.Dropped("promtail_noisy_error"), 1);
}

TEST(MatchStage, NestedStagesSeeAndChangeTheExtractedMap) {
  auto stage = MustBuild(R"y(match:
  selector: '{job="api"}'
  stages:
  - regex:
      expression: "level=(?P<level>\\w+)"
  - labels:
      level:
  - drop:
      source: level
      value: debug)y");
  ASSERT_NE(stage, nullptr);
  Collect out;
  PipelineEntry a{MakeEntry("level=info msg=hi", {{"job", "api"}}), {}};
  a.extracted.Set("before", "kept");
  stage->Process(std::move(a), out);
  stage->Process({MakeEntry("level=debug", {{"job", "api"}}), {}}, out);
  stage->Process({MakeEntry("level=warn", {{"job", "web"}}), {}}, out);
  ASSERT_EQ(out.entries.size(), 2u);
  EXPECT_EQ(ExtractedOr(out.entries[0], "before"), "kept");
  EXPECT_EQ(ExtractedOr(out.entries[0], "level"), "info");
  EXPECT_EQ(*out.entries[0].entry.labels.Get("level"), "info");
  EXPECT_EQ(out.entries[1].entry.line, "level=warn");  // not matched: untouched
  EXPECT_FALSE(out.entries[1].entry.labels.Has("level"));
}

TEST(MatchStage, CountsDropsWithTheDefaultReason) {
  TestMetrics m;
  auto stage = MustBuild("match:\n  selector: '{app=\"x\"} |= \"health\"'\n  action: drop",
                         testing::Ctx(&m.metrics));
  Collect out;
  stage->Process({MakeEntry("GET /health", {{"app", "x"}}), {}}, out);
  stage->Process({MakeEntry("GET /api", {{"app", "x"}}), {}}, out);
  EXPECT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(m.Dropped("match_stage"), 1);
}

TEST(MatchStage, RefusesBadConfigWithPosition) {
  EXPECT_EQ(ConfigError("match:\n  stages:\n  - labels: {a: }"),
            "promtail.yaml:2:3: pipeline_stages[0].selector: selector is required");
  EXPECT_EQ(ConfigError("match:\n  selector: '{a=\"b\"}'"),
            "promtail.yaml:2:3: pipeline_stages[0].stages: match stage requires at least one "
            "stage in stages (or action: drop)");
  EXPECT_EQ(ConfigError("match:\n  selector: '{a=\"b\"}'\n  action: drop\n  stages:\n"
                        "  - labels: {a: }"),
            "promtail.yaml:5:3: pipeline_stages[0].stages: match stage configured to drop "
            "entries cannot contain stages");
  EXPECT_EQ(ConfigError("match:\n  selector: '{a=\"b\"}'\n  action: skip"),
            "promtail.yaml:3:11: pipeline_stages[0].action: action must be keep or drop");
  EXPECT_EQ(ConfigError("match:\n  selector: '{a}'\n  action: drop"),
            "promtail.yaml:2:13: pipeline_stages[0].selector: invalid selector at offset 2: "
            "expected one of =, !=, =~, !~ (in {a})");
  // Nested stages are checked with their own position and path.
  EXPECT_EQ(ConfigError("match:\n  selector: '{a=\"b\"}'\n  stages:\n  - regex:\n"
                        "      expresion: x"),
            "promtail.yaml:5:7: pipeline_stages[0].stages[0].regex: unknown key \"expresion\" (did "
            "you mean \"expression\"?)");
  EXPECT_THAT(ConfigError("match:\n  selector: '{a=\"b\"}'\n  stages:\n  - nope: {}"),
              HasSubstr("promtail.yaml:4:11: pipeline_stages[0].stages[0].nope: unknown stage "
                        "type \"nope\""));
}

// A multiline block inside a match waits for time: the whole pipeline asks for a flush then,
// and for none once it is sent (the file source sleeps in between).
TEST(MatchStage, NestedBufferingStagesSayWhenThePipelineMustBeFlushed) {
  auto p = Pipeline::Build(StagesYaml(R"(
- match:
    selector: '{job="api"}'
    stages:
    - multiline:
        firstline: '^START'
        max_wait_time: 3s
)"),
                           StageContext{});
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ((*p)->NextFlushNs(), kNoFlush);
  Collect out;
  const int64_t t0 = 1'700'000'000'000'000'000;
  (*p)->Process(MakeEntry("START", Labels{{"job", "api"}}, t0), BatchTime{t0, 0}, out);
  EXPECT_EQ((*p)->NextFlushNs(), t0 + 3'000'000'000);
  (*p)->Flush(t0 + 3'000'000'000, false, out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_GT((*p)->NextFlushNs(), t0 + 3'000'000'000);  // only the stream slot's release is left
}

}  // namespace
}  // namespace skidder::pipeline
