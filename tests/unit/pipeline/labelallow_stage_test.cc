#include <gtest/gtest.h>

#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::ConfigError;
using testing::MakeEntry;
using testing::MustBuild;
using testing::RunStage;

TEST(LabelAllowStage, KeepsOnlyListedLabels) {
  struct Case {
    Labels in;
    Labels want;
  } cases[] = {
      // Promtail's documented example: only namespace and container survive.
      {{{"namespace", "shop"}, {"container", "web"}, {"pod", "web-1"}, {"app", "web"}},
       {{"container", "web"}, {"namespace", "shop"}}},
      {{{"pod", "x"}}, {}},
      {{{"namespace", "a"}}, {{"namespace", "a"}}},
      {{}, {}},
      // Internal labels are not stream labels: a tenant set earlier stays.
      {{{"__tenant_id__", "team-a"}, {"pod", "x"}}, {{"__tenant_id__", "team-a"}}},
  };
  auto stage = MustBuild("labelallow:\n  - namespace\n  - container");
  for (const auto& c : cases) {
    auto out = RunStage(*stage, MakeEntry("line", c.in));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].entry.labels, c.want) << c.in.ToString();
  }
}

TEST(LabelAllowStage, RefusesBadConfigWithPosition) {
  EXPECT_EQ(ConfigError("labelallow: {a: b}"),
            "promtail.yaml:1:13: pipeline_stages[0]: expected a non-empty list of label names");
  EXPECT_EQ(ConfigError("labelallow: []"),
            "promtail.yaml:1:13: pipeline_stages[0]: expected a non-empty list of label names");
  EXPECT_EQ(ConfigError("labelallow:\n  - ok\n  - 1bad"),
            "promtail.yaml:3:5: pipeline_stages[0][1]: expected a label name");
}

}  // namespace
}  // namespace skidder::pipeline
