// Hostile templates, JMESPath expressions and expansions (issue 9, items 1 and 5): deep nesting
// is refused at config time with a position, and no stage builds more than the line size cap.
#include <gtest/gtest.h>

#include <string>

#include "pipeline/stage_support.h"
#include "stage_test_util.h"
#include "support/test_util.h"

namespace skidder::pipeline {
namespace {

using testing::ExtractedOr;
using testing::MakeEntry;
using testing::RunStage;
using testing::TestMetrics;

using skidder::testing::Repeat;

TEST(JsonStage, RefusesADeepExpressionInTheConfigWithItsPosition) {
  const std::string yaml =
      "json:\n  expressions:\n    x: '" + Repeat("[", 5000) + "a" + Repeat("]", 5000) + "'";
  const std::string err = testing::ConfigError(yaml);
  EXPECT_EQ(err.rfind("promtail.yaml:3:5: pipeline_stages[0].expressions: x: invalid "
                      "JMESPath expression",
                      0),
            0u)
      << err.substr(0, 200);
  EXPECT_NE(err.find("at offset 128: nested more than 128 levels deep"), std::string::npos);
}

// A multi-select in a projection repeats what it selects per element: 2000 elements times 50
// copies of a 100-byte value would be 10 MB from a 200 KB line.
TEST(JsonStage, CutsWhatAnExpressionCollectsToMaxLineSizeAndCountsIt) {
  TestMetrics m;
  config::LimitsConfig limits;
  limits.max_line_size = 10000;
  std::string refs = "v";
  for (int i = 0; i < 49; ++i) refs += ", v";
  auto stage = testing::MustBuild("json:\n  expressions:\n    out: 'a[*].[" + refs + "]'",
                                  testing::Ctx(&m.metrics, &limits));
  std::string line = "{\"a\":[";
  for (int i = 0; i < 2000; ++i) {
    line += (i > 0 ? "," : "") + std::string("{\"v\":\"") + std::string(100, 'q') + "\"}";
  }
  line += "]}";
  auto out = RunStage(*stage, MakeEntry(line));
  ASSERT_EQ(out.size(), 1u);
  const std::string value = ExtractedOr(out[0], "out");
  EXPECT_EQ(value.size(), 10000u);
  EXPECT_EQ(value.rfind("[[\"qqq", 0), 0u);
  EXPECT_EQ(m.metrics.truncated_lines.With({})->Value(), 1);
  // A small line is extracted whole and nothing is counted.
  out = RunStage(*stage, MakeEntry(R"({"a":[{"v":1}]})"));
  EXPECT_EQ(ExtractedOr(out[0], "out"), "[[" + Repeat("1,", 49) + "1]]");
  EXPECT_EQ(m.metrics.truncated_lines.With({})->Value(), 1);
}

TEST(TemplateStage, RefusesADeepTemplateInTheConfigWithItsPosition) {
  EXPECT_EQ(testing::ConfigError("template:\n  source: a\n  template: '{{ " + Repeat("(", 5000) +
                                 ".a" + Repeat(")", 5000) + " }}'"),
            "promtail.yaml:3:13: pipeline_stages[0].template: template: 1:104: parentheses nested "
            "more than 100 deep");
}

// A template stage that repeats its input: {{.Value}} 200 times over a 200 KB line would be
// 40 MB, and a few such stages in a row would exhaust memory.
TEST(TemplateStage, CutsItsOutputToMaxLineSizeAndCountsIt) {
  TestMetrics m;
  config::LimitsConfig limits;
  limits.max_line_size = 1000;
  const std::string yaml =
      "template:\n  source: out\n  template: '" + Repeat("{{ .Entry }}", 200) + "'";
  auto stage = testing::MustBuild(yaml, testing::Ctx(&m.metrics, &limits));
  auto out = RunStage(*stage, MakeEntry(std::string(200 * 1024, 'x')));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ExtractedOr(out[0], "out"), std::string(1000, 'x'));
  EXPECT_EQ(m.metrics.truncated_lines.With({})->Value(), 1);
  // Without max_line_size the cap is 4 MiB.
  auto unlimited = testing::MustBuild(yaml, testing::Ctx(&m.metrics));
  out = RunStage(*unlimited, MakeEntry(std::string(200 * 1024, 'x')));
  EXPECT_EQ(ExtractedOr(out[0], "out").size(), stages::kMaxStageOutputBytes);
  EXPECT_EQ(m.metrics.truncated_lines.With({})->Value(), 2);
}

// Functions that multiply their input refuse a result past the cap: the template fails, and the
// value is left as it was, as on any template error.
TEST(TemplateStage, RefusesFunctionResultsPastTheCap) {
  TestMetrics m;
  for (const char* tmpl :
       {"{{ Replace .Entry \"\" .Entry -1 }}", "{{ regexReplaceAll \"\" .Entry .Entry }}",
        "{{ repeat 400000 \"ab\" }}", "{{ print .Entry .Entry .Entry .Entry .Entry .Entry }}"}) {
    SCOPED_TRACE(tmpl);
    config::LimitsConfig limits;
    limits.max_line_size = 100000;
    YAML::Node body;
    body["source"] = "out";
    body["template"] = tmpl;
    auto stage = BuildStage(config::StageConfig{"template", body, "t.yaml"},
                            testing::Ctx(&m.metrics, &limits), "p");
    ASSERT_TRUE(stage.has_value()) << stage.error().message();
    testing::Collect c;
    PipelineEntry pe;
    pe.entry = MakeEntry(std::string(20000, 'y'));
    pe.extracted.Set("out", "before");
    (*stage)->Process(std::move(pe), c);
    EXPECT_EQ(ExtractedOr(c.entries.at(0), "out"), "before");
  }
  EXPECT_EQ(m.metrics.truncated_lines.With({})->Value(), 4);
}

// Replacing each of 100 k matches with the whole 200 KB line would build 20 GB.
TEST(ReplaceStage, CutsItsOutputToMaxLineSizeAndCountsIt) {
  TestMetrics m;
  config::LimitsConfig limits;
  limits.max_line_size = 5000;
  auto stage = testing::MustBuild("replace:\n  expression: '(a)'\n  replace: '{{ .Entry }}'",
                                  testing::Ctx(&m.metrics, &limits));
  const std::string line = Repeat("a ", 100000);
  auto out = RunStage(*stage, MakeEntry(line));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].entry.line, line.substr(0, 5000));
  EXPECT_EQ(m.metrics.truncated_lines.With({})->Value(), 1);
  // Within the cap nothing changes or is counted.
  out = RunStage(*stage, MakeEntry("a-a"));
  EXPECT_EQ(out[0].entry.line, "a-a-a-a");
  EXPECT_EQ(m.metrics.truncated_lines.With({})->Value(), 1);
}

TEST(ReplaceStage, CutsOutputAtACharacterBoundary) {
  config::LimitsConfig limits;
  limits.max_line_size = 10;
  auto stage = testing::MustBuild("replace:\n  expression: '(a)'\n  replace: 'ééééééé'",
                                  testing::Ctx(nullptr, &limits));
  auto out = RunStage(*stage, MakeEntry("a"));
  EXPECT_EQ(out[0].entry.line, "ééééé");
}

// RE2 parses, compiles and runs regular expressions without recursion on the thread's stack: a
// selector regex nested 100000 deep is accepted and evaluated safely.
TEST(MatchStage, EvaluatesADeeplyNestedSelectorRegexSafely) {
  TestMetrics m;
  auto stage = testing::MustBuild("match:\n  selector: '{a=~\"" + Repeat("(", 100000) + "a" +
                                      Repeat(")", 100000) + "\"}'\n  action: drop",
                                  testing::Ctx(&m.metrics));
  ASSERT_NE(stage, nullptr);
  EXPECT_TRUE(RunStage(*stage, MakeEntry("x", {{"a", "a"}})).empty());
  EXPECT_EQ(RunStage(*stage, MakeEntry("x", {{"a", "b"}})).size(), 1u);
  // An unbalanced one is refused with its offset.
  const std::string err = testing::ConfigError("match:\n  selector: '{a=~\"" + Repeat("(", 100000) +
                                               "\"}'\n  action: drop");
  EXPECT_EQ(err.rfind("promtail.yaml:2:13: pipeline_stages[0].selector: invalid selector at "
                      "offset",
                      0),
            0u)
      << err.substr(0, 300);
}

// YAML stops nesting at 500 levels, so match stages nest at most about 120 deep: built and run
// recursively, that depth is safe.
TEST(MatchStage, RunsTheDeepestNestingAConfigCanHold) {
  std::string stages = "[{static_labels: {deep: 'yes'}}]";
  for (int i = 0; i < 120; ++i) {
    stages = "[{match: {selector: '{a=\"b\"}', stages: " + stages + "}}]";
  }
  auto p = Pipeline::Build(testing::StagesYaml(stages), {});
  ASSERT_TRUE(p.has_value()) << p.error().message();
  testing::Collect out;
  (*p)->Process(MakeEntry("line", {{"a", "b"}}), out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(*out.entries[0].entry.labels.Get("deep"), "yes");
}

}  // namespace
}  // namespace skidder::pipeline
