#include <gtest/gtest.h>

#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::ConfigError;
using testing::LabelOr;
using testing::MakeEntry;
using testing::MustBuild;

TEST(TenantStage, SetsTenantFromSourceLabelOrValue) {
  struct Case {
    const char* yaml;
    Labels labels;
    const char* extracted_customer;  // nullptr: not extracted
    const char* want;
  } cases[] = {
      // The documented examples: from an extracted field, a fixed value, a label.
      {"tenant:\n  source: customer_id", {}, "1", "1"},
      {"tenant:\n  value: team-api", {{"app", "api"}}, nullptr, "team-api"},
      {"tenant:\n  label: namespace", {{"namespace", "shop"}}, nullptr, "shop"},
      // Missing or empty: the client's tenant applies (no label set).
      {"tenant:\n  source: customer_id", {}, nullptr, "<absent>"},
      {"tenant:\n  source: customer_id", {}, "", "<absent>"},
      {"tenant:\n  label: namespace", {}, nullptr, "<absent>"},
      // A later tenant stage overrides an earlier one.
      {"tenant:\n  value: b", {{"__tenant_id__", "a"}}, nullptr, "b"},
  };
  for (const auto& c : cases) {
    auto stage = MustBuild(c.yaml);
    PipelineEntry pe{MakeEntry("line", c.labels), {}};
    if (c.extracted_customer != nullptr) pe.extracted.Set("customer_id", c.extracted_customer);
    testing::Collect out;
    stage->Process(std::move(pe), out);
    ASSERT_EQ(out.entries.size(), 1u);
    EXPECT_EQ(LabelOr(out.entries[0], "__tenant_id__"), c.want) << c.yaml;
  }
}

TEST(TenantStage, RefusesBadConfigWithPosition) {
  EXPECT_EQ(ConfigError("tenant: {}"),
            "promtail.yaml:1:9: pipeline_stages[0].source: one of label, source or value is "
            "required");
  EXPECT_EQ(ConfigError("tenant:\n  source: a\n  value: b"),
            "promtail.yaml:3:10: pipeline_stages[0].value: label, source and value are mutually "
            "exclusive: set only one");
  EXPECT_EQ(ConfigError("tenant:\n  tenant: a"),
            "promtail.yaml:2:3: pipeline_stages[0]: unknown key \"tenant\"");
}

}  // namespace
}  // namespace skidder::pipeline
