#include <gtest/gtest.h>

#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::ConfigError;
using testing::MakeEntry;
using testing::MustBuild;
using testing::RunStage;

TEST(LabelDropStage, RemovesListedLabels) {
  struct Case {
    Labels in;
    Labels want;
  } cases[] = {
      // Promtail's documented example drops kubernetes_pod_name and app.
      {{{"kubernetes_pod_name", "p"}, {"app", "web"}, {"namespace", "shop"}},
       {{"namespace", "shop"}}},
      {{{"namespace", "shop"}}, {{"namespace", "shop"}}},
      {{{"app", "x"}}, {}},
      {{}, {}},
  };
  auto stage = MustBuild("labeldrop:\n  - kubernetes_pod_name\n  - app");
  for (const auto& c : cases) {
    auto out = RunStage(*stage, MakeEntry("line", c.in));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].entry.labels, c.want) << c.in.ToString();
  }
}

TEST(LabelDropStage, RefusesBadConfigWithPosition) {
  EXPECT_EQ(ConfigError("labeldrop: app"),
            "promtail.yaml:1:12: pipeline_stages[0]: expected a non-empty list of label names");
  EXPECT_EQ(ConfigError("labeldrop:\n  - [x]"),
            "promtail.yaml:2:5: pipeline_stages[0][0]: expected a label name");
}

}  // namespace
}  // namespace skidder::pipeline
