#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pipeline/stages/sampling.h"
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
using testing::StageYaml;
using testing::TestMetrics;

// How many of n entries (sent at once at `now`, with the given labels) pass.
size_t Passed(Stage& stage, int n, const Labels& labels = {}, const BatchTime& now = {}) {
  Collect out;
  for (int i = 0; i < n; ++i) stage.Process({MakeEntry("l", labels), {}, now}, out);
  return out.entries.size();
}

TEST(LimitStage, LetsABurstThroughThenTheRate) {
  TestMetrics m;
  FakeClock clock;
  auto stage = MustBuild("limit:\n  rate: 10\n  burst: 5\n  drop: true", testing::Ctx(&m.metrics));
  EXPECT_EQ(Passed(*stage, 8, {}, BatchTime::Of(clock)), 5u);  // the burst
  clock.Advance(std::chrono::milliseconds(300));
  EXPECT_EQ(Passed(*stage, 8, {}, BatchTime::Of(clock)), 3u);  // 10/s for 0.3s
  clock.Advance(std::chrono::seconds(60));
  EXPECT_EQ(Passed(*stage, 8, {}, BatchTime::Of(clock)), 5u);  // refilled up to the burst only
  EXPECT_EQ(m.Dropped("ratelimit_drop_stage"), 3 + 5 + 3);
}

TEST(LimitStage, LimitsEachLabelValueOnItsOwn) {
  TestMetrics m;
  FakeClock clock;
  auto stage = MustBuild("limit:\n  rate: 1\n  burst: 2\n  drop: true\n  by_label_name: namespace",
                         testing::Ctx(&m.metrics));
  EXPECT_EQ(Passed(*stage, 5, {{"namespace", "a"}}, BatchTime::Of(clock)), 2u);
  EXPECT_EQ(Passed(*stage, 5, {{"namespace", "b"}}, BatchTime::Of(clock)), 2u);
  EXPECT_EQ(Passed(*stage, 5, {{"app", "no-namespace"}}, BatchTime::Of(clock)), 5u);  // not limited
  EXPECT_EQ(m.Dropped("ratelimit_drop_stage"), 6);
  EXPECT_THAT(m.registry.Render(),
              HasSubstr("logentry_dropped_lines_by_label_total{label_name=\"namespace\","
                        "label_value=\"a\"} 3\n"));
}

TEST(LimitStage, ForgetsOldLabelValuesBeyondMaxDistinctLabels) {
  FakeClock clock;
  auto stage = MustBuild(
      "limit:\n  rate: 1\n  burst: 1\n  drop: true\n  by_label_name: id\n"
      "  max_distinct_labels: 10",  // raised to 10000, as Promtail does
      testing::Ctx(nullptr));
  EXPECT_EQ(Passed(*stage, 2, {{"id", "first"}}, BatchTime::Of(clock)), 1u);
  for (int i = 0; i < 9999; ++i)
    Passed(*stage, 1, {{"id", std::to_string(i)}}, BatchTime::Of(clock));
  EXPECT_EQ(Passed(*stage, 1, {{"id", "first"}}, BatchTime::Of(clock)),
            0u);  // still remembered (10000 values)
  for (int i = 0; i < 20000; ++i) Passed(*stage, 1, {{"id", fmt::format("x{}", i)}});
  EXPECT_EQ(Passed(*stage, 1, {{"id", "first"}}, BatchTime::Of(clock)),
            1u);  // forgotten: a fresh bucket
}

TEST(LimitStage, DropFalseDropsNothingAndAsksTheSourceToWait) {
  TestMetrics m;
  FakeClock clock;
  auto stage = MustBuild("limit:\n  rate: 10\n  burst: 10", testing::Ctx(&m.metrics));
  EXPECT_EQ(stage->ReadyInNs(BatchTime::Of(clock).steady_ns), 0);
  EXPECT_EQ(Passed(*stage, 15, {}, BatchTime::Of(clock)), 15u);  // nothing is dropped
  EXPECT_EQ(m.Dropped("ratelimit_drop_stage"), 0);
  // 5 over the burst, plus one token to go on: 0.6 s at 10 per second.
  EXPECT_NEAR(static_cast<double>(stage->ReadyInNs(BatchTime::Of(clock).steady_ns)), 0.6e9, 1e6);
  clock.Advance(std::chrono::milliseconds(300));
  EXPECT_NEAR(static_cast<double>(stage->ReadyInNs(BatchTime::Of(clock).steady_ns)), 0.3e9, 1e6);
  clock.Advance(std::chrono::milliseconds(300));
  EXPECT_EQ(stage->ReadyInNs(BatchTime::Of(clock).steady_ns), 0);
}

TEST(LimitStage, RefusesBadConfigWithPosition) {
  EXPECT_EQ(ConfigError("limit:\n  rate: 0\n  burst: 1"),
            "promtail.yaml:2:9: pipeline_stages[0].rate: rate must be greater than zero");
  EXPECT_EQ(ConfigError("limit:\n  rate: 1"),
            "promtail.yaml:2:3: pipeline_stages[0].burst: burst must be greater than zero");
  EXPECT_EQ(ConfigError("limit:\n  rate: 1\n  burst: 1\n  by_label_name: ns"),
            "promtail.yaml:2:3: pipeline_stages[0].drop: when rate limiting by label "
            "(by_label_name), drop must be true");
  EXPECT_EQ(ConfigError("limit:\n  rate: fast\n  burst: 1"),
            "promtail.yaml:2:9: pipeline_stages[0].rate: expected a number, got \"fast\"");
  EXPECT_EQ(
      ConfigError("limit:\n  rate: 1\n  burst: 1\n  drops: true"),
      "promtail.yaml:4:3: pipeline_stages[0]: unknown key \"drops\" (did you mean \"drop\"?)");
}

std::unique_ptr<Stage> Sampler(const std::string& yaml, const StageContext& ctx, uint64_t seed) {
  auto s = stages::NewSeededSamplingStage(StageYaml(yaml), ctx, "pipeline_stages[0]", seed);
  EXPECT_TRUE(s.has_value());
  return s ? std::move(*s) : nullptr;
}

TEST(SamplingStage, KeepsAboutRateOfTheEntries) {
  const std::pair<double, std::pair<size_t, size_t>> cases[] = {
      {0.0, {0, 0}}, {1.0, {10000, 10000}}, {0.1, {900, 1100}}, {0.5, {4800, 5200}}};
  for (auto [rate, bounds] : cases) {
    SCOPED_TRACE(rate);
    TestMetrics m;
    auto stage = Sampler(fmt::format("sampling:\n  rate: {}", rate), testing::Ctx(&m.metrics), 7);
    const size_t kept = Passed(*stage, 10000);
    EXPECT_GE(kept, bounds.first);
    EXPECT_LE(kept, bounds.second);
    EXPECT_EQ(m.Dropped("sampling_stage"), static_cast<double>(10000 - kept));
  }
}

TEST(SamplingStage, SameSeedKeepsTheSameEntries) {
  auto a = Sampler("sampling:\n  rate: 0.3", {}, 42);
  auto b = Sampler("sampling:\n  rate: 0.3", {}, 42);
  auto c = Sampler("sampling:\n  rate: 0.3", {}, 43);
  std::string pa, pb, pc;
  for (int i = 0; i < 200; ++i) {
    pa += Passed(*a, 1) ? '1' : '0';
    pb += Passed(*b, 1) ? '1' : '0';
    pc += Passed(*c, 1) ? '1' : '0';
  }
  EXPECT_EQ(pa, pb);
  EXPECT_NE(pa, pc);
}

TEST(SamplingStage, CountsDropsWithTheConfiguredReason) {
  TestMetrics m;
  auto stage = MustBuild("sampling:\n  rate: 0\n  drop_counter_reason: sampled_out",
                         testing::Ctx(&m.metrics));
  EXPECT_EQ(Passed(*stage, 3), 0u);
  EXPECT_EQ(m.Dropped("sampled_out"), 3);
}

TEST(SamplingStage, RefusesARateOutsideZeroToOne) {
  EXPECT_EQ(ConfigError("sampling:\n  rate: 1.5"),
            "promtail.yaml:2:9: pipeline_stages[0].rate: sampling rate must be between 0.0 and "
            "1.0, got 1.5");
  EXPECT_EQ(
      ConfigError("sampling:\n  rate: 0.1\n  ratio: 2"),
      "promtail.yaml:3:3: pipeline_stages[0]: unknown key \"ratio\" (did you mean \"rate\"?)");
}

}  // namespace
}  // namespace skidder::pipeline
