#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pipeline/stages/metrics.h"
#include "stage_test_util.h"
#include "support/fake_clock.h"
#include "util/clock.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::ConfigError;
using ::testing::HasSubstr;
using testing::MakeEntry;
using testing::MustBuild;
using ::testing::Not;
using testing::TestMetrics;

using testing::kSec;

// Runs (line, extracted) pairs with the given labels and returns /metrics.
std::string Scrape(
    Stage& stage, TestMetrics& m,
    const std::vector<std::pair<std::string, std::vector<std::pair<const char*, const char*>>>>&
        entries,
    const Labels& labels = {{"job", "app"}}) {
  Collect out;
  for (const auto& [line, extracted] : entries) {
    PipelineEntry pe{MakeEntry(line, labels), {}};
    for (auto [k, v] : extracted) pe.extracted.Set(k, v);
    stage.Process(std::move(pe), out);
  }
  EXPECT_EQ(out.entries.size(), entries.size());  // the stage never drops
  return m.registry.Render();
}

struct MetricsCase {
  const char* name;
  const char* yaml;
  std::vector<std::pair<std::string, std::vector<std::pair<const char*, const char*>>>> entries;
  std::vector<std::string> expected;  // lines of /metrics
};

TEST(MetricsStage, UpdatesMetricsAsPromtailsExamplesDescribe) {
  const MetricsCase cases[] = {
      {"match_all counts lines and bytes",
       R"(metrics:
  log_lines_total:
    type: Counter
    description: "total number of log lines"
    prefix: my_promtail_custom_
    max_idle_duration: 24h
    config:
      match_all: true
      action: inc
  log_bytes_total:
    type: Counter
    description: "total bytes of log lines"
    prefix: my_promtail_custom_
    config:
      match_all: true
      count_entry_bytes: true
      action: add)",
       {{"12345", {}}, {"123", {}}},
       {"# HELP my_promtail_custom_log_lines_total total number of log lines",
        "# TYPE my_promtail_custom_log_lines_total counter",
        "my_promtail_custom_log_lines_total{job=\"app\"} 2",
        "my_promtail_custom_log_bytes_total{job=\"app\"} 8"}},
      {"counter inc when the source is present",
       "metrics:\n  successful_orders_total:\n    type: Counter\n    source: order_success\n"
       "    config:\n      action: inc",
       {{"a", {{"order_success", "order successful"}}}, {"b", {}}, {"c", {{"order_success", ""}}}},
       {"promtail_custom_successful_orders_total{job=\"app\"} 2"}},
      {"counter value filter",
       "metrics:\n  failed_orders_total:\n    type: counter\n    source: order_status\n"
       "    config:\n      value: fail\n      action: inc",
       {{"a", {{"order_status", "fail"}}}, {"b", {{"order_status", "success"}}}},
       {"promtail_custom_failed_orders_total{job=\"app\"} 1"}},
      {"counter add parses numbers and durations",
       "metrics:\n  bytes:\n    type: Counter\n    config:\n      action: add",
       {{"a", {{"bytes", "1.5"}}},
        {"b", {{"bytes", "250ms"}}},
        {"c", {{"bytes", "x"}}},
        {"d", {{"bytes", "-4"}}}},
       {"promtail_custom_bytes{job=\"app\"} 1.75"}},
      {"gauge actions",
       "metrics:\n  retries:\n    type: Gauge\n    config:\n      action: add\n"
       "  inflight:\n    type: Gauge\n    source: ev\n    config:\n      action: inc\n"
       "      value: start\n"
       "  done:\n    type: Gauge\n    source: ev\n    config:\n      action: dec\n"
       "  level:\n    type: Gauge\n    source: lvl\n    config:\n      action: set\n"
       "  left:\n    type: Gauge\n    source: lvl\n    config:\n      action: sub",
       {{"a", {{"retries", "3"}, {"ev", "start"}, {"lvl", "10"}}},
        {"b", {{"retries", "2"}, {"ev", "stop"}, {"lvl", "4"}}}},
       {"promtail_custom_retries{job=\"app\"} 5", "promtail_custom_inflight{job=\"app\"} 1",
        "promtail_custom_done{job=\"app\"} -2", "promtail_custom_level{job=\"app\"} 4",
        "promtail_custom_left{job=\"app\"} -14"}},
      {"histogram buckets",
       "metrics:\n  http_response_time_seconds:\n    type: Histogram\n"
       "    description: \"response time\"\n    source: response_time\n"
       "    config:\n      buckets: [0.001,0.0025,0.005,0.010,0.025,0.050]",
       {{"a", {{"response_time", "0.001953125"}}},
        {"b", {{"response_time", "31.25ms"}}},
        {"c", {{"response_time", "true"}}}},
       {"# TYPE promtail_custom_http_response_time_seconds histogram",
        "promtail_custom_http_response_time_seconds_bucket{job=\"app\",le=\"0.001\"} 0",
        "promtail_custom_http_response_time_seconds_bucket{job=\"app\",le=\"0.0025\"} 1",
        "promtail_custom_http_response_time_seconds_bucket{job=\"app\",le=\"0.05\"} 2",
        "promtail_custom_http_response_time_seconds_bucket{job=\"app\",le=\"+Inf\"} 3",
        "promtail_custom_http_response_time_seconds_sum{job=\"app\"} 1.033203125",
        "promtail_custom_http_response_time_seconds_count{job=\"app\"} 3"}},
  };
  for (const MetricsCase& c : cases) {
    SCOPED_TRACE(c.name);
    TestMetrics m;
    auto stage = MustBuild(c.yaml, testing::Ctx(&m.metrics));
    ASSERT_NE(stage, nullptr);
    std::string text = Scrape(*stage, m, c.entries);
    for (const std::string& line : c.expected) EXPECT_THAT(text, HasSubstr(line + "\n"));
  }
}

TEST(MetricsStage, LabelsSeriesWithTheEntrysLabelsWithoutInternalOnes) {
  TestMetrics m;
  auto stage = MustBuild(
      "metrics:\n  lines:\n    type: Counter\n    config:\n"
      "      match_all: true\n      action: inc",
      testing::Ctx(&m.metrics));
  Collect out;
  for (const char* app : {"web", "db", "web"}) {
    stage->Process({MakeEntry("l", {{"app", app}, {"env", "prod"}}), {}}, out);
  }
  stage->Process({MakeEntry("l", {{"app", "db"}, {"env", "prod"}, {"__tenant_id__", "t"}}), {}},
                 out);
  stage->Process({MakeEntry("l", {{"quote", "a\"b"}}), {}}, out);
  const std::string text = m.registry.Render();
  EXPECT_THAT(text, HasSubstr("promtail_custom_lines{app=\"web\",env=\"prod\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("promtail_custom_lines{app=\"db\",env=\"prod\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("promtail_custom_lines{quote=\"a\\\"b\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("__tenant_id__")));
}

// A json stage's null is Promtail's nil: there, without a value. inc and dec without `value`
// count it (Promtail's counter and gauge only ask whether the key is in the map); an action that
// needs a number, or one comparing `value`, does not; a key not there at all is not counted.
TEST(MetricsStage, IncAndDecCountANilSourceOthersDoNot) {
  TestMetrics m;
  auto stage = MustBuild(
      "metrics:\n"
      "  nil_inc:\n    type: Counter\n    source: ev\n    config:\n      action: inc\n"
      "  nil_dec:\n    type: Gauge\n    source: ev\n    config:\n      action: dec\n"
      "  nil_add:\n    type: Counter\n    source: ev\n    config:\n      action: add\n"
      "  nil_value:\n    type: Counter\n    source: ev\n    config:\n      value: x\n"
      "      action: inc",
      testing::Ctx(&m.metrics));
  Collect out;
  for (int i = 0; i < 3; ++i) {
    PipelineEntry pe{MakeEntry("l", {{"job", "app"}}), {}};
    if (i < 2) pe.extracted.SetNil("ev");  // the third has no ev at all
    stage->Process(std::move(pe), out);
  }
  const std::string text = m.registry.Render();
  EXPECT_THAT(text, HasSubstr("promtail_custom_nil_inc{job=\"app\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("promtail_custom_nil_dec{job=\"app\"} -2\n"));
  EXPECT_THAT(text, Not(HasSubstr("promtail_custom_nil_add{")));
  EXPECT_THAT(text, Not(HasSubstr("promtail_custom_nil_value{")));
}

TEST(MetricsStage, RemovesSeriesIdleForMaxIdleDuration) {
  TestMetrics m;
  FakeClock clock;
  auto stage = MustBuild(
      "metrics:\n  lines:\n    type: Counter\n    max_idle_duration: 1m\n"
      "    config:\n      match_all: true\n      action: inc",
      testing::Ctx(&m.metrics, nullptr, &clock));
  Collect out;
  const int64_t t0 = clock.NowNs();
  stage->Process({MakeEntry("l", {{"app", "quiet"}}), {}}, out);
  stage->Flush(t0 + 30 * kSec, false, out);
  stage->Process({MakeEntry("l", {{"app", "busy"}}), {}}, out);
  stage->Flush(t0 + 61 * kSec, false, out);  // quiet: 61s idle; busy: 31s
  std::string text = m.registry.Render();
  EXPECT_THAT(text, Not(HasSubstr("app=\"quiet\"")));
  EXPECT_THAT(text, HasSubstr("promtail_custom_lines{app=\"busy\"} 1\n"));
  stage->Process({MakeEntry("l", {{"app", "quiet"}}), {}}, out);  // comes back from zero
  EXPECT_THAT(m.registry.Render(), HasSubstr("promtail_custom_lines{app=\"quiet\"} 1\n"));
  stage->Flush(t0 + 200 * kSec, false, out);
  EXPECT_THAT(m.registry.Render(), Not(HasSubstr("promtail_custom_lines{")));
}

TEST(MetricsStage, UnregistersItsMetricsWhenDestroyed) {
  TestMetrics m;
  auto stage = MustBuild(
      "metrics:\n  lines:\n    type: Counter\n    config:\n"
      "      match_all: true\n      action: inc",
      testing::Ctx(&m.metrics));
  EXPECT_THAT(m.registry.Render(), HasSubstr("# TYPE promtail_custom_lines counter"));
  stage.reset();
  EXPECT_THAT(m.registry.Render(), Not(HasSubstr("promtail_custom_lines")));
}

TEST(MetricsStage, ConvertsValuesAsPromtailDoes) {
  const std::pair<const char*, double> ok[] = {{"0.804", 0.804}, {"42", 42},        {"+3", 3},
                                               {"1e3", 1000},    {"0.5ms", 0.0005}, {"1m30s", 90},
                                               {"true", 1},      {"false", 0},      {"-2.5", -2.5}};
  for (auto [text, want] : ok) {
    double got = -99;
    EXPECT_TRUE(stages::MetricValue(text, &got)) << text;
    EXPECT_DOUBLE_EQ(got, want) << text;
  }
  for (const char* bad : {"", "abc", "1.2.3", "5 ms"}) {
    double got = 0;
    EXPECT_FALSE(stages::MetricValue(bad, &got)) << bad;
  }
}

TEST(MetricsStage, RefusesBadConfigWithPosition) {
  EXPECT_EQ(ConfigError("metrics: {}"),
            "promtail.yaml:1:10: pipeline_stages[0]: at least one metric is required");
  EXPECT_EQ(ConfigError("metrics:\n  m:\n    type: Summary"),
            "promtail.yaml:3:11: pipeline_stages[0].m.type: metric type must be one of Counter, "
            "Gauge or Histogram");
  EXPECT_EQ(ConfigError("metrics:\n  m:\n    type: Counter\n    config:\n      action: set"),
            "promtail.yaml:5:15: pipeline_stages[0].m.config.action: counter action must be "
            "either inc or add");
  EXPECT_EQ(ConfigError("metrics:\n  m:\n    type: Counter\n    config:\n      match_all: true\n"
                        "      value: x\n      action: inc"),
            "promtail.yaml:6:14: pipeline_stages[0].m.config.value: match_all: true cannot be "
            "combined with value");
  EXPECT_EQ(ConfigError("metrics:\n  m:\n    type: Counter\n    config:\n"
                        "      count_entry_bytes: true\n      action: add"),
            "promtail.yaml:5:26: pipeline_stages[0].m.config.count_entry_bytes: "
            "count_entry_bytes: true can only be set with match_all: true");
  EXPECT_EQ(ConfigError("metrics:\n  m:\n    type: Gauge\n    max_idle_duration: 500ms\n"
                        "    config:\n      action: inc"),
            "promtail.yaml:4:24: pipeline_stages[0].m.max_idle_duration: max_idle_duration less "
            "than 1s not allowed");
  EXPECT_EQ(ConfigError("metrics:\n  m:\n    type: Histogram\n    config:\n"
                        "      buckets: [1, 0.5]"),
            "promtail.yaml:5:16: pipeline_stages[0].m.config.buckets: buckets must be in "
            "increasing order");
  EXPECT_EQ(ConfigError("metrics:\n  m:\n    type: Gauge\n    config:\n      action: inc\n"
                        "      match_all: true"),
            "promtail.yaml:6:7: pipeline_stages[0].m.config: unknown key \"match_all\"");
  EXPECT_EQ(ConfigError("metrics:\n  m:\n    type: Gauge"),
            "promtail.yaml:3:5: pipeline_stages[0].m.config: config with an action is required");
  EXPECT_EQ(
      ConfigError("metrics:\n  m:\n    type: Gauge\n    sauce: x\n    config:\n"
                  "      action: inc"),
      "promtail.yaml:4:5: pipeline_stages[0].m: unknown key \"sauce\" (did you mean \"source\"?)");
}

TEST(MetricsStage, RefusesANameAnotherMetricTypeHolds) {
  TestMetrics m;
  auto a = MustBuild("metrics:\n  x:\n    type: Counter\n    config:\n      action: inc",
                     testing::Ctx(&m.metrics));
  EXPECT_THAT(ConfigError("metrics:\n  x:\n    type: Gauge\n    config:\n      action: inc",
                          testing::Ctx(&m.metrics)),
              HasSubstr("metric promtail_custom_x is already registered with another type"));
  // The same type twice (two scrape configs) shares the name.
  EXPECT_EQ(ConfigError("metrics:\n  x:\n    type: Counter\n    config:\n      action: inc",
                        testing::Ctx(&m.metrics)),
            "");
}

}  // namespace
}  // namespace skidder::pipeline
