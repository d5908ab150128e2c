// The fanout and relabel stages in YAML (what an Alloy forward_to graph becomes, and what
// -print-config-stderr shows of it).
#include <gtest/gtest.h>

#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::MakeEntry;
using testing::StagesYaml;

std::unique_ptr<Pipeline> Build(const std::string& yaml, size_t clients = 0) {
  StageContext ctx = testing::Ctx(nullptr);
  ctx.clients = clients;
  auto p = Pipeline::Build(StagesYaml(yaml), ctx);
  EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().message());
  return p ? std::move(*p) : nullptr;
}

std::string BuildError(const std::string& yaml, size_t clients = 0) {
  StageContext ctx = testing::Ctx(nullptr);
  ctx.clients = clients;
  auto p = Pipeline::Build(StagesYaml(yaml), ctx);
  return p ? "built" : p.error().message();
}

TEST(FanoutStage, EveryBranchGetsItsOwnCopyForItsClients) {
  auto p = Build(R"x(
- fanout:
    - stages: [{static_labels: {branch: a}}]
      clients: [0]
    - stages: [{replace: {expression: "(secret)", replace: "***"}}]
      clients: [1, 2]
    - {}
)x");
  Collect out;
  p->Process(MakeEntry("a secret", Labels{{"job", "x"}}), out);
  ASSERT_EQ(out.entries.size(), 3u);
  EXPECT_EQ(out.entries[0].entry.labels, (Labels{{"branch", "a"}, {"job", "x"}}));
  EXPECT_EQ(out.entries[0].entry.line, "a secret");
  EXPECT_EQ(out.entries[0].entry.clients, 1u);
  EXPECT_EQ(out.entries[1].entry.labels, (Labels{{"job", "x"}}));
  EXPECT_EQ(out.entries[1].entry.line, "a ***");
  EXPECT_EQ(out.entries[1].entry.clients, 6u);
  EXPECT_EQ(out.entries[2].entry.line, "a secret");
  EXPECT_EQ(out.entries[2].entry.clients, ~uint64_t{0});  // no clients: all of them
}

TEST(FanoutStage, NestedFanoutNarrowsAndEmptyClientsDrop) {
  auto p = Build(R"x(
- fanout:
    - stages:
        - fanout:
            - clients: [1]
            - clients: []
      clients: [0, 1]
)x");
  Collect out;
  p->Process(MakeEntry("x"), out);
  ASSERT_EQ(out.entries.size(), 2u);
  EXPECT_EQ(out.entries[0].entry.clients, 2u);
  EXPECT_EQ(out.entries[1].entry.clients, 0u);  // the sink sends it nowhere
}

// The clients a job's reader waits for: those its branches can reach, nested ones narrowed by
// their parent; a pipeline without a fanout (or a branch without `clients`) reaches every one.
TEST(FanoutStage, RoutesAreTheClientsItsBranchesCanReach) {
  EXPECT_EQ(Build("- static_labels: {a: b}")->Routes(), ~uint64_t{0});
  EXPECT_EQ(Build(R"x(
- static_labels: {a: b}
- fanout:
    - clients: [1]
    - stages: [{fanout: [{clients: [0, 3]}, {clients: []}]}]
      clients: [0, 2]
)x")
                ->Routes(),
            0b011u);
  EXPECT_EQ(Build("- fanout: [{clients: [2]}, {stages: [{static_labels: {a: b}}]}]")->Routes(),
            ~uint64_t{0});
  EXPECT_EQ(Build("- fanout: [{clients: []}]")->Routes(), 0u);  // forward_to = []
}

TEST(FanoutStage, FlushReachesBufferingStagesOfEveryBranch) {
  auto p = Build(R"x(
- fanout:
    - stages: [{multiline: {firstline: "^start", max_wait_time: 1s}}]
      clients: [0]
    - clients: [1]
)x");
  Collect out;
  p->Process(MakeEntry("start", {}, 1), out);
  p->Process(MakeEntry("  more", {}, 2), out);
  EXPECT_EQ(out.entries.size(), 2u);  // branch 1 passes at once; branch 0 buffers
  p->Flush(10'000'000'000, true, out);
  ASSERT_EQ(out.entries.size(), 3u);
  EXPECT_EQ(out.entries[2].entry.line, "start\n  more");
  EXPECT_EQ(out.entries[2].entry.clients, 1u);
}

TEST(FanoutStage, BadBranchesAreRefusedWithTheirPosition) {
  EXPECT_NE(BuildError("- fanout:\n    - clients: [2]\n", 2).find("client 2 does not exist"),
            std::string::npos);
  EXPECT_NE(BuildError("- fanout:\n    - clients: [64]\n").find("past the 64"), std::string::npos);
  EXPECT_NE(BuildError("- fanout:\n    - clients: [x]\n").find("promtail.yaml:2:"),
            std::string::npos);
  EXPECT_NE(BuildError("- fanout:\n    - clients: [0]\n- cri: {}\n").find("must be the last"),
            std::string::npos);
  EXPECT_NE(BuildError("- fanout:\n    - stagez: []\n").find("stagez"), std::string::npos);
  EXPECT_NE(BuildError("- fanout: []\n").find("expected a list of branches"), std::string::npos);
  EXPECT_NE(BuildError("- fanout:\n    - stages: [{nope: {}}]\n").find("unknown stage type"),
            std::string::npos);
}

TEST(RelabelStage, RewritesKeepsAndDropsOnTheEntrysLabels) {
  auto p = Build(R"x(
- relabel:
    - source_labels: [level]
      regex: debug
      action: drop
    - source_labels: [filename]
      regex: ".*/(.*)\\.log"
      target_label: file
    - action: labeldrop
      regex: filename
)x");
  Collect out;
  p->Process(MakeEntry("a", Labels{{"level", "debug"}, {"filename", "/l/x.log"}}), out);
  p->Process(MakeEntry("b", Labels{{"level", "info"}, {"filename", "/l/x.log"}}), out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.line, "b");
  EXPECT_EQ(out.entries[0].entry.labels, (Labels{{"file", "x"}, {"level", "info"}}));
}

TEST(RelabelStage, DropsAnEntryLeftWithoutLabelsAndCountsIt) {
  testing::TestMetrics m;
  auto p = Pipeline::Build(StagesYaml("- relabel:\n    - action: labeldrop\n      regex: .*\n"),
                           testing::Ctx(&m.metrics));
  ASSERT_TRUE(p.has_value()) << p.error().message();
  Collect out;
  (*p)->Process(MakeEntry("a", Labels{{"job", "x"}}), out);
  EXPECT_TRUE(out.entries.empty());
  EXPECT_EQ(m.Dropped("relabel"), 1);
}

TEST(RelabelStage, BadRulesAreRefused) {
  EXPECT_NE(BuildError("- relabel: {a: b}\n").find("expected a list of relabel rules"),
            std::string::npos);
  EXPECT_NE(BuildError("- relabel:\n    - action: replace\n      regex: '('\n").find("relabel"),
            std::string::npos);
}

}  // namespace
}  // namespace skidder::pipeline
