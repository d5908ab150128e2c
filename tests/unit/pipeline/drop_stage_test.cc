#include <gtest/gtest.h>

#include "model/ack.h"
#include "stage_test_util.h"
#include "support/fake_clock.h"
#include "util/clock.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::ConfigError;
using testing::MakeEntry;
using testing::MustBuild;
using testing::TestMetrics;

using testing::kSec;

struct DropCase {
  const char* name;
  const char* yaml;
  std::string line;
  std::vector<std::pair<const char*, const char*>> extracted;
  int64_t age_s;  // how old the entry is
  bool dropped;
};

TEST(DropStage, DropsOnlyWhenEveryConditionHolds) {
  const DropCase cases[] = {
      {"source present", "drop:\n  source: app", "l", {{"app", "x"}}, 0, true},
      {"source absent", "drop:\n  source: app", "l", {}, 0, false},
      {"value equal", "drop:\n  source: app\n  value: foo", "l", {{"app", "foo"}}, 0, true},
      {"value differs", "drop:\n  source: app\n  value: foo", "l", {{"app", "bar"}}, 0, false},
      {"list joined",
       "drop:\n  source: [a, b]\n  value: \"1;2\"",
       "l",
       {{"a", "1"}, {"b", "2"}},
       0,
       true},
      {"list separator",
       "drop:\n  source: [a, b]\n  separator: \"-\"\n  value: 1-2",
       "l",
       {{"a", "1"}, {"b", "2"}},
       0,
       true},
      {"list one missing", "drop:\n  source: [a, b]", "l", {{"a", "1"}}, 0, false},
      {"expression on line", "drop:\n  expression: \".*debug.*\"", "a debug line", {}, 0, true},
      {"expression no match", "drop:\n  expression: debug", "info line", {}, 0, false},
      {"expression on source",
       "drop:\n  source: level\n  expression: ^(debug|trace)$",
       "debug in line",
       {{"level", "info"}},
       0,
       false},
      {"expression on joined",
       "drop:\n  source: [a, b]\n  expression: ^x;y$",
       "l",
       {{"a", "x"}, {"b", "y"}},
       0,
       true},
      {"longer_than", "drop:\n  longer_than: 8", "123456789", {}, 0, true},
      {"not longer_than", "drop:\n  longer_than: 9", "123456789", {}, 0, false},
      {"longer_than kb", "drop:\n  longer_than: 1kb", std::string(1025, 'x'), {}, 0, true},
      {"older_than", "drop:\n  older_than: 1h", "l", {}, 3601, true},
      {"not older_than", "drop:\n  older_than: 1h", "l", {}, 3599, false},
      {"AND: long but fresh",
       "drop:\n  older_than: 1h\n  longer_than: 1",
       "long line",
       {},
       10,
       false},
      {"AND: regex and length",
       "drop:\n  expression: debug\n  longer_than: 5",
       "debug!",
       {},
       0,
       true},
  };
  FakeClock clock;
  for (const DropCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto stage = MustBuild(c.yaml);
    ASSERT_NE(stage, nullptr);
    PipelineEntry pe{
        MakeEntry(c.line, {}, clock.NowNs() - c.age_s * kSec), {}, BatchTime::Of(clock)};
    for (auto [k, v] : c.extracted) pe.extracted.Set(k, v);
    Collect out;
    stage->Process(std::move(pe), out);
    EXPECT_EQ(out.entries.empty(), c.dropped);
  }
}

TEST(DropStage, CountsDropsByReasonAndReleasesTheAck) {
  TestMetrics m;
  auto tracker = AckTracker::Create(0);
  auto plain = MustBuild("drop:\n  expression: noise", testing::Ctx(&m.metrics));
  auto named = MustBuild("drop:\n  expression: noise\n  drop_counter_reason: too_noisy",
                         testing::Ctx(&m.metrics));
  Collect out;
  Entry e = MakeEntry("noise");
  e.ack = tracker->Open(100);
  plain->Process({std::move(e), {}}, out);
  named->Process({MakeEntry("noise"), {}}, out);
  named->Process({MakeEntry("signal"), {}}, out);
  EXPECT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(m.Dropped("drop_stage"), 1);
  EXPECT_EQ(m.Dropped("too_noisy"), 1);
  EXPECT_EQ(tracker->Committed(), 100u);
}

TEST(DropStage, RefusesBadConfigWithPosition) {
  EXPECT_EQ(ConfigError("drop: {}"),
            "promtail.yaml:1:7: pipeline_stages[0].source: needs at least one of source, "
            "expression, older_than or longer_than");
  EXPECT_EQ(ConfigError("drop:\n  source: a\n  value: b\n  expression: c"),
            "promtail.yaml:3:10: pipeline_stages[0].value: value and expression cannot both be "
            "set");
  EXPECT_EQ(ConfigError("drop:\n  older_than: soon"),
            "promtail.yaml:2:15: pipeline_stages[0].older_than: expected a duration like 500ms or "
            "1m30s, got \"soon\"");
  EXPECT_EQ(ConfigError("drop:\n  longer_than: big"),
            "promtail.yaml:2:16: pipeline_stages[0].longer_than: expected a size in bytes like "
            "8192 or 8kb");
  EXPECT_EQ(ConfigError("drop:\n  expression: \"[\""),
            "promtail.yaml:2:15: pipeline_stages[0].expression: could not compile regular "
            "expression: missing ]: [");
  EXPECT_EQ(ConfigError("drop:\n  value: x"),
            "promtail.yaml:2:10: pipeline_stages[0].value: value requires source");
  EXPECT_EQ(ConfigError("drop:\n  source: a\n  olderthan: 1h"),
            "promtail.yaml:3:3: pipeline_stages[0]: unknown key \"olderthan\" (did you mean "
            "\"older_than\"?)");
}

}  // namespace
}  // namespace skidder::pipeline
