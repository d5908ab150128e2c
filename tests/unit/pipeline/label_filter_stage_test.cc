// labelallow and labeldrop share one implementation; these tables pin each one's behaviour.
#include <gtest/gtest.h>

#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::ConfigError;
using testing::MakeEntry;
using testing::MustBuild;
using testing::RunStage;

constexpr const char* kAllow = "labelallow:\n  - namespace\n  - container";
constexpr const char* kDrop = "labeldrop:\n  - kubernetes_pod_name\n  - app";

TEST(LabelAllowAndLabelDropStages, KeepOnlyListedOrRemoveListedLabels) {
  struct Case {
    const char* yaml;
    Labels in;
    Labels want;
  } cases[] = {
      // Promtail's documented labelallow example: only namespace and container survive.
      {kAllow,
       {{"namespace", "shop"}, {"container", "web"}, {"pod", "web-1"}, {"app", "web"}},
       {{"container", "web"}, {"namespace", "shop"}}},
      {kAllow, {{"pod", "x"}}, {}},
      {kAllow, {{"namespace", "a"}}, {{"namespace", "a"}}},
      {kAllow, {}, {}},
      // A tenant set earlier goes unless listed, as in Promtail and Alloy (the client's
      // tenant_id then applies).
      {kAllow, {{"__tenant_id__", "team-a"}, {"pod", "x"}}, {}},
      {"labelallow: [pod, __tenant_id__]",
       {{"__tenant_id__", "team-a"}, {"pod", "x"}, {"app", "y"}},
       {{"__tenant_id__", "team-a"}, {"pod", "x"}}},
      // Promtail's documented labeldrop example drops kubernetes_pod_name and app.
      {kDrop,
       {{"kubernetes_pod_name", "p"}, {"app", "web"}, {"namespace", "shop"}},
       {{"namespace", "shop"}}},
      {kDrop, {{"namespace", "shop"}}, {{"namespace", "shop"}}},
      {kDrop, {{"app", "x"}}, {}},
      {kDrop, {}, {}},
      {"labeldrop: [__tenant_id__]", {{"__tenant_id__", "team-a"}, {"pod", "x"}}, {{"pod", "x"}}},
  };
  for (const auto& c : cases) {
    auto stage = MustBuild(c.yaml);
    ASSERT_NE(stage, nullptr) << c.yaml;
    auto out = RunStage(*stage, MakeEntry("line", c.in));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].entry.labels, c.want) << c.yaml << " on " << c.in.ToString();
  }
}

// A pod's labels by the thousand (labelmap of __meta_kubernetes_pod_label_.+): every unlisted
// one goes in one pass. A removal per label, each shifting and rehashing the whole set, was
// quadratic: about a second per line at 20,000 labels.
// Entries of one file share its label set: the stages remember what they made of each set, and
// every entry still gets its own set's result; the shared sets stay as they were.
TEST(LabelAllowAndLabelDropStages, EachSharedLabelSetGetsItsOwnResult) {
  for (const char* yaml : {kAllow, kDrop}) {
    auto stage = MustBuild(yaml);
    const Labels a{{"namespace", "a"}, {"app", "web"}, {"pod", "web-1"}};
    const Labels b{{"namespace", "b"}, {"container", "db"}, {"kubernetes_pod_name", "db-0"}};
    const bool allow = yaml == kAllow;
    const Labels want_a =
        allow ? Labels{{"namespace", "a"}} : Labels{{"namespace", "a"}, {"pod", "web-1"}};
    const Labels want_b = allow ? Labels{{"namespace", "b"}, {"container", "db"}}
                                : Labels{{"namespace", "b"}, {"container", "db"}};
    for (const Labels* in : {&a, &b, &a, &b}) {
      auto out = RunStage(*stage, MakeEntry("x", *in));
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out[0].entry.labels, in == &a ? want_a : want_b) << yaml;
    }
    // A set no other entry holds is changed in place.
    auto out = RunStage(*stage, MakeEntry("x", Labels{{"namespace", "c"}, {"app", "x"}}));
    EXPECT_EQ(out.at(0).entry.labels, (Labels{{"namespace", "c"}})) << yaml;
    EXPECT_EQ(a.size(), 3u);
    EXPECT_EQ(b.size(), 3u);
  }
}

TEST(LabelAllowAndLabelDropStages, FilterThousandsOfLabelsInOnePass) {
  LabelsBuilder many;
  for (int i = 0; i < 20000; ++i) many.Add("l" + std::to_string(i), "v");
  many.Add("namespace", "shop");
  many.Add("__tenant_id__", "team-a");
  const Labels in = many.Build();
  auto out = RunStage(*MustBuild(kAllow), MakeEntry("line", in));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].entry.labels, (Labels{{"namespace", "shop"}}));
  out = RunStage(*MustBuild("labeldrop: [l7, namespace]"), MakeEntry("line", in));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].entry.labels.size(), in.size() - 2);
  EXPECT_FALSE(out[0].entry.labels.Has("l7"));
  EXPECT_TRUE(out[0].entry.labels.Has("l8"));
}

TEST(LabelAllowAndLabelDropStages, ReportTheirOwnStageName) {
  EXPECT_EQ(MustBuild(kAllow)->Name(), "labelallow");
  EXPECT_EQ(MustBuild(kDrop)->Name(), "labeldrop");
}

TEST(LabelAllowAndLabelDropStages, RefuseBadConfigWithPosition) {
  struct Case {
    const char* yaml;
    const char* want;
  } cases[] = {
      {"labelallow: {a: b}",
       "promtail.yaml:1:13: pipeline_stages[0]: expected a non-empty list of label names"},
      {"labelallow: []",
       "promtail.yaml:1:13: pipeline_stages[0]: expected a non-empty list of label names"},
      {"labelallow:\n  - ok\n  - 1bad",
       "promtail.yaml:3:5: pipeline_stages[0][1]: expected a label name"},
      {"labeldrop: app",
       "promtail.yaml:1:12: pipeline_stages[0]: expected a non-empty list of label names"},
      {"labeldrop:\n  - [x]", "promtail.yaml:2:5: pipeline_stages[0][0]: expected a label name"},
  };
  for (const auto& c : cases) EXPECT_EQ(ConfigError(c.yaml), c.want) << c.yaml;
}

}  // namespace
}  // namespace skidder::pipeline
